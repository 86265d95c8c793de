"""A prepaid customer's life through the gateway on the real services, RabbitMQ and PostgreSQL:
subscribe, paid from the wallet, the money runs out at renewal, suspended, top up, resumed."""

import datetime as dt
import uuid

import pytest
from nameko.testing.utils import get_container, get_extension

from deploy import demo
from services.billing.service import BillingService
from services.catalog.service import CatalogService
from services.common.clock import ClockProvider, TestClock
from tests.integration.conftest import PASSWORD, eventually, walk


@pytest.fixture
def prepaid(start_portal):
    portal = start_portal(BILLING_TIMER_SECONDS=0.2, AUTH_CACHE_SECONDS=0)
    clock = TestClock(dt.datetime.now(dt.UTC))
    for service in (CatalogService, BillingService):
        get_extension(get_container(portal.runner, service), ClockProvider).clock = clock
    return portal, clock


def wait_for(check, seconds=10):
    value = eventually(check, timeout=seconds)
    assert value, "condition not met in time"
    return value


def test_a_prepaid_customer_runs_out_is_suspended_tops_up_and_is_resumed(prepaid):
    portal, clock = prepaid
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    portal.ok("POST", "/api/v1/accounts", None, status=201, json={
        "email": email, "password": PASSWORD, "name": "Pia", "billing_type": "prepaid",
        "currency": "EUR", "address": {"line1": "Hauptstr. 1", "city": "Berlin",
                                       "postal_code": "10115", "country": "DE"}})
    token = demo.login(portal.url, email, PASSWORD)
    refused = portal("POST", "/api/v1/subscriptions", token, json={"package": "basic"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == \
        "INSUFFICIENT_BALANCE"

    card = portal.ok("POST", "/api/v1/me/payment-methods", token, status=201, json={
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "913",
        "holder": "Pia"})
    assert card["last4"] == "4242" and card["is_default"]
    portal.ok("POST", "/api/v1/wallet/top-ups", token, status=201,
              json={"amount": {"amount": 2000, "currency": "EUR"}},
              headers={"Idempotency-Key": "first"})
    sub = portal.ok("POST", "/api/v1/subscriptions", token, status=201,
                    json={"package": "basic"})
    wallet = portal.ok("GET", "/api/v1/wallet", token)
    assert wallet["balance"]["amount"] == 2000 - sub["charges"]["amount_due"]["amount"] == 216
    ledger = portal.ok("GET", "/api/v1/wallet/transactions", token)["data"]
    assert [(e["type"], e["balance_after"]["amount"]) for e in ledger] == [
        ("service_charge", 216), ("top_up", 2000)]

    clock.advance(days=31)  # the renewal cannot be paid
    board = wait_for(lambda: (b := portal.ok("GET", "/api/v1/dashboard", token))[
        "subscriptions"]["data"][0]["status"] == "suspended" and b)
    assert board["wallet"]["balance"]["amount"] == 216 and board["wallet"]["low_balance"]

    declined = portal.ok("POST", "/api/v1/me/payment-methods", token, status=201, json={
        "number": "4000000000009995", "exp_month": 12, "exp_year": 2030, "cvc": "913",
        "holder": "Pia"})
    refused = portal("POST", "/api/v1/wallet/top-ups", token, headers={
        "Idempotency-Key": "declined"}, json={
        "amount": {"amount": 3000, "currency": "EUR"}, "payment_method_id": declined["id"]})
    assert refused.status_code == 402
    assert refused.json()["error"]["decline_code"] == "insufficient_funds"

    topped = portal.ok("POST", "/api/v1/wallet/top-ups", token, status=201,
                       json={"amount": {"amount": 3000, "currency": "EUR"},
                             "payment_method_id": card["id"]},
                       headers={"Idempotency-Key": "second"})
    assert topped["reinstated"] == [sub["id"]]
    assert portal.ok("GET", f"/api/v1/subscriptions/{sub['id']}", token)["status"] == "active"
    assert portal.ok("GET", "/api/v1/wallet", token)["balance"]["amount"] == 216 + 3000 - 1784

    postpaid = portal.customer("postpaid")
    assert portal("GET", "/api/v1/wallet", postpaid).json()["error"]["code"] == "NOT_PREPAID"
    admin = demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])
    me = portal.ok("GET", "/api/v1/me", token)["id"]
    adjusted = portal.ok("POST", f"/api/v1/ops/customers/{me}/wallet/adjustments", admin,
                         status=201, json={"amount": {"amount": 250, "currency": "EUR"},
                                           "reason": "goodwill for the outage"},
                         headers={"Idempotency-Key": "goodwill"})
    assert adjusted["transaction"]["type"] == "adjustment"
    assert portal.ok("GET", "/api/v1/wallet", token)["balance"]["amount"] == 216 + 3000 - 1784 \
        + 250
    assert portal("POST", f"/api/v1/ops/customers/{me}/wallet/adjustments", token, json={
        "amount": {"amount": 250, "currency": "EUR"}, "reason": "self-service"}).status_code \
        == 403
    assert portal.ok("GET", "/api/v1/ops/ledger/verify", admin)["ok"] is True




def test_the_wallet_history_and_the_payments_page_through_every_row_once(prepaid):
    portal, clock = prepaid
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    portal.ok("POST", "/api/v1/accounts", None, status=201, json={
        "email": email, "password": PASSWORD, "name": "Pat", "billing_type": "prepaid",
        "currency": "EUR"})
    token = demo.login(portal.url, email, PASSWORD)
    portal.ok("POST", "/api/v1/me/payment-methods", token, status=201, json={
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "913",
        "holder": "Pat"})
    for n in range(5):
        clock.advance(seconds=1)  # payments are listed by time: one a second
        portal.ok("POST", "/api/v1/wallet/top-ups", token, status=201,
                  json={"amount": {"amount": 100 * (n + 1), "currency": "EUR"}},
                  headers={"Idempotency-Key": f"page-{n}"})
    entries = walk(portal, token, "/api/v1/wallet/transactions", 2)
    assert [e["amount"]["amount"] for e in entries] == [500, 400, 300, 200, 100]  # newest first
    paid = walk(portal, token, "/api/v1/payments", 2)
    assert [p["amount"]["amount"] for p in paid] == [500, 400, 300, 200, 100]
    assert len({p["id"] for p in paid}) == 5
    whole = portal.ok("GET", "/api/v1/payments?limit=5", token)
    assert len(whole["data"]) == 5 and whole["has_more"] is False
    cut = portal.ok("GET", "/api/v1/payments?limit=4", token)
    assert len(cut["data"]) == 4 and cut["has_more"] is True
    for bad in ("%25%25", "12", "x" * 201):
        refused = portal("GET", f"/api/v1/payments?cursor={bad}", token)
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.json()["error"]["code"] == "VALIDATION_FAILED"
