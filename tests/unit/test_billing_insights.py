"""billing's insights (services/billing/insights/): how amounts are classified into kinds, how
they fall into calendar months, and the figures from a real billing worker on SQLite."""

import datetime as dt
from types import SimpleNamespace

import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    Table,
    create_engine,
    select,
    update,
)

from services.billing.insights import analytics, months, spending
from services.billing.insights.spending import Amount
from services.billing.models import Charge, Subscription
from services.billing.money import wallets
from services.common import errors
from services.common.sqltypes import UtcDateTime
from tests.unit.billing_world import World


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


# classification ----------------------------------------------------------------------------

def text(code, **params):
    return {"code": code, "params": params}


@pytest.mark.parametrize(("kind", "line_text", "item_kind", "expected"), [
    # a renewal's or a subscription's full-period fee, by the item it is for
    ("fee", text("period_fee"), "package", "package"),
    ("fee", text("period_fee"), "addon", "addons"),
    ("fee", text("device_rental"), "device_rental", "devices"),
    # a prorated charge for the rest of a period
    ("charge", text("period_fee"), "addon", "addons"),
    # a promotion is a discount whatever it is on
    ("discount", text("promotion"), "package", "discounts"),
    ("discount", None, "addon", "discounts"),
    # the unused part given back belongs to the item (the package's month is net of it)
    ("credit", text("credit_unused"), "package", "package"),
    ("credit", text("credit_unused"), "addon", "addons"),
    # a paid invoice's credit note, billed on the next invoice
    ("credit", text("credit_note"), None, "credits"),
    ("credit", None, None, "credits"),  # a row from before texts: no item, a credit
    # a device bought: a device, not just a one-off
    ("one_off", text("device_purchase"), None, "devices"),
    ("one_off", None, "device", "devices"),  # from before texts, the subscription's device
    # anything else is a one-off charge
    ("one_off", None, None, "one_off"),
    ("fee", None, None, "one_off"),
    # rows from before texts classified by their item alone
    ("fee", None, "package", "package"),
    ("fee", None, "device_rental", "devices"),
])
def test_a_charge_is_classified_by_its_kind_text_and_item(kind, line_text, item_kind, expected):
    assert spending.classify(kind, line_text, item_kind) == expected


def entry(direction, type_, amount, source="x"):
    return SimpleNamespace(direction=direction, type=type_, amount=amount, source=source,
                           created_at=utc(2026, 11, 5))


def charge(kind, amount, tax, item=None, line_text=None, sub="sub_1"):
    return SimpleNamespace(kind=kind, amount=amount, tax=tax, item_code=item, text=line_text,
                           subscription_id=sub)


ITEMS = {("sub_1", "basic"): "package", ("sub_1", "sports"): "addon"}


@pytest.mark.parametrize(("ledger_entry", "charges", "expected"), [
    # money put in: not spending
    (entry("credit", "top_up", 2000), None, {"top_ups": 2000}),
    (entry("credit", "voucher", 1500), None, {"vouchers": 1500}),
    # goodwill or a service credit into the wallet: a credit; staff taking money: a one-off
    (entry("credit", "adjustment", 300), None, {"credits": -300}),
    (entry("debit", "adjustment", 250), None, {"one_off": 250}),
    # a renewal paid: split by the charges it paid (net by kind, taxes apart)
    (entry("debit", "service_charge", 1000 + 190 + 500 + 95),
     [charge("fee", 1000, 190, "basic"), charge("fee", 500, 95, "sports")],
     {"package": 1000, "addons": 500, "taxes": 285}),
    # a cancellation's credit back into the wallet
    (entry("credit", "cancellation_credit", 595), [charge("credit", -500, -95, "sports")],
     {"addons": -500, "taxes": -95}),
    # charges that do not explain the whole entry: the rest is a one-off, so it still adds up
    (entry("debit", "service_charge", 1200), [charge("fee", 1000, 190, "basic")],
     {"package": 1000, "taxes": 190, "one_off": 10}),
])
def test_a_ledger_entry_is_split_into_kinds_that_add_up_to_it(ledger_entry, charges, expected):
    amounts = spending.ledger_amounts(ledger_entry, charges, ITEMS)
    got = {}
    for a in amounts:
        if a.amount:
            got[a.kind] = got.get(a.kind, 0) + a.amount
    assert got == expected
    spent = sum(a.amount for a in amounts if a.kind not in ("top_ups", "vouchers"))
    if ledger_entry.type not in ("top_up", "voucher"):
        sign = 1 if ledger_entry.direction == "debit" else -1
        assert spent == sign * ledger_entry.amount


