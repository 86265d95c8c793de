"""The whole system in this process for integration tests through the gateway: accounts,
catalog, billing, vouchers, tickets, notifier, insights and the gateway in nameko containers on
the real RabbitMQ, each service on its own fresh PostgreSQL database, the demo catalog loaded."""

import time
import uuid

import pytest
import requests

from deploy import demo
from gateway.service import GatewayService
from services.accounts.service import AccountsService
from services.billing.service import BillingService
from services.catalog.service import CatalogService
from services.insights.service import InsightsService
from services.notifier.service import NotifierService
from services.tickets.service import TicketsService
from services.vouchers.service import VouchersService
from tests.stack import free_port

PASSWORD = "a long enough passphrase"
TEST_SECRET_KEY = "integration-test-secret-key, not a production one"


@pytest.fixture
def rabbit_config(rabbit_config):
    """nameko's fresh-vhost config, as a demo: the tests use published passwords (the demo
    admin's) and short secrets, which services refuse outside DEMO_MODE. Tests of those refusals
    set DEMO_MODE to false themselves."""
    return {**rabbit_config, "DEMO_MODE": True, "SECRET_KEY": TEST_SECRET_KEY,
            "SIGNUP_LIMIT_PER_HOUR": 0}  # every test signs its customers up from 127.0.0.1


def eventually(check, timeout: float = 20.0, pause: float = 0.1):
    """`check()`'s first truthy answer within `timeout` seconds, else its last answer (for the
    assertion to show): for what the system does asynchronously (events, timers)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(pause)


def timer_rounds(service: str, timer: str) -> float:
    """How many rounds `service`'s `timer` has finished in this process (its metric)."""
    from services.common.observability import TIMER_RUNS

    return sum(sample.value for metric in TIMER_RUNS.collect() for sample in metric.samples
               if sample.name.endswith("_total") and sample.labels["service"] == service
               and sample.labels["timer"] == timer)


def after_timer_rounds(service: str, timer: str, rounds: int = 2, timeout: float = 20.0) -> None:
    """Wait until `timer` finished `rounds` more rounds: what was due when this was called has
    been done (the first round may have begun before), so "nothing more happened" is a fact,
    not a guess about how long a round takes."""
    start = timer_rounds(service, timer)
    assert eventually(lambda: timer_rounds(service, timer) >= start + rounds, timeout), \
        f"{service}.{timer} did not run {rounds} more rounds in {timeout:.0f}s"


class Portal:
    def __init__(self, url, runner):
        self.url, self.runner = url, runner

    def __call__(self, method, path, token, **kwargs):
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=15, **kwargs)

    def customer(self, billing_type="postpaid", currency="EUR", language="en"):
        """A new customer's bearer token."""
        email = f"{uuid.uuid4().hex[:8]}@example.com"
        created = requests.post(self.url + "/api/v1/accounts", timeout=15, json={
            "email": email, "password": PASSWORD, "name": "Ann", "billing_type": billing_type,
            "currency": currency, "language": language,
            "address": {"line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115",
                        "country": "DE"}})
        assert created.status_code == 201, created.text
        return demo.login(self.url, email, PASSWORD)

    def ok(self, method, path, token, status=200, **kwargs):
        response = self(method, path, token, **kwargs)
        assert response.status_code == status, response.text
        return response.json()


def walk_pages(portal, token, path, limit=2, **params) -> list[dict]:
    """Every page of a list, `limit` rows at a time through its cursors: each page holds at
    most `limit` rows, and the last one says there is no more."""
    pages, cursor = [], None
    while True:
        page = portal.ok("GET", path, token, params={
            "limit": limit, **params, **({"cursor": cursor} if cursor else {})})
        assert len(page["data"]) <= limit
        pages.append(page)
        if not page["has_more"]:
            assert page["next_cursor"] is None
            return pages
        cursor = page["next_cursor"]


def walk(portal, token, path, limit=2, **params) -> list:
    """Every row of a list, read page by page (`walk_pages`)."""
    return [row for page in walk_pages(portal, token, path, limit, **params)
            for row in page["data"]]


@pytest.fixture
def mail():
    """A real SMTP server on a free port, keeping every message it is sent."""
    from tests.integration.test_notifier_delivery import MailCatcher

    catcher = MailCatcher()
    catcher.start()
    yield catcher
    catcher.stop()


@pytest.fixture
def start_portal(new_pg_url, rabbit_config, runner_factory, tmp_path):
    """start_portal(**config overrides) → a running Portal."""
    def start(**overrides):
        port = free_port()
        config = {**rabbit_config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}",
                  "DATABASE_URLS": {"accounts": new_pg_url(), "catalog": new_pg_url(),
                                    "billing": new_pg_url(), "vouchers": new_pg_url(),
                                    "tickets": new_pg_url(), "notifier": new_pg_url(),
                                    "insights": new_pg_url()},
                  "VOUCHER_SECRET_KEY": "integration-test-voucher-secret",
                  "PAYMENT_SANDBOX_URL": f"sqlite:///{tmp_path}/sandbox.db",
                  "ADMIN_EMAIL": demo.ADMIN["email"], "ADMIN_PASSWORD": demo.ADMIN["password"],
                  "BILLING_TIMER_SECONDS": 3600, **overrides}
        runner = runner_factory(config, AccountsService, CatalogService, BillingService,
                                VouchersService, TicketsService, NotifierService,
                                InsightsService, GatewayService)
        runner.start()
        portal = Portal(f"http://127.0.0.1:{port}", runner)
        portal.database_urls, portal.config = config["DATABASE_URLS"], config
        demo.load_catalog(portal.url)
        return portal
    return start
