"""The payment provider adapter: one interface, a sandbox that behaves like the big providers'
test modes, and room for a real one.

Interface (`PaymentProvider`): `tokenize(card)` → a token and the card's safe details;
`charge(token, amount, idempotency_key, description)` → a provider charge; `refund(charge_id,
amount, idempotency_key)`; `find_charge(idempotency_key)` → the charge made under a key, if
any; `detach(token)` → the saved card removed at the provider (asking again, or for a token
it does not know, is fine). The idempotency key is the provider's own (Stripe's
`Idempotency-Key` header): the same key returns the first charge instead of making a second, so
a call whose answer was lost can be repeated safely. Failures are typed: `CardDeclined`
(decline_code; final), `ProviderUnavailable` (retryable: the provider said so), `ProviderTimeout`
(retryable: no answer; the charge may or may not exist, and repeating the key finds out).

A real provider is one more subclass (see the README, "Payment providers"): map its decline
codes to `CardDeclined`, its 5xx/rate limits to `ProviderUnavailable`, network timeouts to
`ProviderTimeout`, pass the idempotency key through, and register it in `PROVIDERS`.

The card number and CVC exist only inside `tokenize()`; `Card.__repr__` never shows them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from nameko.extensions import DependencyProvider
from sqlalchemy import Integer, String, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.common import config as keys
from services.common.db import make_engine
from services.common.money import Money
from services.common.sqltypes import UtcDateTime


@dataclass(frozen=True)
class Card:
    number: str = field(repr=False)
    exp_month: int
    exp_year: int
    cvc: str = field(repr=False)
    holder: str

    def __repr__(self) -> str:
        return f"Card(…{self.number[-4:]}, {self.exp_month:02d}/{self.exp_year})"


@dataclass(frozen=True)
class TokenizedCard:
    token: str
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    holder: str
    fingerprint: str  # the same card number gives the same fingerprint: a card saved twice is
    # refused (services/billing/money/payment_methods.py)


@dataclass(frozen=True)
class ProviderCharge:
    id: str
    amount: int
    currency: str
    status: str = "succeeded"


class ProviderFailure(Exception):
    retryable = False


class CardDeclined(ProviderFailure):
    def __init__(self, decline_code: str, message: str) -> None:
        super().__init__(message)
        self.decline_code = decline_code
        self.message = message


class ProviderUnavailable(ProviderFailure):
    retryable = True


class ProviderTimeout(ProviderUnavailable):
    """No answer in time: the charge may exist; repeating the idempotency key finds out."""


class PaymentProvider(ABC):
    name: str
    # a test provider (the sandbox): nothing is really charged, and the documented test cards
    # work (the portal shows them only then)
    test_mode: bool = False

    @abstractmethod
    def tokenize(self, card: Card) -> TokenizedCard: ...

    @abstractmethod
    def charge(self, token: str, amount: Money, idempotency_key: str,
               description: str) -> ProviderCharge: ...

    @abstractmethod
    def refund(self, charge_id: str, amount: Money, idempotency_key: str) -> str: ...

    @abstractmethod
    def find_charge(self, idempotency_key: str) -> ProviderCharge | None:
        """The charge made under this key, if any, without making one (reconciliation)."""

    @abstractmethod
    def detach(self, token: str) -> None:
        """Remove the saved card at the provider (Stripe's "detach a PaymentMethod"): the token
        cannot be charged any more. Idempotent: an unknown or removed token is no error."""


def brand_of(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or 2221 <= int(number[:4]) <= 2720:
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    return "unknown"


def luhn_ok(number: str) -> bool:
    total = 0
    for i, digit in enumerate(int(d) for d in reversed(number)):
        if i % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


# The sandbox ---------------------------------------------------------------------------------

# Documented test cards (README, "Sandbox test cards"). Any future expiry, any 3-digit CVC.
SANDBOX_CARDS = {
    "4242424242424242": "approve",
    "5555555555554444": "approve",
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000069": "expired_card",
    "4000000000009979": "stolen_card",
    "4000000000000119": "processing_error",  # retryable provider error
    "4000000000000408": "timeout",  # the charge is made but its answer is lost, once per key
}
DECLINE_MESSAGES = {
    "card_declined": "The card was declined.",
    "insufficient_funds": "The card has insufficient funds.",
    "expired_card": "The card has expired.",
    "stolen_card": "The card was declined.",  # never tell a thief why
}


class SandboxBase(DeclarativeBase):
    pass


class SandboxCard(SandboxBase):
    __tablename__ = "sandbox_cards"
    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    behaviour: Mapped[str] = mapped_column(String(30))
    last4: Mapped[str] = mapped_column(String(4))


class SandboxCharge(SandboxBase):
    __tablename__ = "sandbox_charges"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    token: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    answered: Mapped[int] = mapped_column(Integer, default=0)  # times the answer was delivered
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class SandboxRefund(SandboxBase):
    __tablename__ = "sandbox_refunds"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(300), unique=True)
    charge_id: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int] = mapped_column(Integer)


class SandboxProvider(PaymentProvider):
    """Deterministic by card number, with its own store (it stands for an outside system, so
    its writes commit on their own, whatever the caller's transaction does)."""

    name = "sandbox"
    test_mode = True

    def __init__(self, url: str, fingerprint_key: bytes) -> None:
        """`fingerprint_key`: the secret the card fingerprint is keyed with (derived from
        SECRET_KEY): without it, a fingerprint cannot be matched to a guessed card number."""
        if not fingerprint_key:
            raise ValueError("the sandbox provider needs a fingerprint key")
        self._fingerprint_mac = hmac.new(fingerprint_key, digestmod=hashlib.sha256)
        self.engine = make_engine(url, pool_size=4)
        SandboxBase.metadata.create_all(self.engine)
        # on PostgreSQL a charge is one statement in autocommit: no BEGIN and COMMIT round
        # trips (SQLite keeps its explicit transactions: see make_engine)
        self.autocommit = (self.engine if self.engine.dialect.name == "sqlite" else
                           self.engine.execution_options(isolation_level="AUTOCOMMIT"))
        self._behaviours: dict[str, str] = {}  # token → behaviour; a token never changes
        table = SandboxCharge.__table__
        insert = (postgresql.insert if self.engine.dialect.name == "postgresql"
                  else sqlite.insert)
        self._charge_statement = (
            insert(table).on_conflict_do_update(index_elements=[table.c.idempotency_key],
                                                set_={"answered": table.c.answered + 1})
            .returning(table.c.id, table.c.amount, table.c.currency, table.c.answered))

    def tokenize(self, card: Card) -> TokenizedCard:
        token = f"tok_sandbox_{secrets.token_hex(12)}"
        behaviour = SANDBOX_CARDS.get(card.number, "approve")
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            session.add(SandboxCard(token=token, behaviour=behaviour, last4=card.number[-4:]))
        fingerprint = self.fingerprint(card.number)
        return TokenizedCard(token, brand_of(card.number), card.number[-4:], card.exp_month,
                             card.exp_year, card.holder, fingerprint)

    def fingerprint(self, number: str) -> str:
        """The same card number gives the same fingerprint under one key. Keyed (HMAC): card
        numbers are few enough (a known BIN, last four, Luhn) that a plain hash of one is
        reversed by trying them all."""
        mac = self._fingerprint_mac.copy()
        mac.update(number.encode())
        return mac.hexdigest()[:24]

    def _behaviour(self, token: str) -> str | None:
        if token not in self._behaviours:
            with self.autocommit.connect() as conn:
                behaviour = conn.scalar(select(SandboxCard.behaviour)
                                        .where(SandboxCard.token == token))
            if behaviour is None:
                return None
            self._behaviours[token] = behaviour
        return self._behaviours[token]

    def charge(self, token: str, amount: Money, idempotency_key: str,
               description: str) -> ProviderCharge:
        behaviour = self._behaviour(token)
        if behaviour is None:
            raise CardDeclined("card_declined", "The card is not known.")
        if behaviour in DECLINE_MESSAGES:
            # a stolen card is reported to the customer as a plain decline
            code = "card_declined" if behaviour == "stolen_card" else behaviour
            raise CardDeclined(code, DECLINE_MESSAGES[behaviour])
        if behaviour == "processing_error":
            raise ProviderUnavailable("The payment provider had a processing error.")
        # one statement: the charge, or the one made under this key before (its answer
        # delivered once more); concurrent calls with one key meet on the unique key
        with self.autocommit.begin() as conn:
            made = conn.execute(self._charge_statement, {
                "id": f"ch_sandbox_{secrets.token_hex(12)}", "idempotency_key": idempotency_key,
                "token": token, "amount": amount.amount, "currency": amount.currency,
                "answered": 0 if behaviour == "timeout" else 1,
                "created_at": dt.datetime.now(dt.UTC)}).one()
        if made.answered == 0:
            raise ProviderTimeout("The payment provider did not answer in time.")
        return ProviderCharge(made.id, made.amount, made.currency)

    def refund(self, charge_id: str, amount: Money, idempotency_key: str) -> str:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            existing = session.scalar(select(SandboxRefund).where(
                SandboxRefund.idempotency_key == idempotency_key))
            if existing is not None:
                return existing.id
            refund = SandboxRefund(id=f"re_sandbox_{secrets.token_hex(12)}",
                                   idempotency_key=idempotency_key, charge_id=charge_id,
                                   amount=amount.amount)
            session.add(refund)
            return refund.id

    def find_charge(self, idempotency_key: str) -> ProviderCharge | None:
        with Session(self.engine) as session:
            found = session.scalar(select(SandboxCharge).where(
                SandboxCharge.idempotency_key == idempotency_key))
            return ProviderCharge(found.id, found.amount, found.currency) if found else None

    def detach(self, token: str) -> None:
        with self.autocommit.begin() as conn:
            conn.execute(delete(SandboxCard).where(SandboxCard.token == token))
        self._behaviours.pop(token, None)

    def has_card(self, token: str) -> bool:
        with self.autocommit.connect() as conn:
            return conn.scalar(select(SandboxCard.token).where(
                SandboxCard.token == token)) is not None

    def card_count(self) -> int:
        with Session(self.engine) as session:
            return len(session.scalars(select(SandboxCard.token)).all())

    def charge_count(self) -> int:
        with Session(self.engine) as session:
            return len(session.scalars(select(SandboxCharge.id)).all())


PROVIDERS = {"sandbox": SandboxProvider}
FINGERPRINT_PURPOSE = "card-fingerprint"  # the purpose SECRET_KEY's fingerprint key is for


class Payments(DependencyProvider):
    """Injects the configured provider (`PAYMENT_PROVIDER`, default the sandbox). Card
    fingerprints are keyed with a key derived from SECRET_KEY: billing refuses to start without
    a proper one (see `config.secret`)."""

    def setup(self) -> None:
        config = self.container.config
        name = config.get(keys.PAYMENT_PROVIDER) or "sandbox"
        if name != "sandbox":
            raise RuntimeError(f"unknown payment provider {name!r}; known: {sorted(PROVIDERS)}")
        url = config.get(keys.PAYMENT_SANDBOX_URL) or keys.database_url(config,
                                                                         "payment_sandbox")
        self.provider: PaymentProvider = SandboxProvider(
            url, keys.derived_key(config, FINGERPRINT_PURPOSE))

    def get_dependency(self, worker_ctx) -> PaymentProvider:
        return self.provider
