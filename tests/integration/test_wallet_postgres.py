"""Wallet money paths on PostgreSQL with many concurrent callers, through the real billing and
accounts services on RabbitMQ."""

import eventlet
import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from services.accounts.service import AccountsService
from services.billing.money.provider import SandboxProvider
from services.billing.service import BillingService
from services.common import errors

PASSWORD = "a long enough passphrase"


@pytest.fixture
def system(new_pg_url, rabbit_config, container_factory, tmp_path):
    config = {**rabbit_config, "DATABASE_URLS": {"accounts": new_pg_url(),
                                                 "billing": new_pg_url()},
              "PAYMENT_SANDBOX_URL": f"sqlite:///{tmp_path}/sandbox.db",
              "BILLING_TIMER_SECONDS": 3600, "max_workers": 20, "DB_POOL_SIZE": 20}
    for cls in (AccountsService, BillingService):
        container_factory(cls, config).start()
    with ServiceRpcProxy("accounts", config) as accounts, \
            ServiceRpcProxy("billing", config) as billing:
        customer = accounts.register({"email": "w@example.com", "password": PASSWORD,
                                      "name": "W", "billing_type": "prepaid",
                                      "currency": "EUR"})["id"]
        card = billing.add_payment_method(customer, {
            "number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "913",
            "holder": "W"})["id"]
    # the provider's own store, to count its charges (the fingerprint key plays no part)
    return config, customer, card, SandboxProvider(config["PAYMENT_SANDBOX_URL"], b"unused")


def in_parallel(config, calls):
    """Run each call with its own RPC proxy (one per green thread), all at once."""
    def run(call):
        with ServiceRpcProxy("billing", config) as billing:
            try:
                return call(billing)
            except errors.ServiceError as exc:
                return exc
    return list(eventlet.GreenPool(len(calls)).imap(run, calls))


def test_fifty_concurrent_top_ups_with_one_key_make_one_charge_one_entry_one_answer(system):
    config, customer, card, provider = system
    request = {"amount": {"amount": 2500, "currency": "EUR"}, "payment_method_id": card}
    answers = in_parallel(config, [lambda b: b.top_up(customer, request, "same-key")] * 50)
    assert all(not isinstance(a, Exception) for a in answers), answers[:3]
    assert all(a == answers[0] for a in answers)
    with ServiceRpcProxy("billing", config) as billing:
        history = billing.wallet_transactions(customer, 100)["data"]
        assert [(e["type"], e["amount"]["amount"]) for e in history] == [("top_up", 2500)]
        assert billing.get_wallet(customer)["balance"]["amount"] == 2500
        assert provider.charge_count() == 1
        with pytest.raises(errors.Conflict) as exc:
            billing.top_up(customer, {**request, "amount": {"amount": 9999, "currency": "EUR"}},
                           "same-key")
        assert exc.value.code == "IDEMPOTENCY_KEY_REUSED"
        assert billing.verify_ledger()["ok"]


def test_fifty_concurrent_top_ups_and_debits_keep_the_ledger_exact_and_never_negative(system):
    config, customer, card, provider = system
    top = {"amount": {"amount": 1000, "currency": "EUR"}, "payment_method_id": card}
    calls = []
    for i in range(25):
        calls.append(lambda b, i=i: b.top_up(customer, top, f"up-{i}"))
        calls.append(lambda b: b.adjust_wallet(customer, {"amount": {"amount": -700,
                                                                     "currency": "EUR"},
                                                          "reason": "concurrent debit"}, "test"))
    answers = in_parallel(config, calls)
    refused = [a for a in answers if isinstance(a, Exception)]
    assert all(isinstance(a, errors.Conflict) and a.code == "INSUFFICIENT_BALANCE"
               for a in refused), refused[:3]
    debits_done = 25 - len(refused)
    with ServiceRpcProxy("billing", config) as billing:
        entries = billing.wallet_transactions(customer, 100)["data"]
        balance = billing.get_wallet(customer)["balance"]["amount"]
        report = billing.verify_ledger()
    assert balance == 25 * 1000 - debits_done * 700
    assert balance == sum(e["amount"]["amount"] * (1 if e["direction"] == "credit" else -1)
                          for e in entries)
    assert all(e["balance_after"]["amount"] >= 0 for e in entries)
    assert len(entries) == 25 + debits_done
    assert report == {"wallets_checked": 1, "differences": [], "ok": True}
    assert provider.charge_count() == 25
