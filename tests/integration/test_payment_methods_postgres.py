"""Saving cards on PostgreSQL with many concurrent callers, through the real billing and accounts
services on RabbitMQ: one card is saved once, however many adds of it arrive at the same time."""

import eventlet
import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ServiceRpcProxy

from services.accounts.service import AccountsService
from services.billing.service import BillingService
from services.common import errors
from services.common.db import normalize_url

PASSWORD = "a long enough passphrase"
VISA = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "913",
        "holder": "W"}


@pytest.fixture
def system(new_pg_url, rabbit_config, container_factory, tmp_path):
    billing_url = new_pg_url()
    config = {**rabbit_config, "DATABASE_URLS": {"accounts": new_pg_url(),
                                                 "billing": billing_url},
              "PAYMENT_SANDBOX_URL": f"sqlite:///{tmp_path}/sandbox.db",
              "BILLING_TIMER_SECONDS": 3600, "max_workers": 20, "DB_POOL_SIZE": 20}
    for cls in (AccountsService, BillingService):
        container_factory(cls, config).start()
    with ServiceRpcProxy("accounts", config) as accounts:
        customer = accounts.register({"email": "c@example.com", "password": PASSWORD,
                                      "name": "C", "billing_type": "prepaid",
                                      "currency": "EUR"})["id"]
    return config, customer, billing_url


def in_parallel(config, calls):
    """Run each call with its own RPC proxy (one per green thread), all at once."""
    def run(call):
        with ServiceRpcProxy("billing", config) as billing:
            try:
                return call(billing)
            except errors.ServiceError as exc:
                return exc
    return list(eventlet.GreenPool(len(calls)).imap(run, calls))


def test_twenty_concurrent_adds_of_one_card_save_it_once_and_refuse_the_rest(system):
    config, customer, billing_url = system
    answers = in_parallel(config, [lambda b: b.add_payment_method(customer, VISA)] * 20)
    saved = [a for a in answers if not isinstance(a, Exception)]
    refused = [a for a in answers if isinstance(a, Exception)]
    assert len(saved) == 1, answers[:3]
    assert all(isinstance(a, errors.Conflict) and a.code == "CARD_ALREADY_SAVED"
               for a in refused), refused[:3]
    assert saved[0]["is_default"] is True
    with ServiceRpcProxy("billing", config) as billing:
        listed = billing.list_payment_methods(customer)
    assert [c["id"] for c in listed["data"]] == [saved[0]["id"]]
    assert listed["test_mode"] is True  # the sandbox provider is configured
    engine = sa.create_engine(normalize_url(billing_url), poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM payment_methods")).scalar() == 1
    engine.dispose()


def test_concurrent_adds_of_different_cards_all_succeed(system):
    config, customer, _ = system
    numbers = ["4242424242424242", "5555555555554444", "4000000000000002", "4000000000009995"]
    answers = in_parallel(config, [
        lambda b, n=n: b.add_payment_method(customer, {**VISA, "number": n}) for n in numbers])
    assert all(not isinstance(a, Exception) for a in answers), answers
    assert sorted(a["last4"] for a in answers) == sorted(n[-4:] for n in numbers)
