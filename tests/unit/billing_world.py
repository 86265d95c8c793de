"""An in-process world for billing's unit tests: the real catalog service (worker_factory, SQLite
in memory, the demo catalog) and a hand-written accounts fake; one TestClock for both."""

from __future__ import annotations

import datetime as dt
import json
import pathlib

from nameko.testing.services import worker_factory
from sqlalchemy.orm import Session

from services.billing.models import Base as BillingBase
from services.billing.money.provider import SandboxProvider
from services.billing.service import BillingService
from services.catalog import seed
from services.catalog.models import Base as CatalogBase
from services.catalog.service import CatalogService
from services.common import errors
from services.common.clock import TestClock
from services.common.db import KERNEL, Component, make_engine, migrate

DEMO = json.loads((pathlib.Path(__file__).resolve().parents[2] / "deploy" /
                   "demo_catalog.json").read_text())


def session_for(name: str, metadata, url: str = "sqlite://") -> Session:
    engine = make_engine(url)
    migrate(engine, [KERNEL, Component(name, metadata)])
    return Session(engine, expire_on_commit=False)


class FakeAccounts:
    """accounts.get_account, for customers the test declares."""

    def __init__(self) -> None:
        self.accounts: dict[str, dict] = {}

    def add(self, customer_id: str, billing_type: str = "prepaid", currency: str = "EUR",
            tax_region: str | None = "DE") -> str:
        self.accounts[customer_id] = {"id": customer_id, "billing_type": billing_type,
                                      "currency": currency, "tax_region": tax_region}
        return customer_id

    def get_account(self, customer_id: str) -> dict:
        if customer_id not in self.accounts:
            raise errors.NotFound("No such customer.")
        return self.accounts[customer_id]


class World:
    def __init__(self, start: dt.datetime, sandbox_url: str = "sqlite://",
                 billing_url: str = "sqlite://") -> None:
        self.clock = TestClock(start)
        self.provider = SandboxProvider(sandbox_url, b"unit-test fingerprint key")
        self.catalog = worker_factory(
            CatalogService, db=session_for("catalog", CatalogBase.metadata), clock=self.clock)
        seed.load(self.catalog, DEMO)
        self.accounts = FakeAccounts()
        self.billing_session = session_for("billing", BillingBase.metadata, billing_url)
        self.billing = worker_factory(BillingService, db=self.billing_session, clock=self.clock,
                                      catalog=self.catalog, accounts=self.accounts,
                                      payments=self.provider, config={})

    def card(self, customer_id: str, number: str = "4242424242424242") -> str:
        """The customer's card with this number: saved now, or the one saved before (a card
        is saved once)."""
        details = {"number": number, "exp_month": 12, "exp_year": self.clock.now().year + 2,
                   "cvc": "913", "holder": "Test Holder"}
        try:
            return self.billing.add_payment_method(customer_id, details)["id"]
        except errors.Conflict as exc:
            assert exc.code == "CARD_ALREADY_SAVED", exc
        return next(pm["id"] for pm in self.billing.list_payment_methods(customer_id)["data"]
                    if (pm["last4"], pm["exp_month"], pm["exp_year"]) == (
                        number[-4:], details["exp_month"], details["exp_year"]))

    def top_up(self, customer_id: str, amount: int, key: str | None = None,
               card: str | None = None) -> dict:
        return self.billing.top_up(customer_id, {
            "amount": {"amount": amount, "currency": "EUR"},
            "payment_method_id": card or self.card(customer_id)}, key)
