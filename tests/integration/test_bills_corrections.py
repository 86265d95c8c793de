"""Credit notes and concurrent payments of one invoice, through the gateway on the real
services and PostgreSQL: a finalized invoice is corrected only by credit notes (idempotent,
numbered), a paid invoice's credit lands on the next invoice, and an invoice is charged once
however many payments race for it."""

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest

from deploy import demo
from tests.integration.conftest import PASSWORD, eventually

DAY = 86400


@pytest.fixture
def world(start_portal, tmp_path):
    offset = tmp_path / "clock-offset"
    offset.write_text("0")
    portal = start_portal(TEST_CLOCK_OFFSET_FILE=str(offset))
    state = {"offset": 0.0}

    def next_day() -> str:
        state["offset"] += DAY
        offset.write_text(str(state["offset"]))
        return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=state["offset"])).date() \
            .isoformat()
    return portal, next_day


def run(portal, day):
    admin = demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])
    started = portal.ok("POST", "/api/v1/ops/billing-runs", admin, status=202, json={"date": day})
    assert eventually(lambda: portal.ok("GET", f"/api/v1/ops/billing-runs/{started['id']}",
                                        admin)["status"] == "completed")
    return admin


def invoiced_customer(portal, next_day, package="basic"):
    token = portal.customer("postpaid")
    me = portal.ok("GET", "/api/v1/me", token)
    portal.ok("POST", "/api/v1/subscriptions", token, status=201, json={"package": package})
    admin = run(portal, next_day())
    token = demo.login(portal.url, me["email"], PASSWORD)
    [invoice] = portal.ok("GET", "/api/v1/invoices", token)["data"]
    return token, me, admin, invoice