# months --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("start", "end", "expected"), [
    ("2026-06-01", "2026-12-01", [("2026-06", "2026-06-01", "2026-07-01"),
                                  ("2026-07", "2026-07-01", "2026-08-01"),
                                  ("2026-08", "2026-08-01", "2026-09-01"),
                                  ("2026-09", "2026-09-01", "2026-10-01"),
                                  ("2026-10", "2026-10-01", "2026-11-01"),
                                  ("2026-11", "2026-11-01", "2026-12-01")]),
    # across a year; a range inside months is clipped to it
    ("2026-12-15", "2027-02-10", [("2026-12", "2026-12-15", "2027-01-01"),
                                  ("2027-01", "2027-01-01", "2027-02-01"),
                                  ("2027-02", "2027-02-01", "2027-02-10")]),
    ("2026-02-01", "2026-02-02", [("2026-02", "2026-02-01", "2026-02-02")]),
])
def test_every_calendar_month_of_the_range_is_a_period(start, end, expected):
    begin, until = months.parse_range(start, end, "month")
    got = [(p.key, p.start.date().isoformat(), p.end.date().isoformat())
           for p in months.periods(begin, until)]
    assert got == expected


@pytest.mark.parametrize(("start", "end", "group", "field"), [
    ("2026-13-01", "2027-01-01", "month", "start"),
    ("yesterday", "2027-01-01", "month", "start"),
    (None, "2027-01-01", "month", "start"),
    ("2026-01-01", "2026-01-01", "month", "end"),  # empty
    ("2026-02-01", "2026-01-01", "month", "end"),  # backwards
    ("2000-01-01", "2026-01-01", "month", "end"),  # more than ten years
    ("2026-01-01", "2026-02-01", "week", "group"),
])
def test_a_bad_range_is_an_invalid_argument_naming_the_field(start, end, group, field):
    with pytest.raises(errors.InvalidArgument) as caught:
        months.parse_range(start, end, group)
    assert caught.value.code == "VALIDATION_FAILED" and field in caught.value.fields


@pytest.mark.parametrize(("value", "ok"), [(12, 12), ("6", 6), (1, 1), (60, 60), (0, None),
                                           (61, None), (True, None), ("x", None), (None, None),
                                           (2.5, None)])
def test_ops_months_are_an_integer_from_1_to_60(value, ok):
    if ok is None:
        with pytest.raises(errors.InvalidArgument):
            months.parse_months(value)
    else:
        assert months.parse_months(value) == ok


def test_the_ops_window_ends_with_the_current_month():
    bounds = months.window(utc(2026, 12, 4, 12), 3)
    assert bounds == [utc(2026, 10, 1), utc(2026, 11, 1), utc(2026, 12, 1), utc(2027, 1, 1)]


