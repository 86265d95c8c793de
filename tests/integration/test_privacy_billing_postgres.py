"""A customer's data in billing (issue #18): export, deletion blockers and forgetting, on the
real accounts, catalog, vouchers and billing services, RabbitMQ and PostgreSQL. A postpaid
customer (a paid and an unpaid invoice, a card, autopay) and a prepaid one (top-ups, renewals
paid from the wallet, a voucher bought); forgetting ends their subscriptions, removes their
cards at the provider and leaves no copy of their name, e-mail, phone or address in any of
billing's tables, while invoices keep their totals and the ledger verifies."""

import base64
import datetime as dt
import json
import uuid

import eventlet
import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.utils import get_extension

from deploy import demo
from services.accounts.service import AccountsService
from services.billing.models import Base
from services.billing.money.provider import SandboxProvider
from services.billing.service import BillingService
from services.catalog import seed
from services.catalog.service import CatalogService
from services.common.clock import ClockProvider, TestClock
from services.common.db import normalize_url
from services.common.kernel_tables import kernel_metadata
from services.vouchers.service import VouchersService
from tests.integration.conftest import PASSWORD, eventually

SECTIONS = {"subscriptions", "devices", "charges", "invoices", "credit_notes", "payments",
            "payment_methods", "wallet", "wallet_transactions", "billing_profile", "autopay",
            "collection_attempts", "voucher_purchases", "service_credits"}


@pytest.fixture
def start(new_pg_url, rabbit_config, container_factory, tmp_path):
    """start(billing timer seconds) → (config, clock, rpc): the services on one TestClock,
    standing tomorrow at 10:00 UTC, the demo catalog loaded."""
    proxies = []

    def started(timer_seconds=3600):
        urls = {name: new_pg_url() for name in ("accounts", "catalog", "billing", "vouchers")}
        config = {**rabbit_config, "DATABASE_URLS": urls,
                  "BILLING_TIMER_SECONDS": timer_seconds,
                  "PAYMENT_SANDBOX_URL": f"sqlite:///{tmp_path}/sandbox.db",
                  "VOUCHER_SECRET_KEY": "integration-test-voucher-secret", "max_workers": 10}
        clock = TestClock(dt.datetime.combine(dt.date.today() + dt.timedelta(days=1),
                                              dt.time(10), dt.UTC))
        for cls in (AccountsService, CatalogService, BillingService, VouchersService):
            container = container_factory(cls, config)
            container.start()
            get_extension(container, ClockProvider).clock = clock  # after its setup
        proxy = ClusterRpcProxy(config)
        proxies.append(proxy)
        rpc = proxy.start()
        seed.load(rpc.catalog, json.loads(demo.CATALOG_FILE.read_text()))
        return config, clock, rpc

    yield started
    for proxy in proxies:
        proxy.stop()


def person(billing_type):
    tag = uuid.uuid4().hex[:8]
    return {"name": f"Annika Quux{tag}", "email": f"annika.{tag}@example.com",
            "phone": "+49 30 98765432",
            "address": {"line1": f"Zebrastraße {tag}", "line2": "Hinterhaus links",
                        "city": "Quxburg", "postal_code": "10999", "country": "DE"},
            "billing_type": billing_type, "currency": "EUR", "password": PASSWORD}


def personal_strings(p) -> list[str]:
    return [p["name"], *p["name"].split(), p["email"], p["phone"], p["address"]["line1"],
            p["address"]["line2"], p["address"]["city"]]


def card(p):
    return {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "913",
            "holder": p["name"]}


def bill(rpc, clock):
    run = rpc.billing.start_billing_run(clock.now().date().isoformat())
    assert eventually(lambda: rpc.billing.get_billing_run(run["id"])["status"] == "completed",
                      timeout=30)


def copies_left(config, strings) -> list[str]:
    """Every row of every billing table (its own and the kernel's: outbox, idempotency
    records), cast to text, searched for each string."""
    engine = sa.create_engine(normalize_url(config["DATABASE_URLS"]["billing"]))
    found = []
    try:
        with engine.connect() as conn:
            for table in [*Base.metadata.sorted_tables, *kernel_metadata.sorted_tables]:
                query = f'SELECT CAST(t AS text) FROM "{table.name}" t'  # noqa: S608 - ours
                for row in conn.execute(sa.text(query)):
                    # JSON escapes non-ASCII; compare both spellings
                    text = row[0].lower()
                    found += [f"{table.name}: {s!r}" for s in strings
                              if s.lower() in text
                              or json.dumps(s).strip('"').lower() in text]
    finally:
        engine.dispose()
    return found


def forget_twice_at_once(config, customer, pseudonym, personal):
    def forget(_):
        with ClusterRpcProxy(config) as rpc:
            return rpc.billing.forget_customer(customer, pseudonym, personal)
    return list(eventlet.GreenPool(2).imap(forget, range(2)))


