"""Generated line texts as data: each charge line, invoice line and wallet entry carries, beside
its English `description`, `text` = {"code", "params"} (services/billing/money/texts.py), stored
in billing migration 6's `text` columns."""

import datetime as dt
import json
import pathlib

import pytest
from babel import Locale
from sqlalchemy import inspect, select

from services.billing.invoicing import line_texts
from services.billing.models import MIGRATIONS, Base, Charge, WalletTransaction
from services.billing.money import texts
from services.billing.subscriptions import proration
from services.common.db import KERNEL, Component, make_engine, migrate
from tests.unit.billing_world import World

START = dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC)
END = "2026-12-21"


@pytest.fixture
def world():
    w = World(START)
    w.accounts.add("cus_p", billing_type="prepaid")
    w.accounts.add("cus_q", billing_type="postpaid")
    return w


def codes(lines):
    return [(ln["text"] or {}).get("code") for ln in lines]


def test_texts_are_strings_and_iso_dates():
    made = texts.text(texts.PERIOD_FEE, name="Basic", start=START, end=dt.date(2026, 12, 21))
    assert made == {"code": "period_fee",
                    "params": {"name": "Basic", "start": "2026-11-21", "end": "2026-12-21"}}
    assert texts.text(texts.SERVICE_CHARGES, count=2, first="x")["params"] == {
        "count": "2", "first": "x"}
    with pytest.raises(ValueError):
        texts.text("no_such_code")
    assert texts.wrap(texts.VOIDED, None) is None
    assert texts.rental_item_name("StreamBox 4K rental") == "StreamBox 4K"


def test_proration_lines_carry_their_codes():
    period_end = dt.datetime(2026, 12, 21, 10, tzinfo=dt.UTC)
    at = dt.datetime(2026, 12, 6, 10, tzinfo=dt.UTC)
    lines, _, _ = proration.swap(
        [proration.Held("basic", "Basic", 1499, START)],
        [proration.Offer("family", "Family", 2499, 2249)], START, period_end, at, 1900)
    assert [(ln.kind, ln.text) for ln in lines] == [
        ("credit", {"code": "credit_unused", "params": {"name": "Basic", "start": "2026-12-06",
                                                        "end": END}}),
        ("charge", {"code": "period_fee", "params": {"name": "Family", "start": "2026-12-06",
                                                     "end": END}}),
        ("discount", {"code": "promotion", "params": {"name": "Family"}})]
    # the English descriptions stay as they were
    assert lines[0].description == "Credit for unused Basic (06 Dec 2026 – 21 Dec 2026)"
    assert lines[2].description == "Promotion on Family"


def test_subscribing_records_fee_promotion_rental_purchase_and_tax(world):
    world.top_up("cus_p", 20000)
    sub = world.billing.subscribe("cus_p", {
        "package": "family", "addons": ["sports"],
        "devices": [{"code": "router-wifi6", "acquisition": "rental"},
                    {"code": "stb-4k", "acquisition": "purchase"}]})
    shown = sub["charges"]["lines"]
    assert [ln["text"] for ln in shown] == [
        {"code": "period_fee", "params": {"name": "Family", "start": "2026-11-21", "end": END}},
        {"code": "promotion", "params": {"name": "Family"}},
        {"code": "period_fee", "params": {"name": "Sports Plus", "start": "2026-11-21",
                                         "end": END}},
        {"code": "device_rental", "params": {"name": "AX3000 Wi-Fi 6 Router",
                                             "start": "2026-11-21", "end": END}},
        {"code": "device_purchase", "params": {"name": "StreamBox 4K"}},
        {"code": "tax", "params": {"name": sub["tax"]["name"], "rate": "19"}}]
    recorded = {c.operation_key: c.text for c in world.billing_session.scalars(select(Charge))}
    assert [recorded[f"subscribe:{sub['id']}:{n}"] for n in range(5)] == [
        ln["text"] for ln in shown[:-1]]
    assert sorted(map(repr, (c["text"] for c in world.billing.list_charges("cus_p")))) == \
        sorted(map(repr, recorded.values()))
    # the wallet paid the five charges in one entry: the first one's text and the count
    [paid, top_up] = world.billing.wallet_transactions("cus_p")["data"]
    assert paid["type"] == "service_charge"
    assert paid["text"] == {"code": "service_charges", "params": {
        "first": "period_fee", "name": "Family", "start": "2026-11-21", "end": END,
        "count": "4"}}
    assert paid["description"].endswith(" and 4 more")
    assert top_up["text"] == {"code": "top_up_card", "params": {"brand": "visa",
                                                                "last4": "4242"}}


