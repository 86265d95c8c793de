"""Collecting postpaid invoices: autopay, reminders, dunning, suspension.

An invoice's collection is a list of steps, rows of `collection_attempts`, unique per
`(invoice_id, attempt)`, so each step happens once however many billing instances run:
- **attempt 0, autopay**: when an invoice is issued and the account has autopay on, billing
  (scheduled in the billing run's chunk transaction; billing handles its own
  `invoice_autopay_due` event, so a run never waits on a card provider)
  charges the autopay card, or the default card if that one is gone.
- **attempts 1..n, dunning**: after an autopay decline, or when an invoice without autopay
  becomes overdue, the steps of `Policy.retry_days` (default 1, 3 and 7 days after that moment)
  are scheduled at once. At each step the card is charged again if autopay is on and there is a
  card; otherwise the step is a reminder. `Policy.reminder_hours` before each step, an
  `invoice_payment_reminder` event tells the customer what will happen and when.
- when the **last step** fails, the invoice's dunning is `exhausted` and the account's active
  postpaid subscriptions are suspended; paying the invoice in any way reinstates them
  (suspension.invoice_settled) once no other exhausted invoice is unpaid.

A step's payment uses the idempotency key `collect:<invoice>:<attempt>`, so its provider key
is fixed: a step retried after a crash or a provider timeout finds the same payment and can
never charge twice. A step being worked on is `processing`; one left so by a dead process is
put back after `STALE_AFTER` and done again (safely, by that key).

Timers (every billing instance runs them; each row changes once, by a conditional UPDATE, and
its event is emitted in the same transaction): overdue marking, "payment due in N days"
notices, step reminders, due steps.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.billing import events
from services.billing.models import BillingProfile, CollectionAttempt, Invoice, PaymentMethod
from services.billing.money import payment_methods
from services.billing.subscriptions import suspension
from services.common import errors, outbox
from services.common.clock import isoformat
from services.common.contract.billing import AutopayIn, BillingProfileIn
from services.common.schemas import load_or_raise

STALE_AFTER = dt.timedelta(minutes=10)
PROVIDER_DOWN_RETRY = dt.timedelta(minutes=10)
NOT_POSTPAID = "NOT_POSTPAID"


@dataclass(frozen=True)
class Policy:
    retry_days: tuple[int, ...] = (1, 3, 7)
    reminder_hours: int = 24
    due_reminder_days: int = 3

    @classmethod
    def from_config(cls, retry_days: str | None, reminder_hours: object,
                    due_reminder_days: object) -> Policy:
        days = tuple(int(x) for x in str(retry_days or "1,3,7").split(",") if x.strip())
        if not days or any(d < 0 for d in days) or list(days) != sorted(days):
            raise ValueError(f"BILLING_DUNNING_RETRY_DAYS must be increasing days, not "
                             f"{retry_days!r}")
        return cls(days, int(reminder_hours or 24), int(due_reminder_days or 3))


# autopay ------------------------------------------------------------------------------------

def postpaid_account(accounts, customer_id: str) -> dict:
    account = accounts.get_account(customer_id)
    if account.get("billing_type") != "postpaid":
        raise errors.Conflict("This account is prepaid: it has a wallet, not bills.",
                              code=NOT_POSTPAID)
    return account


def _profile(session: Session, customer_id: str, now: dt.datetime,
             create: bool = False) -> BillingProfile | None:
    profile = session.get(BillingProfile, customer_id)
    if profile is None and create:
        profile = BillingProfile(customer_id=customer_id, payment_terms_days=None,
                                 autopay_enabled=False, autopay_method_id=None, updated_at=now)
        session.add(profile)
    return profile


def dump_autopay(profile: BillingProfile | None) -> dict:
    if profile is None:
        return {"enabled": False, "payment_method_id": None}
    return {"enabled": profile.autopay_enabled, "payment_method_id": profile.autopay_method_id}


def get_autopay(session: Session, customer_id: str) -> dict:
    return dump_autopay(session.get(BillingProfile, customer_id))


def set_autopay(session: Session, customer_id: str, request: dict, now: dt.datetime) -> dict:
    """Autopay on (with a card of the account's, or its default card: `payment_method_id`
    null) or off. Turning it on needs a card."""
    values = load_or_raise(AutopayIn(), request)
    method_id = values["payment_method_id"]
    if values["enabled"]:
        if method_id is None and not payment_methods.active(session, customer_id):
            raise errors.Conflict("Add a card before turning on automatic payment.",
                                  code="NO_PAYMENT_METHOD")
        if method_id is not None:
            payment_methods.get(session, customer_id, method_id)  # NotFound if not theirs
    profile = _profile(session, customer_id, now, create=True)
    profile.autopay_enabled = values["enabled"]
    profile.autopay_method_id = method_id if values["enabled"] else None
    profile.updated_at = now
    session.flush()
    return dump_autopay(profile)


def autopay_card(session: Session, customer_id: str) -> PaymentMethod | None:
    """The card autopay charges: the chosen one while it exists, else the default card; None
    when autopay is off or there is no card."""
    profile = session.get(BillingProfile, customer_id)
    if profile is None or not profile.autopay_enabled:
        return None
    for wanted in (profile.autopay_method_id, None):
        try:
            return payment_methods.get(session, customer_id, wanted)
        except errors.NotFound:
            continue
    return None


def autopay_state(session: Session, customer_id: str) -> dict:
    """For the main page: `{enabled, method: {id, brand, last4} | None}` (the card autopay
    would charge; None with autopay on means it has no card to charge)."""
    profile = session.get(BillingProfile, customer_id)
    card = autopay_card(session, customer_id)
    return {"enabled": bool(profile and profile.autopay_enabled), "method": None if card is None
            else {"id": card.id, "brand": card.brand, "last4": card.last4}}


# payment terms (ops) --------------------------------------------------------------------------

def billing_profile(session: Session, customer_id: str, default_terms: int) -> dict:
    profile = session.get(BillingProfile, customer_id)
    own = profile.payment_terms_days if profile else None
    return {"customer_id": customer_id, "payment_terms_days": own,
            "effective_payment_terms_days": default_terms if own is None else own,
            "autopay": dump_autopay(profile)}


def set_terms(session: Session, customer_id: str, request: dict, now: dt.datetime,
              default_terms: int) -> dict:
    """An account's own payment terms (days from issue to due date) for invoices issued from
    now on; null goes back to the operator's default."""
    values = load_or_raise(BillingProfileIn(), request)
    profile = _profile(session, customer_id, now, create=True)
    profile.payment_terms_days, profile.updated_at = values["payment_terms_days"], now
    session.flush()
    return billing_profile(session, customer_id, default_terms)


