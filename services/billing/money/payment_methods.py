"""Cards: tokenized at once by the provider; stored as token, brand, last four, expiry, holder.
The number and CVC pass through `add()` and nowhere else: never stored, logged, put in an
event, or echoed in an error. A customer saves a card once: the same number (the provider's
fingerprint of it) with the same expiry again is refused (409 CARD_ALREADY_SAVED), by a look
first and, for two adds at once, by the unique key `ux_payment_methods_card`."""

from __future__ import annotations

import datetime as dt

from marshmallow import validates_schema
from marshmallow.exceptions import ValidationError
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.billing import events
from services.billing.exceptions import CARD_ALREADY_SAVED
from services.billing.models import PaymentMethod
from services.billing.money.provider import Card, PaymentProvider, ProviderFailure, luhn_ok
from services.common import errors, outbox
from services.common.contract.billing import CardIn
from services.common.db import is_unique_violation
from services.common.ids import new_id
from services.common.schemas import load_or_raise

PAYMENT_METHOD_NOT_FOUND = "PAYMENT_METHOD_NOT_FOUND"
CARD_INVALID = "CARD_INVALID"


class CardSchema(CardIn):
    """The API's card, its number checked as the provider checks it (the Luhn digit)."""

    @validates_schema
    def _number(self, data, **kwargs):
        digits = data.get("number", "").replace(" ", "").replace("-", "")
        if not (digits.isdigit() and 12 <= len(digits) <= 19 and luhn_ok(digits)):
            raise ValidationError("Not a valid card number.", "number")  # never the value


def dump(pm: PaymentMethod) -> dict:
    return {"id": pm.id, "brand": pm.brand, "last4": pm.last4, "exp_month": pm.exp_month,
            "exp_year": pm.exp_year, "holder": pm.holder, "is_default": pm.is_default}


def active(session: Session, customer_id: str) -> list[PaymentMethod]:
    return list(session.scalars(
        select(PaymentMethod).where(PaymentMethod.customer_id == customer_id,
                                    PaymentMethod.removed_at.is_(None))
        .order_by(PaymentMethod.is_default.desc(), PaymentMethod.created_at.desc())))


_METHODS = PaymentMethod.__table__
_ACTIVE = select(_METHODS).where(_METHODS.c.customer_id == bindparam("p_customer"),
                                 _METHODS.c.removed_at.is_(None))
_DEFAULT = (_ACTIVE.where(_METHODS.c.is_default.is_(True))
            .order_by(_METHODS.c.created_at.desc()).limit(1))
_ONE = _ACTIVE.where(_METHODS.c.id == bindparam("p_id"))


def get(session: Session, customer_id: str, pm_id: str | None):
    """The customer's card `pm_id`, or their default when `pm_id` is None: a read-only row
    (id, token, brand, last4, …; one Core query, as every payment asks it)."""
    if pm_id is None:
        row = session.execute(_DEFAULT, {"p_customer": customer_id}).first()
    elif isinstance(pm_id, str):
        row = session.execute(_ONE, {"p_customer": customer_id, "p_id": pm_id}).first()
    else:
        row = None
    if row is None:
        if pm_id is None:
            raise errors.NotFound("There is no default card. Add a card first.",
                                  code=PAYMENT_METHOD_NOT_FOUND)
        raise errors.NotFound("No such card.", code=PAYMENT_METHOD_NOT_FOUND)
    return row


def add(session: Session, provider: PaymentProvider, customer_id: str, data: dict,
        now: dt.datetime) -> dict:
    values = load_or_raise(CardSchema(), data)
    if (values["exp_year"], values["exp_month"]) < (now.year, now.month):
        raise errors.InvalidArgument("The card has expired.", code=CARD_INVALID,
                                     fields={"exp_year": ["the card has expired"]})
    card = Card(values["number"].replace(" ", "").replace("-", ""), values["exp_month"],
                values["exp_year"], values["cvc"], values["holder"].strip())
    try:
        tokenized = provider.tokenize(card)
    except ProviderFailure:
        raise errors.ServiceUnavailable("The payment provider could not take the card now. "
                                        "Try again.") from None
    cards = active(session, customer_id)
    if any(_same_card(pm, tokenized) for pm in cards):
        raise _already_saved()
    pm = PaymentMethod(id=new_id("pm"), customer_id=customer_id, provider=provider.name,
                       token=tokenized.token, brand=tokenized.brand, last4=tokenized.last4,
                       exp_month=tokenized.exp_month, exp_year=tokenized.exp_year,
                       holder=tokenized.holder, fingerprint=tokenized.fingerprint,
                       is_default=not cards, expiry_notice_sent=False, created_at=now)
    try:
        with session.begin_nested():  # the same card added at the same moment: one row
            session.add(pm)
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise _already_saved() from None
    return dump(pm)


def _same_card(pm: PaymentMethod, tokenized) -> bool:
    return (pm.fingerprint, pm.exp_year, pm.exp_month) == (
        tokenized.fingerprint, tokenized.exp_year, tokenized.exp_month)


def _already_saved() -> errors.Conflict:
    return errors.Conflict("This card is saved already.", code=CARD_ALREADY_SAVED)


def remove(session: Session, customer_id: str, pm_id: str, now: dt.datetime) -> None:
    pm = session.get(PaymentMethod, get(session, customer_id, pm_id).id)
    pm.removed_at, was_default, pm.is_default = now, pm.is_default, False
    if was_default:
        others = [other for other in active(session, customer_id) if other.id != pm.id]
        if others:
            others[0].is_default = True
    session.flush()


def set_default(session: Session, customer_id: str, pm_id: str) -> dict:
    chosen = session.get(PaymentMethod, get(session, customer_id, pm_id).id)
    for pm in active(session, customer_id):
        pm.is_default = pm.id == chosen.id
    session.flush()
    return dump(chosen)


def notify_expiring(session: Session, now: dt.datetime) -> int:
    """`payment_method_expiring` once for every card that expires at the end of next month."""
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    # claimed with one conditional UPDATE, so two billing instances cannot both announce a card
    claimed = session.scalars(
        update(PaymentMethod)
        .where(PaymentMethod.removed_at.is_(None), PaymentMethod.expiry_notice_sent.is_(False),
               PaymentMethod.exp_year == year, PaymentMethod.exp_month == month)
        .values(expiry_notice_sent=True).returning(PaymentMethod.id)
        .execution_options(synchronize_session=False)).all()
    for pm_id in claimed:
        pm = session.get(PaymentMethod, pm_id, populate_existing=True)
        outbox.emit(session, events.PAYMENT_METHOD_EXPIRING, "payment_method",
                    {**dump(pm), "customer_id": pm.customer_id}, now)
    return len(claimed)
