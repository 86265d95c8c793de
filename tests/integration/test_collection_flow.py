"""Postpaid collection end to end with the test clock, on the real services, RabbitMQ and
PostgreSQL: autopay declined → dunning retries → the customer updates the card and pays, the
service stays active; a customer who never pays is reminded, suspended after the last step,
and resumed on payment. The billing timer runs every 0.3 s; the clock moves by whole days."""

import datetime as dt

import pytest
import sqlalchemy as sa

from deploy import demo
from services.common.db import normalize_url
from tests.integration.conftest import PASSWORD, after_timer_rounds, eventually

DAY = 86400
DECLINES = "4000000000000002"
APPROVES = "4242424242424242"


class Clock:
    def __init__(self, path):
        self.path, self.offset = path, 0.0

    def advance(self, days: float) -> None:
        self.offset += days * DAY
        self.path.write_text(str(self.offset))

    def today(self) -> dt.date:
        return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.offset)).date()


@pytest.fixture
def world(start_portal, tmp_path):
    offset = tmp_path / "clock-offset"
    offset.write_text("0")
    portal = start_portal(TEST_CLOCK_OFFSET_FILE=str(offset), BILLING_TIMER_SECONDS=0.3,
                          BILLING_DUNNING_RETRY_DAYS="1,3,7")
    engine = sa.create_engine(normalize_url(portal.database_urls["billing"]),
                              poolclass=sa.pool.NullPool)
    yield portal, Clock(offset), engine
    engine.dispose()



def bill_next_day(portal, clock, email):
    """A day later, the billing run for that day (the timer's, or this one) issues the invoice;
    the customer's new token (sessions expire by the moved clock)."""
    clock.advance(1)
    admin = demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])
    portal.ok("POST", "/api/v1/ops/billing-runs", admin, status=202,
              json={"date": clock.today().isoformat()})
    return demo.login(portal.url, email, PASSWORD)


def card(portal, token, number):
    return portal.ok("POST", "/api/v1/me/payment-methods", token, status=201, json={
        "number": number, "exp_month": 12, "exp_year": 2040, "cvc": "123", "holder": "Ann"})


def events(engine, event_type, customer_id=None):
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT payload FROM outbox_messages WHERE event_type = :t ORDER BY id"),
            {"t": event_type}).scalars().all()
    out = [next(v for k, v in p.items() if k not in ("event_id", "occurred_at")) for p in rows]
    return [e for e in out if customer_id is None or e.get("customer_id") == customer_id]


def test_autopay_declined_dunning_then_the_customer_pays_and_stays_active(world):
    portal, clock, engine = world
    token = portal.customer("postpaid")
    me = portal.ok("GET", "/api/v1/me", token)
    portal.ok("POST", "/api/v1/subscriptions", token, status=201, json={"package": "basic"})
    assert portal("PUT", "/api/v1/autopay", token, json={"enabled": True}).status_code == 409
    bad = card(portal, token, DECLINES)
    assert portal.ok("PUT", "/api/v1/autopay", token, json={
        "enabled": True, "payment_method_id": bad["id"]}) == {
        "enabled": True, "payment_method_id": bad["id"]}

    token = bill_next_day(portal, clock, me["email"])

    def declined_once():
        data = portal.ok("GET", "/api/v1/invoices", token)["data"]
        return data and data[0]["collection"]["failed_attempts"] == 1 and data[0]
    invoice = eventually(declined_once)
    assert invoice, portal.ok("GET", "/api/v1/invoices", token)
    assert invoice["status"] == "open" and invoice["collection"]["state"] == "retrying"
    assert invoice["collection"]["last_decline_code"] == "card_declined"
    retry_at = dt.datetime.fromisoformat(invoice["collection"]["next_retry_at"])
    assert dt.timedelta(hours=23) < retry_at - (dt.datetime.now(dt.UTC) + dt.timedelta(
        seconds=clock.offset)) <= dt.timedelta(days=1)
    [failed] = events(engine, "payment_failed", me["id"])
    assert failed["invoice_id"] == invoice["id"] and failed["next_retry_at"]
    assert eventually(lambda: events(engine, "invoice_payment_reminder", me["id"]))

    clock.advance(1.01)  # the first retry is due: declined again
    token = demo.login(portal.url, me["email"], PASSWORD)
    again = eventually(lambda: portal.ok("GET", f"/api/v1/invoices/{invoice['id']}", token)[
        "collection"]["failed_attempts"] == 2)
    assert again
    payments = portal.ok("GET", "/api/v1/payments", token)["data"]
    assert [p["status"] for p in payments] == ["failed", "failed"]

    good = card(portal, token, APPROVES)  # update the card and pay
    paid = portal.ok("POST", f"/api/v1/invoices/{invoice['id']}/pay", token, status=201,
                     json={"payment_method_id": good["id"]}, headers={"Idempotency-Key": "k1"})
    assert paid["invoice"]["status"] == "paid"
    assert paid["invoice"]["collection"]["state"] is None
    assert paid["invoice"]["collection"]["next_retry_at"] is None

    clock.advance(7)  # the remaining steps were cancelled: nothing more is charged
    token = demo.login(portal.url, me["email"], PASSWORD)
    after_timer_rounds("billing", "run_due")
    assert [p["status"] for p in portal.ok("GET", "/api/v1/payments", token)["data"]] == [
        "succeeded", "failed", "failed"]
    [sub] = portal.ok("GET", "/api/v1/subscriptions", token)["data"]
    assert sub["status"] == "active"
    assert not events(engine, "subscription_suspended", me["id"])
    assert len(events(engine, "invoice_paid", me["id"])) == 1