def test_a_single_charge_entry_has_that_charge_text_and_a_cancellation_wraps_credits(world):
    world.top_up("cus_p", 5000)
    sub = world.billing.subscribe("cus_p", {"package": "basic"})
    [paid, _] = world.billing.wallet_transactions("cus_p")["data"]
    assert paid["text"] == {"code": "period_fee", "params": {
        "name": "Basic", "start": "2026-11-21", "end": END}}
    world.clock.advance(days=15)
    world.billing.add_addon("cus_p", sub["id"], {"code": "movies"})
    cancelled = world.billing.cancel("cus_p", sub["id"], {"reason": "moving", "when": "now"})
    assert codes(cancelled["lines"]) == ["credit_unused", "credit_unused", "tax"]
    entry = world.billing.wallet_transactions("cus_p")["data"][0]
    assert entry["type"] == "cancellation_credit"
    assert entry["text"] == {"code": "cancellation_credit", "params": {
        "first": "credit_unused", "name": "Basic", "start": "2026-12-06", "end": END,
        "count": "1"}}


def test_renewals_adjustments_and_vouchers(world):
    world.top_up("cus_p", 5000)
    world.billing.subscribe("cus_p", {"package": "basic"})
    world.clock.advance(days=30)
    world.billing.run_due()
    renewal = world.billing.list_charges("cus_p")[-1]
    assert renewal["text"] == {"code": "period_fee", "params": {
        "name": "Basic", "start": END, "end": "2027-01-21"}}
    done = world.billing.adjust_wallet("cus_p", {"amount": {"amount": 700, "currency": "EUR"},
                                                 "reason": "Goodwill"}, "agent@example.com")
    assert done["transaction"]["text"] == {"code": "adjustment", "params": {
        "reason": "Goodwill", "actor": "agent@example.com"}}


def test_voucher_and_service_credit_and_voided_texts(world):
    from services.billing.money import voucher_sales, wallets

    session = world.billing_session
    redeemed = voucher_sales.credit(session, {
        "id": "red_1", "customer_id": "cus_p", "serial": "ABC123",
        "value": {"amount": 1000, "currency": "EUR"}}, world.clock.now())
    assert redeemed["transaction"]["text"] == {"code": "voucher", "params": {"serial": "ABC123"}}
    credit = world.billing.grant_service_credit(
        "cus_p", {"amount": {"amount": 300, "currency": "EUR"}, "reason": "Outage 3 Dec",
                  "reference": "inc_1"}, "ops@example.com")
    assert credit["transaction"]["text"] == {"code": "service_credit", "params": {
        "reason": "Outage 3 Dec", "actor": "ops@example.com"}}
    world.top_up("cus_p", 5000)
    sub = world.billing.subscribe("cus_p", {"package": "basic"})
    from services.billing.models import Subscription
    charge = Charge(id="chg_x", customer_id="cus_p", subscription_id=sub["id"], kind="fee",
                    description="Basic (x)", text=texts.text(texts.PERIOD_FEE, name="Basic",
                                                             start=START, end=START),
                    item_code="basic", amount=100, tax_rate_bp=1900, tax=19, currency="EUR",
                    operation_key="test:x", created_at=START, settled=False)
    session.add(charge)
    session.flush()
    wallets.void_unpaid(session, session.get(Subscription, sub["id"]), world.clock.now())
    void = session.scalar(select(Charge).where(Charge.operation_key == "void:chg_x"))
    assert void.text == {"code": "voided", "params": {
        "first": "period_fee", "name": "Basic", "start": "2026-11-21", "end": "2026-11-21"}}


def test_invoice_lines_carry_the_charges_texts(world):
    world.billing.subscribe("cus_q", {"package": "family"})
    run = world.billing.start_billing_run(world.clock.now().date().isoformat())
    for index in range(run["progress"]["chunks_total"]):
        world.billing.on_chunk_ready({"chunk": {"run_id": run["id"], "index": index}})
    [invoice] = world.billing.list_invoices("cus_q")["data"]
    assert codes(invoice["lines"]) == ["period_fee", "promotion"]
    assert invoice["lines"][1]["text"] == {"code": "promotion", "params": {"name": "Family"}}


def test_old_rows_without_text_keep_their_description(world):
    world.top_up("cus_p", 5000)
    session = world.billing_session
    session.execute(WalletTransaction.__table__.update().values(text=None))
    [entry] = world.billing.wallet_transactions("cus_p")["data"]
    assert entry["text"] is None and entry["description"].startswith("Top-up by card Visa")


def test_migration_6_adds_the_text_columns_to_a_version_5_database(tmp_path):
    """A billing database at version 5 (the three tables without `text`) gets the columns;
    its rows keep their descriptions and get null texts."""
    engine = make_engine(f"sqlite:///{tmp_path}/billing.db")
    billing = Component("billing", Base.metadata, MIGRATIONS)
    migrate(engine, [KERNEL, billing])
    with engine.begin() as conn:
        for table in ("charges", "invoice_lines", "wallet_transactions"):
            conn.exec_driver_sql(f"ALTER TABLE {table} DROP COLUMN text")
        conn.exec_driver_sql("UPDATE schema_versions SET version = 5 WHERE component = 'billing'")
        conn.exec_driver_sql(
            "INSERT INTO wallet_transactions (id, customer_id, seq, direction, type, amount, "
            "currency, balance_after, description, source, created_at) VALUES ('txn_old', "
            "'cus_old', 1, 'credit', 'top_up', 500, 'EUR', 500, 'Top-up by card Visa …4242', "
            "'payment:old', '2026-01-01 00:00:00.000000')")
    assert "text" not in {c["name"] for c in inspect(engine).get_columns("charges")}
    migrate(engine, [KERNEL, billing])
    found = inspect(engine)
    for table in ("charges", "invoice_lines", "wallet_transactions"):
        assert "text" in {c["name"] for c in found.get_columns(table)}, table
    with engine.connect() as conn:
        row = conn.execute(select(WalletTransaction.description, WalletTransaction.text)).one()
        version = conn.exec_driver_sql(
            "SELECT version FROM schema_versions WHERE component = 'billing'").scalar()
    assert row == ("Top-up by card Visa …4242", None)
    assert version == MIGRATIONS[-1].version  # and the later ones ran too


