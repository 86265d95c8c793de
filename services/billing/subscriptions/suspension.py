"""Suspending a subscription for money owed, and reinstating it once paid: one rule for both
billing types. A prepaid subscription is suspended when the wallet cannot pay its charges
(wallets.py); a postpaid one when the last dunning step for an invoice fails (collection.py).
Either way, the suspended time is added to the period on reinstatement, so none of it is paid.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.billing import events
from services.billing.models import CollectionAttempt, Invoice, Subscription
from services.billing.subscriptions import lifecycle
from services.billing.subscriptions.views import dump
from services.common import outbox

INSUFFICIENT_BALANCE = "insufficient_balance"  # prepaid: the wallet could not pay
UNPAID_INVOICE = "unpaid_invoice"  # postpaid: dunning ended without payment


def suspend(session: Session, sub: Subscription, now: dt.datetime, reason: str) -> None:
    sub.status = lifecycle.next_status("suspend", sub.status)
    sub.suspended_at, sub.updated_at = now, now
    session.flush()
    outbox.emit(session, events.SUBSCRIPTION_SUSPENDED, "subscription",
                {**dump(sub), "customer_id": sub.customer_id, "reason": reason}, now)


def reinstate(session: Session, sub: Subscription, now: dt.datetime) -> None:
    """Active again; the suspended time is added to the period, so none of it is paid for."""
    sub.status = lifecycle.next_status("reinstate", sub.status)
    lifecycle.add_unserved_time(sub, max(dt.timedelta(0), now - (sub.suspended_at or now)))
    sub.suspended_at, sub.updated_at = None, now
    session.flush()
    outbox.emit(session, events.SUBSCRIPTION_RESUMED, "subscription",
                {**dump(sub), "customer_id": sub.customer_id, "reason": "paid"}, now)


def suspend_postpaid(session: Session, customer_id: str, now: dt.datetime) -> list[str]:
    """Dunning is exhausted: every active postpaid subscription of the account stops."""
    subs = session.scalars(select(Subscription).where(
        Subscription.customer_id == customer_id, Subscription.billing_type == "postpaid",
        Subscription.status == lifecycle.ACTIVE)).all()
    for sub in subs:
        suspend(session, sub, now, UNPAID_INVOICE)
    return [s.id for s in subs]


def invoice_settled(session: Session, invoice: Invoice, now: dt.datetime) -> list[str]:
    """An invoice was paid (or credited to zero): its remaining dunning steps are cancelled, and
    if no other invoice of the account is still unpaid after its dunning ran out, the account's
    suspended postpaid subscriptions are reinstated. Returns the reinstated ids."""
    session.execute(update(CollectionAttempt)
                    .where(CollectionAttempt.invoice_id == invoice.id,
                           CollectionAttempt.status == "scheduled")
                    .values(status="cancelled", processed_at=now)
                    .execution_options(synchronize_session=False))
    invoice.dunning = None
    session.flush()
    still_owed = session.scalar(select(Invoice.id).where(
        Invoice.customer_id == invoice.customer_id, Invoice.id != invoice.id,
        Invoice.dunning == "exhausted", Invoice.status.in_(("open", "overdue"))).limit(1))
    if still_owed is not None:
        return []
    subs = session.scalars(select(Subscription).where(
        Subscription.customer_id == invoice.customer_id,
        Subscription.billing_type == "postpaid",
        Subscription.status == lifecycle.SUSPENDED)).all()
    for sub in subs:
        reinstate(session, sub, now)
    return [s.id for s in subs]
