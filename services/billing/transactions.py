"""Where billing's units of work begin and end: every commit and rollback of billing is in
service.py, here, or in `money/payments.py` (a card payment's two transactions, around the
provider's answer). The modules flush; they never decide what is one transaction.

Here: a customer's change committed once (per idempotency key), a timer's step that another
instance may have done first, and the flows that take more than one transaction by design (a
collection step: claimed, then charged outside any transaction, then recorded; a payment whose
answer was lost; a voucher credit retried after a concurrent twin).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from services.billing.exceptions import CONCURRENT_MODIFICATION
from services.billing.invoicing import collection, invoices
from services.billing.models import CollectionAttempt, Invoice, Payment
from services.billing.money import payments, voucher_sales, wallets
from services.billing.subscriptions import settlement
from services.common import errors
from services.common.clock import isoformat
from services.common.db import is_unique_violation
from services.common.idempotency import run_idempotent
from services.common.money import Money

log = logging.getLogger(__name__)


def change(session: Session, now: dt.datetime, scope: str, key: str | None, request: Any,
           action: Callable[[], dict], preview: bool = False) -> dict:
    """Run a change and commit it, once per idempotency key when one is given.

    A preview changes nothing and is not recorded. Two writers of one subscription cannot
    both commit (optimistic version): the second gets CONCURRENT_MODIFICATION.
    """
    try:
        if preview:
            result = action()
            session.rollback()
            return result
        if key:
            return run_idempotent(session, scope=scope, key=key, request=request,
                                  action=action, now=now)
        result = action()
        session.commit()
        return result
    except (StaleDataError, IntegrityError) as exc:
        session.rollback()
        if isinstance(exc, IntegrityError) and not is_unique_violation(exc):
            raise
        raise errors.Conflict("The subscription changed meanwhile. Reload and try again.",
                              code=CONCURRENT_MODIFICATION) from None
    except BaseException:
        session.rollback()  # nothing half-applied stays in the session
        raise


def guarded(session: Session, step: Callable[[], int]) -> int:
    """One timer step (one subscription, one batch of notices) in its own transaction; if
    another instance did it first, nothing; if it fails, the others go on."""
    try:
        count = step()
        session.commit()
        return count
    except (StaleDataError, IntegrityError) as exc:
        session.rollback()
        if isinstance(exc, IntegrityError) and not is_unique_violation(exc):
            raise
        return 0
    except errors.ServiceUnavailable as exc:  # catalog or provider down: next round
        session.rollback()
        log.warning("billing timer: %s; retrying next round", exc.message)
        return 0
    except Exception:  # noqa: BLE001 - one bad subscription must not halt every renewal
        session.rollback()
        log.exception("billing timer: a step failed; the others go on")
        return 0


def credit_voucher(session: Session, redemption: dict, now: dt.datetime) -> dict:
    """A redeemed voucher into the wallet, and what it pays; a concurrent twin's credit is
    found on the next round (the entry's source is the redemption)."""
    for _ in range(3):
        try:
            result = settlement.after_credit(session, redemption["customer_id"],
                                             voucher_sales.credit(session, redemption, now),
                                             now)
            session.commit()
            return result
        except IntegrityError as exc:  # credited concurrently: the next round finds it
            session.rollback()
            if not is_unique_violation(exc):
                raise
    raise errors.ServiceUnavailable("The wallet is busy; try again.")


def complete_pending(session: Session, provider, payment_id: str, now: dt.datetime) -> int:
    """A payment whose answer was lost: ask the provider again with its key. A decline is
    recorded; a provider still down is tried again later, and given up after a day."""
    try:
        payment = session.execute(select(Payment.__table__)
                                  .where(Payment.id == payment_id)).one()
        if payment.purpose == "invoice":
            invoices.complete_payment(session, provider, payment_id, now)
        elif payment.purpose == "top_up":
            settlement.after_credit(session, payment.customer_id, wallets.complete_top_up(
                session, provider, payment, now), now)
        else:
            voucher_sales.charge(session, provider, payment, now)
        session.commit()
        return 1
    except errors.PaymentDeclined as declined:
        session.rollback()
        payments.record_decline(session, payment_id, declined, now)
    except errors.ServiceUnavailable:
        session.rollback()
        payments.retry_later(session, payment_id, now)
    except Exception:  # noqa: BLE001 - one payment must not stop the others
        session.rollback()
        log.exception("billing timer: pending payment %s failed", payment_id)
        payments.retry_later(session, payment_id, now)
    return 0


def due_collection_steps(session: Session, now: dt.datetime) -> list[int]:
    collection.put_back_stale(session, now)
    session.commit()
    return collection.due_steps(session, now)


def collection_step(session: Session, provider, step_id: int, now: dt.datetime,
                    policy: collection.Policy) -> str:
    """Do one step (charge or remind); its outcome: paid, declined, reminded, cancelled,
    retry (provider down: the same step again soon), skipped (another instance has it)."""
    step = collection.claim(session, step_id, now)
    session.commit()
    if step is None:
        return "skipped"
    invoice = session.get(Invoice, step.invoice_id, populate_existing=True)
    if invoice.status not in ("open", "overdue") or invoice.amount_due <= 0:
        step.status = "cancelled"
        session.commit()
        return "cancelled"
    card = collection.autopay_card(session, invoice.customer_id)
    if card is None:  # no autopay, or no card: this step was a reminder
        step.status, step.decline_code = "failed", None
        collection.after_failed_step(session, step, invoice, now, policy)
        session.commit()
        return "reminded"
    try:
        payment_id = payments.begin(
            session, invoice.customer_id, "invoice", Money(invoice.amount_due, invoice.currency),
            card, f"collect:{invoice.id}:{step.attempt}", now, invoice_id=invoice.id).id
    except errors.Conflict:  # the customer is paying right now: look again a bit later
        session.rollback()
        step = session.get(CollectionAttempt, step_id, populate_existing=True)
        step.status, step.due_at = "scheduled", now + collection.PROVIDER_DOWN_RETRY
        session.commit()
        return "retry"
    step = session.get(CollectionAttempt, step_id)
    step.payment_id = payment_id
    try:
        invoices.complete_payment(session, provider, payment_id, now)
        step.status = "succeeded"
        session.commit()
        return "paid"
    except errors.PaymentDeclined as declined:
        session.rollback()
        step = session.get(CollectionAttempt, step_id, populate_existing=True)
        invoice = session.get(Invoice, step.invoice_id, populate_existing=True)
        step.status, step.payment_id = "failed", payment_id
        step.decline_code = declined.details.get("decline_code") or "card_declined"
        next_at = collection.after_failed_step(session, step, invoice, now, policy)
        payments.record_decline(session, payment_id, declined, now, commit=False,
                                next_retry_at=isoformat(next_at),
                                dunning=invoice.dunning)
        session.commit()
        return "declined"
    except errors.ServiceUnavailable:
        session.rollback()
        step = session.get(CollectionAttempt, step_id, populate_existing=True)
        step.status, step.due_at = "scheduled", now + collection.PROVIDER_DOWN_RETRY
        session.commit()
        return "retry"
    except errors.Conflict:  # paid or credited meanwhile: nothing was charged
        session.rollback()
        step = session.get(CollectionAttempt, step_id, populate_existing=True)
        step.status = "cancelled"
        session.commit()
        return "cancelled"
