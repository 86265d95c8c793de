"""Spending over time (billing.spending, month_status) on the real services, RabbitMQ and
PostgreSQL, over three months moved by one test clock shared by every service: the figures
reconcile with the invoices and credit notes (postpaid) and with the wallet's ledger
(prepaid), month by month and in total."""

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.utils import get_extension

from services.billing.insights import months
from services.common.clock import ClockProvider, TestClock
from services.common.db import normalize_url
from tests.integration.conftest import PASSWORD, eventually

KINDS = ("package", "addons", "devices", "one_off", "taxes", "discounts", "credits")
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "913",
        "holder": "Ann"}


@pytest.fixture
def world(start_portal):
    """The portal with every service on one TestClock, standing on the 3rd of the month after
    next (the catalog and its promotion were loaded before, at real time), 10:00 UTC."""
    portal = start_portal(BILLING_TIMER_SECONDS=0.3)
    first = months.add_months(months.month_start(dt.datetime.now(dt.UTC)), 2)
    clock = TestClock(first + dt.timedelta(days=2, hours=10))
    for container in portal.runner.containers:
        provider = get_extension(container, ClockProvider)
        if provider is not None:
            provider.clock = clock
    with ClusterRpcProxy(portal.config) as rpc:
        yield portal, clock, rpc, first


def wait_for(check, timeout=30, show=None):
    value = eventually(check, timeout=timeout)
    assert value, f"condition not met in time: {show() if show else ''}"
    return value


def on_day(first, month, day, hour=10):
    """The instant `day` of the month `month` months after `first`, at `hour`."""
    return months.add_months(first, month) + dt.timedelta(days=day - 1, hours=hour)


def register(rpc, billing_type):
    return rpc.accounts.register({"email": f"{uuid.uuid4().hex[:8]}@example.com",
                                  "password": PASSWORD, "name": "Ann",
                                  "billing_type": billing_type, "currency": "EUR",
                                  "address": {"line1": "Hauptstr. 1", "city": "Berlin",
                                              "postal_code": "10115", "country": "DE"}})["id"]


def bill(rpc, clock):
    """A billing run for today, finished."""
    run = rpc.billing.start_billing_run(clock.now().date().isoformat())
    wait_for(lambda: rpc.billing.get_billing_run(run["id"])["status"] == "completed")


def renewed(rpc, customer, sub_id, day: dt.datetime):
    return rpc.billing.get_subscription(customer, sub_id)["current_period"]["start"] \
        .startswith(day.date().isoformat())


def voucher_code(rpc, clock, value):
    batch = rpc.vouchers.create_batch({
        "type": "print", "value": {"amount": value, "currency": "EUR"}, "count": 1,
        "valid_until": (clock.now() + dt.timedelta(days=365)).isoformat(),
        "description": "Shop cards"}, "ops_admin", uuid.uuid4().hex)
    wait_for(lambda: rpc.vouchers.get_batch(batch["id"])["status"] == "active")
    rpc.vouchers.start_export(batch["id"], "ops_admin")
    [row] = rpc.vouchers.export_page(batch["id"], None, 10)["rows"]
    return row[1]


def added(periods):
    """The sum of every period's figures, as `totals` should be."""
    out = {"kinds": dict.fromkeys(KINDS, 0), "total": 0, "top_ups": 0, "vouchers": 0}
    for p in periods:
        for kind in KINDS:
            out["kinds"][kind] += p["kinds"][kind]
        for key in ("total", "top_ups", "vouchers"):
            out[key] += p[key]
    return out


