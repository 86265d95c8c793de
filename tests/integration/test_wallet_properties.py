"""Random sequences of top-ups, subscriptions (charges), cancellations (refunds), renewals that
suspend, and top-ups that resume, on PostgreSQL; the ledger's invariants after every step."""

import datetime as dt
import itertools

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from services.billing.models import Charge, Subscription, WalletTransaction
from services.common import errors
from tests.unit.billing_world import World

COUNTER = itertools.count()


START = dt.datetime(2026, 11, 21, 10, tzinfo=dt.UTC)


class WalletMachine(RuleBasedStateMachine):
    """Each run is a new customer starting at the same instant, so what it draws depends only
    on its own steps (a failure replays and shrinks); all share one PostgreSQL database."""

    world: World = None  # set by the test

    def __init__(self):
        super().__init__()
        self.world.clock.set(START)
        self.customer = f"cus_prop{next(COUNTER)}"
        self.world.accounts.add(self.customer, billing_type="prepaid")
        self.good = self.world.card(self.customer)
        self.bad = self.world.card(self.customer, "4000000000009995")
        self.subs: list[str] = []

    @property
    def billing(self):
        return self.world.billing

    @rule(amount=st.integers(100, 10_000), declined=st.booleans())
    def top_up(self, amount, declined):
        try:
            self.world.top_up(self.customer, amount, card=self.bad if declined else self.good)
            assert not declined
        except errors.PaymentDeclined:
            assert declined

    @rule(package=st.sampled_from(["basic", "kids", "family"]))
    def subscribe(self, package):
        try:
            self.subs.append(self.billing.subscribe(self.customer, {"package": package})["id"])
        except errors.Conflict as exc:
            assert exc.code == "INSUFFICIENT_BALANCE"

    @rule(data=st.data())
    def cancel_now(self, data):
        live = [s for s in self.subs if self.billing.get_subscription(self.customer, s)[
            "status"] != "cancelled"]
        if live:
            chosen = data.draw(st.sampled_from(live))
            self.billing.cancel(self.customer, chosen, {"reason": "property", "when": "now"})

    @rule(days=st.integers(1, 40))
    def time_passes(self, days):
        self.world.clock.advance(days=days)
        self.billing.run_due()

    @invariant()
    def ledger_is_exact(self):
        session = self.world.billing_session
        report = self.billing.verify_ledger()
        assert report["ok"], report
        wallet = self.billing.get_wallet(self.customer)["balance"]["amount"]
        assert wallet >= 0
        entries = session.scalars(select(WalletTransaction).where(
            WalletTransaction.customer_id == self.customer)
            .order_by(WalletTransaction.seq)).all()
        running = 0
        for n, entry in enumerate(entries, start=1):
            running += entry.amount if entry.direction == "credit" else -entry.amount
            assert entry.seq == n and entry.balance_after == running >= 0
        assert running == wallet

    @invariant()
    def services_are_paid_for_exactly(self):
        session = self.world.billing_session
        settled = session.scalar(select(func.coalesce(func.sum(Charge.amount + Charge.tax), 0))
                                 .where(Charge.customer_id == self.customer,
                                        Charge.settled.is_(True)))
        moved = session.execute(select(WalletTransaction.direction, WalletTransaction.amount)
                                .where(WalletTransaction.customer_id == self.customer,
                                       WalletTransaction.type.in_(
                                           ["service_charge", "refund",
                                            "cancellation_credit"]))).all()
        paid = sum(a if d == "debit" else -a for d, a in moved)
        assert paid == settled
        for sub in session.scalars(select(Subscription).where(
                Subscription.customer_id == self.customer)):
            unpaid = session.scalar(select(func.count()).select_from(Charge).where(
                Charge.subscription_id == sub.id, Charge.settled.is_(False)))
            assert (sub.status == "suspended") == (unpaid > 0), (sub.status, unpaid)


@pytest.mark.postgres
def test_ledger_invariants_hold_after_every_step(pg_url):
    WalletMachine.world = World(START, billing_url=pg_url)
    try:
        run_state_machine_as_test(WalletMachine, settings=settings(
            max_examples=60, stateful_step_count=12, deadline=None,
            suppress_health_check=list(HealthCheck)))
    finally:
        WalletMachine.world.billing_session.close()
        WalletMachine.world.billing_session.get_bind().dispose()
