"""Credit notes: how a finalized invoice is corrected (it is never edited).

An agent credits an amount (tax included) with a reason. On an unpaid invoice the credit lowers
the amount due; if nothing is left to pay the invoice is settled: `void` when nothing had been
paid either (a full cancellation), and a suspension for it ends like a payment. On a paid
invoice the credit becomes a negative charge that the next billing run puts on the account's
next invoice. The credit's tax is the invoice's tax in proportion (rounded half to even); the
credit line's rate is the rate of the invoice's largest line.

Numbers come from their own gapless series (`CN`). Issuing is idempotent: the operation key
`credit-note:<invoice>:<Idempotency-Key>` is unique, so a repeated request returns the same note
and two agents' concurrent identical requests make one.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.billing import events
from services.billing.invoicing import arithmetic
from services.billing.invoicing.invoices import INVOICE_NOT_FOUND, dump_credit_note
from services.billing.models import Charge, CreditNote, Invoice, InvoiceLine
from services.billing.money import texts
from services.billing.subscriptions import suspension
from services.common import errors, outbox
from services.common.contract.billing import CreditNoteIn
from services.common.idempotency import IDEMPOTENCY_KEY_REUSED
from services.common.ids import new_id
from services.common.schemas import load_or_raise

SERIES = "CN"


def _half_even_share(amount: int, part: int, whole: int) -> int:
    """amount × part / whole, rounded half to even (exact integers)."""
    if whole == 0:
        return 0
    q, r = divmod(amount * part, whole)
    if 2 * r > whole or (2 * r == whole and q % 2 == 1):
        q += 1
    return q


def issue(session: Session, invoice_id: str, request: dict, actor: str,
          idempotency_key: str | None, now: dt.datetime) -> dict:
    values = load_or_raise(CreditNoteIn(), request)
    amount, reason = values["amount"], values["reason"]
    key = f"credit-note:{invoice_id}:{idempotency_key or new_id('once')}"[:200]
    earlier = session.scalar(select(CreditNote).where(CreditNote.operation_key == key))
    if earlier is not None:
        return _repeat(earlier, amount, reason)
    invoice = session.get(Invoice, invoice_id, with_for_update=True) \
        if isinstance(invoice_id, str) else None
    if invoice is None or invoice.number is None:
        raise errors.NotFound("No such invoice.", code=INVOICE_NOT_FOUND)
    creditable = invoice.total - invoice.amount_credited
    if amount["currency"] != invoice.currency or not 0 < amount["amount"] <= creditable:
        raise errors.InvalidArgument(fields={"amount": [
            f"must be more than 0 and at most {creditable} (minor units) in "
            f"{invoice.currency}: what this invoice billed and was not credited yet"]})
    tax = _half_even_share(amount["amount"], invoice.tax, invoice.total)
    unpaid = invoice.status in ("open", "overdue")
    number = arithmetic.format_number(SERIES, now.year,
                                     arithmetic.allocate_block(session, SERIES, 1))
    note = CreditNote(id=new_id("cn"), number=number, invoice_id=invoice.id,
                      customer_id=invoice.customer_id, amount=amount["amount"], tax=tax,
                      currency=invoice.currency, reason=reason,
                      applied_to="invoice" if unpaid else "next_invoice", created_by=actor,
                      operation_key=key, created_at=now)
    try:
        with session.begin_nested():
            session.add(note)
            session.flush()
    except IntegrityError:  # the same request, concurrently: answer the note it made
        return _repeat(session.scalar(select(CreditNote).where(CreditNote.operation_key == key)),
                       amount, reason)
    invoice.amount_credited += amount["amount"]
    if unpaid and invoice.amount_due == 0:
        invoice.status = "void" if invoice.amount_paid == 0 else "paid"
        invoice.paid_at = now
        suspension.invoice_settled(session, invoice, now)
    elif not unpaid:
        _credit_next_invoice(session, invoice, note, now)
    outbox.emit(session, events.CREDIT_NOTE_ISSUED, "credit_note",
                {**dump_credit_note(note), "customer_id": note.customer_id,
                 "invoice_number": invoice.number, "invoice_status": invoice.status}, now)
    return dump_credit_note(note)


def _repeat(note: CreditNote, amount: dict, reason: str) -> dict:
    if (note.amount, note.currency, note.reason) != (amount["amount"], amount["currency"],
                                                     reason):
        raise errors.Conflict("This Idempotency-Key was already used with a different request.",
                              code=IDEMPOTENCY_KEY_REUSED)
    return dump_credit_note(note)


def _credit_next_invoice(session: Session, invoice: Invoice, note: CreditNote,
                         now: dt.datetime) -> None:
    """A paid invoice's credit: a negative charge, billed by the next run."""
    largest = session.execute(
        select(InvoiceLine.tax_rate_bp, Charge.subscription_id)
        .join(Charge, Charge.id == InvoiceLine.charge_id)
        .where(InvoiceLine.invoice_id == invoice.id, Charge.subscription_id.is_not(None))
        .order_by(InvoiceLine.amount.desc()).limit(1)).first()
    if largest is None:
        raise errors.Conflict("This invoice has no subscription line to credit against.",
                              code="INVOICE_NOT_CREDITABLE")
    session.add(Charge(
        id=new_id("chg"), customer_id=invoice.customer_id, subscription_id=largest[1],
        kind="credit", description=f"Credit note for invoice {invoice.number}: "
                                   f"{note.reason}"[:300],
        text=texts.text(texts.CREDIT_NOTE, number=invoice.number, reason=note.reason),
        item_code=None, amount=-(note.amount - note.tax), tax_rate_bp=largest[0],
        tax=-note.tax, currency=note.currency, period_start=None, period_end=None,
        operation_key=f"credit-note:{note.id}", created_at=now, settled=False))