def test_credit_notes_lower_what_is_due_and_a_full_credit_voids_the_invoice(world):
    portal, next_day = world
    token, me, admin, invoice = invoiced_customer(portal, next_day)
    total = invoice["total"]["amount"]
    path = f"/api/v1/ops/invoices/{invoice['id']}/credit-notes"
    body = {"amount": {"amount": 500, "currency": "EUR"}, "reason": "Outage on 3 May"}

    assert portal(path=path, method="POST", token=token, json=body).status_code == 403
    with ThreadPoolExecutor(8) as pool:  # one request, sent 8 times at once: one note
        answers = list(pool.map(lambda _: portal("POST", path, admin, json=body,
                                                 headers={"Idempotency-Key": "outage"}),
                                range(8)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    note = answers[0].json()
    assert note["number"].startswith("CN-") and note["applied_to"] == "invoice"
    assert 0 < note["tax"]["amount"] < 500
    reused = portal("POST", path, admin, headers={"Idempotency-Key": "outage"},
                    json={**body, "reason": "Something else"})
    assert reused.status_code == 409
    assert reused.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"

    shown = portal.ok("GET", f"/api/v1/invoices/{invoice['id']}", token)
    assert shown["amount_credited"]["amount"] == 500
    assert shown["amount_due"]["amount"] == total - 500
    assert shown["total"]["amount"] == total  # the invoice itself is never edited
    assert [n["id"] for n in shown["credit_notes"]] == [note["id"]]
    too_much = portal("POST", path, admin, headers={"Idempotency-Key": "too-much"},
                      json={**body, "amount": {"amount": total - 499, "currency": "EUR"}})
    assert too_much.status_code == 400 and "amount" in too_much.json()["error"]["fields"]
    wrong_currency = portal("POST", path, admin, headers={"Idempotency-Key": "usd"},
                            json={**body, "amount": {"amount": 100, "currency": "USD"}})
    assert wrong_currency.status_code == 400

    portal.ok("POST", path, admin, status=201, headers={"Idempotency-Key": "the-rest"},
              json={**body, "amount": {"amount": total - 500, "currency": "EUR"}})
    voided = portal.ok("GET", f"/api/v1/invoices/{invoice['id']}", token)
    assert voided["status"] == "void" and voided["amount_due"]["amount"] == 0
    assert portal.ok("GET", "/api/v1/dashboard", token)["bills"]["outstanding_total"][
        "amount"] == 0
    assert portal("POST", f"/api/v1/invoices/{invoice['id']}/pay", token, json={},
                  headers={"Idempotency-Key": "pay-void"}).status_code == 409
    assert portal("POST", "/api/v1/ops/invoices/inv_nope/credit-notes", admin, json=body,
                  headers={"Idempotency-Key": "nope"}).status_code == 404


def test_a_paid_invoices_credit_is_a_line_on_the_next_invoice(world):
    portal, next_day = world
    token, me, admin, invoice = invoiced_customer(portal, next_day)
    portal.ok("POST", "/api/v1/me/payment-methods", token, status=201, json={
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123",
        "holder": "Ann"})
    portal.ok("POST", f"/api/v1/invoices/{invoice['id']}/pay", token, status=201, json={},
              headers={"Idempotency-Key": "pay-in-full"})
    note = portal.ok("POST", f"/api/v1/ops/invoices/{invoice['id']}/credit-notes", admin,
                     status=201, json={"amount": {"amount": 300, "currency": "EUR"},
                                       "reason": "Goodwill"},
                     headers={"Idempotency-Key": "goodwill"})
    assert note["applied_to"] == "next_invoice"
    # the next invoice needs a charge to be issued at all: an add-on bought today
    [sub] = portal.ok("GET", "/api/v1/subscriptions", token)["data"]
    portal.ok("POST", f"/api/v1/subscriptions/{sub['id']}/addons", token,
              json={"code": "movies"})
    run(portal, next_day())
    token = demo.login(portal.url, me["email"], PASSWORD)
    latest = portal.ok("GET", "/api/v1/invoices", token)["data"][0]
    assert latest["id"] != invoice["id"]
    [credit] = [ln for ln in latest["lines"] if ln["kind"] == "credit"]
    assert credit["amount"]["amount"] + credit["tax"]["amount"] == -300
    assert note["number"] in credit["description"] or invoice["number"] in credit[
        "description"]
    assert latest["total"]["amount"] == sum(
        ln["amount"]["amount"] + ln["tax"]["amount"] for ln in latest["lines"])


def test_racing_payments_of_one_invoice_charge_it_once(world):
    portal, next_day = world
    token, me, admin, invoice = invoiced_customer(portal, next_day)
    portal.ok("POST", "/api/v1/me/payment-methods", token, status=201, json={
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123",
        "holder": "Ann"})
    with ThreadPoolExecutor(6) as pool:  # six different submissions (keys) at once
        answers = list(pool.map(
            lambda n: portal("POST", f"/api/v1/invoices/{invoice['id']}/pay", token, json={},
                             headers={"Idempotency-Key": f"race-{n}"}), range(6)))
    codes = sorted(a.status_code for a in answers)
    assert codes.count(201) == 1, [a.text for a in answers]
    assert set(codes) <= {201, 409}
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} <= {
        "PAYMENT_IN_PROGRESS", "INVOICE_NOT_PAYABLE"}
    succeeded = [p for p in portal.ok("GET", "/api/v1/payments", token)["data"]
                 if p["status"] == "succeeded"]
    assert len(succeeded) == 1
    shown = portal.ok("GET", f"/api/v1/invoices/{invoice['id']}", token)
    assert shown["status"] == "paid" and shown["amount_paid"] == shown["total"]


def test_autopay_and_payment_terms_are_checked_and_owned(world):
    portal, _ = world
    token = portal.customer("postpaid")
    me = portal.ok("GET", "/api/v1/me", token)
    other = portal.customer("postpaid")
    theirs = portal.ok("POST", "/api/v1/me/payment-methods", other, status=201, json={
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123",
        "holder": "Bob"})
    assert portal.ok("GET", "/api/v1/autopay", token) == {"enabled": False,
                                                          "payment_method_id": None}
    foreign = portal("PUT", "/api/v1/autopay", token,
                     json={"enabled": True, "payment_method_id": theirs["id"]})
    assert foreign.status_code == 404  # another customer's card does not exist for Ann
    assert portal("PUT", "/api/v1/autopay", token, json={"enabled": "yes please"}) \
        .status_code == 400
    assert portal("PUT", "/api/v1/autopay", token, json={}).status_code == 400
    prepaid = portal.customer("prepaid")
    assert portal("GET", "/api/v1/autopay", prepaid).json()["error"]["code"] == "NOT_POSTPAID"

    admin = demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])
    path = f"/api/v1/ops/customers/{me['id']}/billing-profile"
    assert portal("PUT", path, token, json={"payment_terms_days": 30}).status_code == 403
    assert portal("PUT", path, admin, json={"payment_terms_days": -1}).status_code == 400
    assert portal("PUT", path, admin, json={"payment_terms_days": "30"}).status_code == 400
    set_ = portal.ok("PUT", path, admin, json={"payment_terms_days": 30})
    assert (set_["payment_terms_days"], set_["effective_payment_terms_days"]) == (30, 30)
    reset = portal.ok("PUT", path, admin, json={"payment_terms_days": None})
    assert (reset["payment_terms_days"], reset["effective_payment_terms_days"]) == (None, 14)
    prepaid_id = portal.ok("GET", "/api/v1/me", prepaid)["id"]
    assert portal("GET", f"/api/v1/ops/customers/{prepaid_id}/billing-profile",
                  admin).status_code == 409
