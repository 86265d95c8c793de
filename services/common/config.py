"""Configuration keys. Values come from `deploy/config.yaml` (YAML with `${ENV:default}`).

Providers read these in `setup()`; tests pass explicit dicts. No code reads the environment
for these values directly, so one config file tells an operator everything that can be set.
"""

from __future__ import annotations

import hashlib
import hmac
import os

AMQP_URI = "AMQP_URI"
DATA_DIR = "DATA_DIR"  # where the default SQLite files live
DATABASE_URLS = "DATABASE_URLS"  # {service name: SQLAlchemy URL, empty for the SQLite default}
DB_POOL_SIZE = "DB_POOL_SIZE"
# The deployment's master secret: keyed hashes are derived from it per purpose (`derived_key`),
# e.g. the card fingerprint. Changing it changes those hashes (a new card no longer matches an
# old fingerprint); nothing is lost.
SECRET_KEY = "SECRET_KEY"
# true only where published credentials are acceptable: `make run` (deploy/run.py) and the test
# harnesses. Otherwise a service refuses to start with a known default secret or password.
DEMO_MODE = "DEMO_MODE"
PUBLIC_URL = "PUBLIC_URL"  # the portal's address as customers see it (links in mails)
TEST_CLOCK_OFFSET_FILE = "TEST_CLOCK_OFFSET_FILE"
OUTBOX_POLL_SECONDS = "OUTBOX_POLL_SECONDS"
OUTBOX_RETENTION_DAYS = "OUTBOX_RETENTION_DAYS"
PROCESSED_EVENTS_RETENTION_DAYS = "PROCESSED_EVENTS_RETENTION_DAYS"
HOUSEKEEPING_SECONDS = "HOUSEKEEPING_SECONDS"

# accounts
ADMIN_EMAIL = "ADMIN_EMAIL"
ADMIN_PASSWORD = "ADMIN_PASSWORD"
SESSION_TTL_SECONDS = "SESSION_TTL_SECONDS"
SESSION_IDLE_SECONDS = "SESSION_IDLE_SECONDS"
PORTAL_LINK_TTL_SECONDS = "PORTAL_LINK_TTL_SECONDS"
REAUTH_SECONDS = "REAUTH_SECONDS"  # how long a sign-in or re-auth allows sensitive changes
STAFF_MFA_REQUIRED = "STAFF_MFA_REQUIRED"  # staff must set up a second factor to work
ACCOUNT_DELETION_COOLING_OFF_DAYS = "ACCOUNT_DELETION_COOLING_OFF_DAYS"  # cancellable until
ACCOUNTS_TIMER_SECONDS = "ACCOUNTS_TIMER_SECONDS"  # how often deletions and exports are looked at

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
# minutes from raising to resolving a ticket, per priority, e.g. "{P1: 240, P2: 480}" (the
# others keep their default: services/tickets/sla.py)
TICKETS_SLA_MINUTES = "TICKETS_SLA_MINUTES"

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
PAYMENT_PROVIDER = "PAYMENT_PROVIDER"  # "sandbox" (default); see services/billing/money/provider.py
PAYMENT_SANDBOX_URL = "PAYMENT_SANDBOX_URL"  # the sandbox provider's own store

# gateway
RPC_TIMEOUT_SECONDS = "RPC_TIMEOUT_SECONDS"
DASHBOARD_DEADLINE_SECONDS = "DASHBOARD_DEADLINE_SECONDS"
DASHBOARD_CACHE_SECONDS = "DASHBOARD_CACHE_SECONDS"  # the read cache's time limit (0: off)
AUTH_CACHE_SECONDS = "AUTH_CACHE_SECONDS"
COOKIE_SECURE = "COOKIE_SECURE"  # empty: Secure cookies when PUBLIC_URL is https
HSTS_SECONDS = "HSTS_SECONDS"  # Strict-Transport-Security max-age when PUBLIC_URL is https
TRUST_PROXY_HEADERS = "TRUST_PROXY_HEADERS"  # one proxy hop in front (see TRUSTED_PROXIES)
# the portal's prices: "gross" (with the customer's tax, for consumers: EU price rules) or "net"
# (an operator selling to businesses); the tax region of a visitor who has no account yet
PRICE_DISPLAY = "PRICE_DISPLAY"
DEFAULT_TAX_REGION = "DEFAULT_TAX_REGION"
# the operator's face (gateway/branding.py): the portal's name, a logo file the gateway serves,
# and two colours as #rrggbb, checked for WCAG AA contrast when the gateway starts
BRAND_NAME = "BRAND_NAME"
BRAND_LOGO_FILE = "BRAND_LOGO_FILE"
BRAND_PRIMARY_COLOR = "BRAND_PRIMARY_COLOR"
BRAND_ACCENT_COLOR = "BRAND_ACCENT_COLOR"
STAFF_LIMITS = "STAFF_LIMITS"  # money staff may create per role (common/permissions.py)
# the load balancers' addresses or networks (comma-separated): the client address is the first
# X-Forwarded-For hop, from the right, that is not one of them (gateway/http.py client_ip)
TRUSTED_PROXIES = "TRUSTED_PROXIES"


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


