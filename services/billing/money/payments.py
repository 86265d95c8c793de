"""Payments by card: recorded before the provider is asked, completed exactly once.

`begin()` records a pending `Payment` (committed) whose `provider_key` is derived from the
client's Idempotency-Key, so a repeat finds the same payment and the provider the same charge.
`ask_provider()` asks the provider with that key (outside any transaction of ours, unless the
caller holds a lock on purpose: an invoice) and answers its charge, or raises the typed decline
(final) or `ServiceUnavailable` (retryable: nothing is stored as the outcome, a retry or the
billing timer asks again). `mark_succeeded()` moves the payment from pending with a conditional
UPDATE: that is the "once" of everything the money is for (a wallet credit, an invoice paid),
done after it in the same transaction. `finish()` runs that second half for the customer's
calls and stores the outcome under the Idempotency-Key in the same commit; a concurrent twin
waits on the payment's row, finds it completed and answers the stored outcome.

A card payment costs two transactions and one provider call: the attempt (one INSERT … ON
CONFLICT), then payment, effect, events and outcome (a few prepared Core statements).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from services.billing import events
from services.billing.models import Payment, PaymentMethod
from services.billing.money.provider import (
    CardDeclined,
    PaymentProvider,
    ProviderCharge,
    ProviderUnavailable,
)
from services.common import errors, outbox, pages
from services.common.clock import isoformat
from services.common.db import Prepared
from services.common.idempotency import IDEMPOTENCY_KEY_REUSED, MISSING, check_key, record, stored
from services.common.ids import new_id
from services.common.money import Money

GIVE_UP_AFTER = 10  # attempts of the timer: about a day with the backoff in retry_later


def dump(p) -> dict:
    return {"id": p.id, "status": p.status, "amount": {"amount": p.amount,
                                                       "currency": p.currency},
            "purpose": p.purpose, "invoice_id": p.invoice_id, "reference": p.reference,
            "payment_method_id": p.payment_method_id, "decline_code": p.decline_code,
            "created_at": isoformat(p.created_at)}


def provider_key(purpose: str, customer_id: str, idempotency_key: str) -> str:
    return hashlib.sha256(f"{purpose}:{customer_id}:{idempotency_key}".encode()).hexdigest()


_PAYMENTS = Payment.__table__
# a repeat (the provider key) or another pending payment of the invoice inserts nothing
_INSERT = Prepared(lambda insert: insert(_PAYMENTS).on_conflict_do_nothing()
                   .returning(*_PAYMENTS.c))
_BY_KEY = select(_PAYMENTS).where(_PAYMENTS.c.provider_key == bindparam("p_key"))
_PENDING = (update(_PAYMENTS).where(_PAYMENTS.c.id == bindparam("p_id"),
                                    _PAYMENTS.c.status == "pending")
            .returning(*_PAYMENTS.c))
_SUCCEEDED = _PENDING.values(status="succeeded", provider_charge_id=bindparam("p_charge"),
                             updated_at=bindparam("p_now"))
_FAILED = _PENDING.values(status="failed", updated_at=bindparam("p_now"),
                          decline_code=bindparam("p_code"),
                          failure_message=bindparam("p_message"))


def find(session: Session, purpose: str, customer_id: str,
         idempotency_key: str | None) -> Payment | None:
    """The payment this idempotency key already made, if any."""
    if not idempotency_key:
        return None
    return session.scalar(select(Payment).where(
        Payment.provider_key == provider_key(purpose, customer_id, idempotency_key)))


def begin(session: Session, customer_id: str, purpose: str, amount: Money, method,
          idempotency_key: str | None, now: dt.datetime, invoice_id: str | None = None,
          reference: str | None = None):
    """Record the attempt (committed); returns it (a row: id, status, amount, …). The same
    idempotency key finds the same attempt; with other details it is refused.

    One INSERT … ON CONFLICT DO NOTHING: a repeat (the provider key) or a payment of the same
    invoice in progress (the partial unique index) inserts nothing, and the repeat is read."""
    key = provider_key(purpose, customer_id, idempotency_key or new_id("once"))
    payment = _INSERT.run(
        session, id=new_id("pay"), customer_id=customer_id, payment_method_id=method.id,
        purpose=purpose, invoice_id=invoice_id, reference=reference, amount=amount.amount,
        currency=amount.currency, status="pending", provider_key=key, attempts=0,
        next_attempt_at=now + dt.timedelta(minutes=2), created_at=now, updated_at=now).first()
    if payment is None:
        payment = session.execute(_BY_KEY, {"p_key": key}).first()
        if payment is None:  # not this key: another payment of the invoice is pending
            session.rollback()
            raise errors.Conflict(
                "A payment of this invoice is already in progress. Try again in a few "
                "minutes.", code="PAYMENT_IN_PROGRESS")
    if (payment.amount, payment.currency, payment.payment_method_id, payment.invoice_id,
            payment.reference) != (amount.amount, amount.currency, method.id, invoice_id,
                                   reference):
        session.rollback()
        raise errors.Conflict("This Idempotency-Key was already used with a different request.",
                              code=IDEMPOTENCY_KEY_REUSED)
    session.commit()
    return payment


def ask_provider(session: Session, provider: PaymentProvider, payment, description: str,
                 method=None) -> ProviderCharge:
    """The provider's charge for a pending payment: made now, or found by its key (a payment
    whose answer was lost). Never a new charge on a removed card. Raises the typed decline
    (final) or `ServiceUnavailable` (retryable: nothing is stored). `method`: the card's row
    when the caller has just read it."""
    if method is None or method.id != payment.payment_method_id:
        method = session.execute(select(PaymentMethod.token, PaymentMethod.removed_at)
                                 .where(PaymentMethod.id == payment.payment_method_id)).one()
    try:
        if method.removed_at is not None:
            made = provider.find_charge(payment.provider_key)
            if made is None:
                raise CardDeclined("card_removed",
                                   "The card was removed before the payment finished.")
            return made
        return provider.charge(method.token, Money(payment.amount, payment.currency),
                               payment.provider_key, description)
    except CardDeclined as refusal:
        raise declined(refusal.decline_code, refusal.message) from None
    except ProviderUnavailable:
        raise errors.ServiceUnavailable(
            "The payment provider did not answer. Nothing was done; try again with the same "
            "Idempotency-Key.", code="PAYMENT_PROVIDER_UNAVAILABLE") from None


def mark_succeeded(session: Session, payment_id: str, made: ProviderCharge,
                   now: dt.datetime):
    """pending → succeeded with the provider's charge, and `payment_succeeded`, in the
    caller's transaction; the row, or None when the payment was completed already (by a
    concurrent repeat or the timer: what it paid for was done then, once)."""
    payment = session.execute(_SUCCEEDED, {"p_id": payment_id, "p_charge": made.id,
                                           "p_now": now}).first()
    if payment is not None:
        entity = {**dump(payment), "customer_id": payment.customer_id}
        outbox.emit(session, events.PAYMENT_SUCCEEDED, "payment", entity, now)
        if payment.purpose == "voucher":
            outbox.emit(session, events.VOUCHER_PURCHASE_PAID, "payment", entity, now)
    return payment


def charge(session: Session, provider: PaymentProvider, payment_id: str, description: str,
           now: dt.datetime):
    """The payment, succeeded: charged now, or earlier (its key finds the provider's charge).
    For callers that hold a lock while charging (an invoice): the provider is asked inside
    the caller's transaction."""
    payment = session.execute(select(_PAYMENTS).where(_PAYMENTS.c.id == payment_id)).one()
    if payment.status == "failed":
        raise declined(payment.decline_code, payment.failure_message)
    if payment.status == "succeeded":
        return payment
    made = ask_provider(session, provider, payment, description)
    return mark_succeeded(session, payment_id, made, now) or session.execute(
        select(_PAYMENTS).where(_PAYMENTS.c.id == payment_id)).one()


def finish(session: Session, payment, complete: Callable[[], dict | None],
           rebuild: Callable[[], dict], *, scope: str, key: str | None, request: Any,
           now: dt.datetime) -> dict:
    """The second half of every card payment, after `begin()` committed the attempt.

    `complete()` asks the provider and does what the money is for, in one transaction that
    commits with the outcome stored under the Idempotency-Key; it answers None when the
    payment was completed already. A decline (or another refusal) is stored as the key's
    outcome; `ServiceUnavailable` stores nothing (a retry, or the timer, asks again). A repeat
    or a concurrent twin answers the stored outcome, or, if the timer completed the payment
    (no outcome stored), `rebuild()` from what was recorded."""
    if key is not None:
        check_key(key)
    if payment.status == "pending":
        try:
            result = complete()
        except errors.ServiceUnavailable:
            session.rollback()
            raise
        except errors.ServiceError as refusal:
            session.rollback()
            if isinstance(refusal, errors.PaymentDeclined):
                record_decline(session, payment.id, refusal, now, commit=False)
            if key is not None:
                record(session, scope=scope, key=key, request=request, now=now, error=refusal)
            session.commit()
            raise
        except BaseException:
            session.rollback()
            raise
        if result is not None and (key is None or record(
                session, scope=scope, key=key, request=request, now=now, response=result)):
            session.commit()
            return result
    session.rollback()  # done before (a repeat), or by a twin: read what it committed
    if key is not None:
        outcome = stored(session, scope, key, request)
        if outcome is not MISSING:
            return outcome
    done = session.execute(select(_PAYMENTS).where(_PAYMENTS.c.id == payment.id)).one()
    if done.status == "failed":
        raise declined(done.decline_code, done.failure_message)
    if done.status == "pending":  # a twin's provider call failed meanwhile: retry later
        raise errors.ServiceUnavailable(
            "This payment is still being processed. Try again with the same Idempotency-Key.",
            code="PAYMENT_PROVIDER_UNAVAILABLE")
    result = rebuild()
    if key is not None:
        record(session, scope=scope, key=key, request=request, now=now, response=result)
    session.commit()
    return result


def declined(code: str | None, message: str | None) -> errors.PaymentDeclined:
    return errors.PaymentDeclined(message or "The card was declined.",
                                  details={"decline_code": code or "card_declined"})


def record_decline(session: Session, payment_id: str, error: errors.PaymentDeclined,
                   now: dt.datetime, commit: bool = True, **extra) -> bool:
    """The payment failed for good; `payment_failed` tells the notifier (with `extra`, e.g.
    the next retry of a dunning schedule). False when it was not pending any more."""
    payment = session.execute(_FAILED, {
        "p_id": payment_id, "p_now": now, "p_code": error.details.get("decline_code"),
        "p_message": error.message}).first()
    if payment is not None:
        outbox.emit(session, events.PAYMENT_FAILED, "payment",
                    {**dump(payment), "customer_id": payment.customer_id, **extra}, now)
    if commit:
        session.commit()
    return payment is not None


def close_uncharged(session: Session, payment, code: str, message: str,
                    now: dt.datetime) -> None:
    """What the payment was for is gone (an invoice paid meanwhile): it is failed without
    asking the provider, and committed at once, so the refusal the caller raises next (which
    rolls its transaction back) cannot undo it."""
    payment.status, payment.updated_at = "failed", now
    payment.decline_code, payment.failure_message = code, message
    session.commit()


def pending(session: Session, now: dt.datetime) -> list[str]:
    """Payments still waiting for the provider's answer, due for another try, oldest first."""
    return list(session.scalars(
        select(Payment.id).where(Payment.status == "pending", Payment.next_attempt_at <= now)
        .order_by(Payment.next_attempt_at).limit(50)))


def retry_later(session: Session, payment_id: str, now: dt.datetime) -> None:
    """The provider is still not answering: back off (2, 4, 8 … minutes); in the end, fail it
    (the provider key guarantees a late success cannot charge twice)."""
    payment = session.get(Payment, payment_id, populate_existing=True)
    if payment is None or payment.status != "pending":
        return
    payment.attempts += 1
    if payment.attempts >= GIVE_UP_AFTER:
        session.commit()
        record_decline(session, payment_id, errors.PaymentDeclined(
            "The payment provider never confirmed this payment.",
            details={"decline_code": "provider_unavailable"}), now)
        return
    payment.next_attempt_at = now + dt.timedelta(minutes=2 ** payment.attempts)
    session.commit()


HISTORY_ORDER = pages.Order((Payment.created_at, Payment.id))


def history(session: Session, customer_id: str, limit=pages.DEFAULT_LIMIT, cursor=None) -> dict:
    """The customer's payments, newest first."""
    return pages.keyset(session, select(Payment).where(Payment.customer_id == customer_id),
                        HISTORY_ORDER, limit, cursor, dump=dump)
