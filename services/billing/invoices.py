"""A customer's invoices: listing and reading (issuing is `runs.py`, arithmetic `invoicing.py`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.billing.invoicing import dump_invoice
from services.billing.models import Invoice, InvoiceLine
from services.common import errors

INVOICE_NOT_FOUND = "INVOICE_NOT_FOUND"


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