# steps ----------------------------------------------------------------------------------------

def _insert_step(session: Session, invoice: Invoice, attempt: int, due_at: dt.datetime,
                 remind_at: dt.datetime | None) -> None:
    """A step, once: the unique (invoice, attempt) makes a repeated insert a no-op."""
    exists = session.scalar(select(CollectionAttempt.id).where(
        CollectionAttempt.invoice_id == invoice.id, CollectionAttempt.attempt == attempt))
    if exists is None:
        session.add(CollectionAttempt(invoice_id=invoice.id, customer_id=invoice.customer_id,
                                      attempt=attempt, due_at=due_at, remind_at=remind_at,
                                      status="scheduled"))
        session.flush()


def start_dunning(session: Session, invoice: Invoice, since: dt.datetime,
                  policy: Policy) -> dt.datetime | None:
    """Schedule every dunning step of the invoice from `since`; the first step's time."""
    if invoice.dunning is not None or not policy.retry_days:
        return None
    invoice.dunning = "retrying"
    lead = dt.timedelta(hours=policy.reminder_hours)
    for n, days in enumerate(policy.retry_days, start=1):
        due_at = since + dt.timedelta(days=days)
        _insert_step(session, invoice, n, due_at, max(since, due_at - lead))
    return since + dt.timedelta(days=policy.retry_days[0])