def test_a_customer_who_never_pays_is_suspended_then_resumed_on_payment(world):
    portal, clock, engine = world
    token = portal.customer("postpaid")
    me = portal.ok("GET", "/api/v1/me", token)
    portal.ok("POST", "/api/v1/subscriptions", token, status=201, json={"package": "basic"})
    admin = demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])
    terms = portal.ok("PUT", f"/api/v1/ops/customers/{me['id']}/billing-profile", admin,
                      json={"payment_terms_days": 2})
    assert terms["effective_payment_terms_days"] == 2

    token = bill_next_day(portal, clock, me["email"])
    [invoice] = eventually(lambda: portal.ok("GET", "/api/v1/invoices", token)["data"])
    # issued by this run or by the timer's run for the day that ended: due 2 days after issue
    assert invoice["due_date"] == (dt.date.fromisoformat(invoice["issue_date"])
                                   + dt.timedelta(days=2)).isoformat()
    assert invoice["collection"]["autopay"] is False
    assert eventually(lambda: events(engine, "invoice_payment_due", me["id"]))

    clock.advance(3)  # past due: overdue, and the dunning reminders start
    token = demo.login(portal.url, me["email"], PASSWORD)
    assert eventually(lambda: portal.ok("GET", f"/api/v1/invoices/{invoice['id']}", token)[
        "status"] == "overdue")
    assert len(events(engine, "invoice_overdue", me["id"])) == 1
    board = portal.ok("GET", "/api/v1/dashboard", token)
    assert board["bills"]["overdue_count"] == 1

    for _ in range(3):  # three steps (1, 3, 7 days): reminders; the last one suspends
        clock.advance(3)
        after_timer_rounds("billing", "run_due")
    token = demo.login(portal.url, me["email"], PASSWORD)
    assert eventually(lambda: portal.ok("GET", "/api/v1/subscriptions", token)["data"][0][
        "status"] == "suspended")
    shown = portal.ok("GET", f"/api/v1/invoices/{invoice['id']}", token)
    assert shown["collection"]["state"] == "exhausted"
    reminders = events(engine, "invoice_payment_reminder", me["id"])
    assert sorted(r["step"] for r in reminders) == [1, 2, 3]
    assert [r["suspension_follows"] for r in sorted(reminders, key=lambda r: r["step"])] == [
        False, False, True]
    [suspended] = events(engine, "subscription_suspended", me["id"])
    assert suspended["reason"] == "unpaid_invoice"

    card(portal, token, APPROVES)
    paid = portal.ok("POST", f"/api/v1/invoices/{invoice['id']}/pay", token, status=201,
                     json={}, headers={"Idempotency-Key": "pay-late"})
    assert paid["invoice"]["status"] == "paid" and len(paid["reinstated"]) == 1
    assert portal.ok("GET", "/api/v1/subscriptions", token)["data"][0]["status"] == "active"
    assert len(events(engine, "subscription_resumed", me["id"])) == 1


def test_a_step_left_half_done_by_a_dead_process_is_done_again_and_charges_once(world):
    portal, clock, engine = world
    token = portal.customer("postpaid")
    me = portal.ok("GET", "/api/v1/me", token)
    portal.ok("POST", "/api/v1/subscriptions", token, status=201, json={"package": "basic"})
    token = bill_next_day(portal, clock, me["email"])
    [invoice] = eventually(lambda: portal.ok("GET", "/api/v1/invoices", token)["data"])
    card(portal, token, APPROVES)
    portal.ok("PUT", "/api/v1/autopay", token, json={"enabled": True})
    with engine.begin() as conn:  # autopay's step, claimed by a process that then died
        conn.execute(sa.text(
            "INSERT INTO collection_attempts (invoice_id, customer_id, attempt, due_at, status, "
            "processed_at) VALUES (:i, :c, 0, :t, 'processing', :t)"),
            {"i": invoice["id"], "c": me["id"],
             "t": dt.datetime.now(dt.UTC) + dt.timedelta(seconds=clock.offset)})
    after_timer_rounds("billing", "run_due")  # a claimed step is not taken again too soon
    assert portal.ok("GET", f"/api/v1/invoices/{invoice['id']}", token)["status"] == "open"

    clock.advance(11 / 1440)  # 11 minutes later the step is put back and done
    token = demo.login(portal.url, me["email"], PASSWORD)
    assert eventually(lambda: portal.ok("GET", f"/api/v1/invoices/{invoice['id']}", token)[
        "status"] == "paid")
    after_timer_rounds("billing", "run_due")
    payments = portal.ok("GET", "/api/v1/payments", token)["data"]
    assert [(p["status"], p["invoice_id"]) for p in payments] == [("succeeded", invoice["id"])]
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM collection_attempts WHERE "
                                    "invoice_id = :i"), {"i": invoice["id"]}).scalars().all() \
            == ["succeeded"]
