"""billing's deletion blockers and forgetting in process (SQLite, the sandbox provider): the
cases the PostgreSQL tests do not reach (tests/integration/test_privacy_billing_postgres.py)."""

import datetime as dt

import pytest
from sqlalchemy import select

from services.billing.models import Charge, PaymentMethod
from services.common import errors
from services.common.kernel_tables import OutboxMessage
from tests.unit.billing_world import World

START = dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def world():
    w = World(START)
    w.accounts.add("cus_p", billing_type="prepaid")
    w.accounts.add("cus_q", billing_type="postpaid")
    return w


def codes(world, customer):
    return [(b["code"], b["params"]) for b in
            world.billing.deletion_blockers(customer)["blockers"]]


def test_a_new_customer_has_nothing_and_may_be_deleted(world):
    assert world.billing.deletion_blockers("cus_new") == {"blockers": []}
    exported = world.billing.export_customer("cus_new")
    assert exported["files"] == [] and all(rows == [] for section, rows in
                                           exported["data"].items() if section != "autopay")
    assert world.billing.forget_customer("cus_new", "Customer 1")["forgotten"] == {
        "subscriptions_ended": 0, "payment_methods": 0, "autopay": 0,
        **{f"texts.{t}": 0 for t in ("charges", "invoice_lines", "wallet_transactions",
                                     "credit_notes", "subscriptions", "scheduled_changes",
                                     "outbox_messages", "idempotency_records")}}


def test_postpaid_charges_not_billed_yet_are_money_owed(world):
    world.billing.subscribe("cus_q", {"package": "basic"})
    owed = sum(c.amount + c.tax for c in world.billing_session.scalars(select(Charge)))
    assert codes(world, "cus_q") == [("MONEY_OWED", {"amount": owed, "currency": "EUR",
                                                     "invoices": []})]


def test_a_payment_without_an_answer_blocks_until_it_is_completed(world):
    card = world.card("cus_p", "4000000000000408")  # charged, its answer lost
    with pytest.raises(errors.ServiceUnavailable):
        world.top_up("cus_p", 1500, key="lost", card=card)
    assert codes(world, "cus_p") == [("PAYMENT_PENDING", {"count": 1})]
    world.clock.advance(minutes=3)
    assert world.billing.run_due()["payments_completed"] == 1  # the money is in the wallet
    assert codes(world, "cus_p") == [("WALLET_BALANCE_LEFT",
                                      {"amount": 1500, "currency": "EUR"})]


def test_forgetting_a_suspended_subscription_voids_its_unpaid_renewal(world):
    world.top_up("cus_p", 2000)
    sub = world.billing.subscribe("cus_p", {"package": "basic"})
    world.clock.set(dt.datetime(2026, 12, 21, 10, 0, 1, tzinfo=dt.UTC))
    world.billing.run_due()
    assert world.billing.get_subscription("cus_p", sub["id"])["status"] == "suspended"
    world.billing.adjust_wallet("cus_p", {"amount": {"amount": -216, "currency": "EUR"},
                                          "reason": "paid out"}, "ops")
    assert codes(world, "cus_p") == []  # an unpaid prepaid renewal is not a debt

    done = world.billing.forget_customer("cus_p", "Customer 2")
    assert done["forgotten"]["subscriptions_ended"] == 1
    ended = world.billing.get_subscription("cus_p", sub["id"])
    assert ended["status"] == "cancelled" and ended["cancel_reason"] == "account deleted"
    assert not world.billing_session.scalars(select(Charge).where(
        Charge.settled.is_(False))).all()  # voided: nothing left for a later credit to pay
    [event] = [m.payload for m in world.billing_session.scalars(select(OutboxMessage).where(
        OutboxMessage.event_type == "subscription_cancelled"))]
    assert event["subscription"]["ended_by"] == "account_deletion"
    assert world.billing.verify_ledger()["ok"]


def test_every_card_is_removed_at_the_provider_even_one_removed_before(world):
    kept_card = world.card("cus_p")
    old_card = world.card("cus_p", "5555555555554444")
    world.billing.remove_payment_method("cus_p", old_card)  # removed here, not at the provider
    assert world.provider.card_count() == 2
    done = world.billing.forget_customer("cus_p", "Customer 3")
    assert done["forgotten"]["payment_methods"] == 2 and world.provider.card_count() == 0
    rows = world.billing_session.scalars(select(PaymentMethod)).all()
    assert {(pm.token, pm.fingerprint, pm.holder) for pm in rows} == {("", "", "Customer 3")}
    assert all(pm.removed_at is not None and not pm.is_default for pm in rows)
    with pytest.raises(errors.NotFound):
        world.top_up("cus_p", 1000, card=kept_card)
    assert world.billing.forget_customer("cus_p", "Customer 3")["forgotten"][
        "payment_methods"] == 0