def schedule_autopay(session: Session, invoices_by_customer: dict[str, str],
                     now: dt.datetime) -> None:
    """In a billing run's chunk transaction: autopay's first step for each new invoice whose
    account has autopay on and a card, and an `invoice_autopay_due` event for each (billing
    handles it at once; a step the handler never ran is done by the timer). One query for the
    chunk's profiles: most accounts have no autopay, and they cost nothing more."""
    if not invoices_by_customer:
        return
    enabled = list(session.scalars(select(BillingProfile.customer_id).where(
        BillingProfile.customer_id.in_(list(invoices_by_customer)),
        BillingProfile.autopay_enabled.is_(True))))
    due = []
    for customer_id in enabled:
        if autopay_card(session, customer_id) is None:
            continue
        invoice = session.get(Invoice, invoices_by_customer[customer_id])
        _insert_step(session, invoice, 0, now, None)
        due.append({"invoice_id": invoice.id, "customer_id": customer_id})
    if due:
        steps = dict(session.execute(select(CollectionAttempt.invoice_id, CollectionAttempt.id)
                                     .where(CollectionAttempt.invoice_id.in_(
                                         [d["invoice_id"] for d in due]),
                                            CollectionAttempt.attempt == 0)).all())
        outbox.emit_many(session, events.INVOICE_AUTOPAY_DUE, "step", [
            {**d, "id": steps[d["invoice_id"]]} for d in due], now)


def put_back_stale(session: Session, now: dt.datetime) -> None:
    """Steps a dead process left half done are scheduled again (done again safely: the
    payment's key is the step's)."""
    session.execute(update(CollectionAttempt)
                    .where(CollectionAttempt.status == "processing",
                           CollectionAttempt.processed_at < now - STALE_AFTER)
                    .values(status="scheduled")
                    .execution_options(synchronize_session=False))


def due_steps(session: Session, now: dt.datetime, limit: int = 100) -> list[int]:
    """Steps due now (after `put_back_stale`)."""
    return list(session.scalars(
        select(CollectionAttempt.id).where(CollectionAttempt.status == "scheduled",
                                           CollectionAttempt.due_at <= now)
        .order_by(CollectionAttempt.due_at).limit(limit)))


def claim(session: Session, step_id: int, now: dt.datetime) -> CollectionAttempt | None:
    """The step, if this worker is the one that moved it from scheduled to processing."""
    claimed = session.execute(
        update(CollectionAttempt)
        .where(CollectionAttempt.id == step_id, CollectionAttempt.status == "scheduled")
        .values(status="processing", processed_at=now)
        .execution_options(synchronize_session=False)).rowcount
    return session.get(CollectionAttempt, step_id, populate_existing=True) if claimed else None


def after_failed_step(session: Session, step: CollectionAttempt, invoice: Invoice,
                       now: dt.datetime, policy: Policy) -> dt.datetime | None:
    """After autopay failed: dunning starts. After the last dunning step: suspension. The next
    step's time, if there is one."""
    if step.attempt == 0:
        return start_dunning(session, invoice, now, policy)
    later = session.scalar(select(func.min(CollectionAttempt.due_at)).where(
        CollectionAttempt.invoice_id == invoice.id, CollectionAttempt.attempt > step.attempt,
        CollectionAttempt.status == "scheduled"))
    if later is not None:
        return later
    invoice.dunning = "exhausted"
    suspended = suspension.suspend_postpaid(session, invoice.customer_id, now)
    outbox.emit(session, events.INVOICE_COLLECTION_FAILED, "invoice", {
        **_event_invoice(invoice), "suspended_subscriptions": suspended}, now)
    return None


# timers ---------------------------------------------------------------------------------------

def _event_invoice(invoice: Invoice) -> dict:
    return {"id": invoice.id, "customer_id": invoice.customer_id, "number": invoice.number,
            "due_date": invoice.due_date,
            "total": {"amount": invoice.total, "currency": invoice.currency},
            "amount_due": {"amount": invoice.amount_due, "currency": invoice.currency}}