def test_amounts_fall_in_the_month_of_their_instant_and_the_edges_are_exact():
    periods = months.periods(utc(2026, 10, 1), utc(2026, 12, 1))
    rows, totals = spending.tally(periods, [
        Amount(utc(2026, 9, 30, 23, 59, 59), "package", 1),  # before: left out
        Amount(utc(2026, 10, 1), "package", 1000),  # the first instant is in
        Amount(utc(2026, 10, 31, 23, 59, 59), "taxes", 190),
        Amount(utc(2026, 11, 1), "discounts", -100),  # next month's first instant
        Amount(utc(2026, 11, 2), "top_ups", 5000),  # not part of the total
        Amount(utc(2026, 12, 1), "package", 7),  # the end is exclusive
    ])
    assert [(r["period"], r["total"], r["top_ups"]) for r in rows] == [
        ("2026-10", 1190, 0), ("2026-11", -100, 5000)]
    assert rows[0]["kinds"] == {"package": 1000, "addons": 0, "devices": 0, "one_off": 0,
                                "taxes": 190, "discounts": 0, "credits": 0}
    assert totals["total"] == 1090 and totals["top_ups"] == 5000
    assert totals["kinds"]["discounts"] == -100


def test_the_sql_month_bucket_agrees_with_the_python_periods():
    """The CASE numbering, run on SQLite, puts each instant in the month Python does."""
    engine = create_engine("sqlite://")
    table = Table("t", MetaData(), Column("id", Integer, primary_key=True),
                  Column("at", UtcDateTime()), Column("plain", DateTime()))
    table.create(engine)
    bounds = months.window(utc(2026, 12, 4), 3)
    instants = [utc(2026, 9, 30, 23, 59, 59, 999999), utc(2026, 10, 1), utc(2026, 10, 15, 8),
                utc(2026, 11, 30, 23, 59), utc(2026, 12, 1), utc(2026, 12, 31, 23),
                utc(2027, 1, 1), None]
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"id": i, "at": at} for i, at in enumerate(instants)])
        got = dict(conn.execute(select(table.c.id, months.bucket(table.c.at, bounds))).all())
    assert [got[i] for i in range(len(instants))] == [-1, 0, 0, 1, 2, 2, 3, None]


@pytest.mark.parametrize(("part", "whole", "expected"), [
    (0, 0, "0.0000"), (1, 3, "0.3333"), (2, 3, "0.6667"), (1, 47, "0.0213"), (5, 5, "1.0000"),
    (1, 20000, "0.0000"), (3, 20000, "0.0002"),  # 0.00015 rounds half to even
])
def test_the_churn_rate_is_a_four_place_decimal_string(part, whole, expected):
    assert analytics.rate(part, whole) == expected


@pytest.mark.parametrize(("amount", "count", "expected"), [
    (10, 4, 2), (14, 4, 4), (10, 0, 0), (-10, 4, -2), (1001, 2, 500), (1003, 2, 502)])
def test_the_average_is_rounded_half_to_even(amount, count, expected):
    assert analytics.half_even_div(amount, count) == expected


def test_accounts_served_count_from_grouped_rows():
    # (currency, first activation, last cancellation or None while live, accounts)
    rows = [("EUR", -1, None, 5), ("EUR", 0, 1, 2), ("EUR", -1, 0, 1), ("USD", 2, None, 3)]
    assert analytics.served(rows, 3) == {"EUR": [8, 7, 5], "USD": [0, 0, 3]}


def test_held_at_end_and_churn_count_from_grouped_rows():
    # 3 months; buckets: -1 before the window, 3 after it
    rows = [("basic", -1, None, 10), ("basic", -1, 1, 2), ("basic", 1, None, 3),
            ("premium", 0, 0, 1), ("premium", 2, 3, 4)]
    assert analytics.held_at_end(rows, 3) == {"basic": [12, 13, 13], "premium": [0, 0, 4]}
    churn_rows = [(-1, None, 10), (-1, 1, 2), (0, 0, 1), (1, 2, 3)]
    # month 0: 12 active at its start, 1 cancelled (activated and cancelled in it)
    # month 1: the same 12 (the one of month 0 is gone), 2 of them cancelled
    # month 2: 10 left + 3 activated in month 1; those 3 cancelled
    assert analytics.churn_figures(churn_rows, 3) == [(12, 1), (12, 2), (13, 3)]


