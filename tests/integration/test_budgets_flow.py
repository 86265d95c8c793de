"""A monthly budget through the gateway on the real services, RabbitMQ and PostgreSQL: the
customer sets it, billing charges them, insights checks billing's month_status after each
charge and the notifier tells the customer once per threshold and month, in their language,
however often the events come."""

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import worker_factory
from sqlalchemy.orm import Session

from services.common.clock import TestClock
from services.common.db import KERNEL, Component, make_engine, migrate, normalize_url
from services.common.observability import ENTRYPOINT_SECONDS
from services.insights import budgets
from services.insights.models import MIGRATIONS, Base
from services.insights.service import InsightsService
from tests.integration.conftest import eventually

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123",
        "holder": "Ann"}
HEADLINES = {"80": "Sie haben 80 % Ihres Monatsbudgets erreicht",
             "100": "Ihr Monatsbudget ist ausgeschöpft"}


def handled(service: str, entrypoint: str) -> float:
    """How many times `service`'s `entrypoint` finished in this process (its metric)."""
    return sum(sample.value for metric in ENTRYPOINT_SECONDS.collect()
               for sample in metric.samples if sample.name.endswith("_count")
               and sample.labels["service"] == service
               and sample.labels["entrypoint"] == entrypoint)


def alerts_emitted(portal, customer_id) -> list[tuple[str, str]]:
    engine = sa.create_engine(normalize_url(portal.database_urls["insights"]),
                              poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            payloads = conn.execute(sa.text(
                "SELECT payload FROM outbox_messages WHERE event_type = 'budget_alert' "
                "ORDER BY id")).scalars().all()
    finally:
        engine.dispose()
    return [(p["budget_alert"]["month"], p["budget_alert"]["threshold"]) for p in payloads
            if p["budget_alert"]["customer_id"] == customer_id]


def inbox_titles(portal, token) -> list[str]:
    return [n["title"] for n in portal.ok("GET", "/api/v1/notifications", token,
                                          params={"limit": 50})["data"]]


def budget_notes(portal, token) -> list[str]:
    return sorted(t for t in inbox_titles(portal, token) if t in HEADLINES.values())


def test_a_budget_alerts_once_per_threshold_and_month_in_the_customer_s_language(start_portal):
    portal = start_portal()
    token = portal.customer("prepaid", language="de")
    me = portal.ok("GET", "/api/v1/me", token)
    portal.ok("POST", "/api/v1/me/payment-methods", token, status=201, json=CARD)
    portal.ok("POST", "/api/v1/wallet/top-ups", token, status=201,
              json={"amount": {"amount": 10000, "currency": "EUR"}},
              headers={"Idempotency-Key": "budget-top-up"})

    view = portal.ok("PUT", "/api/v1/insights/budget", token,
                     json={"amount": {"amount": 2000, "currency": "EUR"}})
    assert view["budget"] == {"amount": 2000, "currency": "EUR"} and view["state"] == "ok"
    assert view["so_far"] == 0 and alerts_emitted(portal, me["id"]) == []

    # Basic costs €17.84 a month with tax: 89 % of the budget
    portal.ok("POST", "/api/v1/subscriptions", token, status=201, json={"package": "basic"},
              headers={"Idempotency-Key": "budget-sub"})
    assert eventually(lambda: budget_notes(portal, token) == [HEADLINES["80"]]), \
        inbox_titles(portal, token)
    view = portal.ok("GET", "/api/v1/insights/budget", token)
    assert (view["so_far"], view["percent"], view["state"]) == (1784, 89, "warning")
    month = view["month"]

    # repeats: the budget set again, billing's event delivered again (a new event id, as a
    # republished one might carry), the alert event itself delivered again to the notifier
    portal.ok("PUT", "/api/v1/insights/budget", token,
              json={"amount": {"amount": 2000, "currency": "EUR"}})
    dispatch = event_dispatcher(portal.config)
    before = handled("insights", "on_wallet_debited")
    for n in range(3):
        dispatch("billing", "wallet_debited", {"event_id": f"evt_repeat_{n}", "wallet": {
            "customer_id": me["id"], "transaction": {}, "balance": {}}})
    assert eventually(lambda: handled("insights", "on_wallet_debited") >= before + 3)
    assert alerts_emitted(portal, me["id"]) == [(month, "80")]

    # an add-on takes the month past the budget: 100 % is told, once
    portal.ok("POST", f"/api/v1/subscriptions/{_subscription(portal, token)}/addons", token,
              json={"code": "movies"})
    assert eventually(lambda: budget_notes(portal, token) == sorted(HEADLINES.values())), \
        inbox_titles(portal, token)
    view = portal.ok("GET", "/api/v1/insights/budget", token)
    assert view["state"] == "over" and view["so_far"] > 2000
    # (the projection is above the budget too, but that is said by 100 % already)
    assert alerts_emitted(portal, me["id"]) == [(month, "80"), (month, "100")]

    before = handled("notifier", "on_budget_alert")
    engine = sa.create_engine(normalize_url(portal.database_urls["insights"]),
                              poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        envelope = conn.execute(sa.text(
            "SELECT payload FROM outbox_messages WHERE event_type = 'budget_alert' "
            "ORDER BY id LIMIT 1")).scalar()
    engine.dispose()
    dispatch("insights", "budget_alert", envelope)
    assert eventually(lambda: handled("notifier", "on_budget_alert") >= before + 1)
    assert budget_notes(portal, token) == sorted(HEADLINES.values())
    body = next(n["body"] for n in portal.ok("GET", "/api/v1/notifications", token)["data"]
                if n["title"] == HEADLINES["80"])
    assert "17,84\xa0€" in body and "20,00\xa0€" in body

    # the budget cleared: no budget, no state, the month's figures still shown
    assert portal("DELETE", "/api/v1/insights/budget", token).status_code == 204
    view = portal.ok("GET", "/api/v1/insights/budget", token)
    assert view["budget"] is None and view["state"] == "none" and view["so_far"] > 2000


def _subscription(portal, token) -> str:
    return portal.ok("GET", "/api/v1/subscriptions", token)["data"][0]["id"]


# twenty charges' events at once, each seeing the month past a threshold: one alert each ------

NOW = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.UTC)


class Billing:
    def __init__(self, so_far, projected):
        self.status = {"currency": "EUR", "month": "2026-12", "start": "2026-12-01",
                       "end": "2027-01-01", "so_far": so_far, "projected": projected,
                       "upcoming": []}

    def month_status(self, customer_id):
        return dict(self.status)


@pytest.fixture
def engine(pg_url):
    engine = make_engine(pg_url, pool_size=25)
    migrate(engine, [KERNEL, Component("insights", Base.metadata, MIGRATIONS)])
    yield engine
    engine.dispose()


def charged(engine, billing, n):
    """insights' handler of billing's wallet_debited, as a worker runs it."""
    with Session(engine, expire_on_commit=False) as session:
        insights = worker_factory(InsightsService, db=session, clock=TestClock(NOW),
                                  billing=billing)
        insights.on_wallet_debited({"event_id": f"evt_{n}", "wallet": {
            "customer_id": "cus_a", "transaction": {}, "balance": {}}})


def test_twenty_concurrent_checks_announce_each_threshold_once(engine):
    with Session(engine) as session:
        budgets.put(session, "cus_a", 10000, "EUR", NOW)
        session.commit()
    for so_far, projected in ((8500, 8500), (8600, 13000), (12000, 13000)):
        billing = Billing(so_far, projected)
        with ThreadPoolExecutor(20) as pool:
            list(pool.map(lambda n, b=billing: charged(engine, b, n), range(20)))
    with engine.connect() as conn:
        sent = [p["budget_alert"]["threshold"] for p in conn.execute(sa.text(
            "SELECT payload FROM outbox_messages WHERE event_type = 'budget_alert' "
            "ORDER BY id")).scalars()]
        recorded = conn.execute(sa.text(
            "SELECT threshold, announced FROM budget_alerts ORDER BY threshold")).all()
    assert sent == ["80", "projected", "100"]
    assert [tuple(r) for r in recorded] == [("100", True), ("80", True), ("projected", True)]