def mark_overdue(session: Session, now: dt.datetime, policy: Policy, limit: int = 500) -> int:
    """Open invoices past their due date become overdue (once: the UPDATE's condition), with
    `invoice_overdue`; one without a dunning schedule (no autopay) starts its reminders."""
    today = now.date().isoformat()
    ids = list(session.scalars(select(Invoice.id).where(
        Invoice.status == "open", Invoice.due_date < today, Invoice.number.is_not(None))
        .limit(limit)))
    if not ids:
        return 0
    changed = list(session.scalars(
        update(Invoice).where(Invoice.id.in_(ids), Invoice.status == "open")
        .values(status="overdue").returning(Invoice.id)
        .execution_options(synchronize_session=False)))
    for invoice in session.scalars(select(Invoice).where(Invoice.id.in_(changed))
                                   .execution_options(populate_existing=True)):
        outbox.emit(session, events.INVOICE_OVERDUE, "invoice", _event_invoice(invoice), now)
        start_dunning(session, invoice, now, policy)
    return len(changed)


def remind_due(session: Session, now: dt.datetime, policy: Policy, limit: int = 500) -> int:
    """`invoice_payment_due` once per open invoice, `due_reminder_days` before its due date
    (not for one autopay is collecting: it is being paid)."""
    today = now.date()
    horizon = (today + dt.timedelta(days=policy.due_reminder_days)).isoformat()
    ids = list(session.scalars(select(Invoice.id).where(
        Invoice.status == "open", Invoice.due_reminder_sent_at.is_(None),
        Invoice.number.is_not(None), Invoice.due_date <= horizon,
        Invoice.due_date >= today.isoformat()).limit(limit)))
    if not ids:
        return 0
    changed = list(session.scalars(
        update(Invoice).where(Invoice.id.in_(ids), Invoice.due_reminder_sent_at.is_(None))
        .values(due_reminder_sent_at=now).returning(Invoice.id)
        .execution_options(synchronize_session=False)))
    sent = 0
    for invoice in session.scalars(select(Invoice).where(Invoice.id.in_(changed))
                                   .execution_options(populate_existing=True)):
        if autopay_card(session, invoice.customer_id) is not None:
            continue
        days = (dt.date.fromisoformat(invoice.due_date) - today).days
        outbox.emit(session, events.INVOICE_PAYMENT_DUE, "invoice",
                    {**_event_invoice(invoice), "days_left": days}, now)
        sent += 1
    return sent


def remind_steps(session: Session, now: dt.datetime, policy: Policy, limit: int = 500) -> int:
    """`invoice_payment_reminder` once before each dunning step: when it happens, whether the
    card will be charged, and whether it is the last one before suspension."""
    ids = list(session.scalars(select(CollectionAttempt.id).where(
        CollectionAttempt.status == "scheduled", CollectionAttempt.reminded_at.is_(None),
        CollectionAttempt.remind_at <= now).limit(limit)))
    if not ids:
        return 0
    changed = list(session.scalars(
        update(CollectionAttempt).where(CollectionAttempt.id.in_(ids),
                                        CollectionAttempt.reminded_at.is_(None))
        .values(reminded_at=now).returning(CollectionAttempt.id)
        .execution_options(synchronize_session=False)))
    last = len(policy.retry_days)
    for step in session.scalars(select(CollectionAttempt).where(
            CollectionAttempt.id.in_(changed))):
        invoice = session.get(Invoice, step.invoice_id)
        if invoice.status not in ("open", "overdue"):
            continue
        outbox.emit(session, events.INVOICE_PAYMENT_REMINDER, "invoice", {
            **_event_invoice(invoice), "step": step.attempt, "steps": last,
            "at": isoformat(step.due_at),
            "will_charge_card": autopay_card(session, invoice.customer_id) is not None,
            "suspension_follows": step.attempt >= last}, now)
    return len(changed)