# through a real billing worker (SQLite) ------------------------------------------------------

START = utc(2026, 11, 21, 10)


@pytest.fixture
def world():
    return World(START)


def test_a_postpaid_month_splits_package_addons_devices_promotion_and_tax(world):
    world.accounts.add("cus_post", "postpaid")
    world.billing.subscribe("cus_post", {
        "package": "family", "addons": ["sports"],
        "devices": [{"code": "router-wifi6", "acquisition": "rental"}]})
    answer = world.billing.spending("cus_post", "2026-10-01", "2027-01-01")
    assert answer["currency"] == "EUR" and answer["group"] == "month"
    assert [p["period"] for p in answer["periods"]] == ["2026-10", "2026-11", "2026-12"]
    november = answer["periods"][1]
    assert november["kinds"] == {"package": 2499, "addons": 999, "devices": 399, "one_off": 0,
                                 "taxes": 693, "discounts": -250, "credits": 0}
    assert november["total"] == 2499 + 999 + 399 + 693 - 250
    assert answer["periods"][0]["total"] == answer["periods"][2]["total"] == 0
    assert answer["totals"]["total"] == november["total"]

    status = world.billing.month_status("cus_post")
    assert status["month"] == "2026-11" and status["so_far"] == november["total"]
    assert status["projected"] == status["so_far"] and status["upcoming"] == []  # renews 21 Dec

    world.clock.set(utc(2026, 12, 3, 9))
    status = world.billing.month_status("cus_post")
    assert (status["month"], status["so_far"]) == ("2026-12", 0)
    [renewal] = status["upcoming"]
    assert renewal["date"] == "2026-12-21T10:00:00Z" and renewal["package"] == "Family"
    assert status["projected"] == renewal["amount"] == november["total"]

    world.clock.set(utc(2026, 12, 21, 11))
    world.billing.run_due()
    december = world.billing.spending("cus_post", "2026-12-01", "2027-01-01")["periods"][0]
    assert december["total"] == november["total"]
    assert world.billing.month_status("cus_post")["so_far"] == december["total"]


def test_prepaid_spending_is_what_the_ledger_paid_and_top_ups_apart(world):
    world.accounts.add("cus_pre", "prepaid")
    world.top_up("cus_pre", 10_000)
    world.billing.subscribe("cus_pre", {"package": "basic"})
    answer = world.billing.spending("cus_pre", "2026-11-01", "2026-12-01")
    [november] = answer["periods"]
    assert november["top_ups"] == 10_000 and november["vouchers"] == 0
    entries = world.billing.wallet_transactions("cus_pre", 50)["data"]
    debits = sum(e["amount"]["amount"] for e in entries if e["direction"] == "debit")
    assert debits > 0 and november["total"] == debits
    assert november["kinds"]["package"] > 0 and november["kinds"]["taxes"] > 0


def test_a_bad_range_over_rpc_is_invalid_argument(world):
    world.accounts.add("cus_x", "postpaid")
    with pytest.raises(errors.InvalidArgument):
        world.billing.spending("cus_x", "2026-12-01", "2026-11-01")


def test_ops_insights_count_packages_churn_and_reasons_on_sqlite(world):
    world.accounts.add("cus_a", "postpaid")
    world.accounts.add("cus_b", "postpaid")
    a = world.billing.subscribe("cus_a", {"package": "basic"})
    world.billing.subscribe("cus_b", {"package": "family"})
    world.clock.set(utc(2026, 12, 2, 10))
    world.billing.cancel("cus_a", a["id"], {"reason": "Too expensive", "when": "now"})
    figures = world.billing.ops_insights(2)
    assert figures["subscribers_by_package"] == [
        {"month": "2026-11", "package": "basic", "active": 1},
        {"month": "2026-11", "package": "family", "active": 1},
        {"month": "2026-12", "package": "basic", "active": 0},
        {"month": "2026-12", "package": "family", "active": 1}]
    assert figures["churn"] == [
        {"month": "2026-11", "active_at_start": 0, "cancelled": 0, "rate": "0.0000"},
        {"month": "2026-12", "active_at_start": 2, "cancelled": 1, "rate": "0.5000"}]
    assert figures["cancellation_reasons"] == [{"reason": "Too expensive", "count": 1}]
    [nov, dec] = figures["arpa"]
    # both accounts were served in both months (cus_a until its cancellation on 2 Dec)
    assert (nov["month"], nov["accounts"], dec["month"], dec["accounts"]) == (
        "2026-11", 2, "2026-12", 2)
    assert dec["amount"] < 0  # December: only cus_a's credit for the unused part
    assert figures["wallet_float"] == [] and figures["overdue"] == []


