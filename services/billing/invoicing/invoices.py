"""A customer's invoices: listing and reading (issuing is `runs.py`, arithmetic `invoicing.py`)."""

from __future__ import annotations

import base64

from marshmallow import post_load
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.billing import events
from services.billing.invoicing import pdf
from services.billing.invoicing.arithmetic import dump_invoice
from services.billing.models import (
    BillingProfile,
    CollectionAttempt,
    CreditNote,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentMethod,
)
from services.billing.money import payment_methods, payments
from services.billing.subscriptions import suspension
from services.common import errors, green, outbox, pages
from services.common.clock import isoformat
from services.common.contract.billing import PayIn
from services.common.money import Money
from services.common.schemas import load_or_raise

INVOICE_NOT_FOUND = "INVOICE_NOT_FOUND"


class PaySchema(PayIn):
    """The API's payment with billing's default: the default card."""

    @post_load
    def _defaults(self, data, **kwargs):
        return {"payment_method_id": None, **data}


def _lines(session: Session, invoice_ids: list[str]) -> dict[str, list[InvoiceLine]]:
    out: dict[str, list[InvoiceLine]] = {i: [] for i in invoice_ids}
    for line in session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id.in_(invoice_ids))
                                .order_by(InvoiceLine.invoice_id, InvoiceLine.position)):
        out[line.invoice_id].append(line)
    return out


