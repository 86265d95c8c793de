"""Configuration keys. Values come from `deploy/config.yaml` (YAML with `${ENV:default}`).

Providers read these in `setup()`; tests pass explicit dicts. No code reads the environment
for these values directly, so one config file tells an operator everything that can be set.
"""

from __future__ import annotations

import os

AMQP_URI = "AMQP_URI"
DATA_DIR = "DATA_DIR"  # where the default SQLite files live
DATABASE_URLS = "DATABASE_URLS"  # {service name: SQLAlchemy URL, empty for the SQLite default}
DB_POOL_SIZE = "DB_POOL_SIZE"
SECRET_KEY = "SECRET_KEY"
PUBLIC_URL = "PUBLIC_URL"  # the portal's address as customers see it (links in mails)
TEST_CLOCK_OFFSET_FILE = "TEST_CLOCK_OFFSET_FILE"
OUTBOX_POLL_SECONDS = "OUTBOX_POLL_SECONDS"

# accounts
ADMIN_EMAIL = "ADMIN_EMAIL"
ADMIN_PASSWORD = "ADMIN_PASSWORD"
SESSION_TTL_SECONDS = "SESSION_TTL_SECONDS"
SESSION_IDLE_SECONDS = "SESSION_IDLE_SECONDS"
PORTAL_LINK_TTL_SECONDS = "PORTAL_LINK_TTL_SECONDS"

# billing
BILLING_TIMER_SECONDS = "BILLING_TIMER_SECONDS"  # how often renewals and pause ends are checked
BILLING_RUN_CHUNK_SIZE = "BILLING_RUN_CHUNK_SIZE"  # accounts per work message of a billing run
BILLING_PAYMENT_TERMS_DAYS = "BILLING_PAYMENT_TERMS_DAYS"  # default days from issue to due date
BILLING_DUNNING_RETRY_DAYS = "BILLING_DUNNING_RETRY_DAYS"  # e.g. "1,3,7": days after the decline
BILLING_DUNNING_REMINDER_HOURS = "BILLING_DUNNING_REMINDER_HOURS"  # reminder lead before a retry
BILLING_DUE_REMINDER_DAYS = "BILLING_DUE_REMINDER_DAYS"  # "payment due" notice before due date

# vouchers
VOUCHER_SECRET_KEY = "VOUCHER_SECRET_KEY"  # makes and finds voucher codes (vouchers/codes.py)
VOUCHER_CHUNK_SIZE = "VOUCHER_CHUNK_SIZE"  # vouchers per work message when a batch is created

# tickets
TICKETS_TIMER_SECONDS = "TICKETS_TIMER_SECONDS"  # how often escalations, credits, closing run
TICKETS_REOPEN_DAYS = "TICKETS_REOPEN_DAYS"  # a resolved ticket reopens on a comment this long
TICKETS_DEFAULT_TEAM = "TICKETS_DEFAULT_TEAM"  # the default route's team until ops set one

# notifier
SMTP_HOST = "SMTP_HOST"  # where e-mail goes (customers' notifications, team alert channels)
SMTP_PORT = "SMTP_PORT"
SMTP_FROM = "SMTP_FROM"  # the From address of every e-mail
SMTP_USERNAME = "SMTP_USERNAME"  # empty: no SMTP AUTH
SMTP_PASSWORD = "SMTP_PASSWORD"
SMTP_STARTTLS = "SMTP_STARTTLS"  # true: STARTTLS before sending
SMTP_TIMEOUT_SECONDS = "SMTP_TIMEOUT_SECONDS"  # per SMTP socket operation
WEBHOOK_TIMEOUT_SECONDS = "WEBHOOK_TIMEOUT_SECONDS"  # one deadline for a whole webhook POST
# addresses, CIDR networks and host names (`*.x`) team webhooks may reach besides public
# addresses (loopback, private, link-local ones are refused otherwise); see notifier/targets.py
WEBHOOK_ALLOWED_HOSTS = "WEBHOOK_ALLOWED_HOSTS"
NOTIFIER_DELIVERY_SECONDS = "NOTIFIER_DELIVERY_SECONDS"  # how often due deliveries are sent

# payments
PAYMENT_PROVIDER = "PAYMENT_PROVIDER"  # "sandbox" (default); see services/billing/provider.py
PAYMENT_SANDBOX_URL = "PAYMENT_SANDBOX_URL"  # the sandbox provider's own store

# gateway
RPC_TIMEOUT_SECONDS = "RPC_TIMEOUT_SECONDS"
DASHBOARD_DEADLINE_SECONDS = "DASHBOARD_DEADLINE_SECONDS"
DASHBOARD_CACHE_SECONDS = "DASHBOARD_CACHE_SECONDS"  # the read cache's time limit (0: off)
AUTH_CACHE_SECONDS = "AUTH_CACHE_SECONDS"
COOKIE_SECURE = "COOKIE_SECURE"
TRUST_PROXY_HEADERS = "TRUST_PROXY_HEADERS"


def database_url(config: dict, service_name: str) -> str:
    """The service's database URL: its entry in DATABASE_URLS, else a SQLite file in DATA_DIR."""
    url = (config.get(DATABASE_URLS) or {}).get(service_name) or ""
    if url:
        return url
    data_dir = os.path.abspath(config.get(DATA_DIR) or "var")
    os.makedirs(data_dir, exist_ok=True)
    return f"sqlite:///{os.path.join(data_dir, service_name)}.db"


def as_bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}
STAFF_LIMITS = "STAFF_LIMITS"  # money staff may create per role (common/permissions.py)