# --- the catalogs: the server's (PDFs) and the portal's, every code in every language --------

LANGUAGES = ("en", "de", "it", "th")
I18N = pathlib.Path(__file__).resolve().parents[2] / "gateway" / "static" / "i18n"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_code_has_a_text_in_each_language_in_both_catalogs(lang):
    server = line_texts.CATALOG[lang]
    portal = json.loads((I18N / f"{lang}.json").read_text(encoding="utf-8"))["lines"]
    assert sorted(set(texts.CODES) - set(server)) == [], f"server catalog, {lang}: missing"
    assert sorted(set(texts.CODES) - set(portal)) == [], f"portal {lang}.json: missing"
    assert sorted(set(server) - set(texts.CODES)) == [] and sorted(
        set(portal) - set(texts.CODES)) == [], "texts for codes that do not exist"
    assert all(server[c].strip() for c in texts.CODES)
    assert {c: portal[c] for c in texts.CODES} == {c: server[c] for c in texts.CODES}, \
        "the portal and the PDFs word a code alike"


def test_the_api_documents_the_same_codes():
    from gateway.schemas.common import LINE_TEXT_CODES

    assert tuple(LINE_TEXT_CODES) == texts.CODES


def test_each_code_renders_with_its_params_in_each_language():
    samples = {
        texts.PERIOD_FEE: {"name": "Basic", "start": "2026-12-03", "end": "2027-01-03"},
        texts.PROMOTION: {"name": "Family"},
        texts.CREDIT_UNUSED: {"name": "Premium", "start": "2026-12-03", "end": "2027-01-03"},
        texts.DEVICE_RENTAL: {"name": "StreamBox 4K", "start": "2026-12-03",
                              "end": "2027-01-03"},
        texts.DEVICE_PURCHASE: {"name": "StreamBox 4K"},
        texts.TOP_UP_CARD: {"brand": "visa", "last4": "4242"},
        texts.VOUCHER: {"serial": "ABC123"},
        texts.ADJUSTMENT: {"reason": "Goodwill", "actor": "ann@example.com"},
        texts.SERVICE_CREDIT: {"reason": "Outage", "actor": "ann@example.com"},
        texts.SERVICE_CHARGES: {"first": "promotion", "name": "Family", "count": "2"},
        texts.CANCELLATION_CREDIT: {"first": "promotion", "name": "Family", "count": "2"},
        texts.VOIDED: {"first": "promotion", "name": "Family"},
        texts.CREDIT_NOTE: {"number": "INV-2026-000001", "reason": "Outage"},
        texts.TAX: {"name": "VAT", "rate": "19"},
    }
    assert set(samples) == set(texts.CODES)
    for lang in LANGUAGES:
        loc = Locale.parse(lang)
        for code, params in samples.items():
            out = line_texts.render({"code": code, "params": params}, loc)
            assert out and "{" not in out, (lang, code, out)


def test_rendering_in_german_and_thai():
    de, th, en = Locale.parse("de"), Locale.parse("th"), Locale.parse("en")
    fee = {"code": "period_fee", "params": {"name": "Basic", "start": "2026-12-03",
                                            "end": "2027-01-03"}}
    assert line_texts.render(fee, de) == "Basic (03.12.2026 – 03.01.2027)"
    assert line_texts.render(fee, en) == "Basic (Dec 3, 2026 – Jan 3, 2027)"
    assert line_texts.render({"code": "promotion", "params": {"name": "Family"}}, de) == \
        "Aktionsrabatt auf Family"
    assert line_texts.render({"code": "top_up_card", "params": {"brand": "visa",
                                                                "last4": "4242"}}, de) == \
        "Aufladung per Karte Visa …4242"
    many = {"code": "service_charges", "params": {"first": "promotion", "name": "Family",
                                                  "count": "2"}}
    assert line_texts.render(many, de) == "Aktionsrabatt auf Family und 2 weitere"
    assert line_texts.render(many, th) == "โปรโมชันสำหรับ Family และอีก 2 รายการ"
    tax = {"code": "tax", "params": {"name": "MwSt.", "rate": "7.7"}}
    assert line_texts.render(tax, de) == "MwSt. 7,7 %"
    assert line_texts.render(None, de) is None
    assert line_texts.render({"code": "a_future_code", "params": {}}, de) is None
    assert line_texts.render({"code": "promotion", "params": {"name": "X"}},
                             Locale.parse("fr")) == "Promotion on X"
