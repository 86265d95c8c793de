"""Invoice arithmetic for postpaid accounts (pure functions over charges) and invoice numbers.

Rules, written down once (the same as for charges, see proration.py):
- every invoice line is one charge: its net amount and its tax, the tax computed on that line,
  rounded half to even, in the currency's minor units (0, 2 or 3 digits: JPY, EUR, BHD);
- promotions are their own lines (kind `discount`, negative); the invoice shows them as
  `discount`, a positive amount taken off;
- `subtotal` = Σ amounts of the other lines, `tax` = Σ line taxes, `total` = subtotal −
  discount + tax. Nothing is rounded at the invoice level: the total is exact given its lines.
Numbers come from a gapless sequence per series (`next_number`), allocated inside the
invoice's own transaction, so a rolled-back invoice gives its number back.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.billing.models import InvoiceSeries
from services.billing.subscriptions.proration import tax_of


@dataclass(frozen=True)
class InvoiceLine:
    description: str
    kind: str
    amount: int
    tax_rate_bp: int
    tax: int


@dataclass(frozen=True)
class InvoiceTotals:
    subtotal: int
    discount: int
    tax: int
    total: int


def line_from_charge(description: str, kind: str, amount: int, tax_rate_bp: int,
                     tax: int | None = None) -> InvoiceLine:
    """A line; its tax is the charge's (already per line), or computed the same way."""
    return InvoiceLine(description, kind, amount, tax_rate_bp,
                       tax_of(amount, tax_rate_bp) if tax is None else tax)


def totals(lines: list[InvoiceLine]) -> InvoiceTotals:
    discount = -sum(x.amount for x in lines if x.kind == "discount")
    subtotal = sum(x.amount for x in lines if x.kind != "discount")
    tax = sum(x.tax for x in lines)
    return InvoiceTotals(subtotal, discount, tax, subtotal - discount + tax)


def format_number(series: str, year: int, number: int) -> str:
    """INV-2026-000042: the series, the year of issue, the gapless number."""
    return f"{series}-{year}-{number:06d}"


def allocate_block(session: Session, series: str, count: int) -> int:
    """The first of `count` consecutive numbers of `series`, in the caller's transaction
    (gapless; see the module doc).

    One UPDATE … RETURNING: on PostgreSQL the row lock makes concurrent issuers wait for each
    other's commit or rollback, so numbers are unique and without holes."""
    stmt = (update(InvoiceSeries).where(InvoiceSeries.series == series)
            .values(next_number=InvoiceSeries.next_number + count)
            .returning(InvoiceSeries.next_number)
            .execution_options(synchronize_session=False))
    row = session.execute(stmt).first()
    if row is None:
        try:
            with session.begin_nested():
                session.execute(insert(InvoiceSeries).values(series=series, next_number=1))
        except IntegrityError:
            pass  # created concurrently
        row = session.execute(stmt).first()
    return row[0] - count


def dump_invoice(invoice, lines) -> dict:
    """The API's invoice: number, dates, status, lines with tax, totals, what was paid."""
    cur = invoice.currency

    def money(amount: int) -> dict:
        return {"amount": amount, "currency": cur}

    return {"id": invoice.id, "number": invoice.number, "status": invoice.status,
            "currency": cur, "issue_date": invoice.issue_date, "due_date": invoice.due_date,
            "period": {"start": invoice.period_start, "end": invoice.period_end},
            "lines": [{"description": ln.description, "text": ln.text, "kind": ln.kind,
                       "amount": money(ln.amount), "tax_rate": ln.tax_rate_bp / 100,
                       "tax_rate_bp": ln.tax_rate_bp, "tax": money(ln.tax)} for ln in lines],
            "subtotal": money(invoice.subtotal), "discount": money(invoice.discount),
            "tax": money(invoice.tax), "total": money(invoice.total),
            "amount_paid": money(invoice.amount_paid),
            "amount_credited": money(invoice.amount_credited),
            "amount_due": money(invoice.amount_due)}