def sandbox(config):
    return SandboxProvider(config["PAYMENT_SANDBOX_URL"], b"unused")


def test_a_postpaid_customer_is_exported_blocked_while_owing_then_forgotten(start):
    config, clock, rpc = start()
    billing, p = rpc.billing, person("postpaid")
    customer = rpc.accounts.register(p)["id"]
    method = billing.add_payment_method(customer, card(p))["id"]
    sub = billing.subscribe(customer, {"package": "family", "addons": ["sports"]}, "sub-1")
    bill(rpc, clock)
    [paid] = billing.list_invoices(customer)["data"]
    payment = billing.pay_invoice(customer, paid["id"], {"payment_method_id": method},
                                  "pay-1")["payment"]

    # the next day a second subscription, its cancellation scheduled with a reason that names
    # the customer's phone and street; its invoice stays open, lowered by a credit note whose
    # (staff's) reason names the customer
    clock.advance(days=1)
    second = billing.subscribe(customer, {"package": "basic"}, "sub-2")
    billing.cancel(customer, second["id"], {"reason": f"Moving to {p['address']['line1']}, call "
                                                 f"{p['phone']}", "when": "period_end"},
                   "cancel-2")
    bill(rpc, clock)
    unpaid = next(i for i in billing.list_invoices(customer)["data"] if i["id"] != paid["id"])
    billing.issue_credit_note(unpaid["id"], {"amount": {"amount": 100, "currency": "EUR"},
                                             "reason": "Goodwill, as promised to "
                                                       f"{p['name'].split()[0]} on the phone"},
                              "ops_admin", "cn-1")
    unpaid = billing.get_invoice(customer, unpaid["id"])
    assert unpaid["status"] == "open" and unpaid["amount_due"]["amount"] > 0

    # export: every section, JSON as it travels, the PDFs named for the RPCs that make them
    exported = billing.export_customer(customer)
    assert exported["service"] == "billing" and set(exported["data"]) == SECTIONS
    json.dumps(exported)
    data = exported["data"]
    assert {s["id"] for s in data["subscriptions"]} == {sub["id"], second["id"]}
    assert [i["number"] for i in data["invoices"]] == [paid["number"], unpaid["number"]]
    assert all(i["lines"] for i in data["invoices"])
    assert len(data["credit_notes"]) == 1 and data["charges"]
    [saved] = data["payment_methods"]
    assert saved["holder"] == p["name"] and saved["last4"] == "4242"
    assert "token" not in saved and "fingerprint" not in saved
    assert [x["id"] for x in data["payments"]] == [payment["id"]]
    assert sorted(exported["files"], key=lambda f: f["name"]) == sorted([
        {"name": f"invoices/{paid['number']}.pdf", "kind": "invoice_pdf",
         "invoice_id": paid["id"]},
        {"name": f"invoices/{unpaid['number']}.pdf", "kind": "invoice_pdf",
         "invoice_id": unpaid["id"]},
        {"name": f"receipts/{payment['id']}.pdf", "kind": "receipt_pdf",
         "payment_id": payment["id"]}], key=lambda f: f["name"])
    pdf = billing.receipt_pdf(customer, payment["id"])
    assert base64.b64decode(pdf["content"]).startswith(b"%PDF")

    # blockers: the open invoice; none once it is paid
    assert billing.deletion_blockers(customer) == {"blockers": [{"code": "MONEY_OWED", "params": {
        "amount": unpaid["amount_due"]["amount"], "currency": "EUR",
        "invoices": [unpaid["number"]]}}]}
    billing.pay_invoice(customer, unpaid["id"], {"payment_method_id": method}, "pay-2")
    assert billing.deletion_blockers(customer) == {"blockers": []}
    billing.set_autopay(customer, {"enabled": True, "payment_method_id": method})
    totals = {i["id"]: (i["total"], i["amount_paid"], i["amount_credited"])
              for i in billing.list_invoices(customer)["data"]}
    provider = sandbox(config)
    assert provider.card_count() == 1

    # the scan finds the copies there are before (the card's holder, the reasons)
    before = copies_left(config, personal_strings(p))
    assert {f.split(":")[0] for f in before} >= {
        "payment_methods", "credit_notes", "scheduled_changes", "outbox_messages",
        "idempotency_records"}, before

    # forget, twice at once: one effect (with the details as accounts answers them)
    personal = rpc.accounts.get_account(customer)
    answers = forget_twice_at_once(config, customer, "Customer 7f3a", personal)
    done = max(answers, key=lambda a: a["forgotten"]["subscriptions_ended"])
    other = next(a for a in answers if a is not done)
    assert done["forgotten"]["subscriptions_ended"] == 2
    assert done["forgotten"]["payment_methods"] == 1 and done["forgotten"]["autopay"] == 1
    assert done["forgotten"]["texts.credit_notes"] == 1
    assert set(other["forgotten"]) == set(done["forgotten"])
    assert all(n == 0 for n in other["forgotten"].values()), other
    assert other["kept"] == done["kept"] == {"invoices": 2, "credit_notes": 1,
                                             "charges": len(data["charges"]), "payments": 2,
                                             "wallet_transactions": 0}
    again = billing.forget_customer(customer, "Customer 7f3a", personal)
    assert all(n == 0 for n in again["forgotten"].values()) and again["kept"] == done["kept"]

    # afterwards: ended, no card here or at the provider, autopay off, the documents kept
    subs = billing.list_subscriptions(customer)["data"]
    assert [s["status"] for s in subs] == ["cancelled", "cancelled"]
    assert billing.list_payment_methods(customer)["data"] == []
    assert provider.card_count() == 0
    assert billing.get_autopay(customer) == {"enabled": False, "payment_method_id": None}
    assert {i["id"]: (i["total"], i["amount_paid"], i["amount_credited"])
            for i in billing.list_invoices(customer)["data"]} == totals
    assert billing.verify_ledger()["ok"]
    after = billing.export_customer(customer)["data"]
    assert after["payment_methods"][0]["holder"] == "Customer 7f3a"
    assert copies_left(config, personal_strings(p)) == []