def _credit_notes(session: Session, invoice_ids: list[str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {i: [] for i in invoice_ids}
    for note in session.scalars(select(CreditNote).where(CreditNote.invoice_id.in_(invoice_ids))
                                .order_by(CreditNote.created_at)):
        out[note.invoice_id].append(dump_credit_note(note))
    return out


def dump_credit_note(note: CreditNote) -> dict:
    return {"id": note.id, "number": note.number, "invoice_id": note.invoice_id,
            "amount": {"amount": note.amount, "currency": note.currency},
            "tax": {"amount": note.tax, "currency": note.currency}, "reason": note.reason,
            "applied_to": note.applied_to, "created_at": isoformat(note.created_at)}


def dump_many(session: Session, invoice_list: list[Invoice]) -> list[dict]:
    """Invoices as the API shows them, with their lines, credit notes and collection (a few
    queries for the whole list, not a few per invoice)."""
    ids = [i.id for i in invoice_list]
    lines, notes = _lines(session, ids), _credit_notes(session, ids)
    views = collection_views(session, invoice_list)
    return [{**dump_invoice(i, lines[i.id]), "credit_notes": notes[i.id],
             "collection": views[i.id]} for i in invoice_list]


def collection_views(session: Session, invoice_list: list[Invoice]) -> dict[str, dict]:
    """`collection` for each invoice: autopay on?, dunning state, failed steps, the last
    decline, when the next step is (one query for the steps of all of them)."""
    if not invoice_list:
        return {}
    ids = [i.id for i in invoice_list]
    steps: dict[str, list[CollectionAttempt]] = {i: [] for i in ids}
    for step in session.scalars(select(CollectionAttempt).where(
            CollectionAttempt.invoice_id.in_(ids)).order_by(CollectionAttempt.attempt)):
        steps[step.invoice_id].append(step)
    customers = {i.customer_id for i in invoice_list}
    autopay = dict(session.execute(select(BillingProfile.customer_id,
                                          BillingProfile.autopay_enabled)
                                   .where(BillingProfile.customer_id.in_(customers))).all())
    out = {}
    for invoice in invoice_list:
        mine = steps[invoice.id]
        failed = [s for s in mine if s.status == "failed"]
        declined = [s for s in failed if s.decline_code]
        upcoming = [s for s in mine if s.status in ("scheduled", "processing")]
        out[invoice.id] = {
            "autopay": bool(autopay.get(invoice.customer_id)),
            "state": invoice.dunning,
            "failed_attempts": len(declined),
            "last_decline_code": declined[-1].decline_code if declined else None,
            "next_retry_at": isoformat(min(s.due_at for s in upcoming)) if upcoming else None,
            "steps_left": len(upcoming)}
    return out


def find(session: Session, customer_id: str, invoice_id: str) -> Invoice:
    """The customer's invoice; another customer's id is NotFound, like a missing one."""
    invoice = session.get(Invoice, invoice_id) if isinstance(invoice_id, str) else None
    if invoice is None or invoice.customer_id != customer_id or invoice.number is None:
        raise errors.NotFound("No such invoice.", code=INVOICE_NOT_FOUND)
    return invoice


def get(session: Session, customer_id: str, invoice_id: str) -> dict:
    return dump_many(session, [find(session, customer_id, invoice_id)])[0]


PAGE_ORDER = pages.Order((Invoice.number,))  # newest first: numbers are gapless and unique


def page(session: Session, customer_id: str, limit=pages.DEFAULT_LIMIT, cursor=None) -> dict:
    return pages.keyset(session, select(Invoice).where(
        Invoice.customer_id == customer_id, Invoice.number.is_not(None)), PAGE_ORDER, limit,
        cursor, dump_all=lambda rows: dump_many(session, rows))


def summary(session: Session, customer_id: str, currency: str) -> dict:
    """The bills part of the main page: what is outstanding, how much is overdue, what is due
    next."""
    unpaid = session.scalars(select(Invoice).where(
        Invoice.customer_id == customer_id, Invoice.status.in_(["open", "overdue"]),
        Invoice.number.is_not(None)).order_by(Invoice.due_date)).all()
    outstanding = sum(i.amount_due for i in unpaid)
    nxt = unpaid[0] if unpaid else None
    return {"outstanding_total": {"amount": outstanding, "currency": currency},
            "overdue_count": sum(1 for i in unpaid if i.status == "overdue"),
            "next_due": None if nxt is None else {
                "id": nxt.id, "number": nxt.number, "due_date": nxt.due_date,
                "amount_due": {"amount": nxt.amount_due,
                               "currency": nxt.currency}}}


def begin_payment(session: Session, customer_id: str, invoice_id: str, request: dict,
                  idempotency_key: str | None, now):
    """Check the invoice can be paid and record the payment attempt (committed); returns
    it (id, status, …)."""
    values = load_or_raise(PaySchema(), request)
    invoice = find(session, customer_id, invoice_id)
    earlier = payments.find(session, "invoice", customer_id, idempotency_key)
    if earlier is not None and earlier.invoice_id == invoice.id:
        return earlier  # a repeat: its stored outcome is answered
    if invoice.status not in ("open", "overdue"):
        raise errors.Conflict(f"This invoice is {invoice.status}; there is nothing to pay.",
                              code="INVOICE_NOT_PAYABLE")
    method = payment_methods.get(session, customer_id, values.get("payment_method_id"))
    due = Money(invoice.amount_due, invoice.currency)
    return payments.begin(session, customer_id, "invoice", due, method, idempotency_key, now,
                          invoice_id=invoice.id)


def complete_payment(session: Session, provider, payment_id: str, now) -> dict:
    """Charge the card (once), mark the invoice paid (once). Safe to run again.

    The invoice row is locked from before the charge to the commit, so payments of one invoice
    racing each other (two tabs, autopay's retry and the customer) are charged one after the
    other, and only the first finds anything to pay: the others are closed uncharged."""
    pending = session.get(Payment, payment_id, populate_existing=True)
    invoice = session.get(Invoice, pending.invoice_id, populate_existing=True,
                          with_for_update=True)
    if pending.status == "pending" and (invoice.status not in ("open", "overdue")
                                        or invoice.amount_due != pending.amount):
        payments.close_uncharged(session, pending, "invoice_not_payable",
                                 f"Not charged: the invoice is {invoice.status} already.", now)
        raise errors.Conflict(f"This invoice is {invoice.status}; there is nothing to pay.",
                              code="INVOICE_NOT_PAYABLE")
    payment = payments.charge(session, provider, payment_id, "Invoice payment", now)
    reinstated: list[str] = []
    if invoice.status in ("open", "overdue"):
        invoice.amount_paid += payment.amount
        invoice.status, invoice.paid_at = "paid", now
        outbox.emit(session, events.INVOICE_PAID, "invoice", {
            "id": invoice.id, "customer_id": invoice.customer_id, "number": invoice.number,
            "total": {"amount": invoice.total, "currency": invoice.currency},
            "payment_id": payment.id}, now)
        reinstated = suspension.invoice_settled(session, invoice, now)
    return {"payment": payments.dump(payment), "invoice": dump_many(session, [invoice])[0],
            "reinstated": reinstated}


def payment_result(session: Session, payment_id: str) -> dict:
    """A completed invoice payment's answer, from what was recorded."""
    payment = session.get(Payment, payment_id, populate_existing=True)
    invoice = session.get(Invoice, payment.invoice_id, populate_existing=True)
    return {"payment": payments.dump(payment), "invoice": dump_many(session, [invoice])[0],
            "reinstated": []}


def _customer(accounts, customer_id: str) -> dict:
    account = accounts.get_account(customer_id)
    return {k: account.get(k) for k in ("id", "name", "email", "address", "language")}


def invoice_pdf(session: Session, accounts, customer_id: str, invoice_id: str) -> dict:
    """The invoice as a PDF (base64, for the RPC), rendered off the event loop."""
    invoice = get(session, customer_id, invoice_id)
    customer = _customer(accounts, customer_id)
    document = green.run_blocking(pdf.render_invoice, invoice, customer, pdf.DEFAULT_OPERATOR,
                                  customer.get("language") or "en")
    return {"filename": f"invoice-{invoice['number']}.pdf",
            "content": base64.b64encode(document).decode("ascii")}


def receipt_pdf(session: Session, accounts, customer_id: str, payment_id: str) -> dict:
    payment = session.get(Payment, payment_id) if isinstance(payment_id, str) else None
    if payment is None or payment.customer_id != customer_id or payment.status != "succeeded":
        raise errors.NotFound("No such payment.", code="PAYMENT_NOT_FOUND")
    method = session.get(PaymentMethod, payment.payment_method_id)
    paid = {**payments.dump(payment), "payment_method": {"brand": method.brand,
                                                         "last4": method.last4}}
    invoice = get(session, customer_id, payment.invoice_id) if payment.invoice_id else None
    customer = _customer(accounts, customer_id)
    document = green.run_blocking(pdf.render_receipt, paid, customer, pdf.DEFAULT_OPERATOR,
                                  customer.get("language") or "en", invoice)
    return {"filename": f"receipt-{payment.id}.pdf",
            "content": base64.b64encode(document).decode("ascii")}
