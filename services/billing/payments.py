"""Payments by card: recorded before the provider is asked, completed exactly once.

`begin()` records a pending `Payment` (committed) whose `provider_key` is derived from the
client's Idempotency-Key, so a repeat finds the same payment and the provider the same charge.
`charge()` asks the provider with that key and marks the payment succeeded, or raises the typed
decline (final) or `ServiceUnavailable` (retryable: nothing is stored as the outcome, a retry or
the billing timer asks again). What the money is for (a wallet top-up, an invoice) is done by
the caller after `charge()`, in the same transaction, keyed by the payment, so it happens once.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.billing import events
from services.billing.models import Payment, PaymentMethod
from services.billing.provider import CardDeclined, PaymentProvider, ProviderUnavailable
from services.common import errors, outbox
from services.common.clock import isoformat
from services.common.idempotency import IDEMPOTENCY_KEY_REUSED
from services.common.ids import new_id
from services.common.money import Money

GIVE_UP_AFTER = 10  # attempts of the timer: about a day with the backoff in retry_later


def dump(p: Payment) -> dict:
    return {"id": p.id, "status": p.status, "amount": {"amount": p.amount,
                                                       "currency": p.currency},
            "purpose": p.purpose, "invoice_id": p.invoice_id, "reference": p.reference,
            "payment_method_id": p.payment_method_id, "decline_code": p.decline_code,
            "created_at": isoformat(p.created_at)}


def provider_key(purpose: str, customer_id: str, idempotency_key: str) -> str:
    return hashlib.sha256(f"{purpose}:{customer_id}:{idempotency_key}".encode()).hexdigest()


def find(session: Session, purpose: str, customer_id: str,
         idempotency_key: str | None) -> Payment | None:
    """The payment this idempotency key already made, if any."""
    if not idempotency_key:
        return None
    return session.scalar(select(Payment).where(
        Payment.provider_key == provider_key(purpose, customer_id, idempotency_key)))


def begin(session: Session, customer_id: str, purpose: str, amount: Money,
          method: PaymentMethod, idempotency_key: str | None, now: dt.datetime,
          invoice_id: str | None = None, reference: str | None = None) -> str:
    """Record the attempt (committed); returns its id. The same idempotency key finds the same
    attempt; with other details it is refused."""
    key = provider_key(purpose, customer_id, idempotency_key or new_id("once"))
    existing = session.scalar(select(Payment).where(Payment.provider_key == key))
    if existing is None:
        try:
            with session.begin_nested():
                existing = Payment(
                    id=new_id("pay"), customer_id=customer_id, payment_method_id=method.id,
                    purpose=purpose, invoice_id=invoice_id, reference=reference,
                    amount=amount.amount,
                    currency=amount.currency, status="pending", provider_key=key,
                    attempts=0, next_attempt_at=now + dt.timedelta(minutes=2), created_at=now,
                    updated_at=now)
                session.add(existing)
        except IntegrityError:  # the same key, concurrently; or the invoice is being paid
            existing = session.scalar(select(Payment).where(Payment.provider_key == key))
            if existing is None:
                raise errors.Conflict(
                    "A payment of this invoice is already in progress. Try again in a few "
                    "minutes.", code="PAYMENT_IN_PROGRESS") from None
    if (existing.amount, existing.currency, existing.payment_method_id, existing.invoice_id,
            existing.reference) != (amount.amount, amount.currency, method.id, invoice_id,
                                    reference):
        raise errors.Conflict("This Idempotency-Key was already used with a different request.",
                              code=IDEMPOTENCY_KEY_REUSED)
    session.commit()
    return existing.id


def charge(session: Session, provider: PaymentProvider, payment_id: str, description: str,
           now: dt.datetime) -> Payment:
    """The payment, succeeded: charged now, or earlier (its key finds the provider's charge)."""
    payment = session.get(Payment, payment_id, populate_existing=True)
    if payment.status == "failed":
        raise declined(payment.decline_code, payment.failure_message)
    if payment.status == "succeeded":
        return payment
    method = session.get(PaymentMethod, payment.payment_method_id)
    try:
        if method.removed_at is not None:
            # never a new charge on a removed card; but one already made is completed
            made = provider.find_charge(payment.provider_key)
            if made is None:
                raise CardDeclined("card_removed",
                                   "The card was removed before the payment finished.")
        else:
            made = provider.charge(method.token, Money(payment.amount, payment.currency),
                                   payment.provider_key, description)
    except CardDeclined as refusal:
        raise declined(refusal.decline_code, refusal.message) from None
    except ProviderUnavailable:
        raise errors.ServiceUnavailable(
            "The payment provider did not answer. Nothing was done; try again with the same "
            "Idempotency-Key.", code="PAYMENT_PROVIDER_UNAVAILABLE") from None
    payment.status, payment.provider_charge_id, payment.updated_at = "succeeded", made.id, now
    outbox.emit(session, events.PAYMENT_SUCCEEDED, "payment",
                {**dump(payment), "customer_id": payment.customer_id}, now)
    return payment


def declined(code: str | None, message: str | None) -> errors.PaymentDeclined:
    return errors.PaymentDeclined(message or "The card was declined.",
                                  details={"decline_code": code or "card_declined"})


def record_decline(session: Session, payment_id: str, error: errors.PaymentDeclined,
                   now: dt.datetime, commit: bool = True, **extra) -> None:
    """The payment failed for good; `payment_failed` tells the notifier (with `extra`, e.g.
    the next retry of a dunning schedule)."""
    payment = session.get(Payment, payment_id, populate_existing=True)
    if payment.status == "pending":
        payment.status, payment.updated_at = "failed", now
        payment.decline_code = error.details.get("decline_code")
        payment.failure_message = error.message
        outbox.emit(session, events.PAYMENT_FAILED, "payment",
                    {**dump(payment), "customer_id": payment.customer_id, **extra}, now)
    if commit:
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


def history(session: Session, customer_id: str, limit: int = 100) -> list[Payment]:
    return list(session.scalars(select(Payment).where(Payment.customer_id == customer_id)
                                .order_by(Payment.created_at.desc()).limit(limit)))