PRICE_DISPLAYS = ("gross", "net")


def price_display(config: dict) -> str:
    """How the portal shows prices: "gross" (the default) or "net"; any other value is refused
    (the gateway checks it at start)."""
    value = str(config.get(PRICE_DISPLAY) or "gross").strip().lower()
    if value not in PRICE_DISPLAYS:
        raise ValueError(f"{PRICE_DISPLAY} is {value!r}: set it to gross or net")
    return value


def is_https(config: dict) -> bool:
    """True when customers reach the portal over https (PUBLIC_URL)."""
    return str(config.get(PUBLIC_URL) or "").strip().lower().startswith("https://")


# Settings that must be secret -----------------------------------------------------------------

# Values published in this repository (config defaults before they were removed, the compose
# file's old defaults, the demo admin's password in deploy/demo.py and the README): a deployment
# that uses one of them is open to anyone who read the code.
KNOWN_DEFAULTS = frozenset({
    "dev-only-change-me", "dev-only-voucher-secret", "change-me", "change-me-too", "changeme",
    "secret", "portal", "password", "portal admin demo passphrase",
    "portal agent demo passphrase", "prepaid demo passphrase", "postpaid demo passphrase",
})
MIN_SECRET_LENGTH = 32
NEW_SECRET_HINT = ("e.g. the output of python -c \"import secrets; "
                   "print(secrets.token_urlsafe(32))\"")


class InsecureConfiguration(RuntimeError):
    """A service refuses to start: the message names the setting to provide and why."""


def demo_mode(config: dict) -> bool:
    return as_bool(config.get(DEMO_MODE) or False)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def refuse(setting: str, problem: str, advice: str) -> InsecureConfiguration:
    return InsecureConfiguration(
        f"Refusing to start: {setting} {problem}. {advice} (`make run` sets DEMO_MODE=true and "
        f"supplies demo values itself; DEMO_MODE is for a local demo only.)")


def secret(config: dict, setting: str, purpose: str) -> str:
    """The value of a secret setting, checked: it must be set; outside DEMO_MODE it must not be
    a published default and must be at least MIN_SECRET_LENGTH characters long."""
    value = _text(config.get(setting)).strip()
    advice = (f"Set {setting} ({purpose}) to a random value of at least {MIN_SECRET_LENGTH} "
              f"characters, {NEW_SECRET_HINT}.")
    if not value:
        raise refuse(setting, "is not set", advice)
    if demo_mode(config):
        return value
    if value.lower() in KNOWN_DEFAULTS:
        raise refuse(setting, "is a default published with the code", advice)
    if len(value) < MIN_SECRET_LENGTH:
        raise refuse(setting, f"is shorter than {MIN_SECRET_LENGTH} characters", advice)
    return value


def known_default(value: object) -> bool:
    return _text(value).strip().lower() in KNOWN_DEFAULTS


def derived_key(config: dict, purpose: str) -> bytes:
    """A key for one purpose (e.g. b"card-fingerprint"), derived from SECRET_KEY: a keyed hash
    made with it cannot be recomputed from a database dump alone."""
    master = secret(config, SECRET_KEY, "the master secret keyed hashes are derived from")
    return hmac.new(master.encode(), purpose.encode(), hashlib.sha256).digest()
SIGNUP_LIMIT_PER_HOUR = "SIGNUP_LIMIT_PER_HOUR"  # sign-ups per client address an hour (0: off)

# insights
INSIGHTS_TIMER_SECONDS = "INSIGHTS_TIMER_SECONDS"  # how often old viewing days are deleted
VIEWING_RETENTION_DAYS = "VIEWING_RETENTION_DAYS"  # days of viewing kept (default 90)