def ledger_figures(world, customer):
    """(debits − credits other than money put in, top-ups, vouchers) from the ledger."""
    entries = world.billing.wallet_transactions(customer, 100)["data"]
    charged = sum(e["amount"]["amount"] * (1 if e["direction"] == "debit" else -1)
                  for e in entries if e["type"] not in ("top_up", "voucher"))
    return charged, sum(e["amount"]["amount"] for e in entries if e["type"] == "top_up")


def test_a_prepaid_cancellation_credit_and_a_voided_renewal_reconcile_with_the_ledger(world):
    world.accounts.add("cus_pre", "prepaid")
    world.top_up("cus_pre", 4000)
    kept = world.billing.subscribe("cus_pre", {"package": "basic"})
    world.clock.set(utc(2026, 11, 25, 10))
    world.billing.add_addon("cus_pre", kept["id"], {"code": "movies"})
    world.billing.cancel("cus_pre", kept["id"], {"reason": "Moving", "when": "now"})
    answer = world.billing.spending("cus_pre", "2026-11-01", "2026-12-01")
    [november] = answer["periods"]
    # the unused part of the package and of the add-on came back to the wallet
    assert november["kinds"]["package"] < 1499 and 0 <= november["kinds"]["addons"] < 1299
    assert (november["total"], november["top_ups"]) == ledger_figures(world, "cus_pre")

    # a renewal the wallet cannot pay suspends; cancelled unpaid, it is voided: never spent
    world.accounts.add("cus_void", "prepaid")
    world.top_up("cus_void", 1800)
    sub = world.billing.subscribe("cus_void", {"package": "basic"})  # on 25 November
    world.clock.set(utc(2026, 12, 25, 11))
    world.billing.run_due()
    assert world.billing.get_subscription("cus_void", sub["id"])["status"] == "suspended"
    world.billing.cancel("cus_void", sub["id"], {"reason": "Too expensive", "when": "now"})
    assert any(c["kind"] == "void" for c in world.billing.list_charges("cus_void"))
    spent = world.billing.spending("cus_void", "2026-11-01", "2027-01-01")
    assert [p["total"] for p in spent["periods"]] == [sub["charges"]["amount_due"]["amount"], 0]
    assert (spent["totals"]["total"], spent["totals"]["top_ups"]) == ledger_figures(
        world, "cus_void")


def test_a_postpaid_voided_charge_and_its_void_are_left_out(world):
    """A postpaid charge voided (the service was never delivered) was never billed."""
    world.accounts.add("cus_post", "postpaid")
    world.billing.subscribe("cus_post", {"package": "basic"})
    before = world.billing.spending("cus_post", "2026-11-01", "2027-01-01")["totals"]
    session = world.billing_session
    sub = session.scalars(select(Subscription)).one()
    session.execute(update(Charge).values(settled=False))
    wallets.void_unpaid(session, sub, utc(2026, 12, 2))  # voided the next month
    session.commit()
    after = world.billing.spending("cus_post", "2026-11-01", "2027-01-01")
    assert before["total"] > 0
    assert [(p["total"], p["kinds"]) for p in after["periods"]] == [
        (0, dict.fromkeys(spending.KINDS, 0))] * 2