def test_spending_reconciles_with_invoices_credit_notes_and_the_ledger(world):
    portal, clock, rpc, first = world
    billing = rpc.billing
    post, pre = register(rpc, "postpaid"), register(rpc, "prepaid")

    # month 0, day 3: the postpaid customer subscribes (package with its promotion, an add-on,
    # a rented router, a bought set-top box) and is invoiced by a run
    sub = billing.subscribe(post, {"package": "family", "addons": ["sports"], "devices": [
        {"code": "router-wifi6", "acquisition": "rental"},
        {"code": "stb-4k", "acquisition": "purchase"}]}, "sub-post")
    bill(rpc, clock)
    [first_invoice] = billing.list_invoices(post)["data"]
    # the prepaid customer tops up by card and subscribes, paid from the wallet
    card = billing.add_payment_method(pre, CARD)["id"]
    billing.top_up(pre, {"amount": {"amount": 3000, "currency": "EUR"},
                         "payment_method_id": card}, "top-up-1")
    prepaid_sub = billing.subscribe(pre, {"package": "basic"}, "sub-pre")
    code = voucher_code(rpc, clock, 1500)

    # day 10: a voucher redeemed; a credit note lowers the unpaid invoice, the rest is paid
    clock.set(on_day(first, 0, 10))
    billing.redeem_voucher(pre, {"code": code}, "127.0.0.1")
    note_on_invoice = billing.issue_credit_note(first_invoice["id"], {
        "amount": {"amount": 500, "currency": "EUR"}, "reason": "Outage"}, "ops_admin", "cn-1")
    assert note_on_invoice["applied_to"] == "invoice"
    post_card = billing.add_payment_method(post, CARD)["id"]
    billing.pay_invoice(post, first_invoice["id"], {"payment_method_id": post_card}, "pay-1")

    # month 1, day 3: both renew; the postpaid renewal is invoiced and paid, then credited (a
    # paid invoice's credit note: a negative charge for the next invoice); day 10: an add-on
    clock.set(on_day(first, 1, 3, 11))
    wait_for(lambda: renewed(rpc, post, sub["id"], on_day(first, 1, 3))
             and renewed(rpc, pre, prepaid_sub["id"], on_day(first, 1, 3)))
    bill(rpc, clock)
    second_invoice = next(i for i in billing.list_invoices(post)["data"]
                          if i["id"] != first_invoice["id"])
    billing.pay_invoice(post, second_invoice["id"], {"payment_method_id": post_card}, "pay-2")
    note_next = billing.issue_credit_note(second_invoice["id"], {
        "amount": {"amount": 300, "currency": "EUR"}, "reason": "Goodwill"}, "ops_admin", "cn-2")
    assert note_next["applied_to"] == "next_invoice"
    clock.set(on_day(first, 1, 10))
    billing.add_addon(post, sub["id"], {"code": "movies"}, "addon-1")

    # month 2, day 3: the prepaid renewal cannot be paid (suspended); day 5 a top-up pays it
    clock.set(on_day(first, 2, 3, 11))
    wait_for(lambda: billing.get_subscription(pre, prepaid_sub["id"])["status"] == "suspended"
             and renewed(rpc, post, sub["id"], on_day(first, 2, 3)), timeout=10,
             show=lambda: (billing.get_subscription(pre, prepaid_sub["id"]),
                           billing.get_subscription(post, sub["id"]),
                           billing.wallet_transactions(pre, 100)))
    clock.set(on_day(first, 2, 5, 11))
    topped = billing.top_up(pre, {"amount": {"amount": 2000, "currency": "EUR"},
                                  "payment_method_id": card}, "top-up-2")
    assert topped["reinstated"] == [prepaid_sub["id"]]

    start = months.add_months(first, -1).date().isoformat()
    end = months.add_months(first, 3).date().isoformat()
    keys = [months.key(months.add_months(first, i)) for i in range(-1, 3)]

    # postpaid: the months add up to the invoices, less the credit notes that lowered them,
    # plus what is not invoiced yet -----------------------------------------------------------
    spent = billing.spending(post, start, end)
    assert spent["currency"] == "EUR" and [p["period"] for p in spent["periods"]] == keys
    assert spent["totals"] == added(spent["periods"])
    before, m0, m1, m2 = spent["periods"]
    assert before["total"] == 0 and before["kinds"] == dict.fromkeys(KINDS, 0)
    engine = sa.create_engine(normalize_url(portal.database_urls["billing"]),
                              poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        invoices = conn.execute(sa.text(
            "SELECT id, total, tax FROM invoices WHERE customer_id = :c AND number IS NOT NULL"),
            {"c": post}).all()
        notes = conn.execute(sa.text(
            "SELECT amount, tax, applied_to FROM credit_notes WHERE customer_id = :c"),
            {"c": post}).all()
        uninvoiced = conn.execute(sa.text(
            "SELECT coalesce(sum(amount + tax), 0) FROM charges "
            "WHERE customer_id = :c AND invoice_id IS NULL"), {"c": post}).scalar()
        discounts = conn.execute(sa.text(
            "SELECT sum(amount) FROM charges WHERE customer_id = :c AND kind = 'discount' "
            "AND invoice_id = :i"), {"c": post, "i": first_invoice["id"]}).scalar()
    assert len(invoices) >= 2 and len(notes) == 2
    lowered = sum(n.amount for n in notes if n.applied_to == "invoice")
    assert spent["totals"]["total"] == sum(i.total for i in invoices) - lowered + uninvoiced
    # month by month: month 0 is the first invoice exactly; its credit note is in month 0 too
    assert m0["total"] == first_invoice["total"]["amount"] - 500
    assert m0["kinds"]["taxes"] == first_invoice["tax"]["amount"] - note_on_invoice["tax"][
        "amount"]
    assert m0["kinds"]["package"] == 2499 and m0["kinds"]["addons"] == 999
    assert m0["kinds"]["devices"] == 399 + 9900 and m0["kinds"]["one_off"] == 0
    assert m0["kinds"]["discounts"] == discounts < 0
    assert m0["kinds"]["credits"] == -(500 - note_on_invoice["tax"]["amount"])
    # month 1: the renewal (the second invoice), the paid invoice's credit, the add-on
    assert m1["kinds"]["credits"] == -(300 - note_next["tax"]["amount"])
    assert m1["kinds"]["addons"] > 999  # sports renewed, movies for the rest of the month
    assert m1["total"] == second_invoice["total"]["amount"] - 300 + sum(
        c["amount"]["amount"] + c["tax"]["amount"] for c in billing.list_charges(post)
        if c["item"] == "movies" and c["created_at"][:7] == keys[2])
    assert m2["total"] > 0 and m2["top_ups"] == m2["vouchers"] == 0

    # prepaid: the months are the ledger's debits less its credits other than money put in;
    # top-ups and vouchers are the credits that are --------------------------------------------
    spent = billing.spending(pre, start, end)
    assert spent["totals"] == added(spent["periods"])
    entries = billing.wallet_transactions(pre, 100)["data"]
    by_month: dict[str, dict] = {k: {"charged": 0, "top_up": 0, "voucher": 0} for k in keys}
    for e in entries:
        bucket = by_month[e["created_at"][:7]]
        amount = e["amount"]["amount"]
        if e["type"] in ("top_up", "voucher"):
            bucket[e["type"]] += amount
        else:
            bucket["charged"] += amount if e["direction"] == "debit" else -amount
    for period in spent["periods"]:
        figures = by_month[period["period"]]
        assert (period["total"], period["top_ups"], period["vouchers"]) == (
            figures["charged"], figures["top_up"], figures["voucher"]), period
    _, p0, p1, p2 = spent["periods"]
    assert (p0["top_ups"], p0["vouchers"], p1["top_ups"], p2["top_ups"]) == (3000, 1500, 0, 2000)
    renewal = p0["total"]
    assert renewal > 0 and p0["kinds"]["package"] == 1499 and p1["total"] == renewal
    assert p2["total"] == renewal  # the suspended renewal counts when the top-up paid it
    assert spent["totals"]["total"] == sum(
        e["amount"]["amount"] for e in entries if e["direction"] == "debit")

    # this month so far, and projected with the renewals still due before it ends ------------
    status = billing.month_status(pre)
    assert (status["month"], status["so_far"]) == (keys[3], p2["total"])
    assert status["projected"] == status["so_far"] and status["upcoming"] == []
    clock.set(on_day(first, 3, 1, 9))
    for customer, subscription in ((post, sub), (pre, prepaid_sub)):
        status = billing.month_status(customer)
        assert status["month"] == months.key(months.add_months(first, 3))
        assert status["so_far"] == 0
        [upcoming] = status["upcoming"]
        expected = billing.get_subscription(customer, subscription["id"])["next_renewal"]
        assert (upcoming["date"], upcoming["amount"]) == (expected["date"],
                                                          expected["amount"]["amount"])
        assert upcoming["subscription_id"] == subscription["id"]
        assert status["projected"] == upcoming["amount"]
