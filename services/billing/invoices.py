"""A customer's invoices: listing and reading (issuing is `runs.py`, arithmetic `invoicing.py`)."""

from __future__ import annotations

import base64

from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.billing import payment_methods, payments, pdf
from services.billing.invoicing import dump_invoice
from services.billing.models import Invoice, InvoiceLine, Payment, PaymentMethod
from services.common import errors, green, outbox
from services.common.money import Money
from services.common.schemas import StrictSchema, load_or_raise

INVOICE_NOT_FOUND = "INVOICE_NOT_FOUND"


class PaySchema(StrictSchema):
    payment_method_id = fields.String(load_default=None, allow_none=True,
                                      validate=validate.Length(max=40))


def _lines(session: Session, invoice_id: str) -> list[InvoiceLine]:
    return list(session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id)
                                .order_by(InvoiceLine.position)))


def find(session: Session, customer_id: str, invoice_id: str) -> Invoice:
    """The customer's invoice; another customer's id is NotFound, like a missing one."""
    invoice = session.get(Invoice, invoice_id) if isinstance(invoice_id, str) else None
    if invoice is None or invoice.customer_id != customer_id or invoice.number is None:
        raise errors.NotFound("No such invoice.", code=INVOICE_NOT_FOUND)
    return invoice


def get(session: Session, customer_id: str, invoice_id: str) -> dict:
    invoice = find(session, customer_id, invoice_id)
    return dump_invoice(invoice, _lines(session, invoice.id))


def page(session: Session, customer_id: str, limit: int = 20, cursor: str | None = None) -> dict:
    if not isinstance(limit, int) or not 1 <= limit <= 100:
        raise errors.InvalidArgument(fields={"limit": ["must be from 1 to 100"]})
    query = select(Invoice).where(Invoice.customer_id == customer_id,
                                  Invoice.number.is_not(None))
    if cursor:
        if not isinstance(cursor, str) or len(cursor) > 40:
            raise errors.InvalidArgument(fields={"cursor": ["is not a valid cursor"]})
        query = query.where(Invoice.number < cursor)
    rows = session.scalars(query.order_by(Invoice.number.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"data": [dump_invoice(r, _lines(session, r.id)) for r in rows], "has_more": more,
            "next_cursor": rows[-1].number if more else None}


def summary(session: Session, customer_id: str, currency: str) -> dict:
    """The bills part of the main page: what is outstanding, how much is overdue, what is due
    next."""
    unpaid = session.scalars(select(Invoice).where(
        Invoice.customer_id == customer_id, Invoice.status.in_(["open", "overdue"]),
        Invoice.number.is_not(None)).order_by(Invoice.due_date)).all()
    outstanding = sum(i.total - i.amount_paid for i in unpaid)
    nxt = unpaid[0] if unpaid else None
    return {"outstanding_total": {"amount": outstanding, "currency": currency},
            "overdue_count": sum(1 for i in unpaid if i.status == "overdue"),
            "next_due": None if nxt is None else {
                "id": nxt.id, "number": nxt.number, "due_date": nxt.due_date,
                "amount_due": {"amount": nxt.total - nxt.amount_paid,
                               "currency": nxt.currency}}}


def begin_payment(session: Session, customer_id: str, invoice_id: str, request: dict,
                  idempotency_key: str | None, now) -> str:
    """Check the invoice can be paid and record the payment attempt (committed)."""
    values = load_or_raise(PaySchema(), request)
    invoice = find(session, customer_id, invoice_id)
    earlier = payments.find(session, "invoice", customer_id, idempotency_key)
    if earlier is not None and earlier.invoice_id == invoice.id:
        return earlier.id  # a repeat: its stored outcome is answered
    if invoice.status not in ("open", "overdue"):
        raise errors.Conflict(f"This invoice is {invoice.status}; there is nothing to pay.",
                              code="INVOICE_NOT_PAYABLE")
    method = payment_methods.get(session, customer_id, values.get("payment_method_id"))
    due = Money(invoice.total - invoice.amount_paid, invoice.currency)
    return payments.begin(session, customer_id, "invoice", due, method, idempotency_key, now,
                          invoice_id=invoice.id)


def complete_payment(session: Session, provider, payment_id: str, now) -> dict:
    """Charge the card (once), mark the invoice paid (once). Safe to run again."""
    payment = payments.charge(session, provider, payment_id, "Invoice payment", now)
    invoice = session.get(Invoice, payment.invoice_id, populate_existing=True)
    if invoice.status in ("open", "overdue"):
        invoice.amount_paid = invoice.total
        invoice.status, invoice.paid_at = "paid", now
        outbox.emit(session, "invoice_paid", "invoice", {
            "id": invoice.id, "customer_id": invoice.customer_id, "number": invoice.number,
            "total": {"amount": invoice.total, "currency": invoice.currency},
            "payment_id": payment.id}, now)
    return {"payment": payments.dump(payment),
            "invoice": dump_invoice(invoice, _lines(session, invoice.id))}


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