def test_a_prepaid_customer_is_blocked_by_a_balance_then_forgotten(start):
    config, clock, rpc = start(timer_seconds=0.3)
    billing, p = rpc.billing, person("prepaid")
    customer = rpc.accounts.register(p)["id"]
    rpc.vouchers.create_offer({"code": "topup-10", "name": "10 € top-up voucher",
                               "value": {"amount": 1000, "currency": "EUR"},
                               "price": {"amount": 1000, "currency": "EUR"}})
    method = billing.add_payment_method(customer, card(p))["id"]
    billing.top_up(customer, {"amount": {"amount": 5000, "currency": "EUR"},
                              "payment_method_id": method}, "up-1")
    sub = billing.subscribe(customer, {"package": "basic"}, "sub-1")
    sub_id = sub["id"]
    bought = billing.buy_voucher(customer, {"offer": "topup-10", "payment_method_id": method},
                                 "buy-1")
    billing.adjust_wallet(customer, {"amount": {"amount": 250, "currency": "EUR"},
                                     "reason": f"Goodwill for {p['name']}"}, "ops_admin",
                          "adj-1")

    # a renewal paid from the wallet (by the billing timer)
    period_end = billing.get_subscription(customer, sub_id)["current_period"]["end"]
    clock.set(dt.datetime.fromisoformat(period_end) + dt.timedelta(minutes=1))
    assert eventually(lambda: billing.get_subscription(customer, sub_id)["current_period"][
        "start"] == period_end, timeout=30)

    exported = billing.export_customer(customer)
    assert set(exported["data"]) == SECTIONS
    json.dumps(exported)
    data = exported["data"]
    assert [e["type"] for e in data["wallet_transactions"]] == [
        "top_up", "service_charge", "adjustment", "service_charge"]
    assert [v["reference"] for v in data["voucher_purchases"]] == ["topup-10"]
    assert bought["payment"]["id"] in {f.get("payment_id") for f in exported["files"]}
    assert data["invoices"] == [] and len(data["wallet"]) == 1

    balance = billing.get_wallet(customer)["balance"]["amount"]
    assert balance > 0
    assert billing.deletion_blockers(customer) == {"blockers": [{
        "code": "WALLET_BALANCE_LEFT", "params": {"amount": balance, "currency": "EUR"}}]}
    billing.adjust_wallet(customer, {"amount": {"amount": -balance, "currency": "EUR"},
                                     "reason": "Paid out on closing"}, "ops_admin", "adj-2")
    assert billing.deletion_blockers(customer) == {"blockers": []}

    assert {f.split(":")[0] for f in copies_left(config, personal_strings(p))} >= {
        "payment_methods", "wallet_transactions"}
    personal = {k: p[k] for k in ("name", "email", "phone", "address")}
    answers = forget_twice_at_once(config, customer, "Customer 9c1e", personal)
    assert sorted(a["forgotten"]["subscriptions_ended"] for a in answers) == [0, 1]
    assert sorted(a["forgotten"]["payment_methods"] for a in answers) == [0, 1]
    assert [s["status"] for s in billing.list_subscriptions(customer)["data"]] == ["cancelled"]
    assert sandbox(config).card_count() == 0
    ledger = billing.verify_ledger()
    assert ledger["ok"] and billing.get_wallet(customer)["balance"]["amount"] == 0
    assert copies_left(config, personal_strings(p)) == []
