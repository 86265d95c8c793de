"""Billing runs: invoice every postpaid account's due charges, exactly once, at scale.

A run for a date D (`start`) lists the postpaid accounts with unsettled charges made up to the
end of D, splits them into chunks, records the chunks and, in the same transaction, emits one
`billing_run_chunk_ready` event per chunk through the outbox. Every billing instance consumes
those events from one queue (competing consumers), so more processes share a run; a process
killed mid-chunk leaves its message unacknowledged and another instance (or the same one,
restarted) takes it again.

`issue_chunk` invoices one chunk in one transaction, set-based: it reads the chunk's charges,
builds each account's invoice (lines, per-line tax, totals: `arithmetic.py`), inserts the
invoices with `ON CONFLICT DO NOTHING` on the unique `(customer_id, period_key)`, and only for
the invoices it really inserted adds the lines, marks the charges billed and takes numbers
from the gapless series. So whatever happens (a run repeated, two runs for one date, two
instances on one chunk, a chunk processed again after a crash), each account has exactly one
invoice for the period: the database decides, not a check in Python.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.billing import events
from services.billing.invoicing import arithmetic, collection
from services.billing.models import (
    BillingProfile,
    BillingRun,
    BillingRunChunk,
    Charge,
    Invoice,
    InvoiceLine,
    Subscription,
)
from services.common import bulk, errors, outbox, pages
from services.common.clock import isoformat
from services.common.ids import new_id

CHUNK_SIZE = 500
PAYMENT_TERMS_DAYS = 14
SERIES = "INV"


def _cutoff(run_date: dt.date) -> dt.datetime:
    """A run for day D bills the charges made up to the end of D."""
    return dt.datetime.combine(run_date + dt.timedelta(days=1), dt.time(), dt.UTC)


def dump_run(run: BillingRun) -> dict:
    return {"id": run.id, "date": run.run_date, "status": run.status,
            "progress": {"chunks_total": run.chunks_total, "chunks_done": run.chunks_done,
                         "accounts_total": run.accounts_total,
                         "accounts_done": run.accounts_done,
                         "invoices_issued": run.invoices_issued},
            "failures": run.failures, "created_at": isoformat(run.created_at),
            "finished_at": isoformat(run.finished_at)}


def start(session: Session, run_date: dt.date, now: dt.datetime,
          chunk_size: int = CHUNK_SIZE) -> dict:
    """Start the run for `run_date`, or answer the one that exists (a repeat starts nothing new;
    a run still running has its unfinished chunks sent again, which is how a run interrupted by
    a crash is finished)."""
    key = run_date.isoformat()
    existing = session.scalar(select(BillingRun).where(BillingRun.run_date == key))
    if existing is not None:
        if existing.status == "running":
            for chunk in session.scalars(select(BillingRunChunk).where(
                    BillingRunChunk.run_id == existing.id, BillingRunChunk.status == "pending")):
                _announce(session, existing, chunk.index, now)
        return dump_run(existing)
    customers = list(session.scalars(
        select(Charge.customer_id).join(Subscription, Subscription.id == Charge.subscription_id)
        .where(Charge.settled.is_(False), Subscription.billing_type == "postpaid",
               Charge.created_at < _cutoff(run_date))
        .group_by(Charge.customer_id).order_by(Charge.customer_id)))
    chunks = [customers[i:i + chunk_size] for i in range(0, len(customers), chunk_size)]
    run = BillingRun(id=new_id("run"), run_date=key, status="running" if chunks else "completed",
                     chunks_total=len(chunks), chunks_done=0, accounts_total=len(customers),
                     accounts_done=0, invoices_issued=0, failures=[], created_at=now,
                     finished_at=None if chunks else now)
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:  # another instance started the same date at the same moment
        return dump_run(session.scalar(select(BillingRun).where(BillingRun.run_date == key)))
    for index, ids in enumerate(chunks):
        session.add(BillingRunChunk(run_id=run.id, index=index, customer_ids=ids,
                                    status="pending", invoices_issued=0, updated_at=now))
        _announce(session, run, index, now)
    return dump_run(run)


def _announce(session: Session, run: BillingRun, index: int, now: dt.datetime) -> None:
    outbox.emit(session, events.BILLING_RUN_CHUNK_READY, "chunk", {"run_id": run.id, "index": index,
                                                "run_date": run.run_date}, now)


def _insert_ignoring_duplicates(session: Session, rows: list[dict]) -> set[str]:
    """Insert invoices in one statement; the ids of those inserted (an account already
    invoiced for the period is skipped by the unique key, on PostgreSQL and SQLite alike)."""
    return set(bulk.insert_rows(session, Invoice.__table__, rows,
                                skip_conflicts_on=("customer_id", "period_key"),
                                returning="id"))


def _unsettled_charges(session: Session, customer_ids: list, run_date: dt.date) -> list:
    """The chunk's accounts' charges to bill (those of their postpaid subscriptions), as plain
    rows (no ORM objects: a chunk reads about a thousand), in invoice-line order.

    Two lookups by index (the charges by account, then which of their subscriptions are
    postpaid) rather than one join, which the planner would make by reading every
    subscription for each chunk."""
    charges = session.execute(
        select(Charge.id, Charge.customer_id, Charge.subscription_id, Charge.kind,
               Charge.description, Charge.text, Charge.amount, Charge.tax_rate_bp, Charge.tax,
               Charge.currency, Charge.period_start, Charge.period_end)
        .where(Charge.customer_id.in_(customer_ids), Charge.settled.is_(False),
               Charge.created_at < _cutoff(run_date))
        .order_by(Charge.customer_id, Charge.created_at, Charge.operation_key)).all()
    postpaid = set(session.scalars(select(Subscription.id).where(
        Subscription.id.in_({c.subscription_id for c in charges if c.subscription_id}),
        Subscription.billing_type == "postpaid"))) if charges else set()
    return [c for c in charges if c.subscription_id in postpaid]


def issue_chunk(session: Session, run_id: str, index: int, now: dt.datetime,
                default_terms_days: int = PAYMENT_TERMS_DAYS) -> int:
    """Invoice one chunk (one transaction); returns invoices issued. Safe to repeat. Each
    invoice is due `payment_terms_days` after the run date: the account's own terms (its
    billing profile) or the operator's default.

    A fixed number of statements whatever the chunk's size (`services/common/bulk.py`): read
    the charges; insert the invoices (`ON CONFLICT DO NOTHING … RETURNING id`); insert the
    lines of those inserted and mark their charges billed, one statement each; then, last,
    take a block of numbers, set them by one UPDATE, and record the `invoice_issued` events by
    one INSERT."""
    chunk = session.get(BillingRunChunk, (run_id, index), with_for_update=True)
    run = session.get(BillingRun, run_id)
    if chunk is None or run is None:
        raise errors.NotFound("No such billing run chunk.")
    if chunk.status == "done":
        return 0
    run_date = dt.date.fromisoformat(run.run_date)
    by_customer: OrderedDict[str, list] = OrderedDict()
    for charge in _unsettled_charges(session, chunk.customer_ids, run_date):
        by_customer.setdefault(charge.customer_id, []).append(charge)
    terms = dict(session.execute(
        select(BillingProfile.customer_id, BillingProfile.payment_terms_days)
        .where(BillingProfile.customer_id.in_(list(by_customer)),
               BillingProfile.payment_terms_days.is_not(None))).all()) if by_customer else {}
    rows, lines_for = [], {}
    for customer_id, owed in by_customer.items():
        lines = [arithmetic.line_from_charge(c.description, c.kind, c.amount, c.tax_rate_bp,
                                            c.tax) for c in owed]
        totals = arithmetic.totals(lines)
        invoice_id = new_id("inv")
        starts = [c.period_start for c in owed if c.period_start]
        ends = [c.period_end for c in owed if c.period_end]
        rows.append({"id": invoice_id, "customer_id": customer_id, "period_key": run.run_date,
                     "number": None, "run_id": run.id, "status": "open",
                     "currency": owed[0].currency, "issue_date": run.run_date,
                     "due_date": (run_date + dt.timedelta(
                         days=terms.get(customer_id, default_terms_days))).isoformat(),
                     "period_start": min(starts).date().isoformat() if starts else None,
                     "period_end": max(ends).date().isoformat() if ends else None,
                     "subtotal": totals.subtotal, "discount": totals.discount,
                     "tax": totals.tax, "total": totals.total, "amount_paid": 0,
                     "amount_credited": 0,
                     "created_at": now})
        lines_for[invoice_id] = owed
    inserted = _insert_ignoring_duplicates(session, rows)
    new_rows = [r for r in rows if r["id"] in inserted]
    if new_rows:
        bulk.insert_rows(session, InvoiceLine.__table__, [
            {"invoice_id": r["id"], "position": n, "description": c.description[:300],
             "text": c.text, "kind": c.kind, "amount": c.amount, "tax_rate_bp": c.tax_rate_bp,
             "tax": c.tax,
             "charge_id": c.id}
            for r in new_rows for n, c in enumerate(lines_for[r["id"]], start=1)])
        bulk.update_rows(session, Charge.__table__, [
            {"id": c.id, "settled": True, "invoice_id": r["id"]}
            for r in new_rows for c in lines_for[r["id"]]])
        # numbers last: the series row stays locked only from here to the commit
        first = arithmetic.allocate_block(session, SERIES, len(new_rows))
        year = run_date.year
        numbers = {r["id"]: arithmetic.format_number(SERIES, year, first + n)
                   for n, r in enumerate(new_rows)}
        bulk.update_rows(session, Invoice.__table__,
                         [{"id": k, "number": v} for k, v in numbers.items()])
        outbox.emit_many(session, events.INVOICE_ISSUED, "invoice", [{
            "id": r["id"], "customer_id": r["customer_id"], "number": numbers[r["id"]],
            "total": {"amount": r["total"], "currency": r["currency"]},
            "issue_date": r["issue_date"], "due_date": r["due_date"]} for r in new_rows], now)
        collection.schedule_autopay(session, {r["customer_id"]: r["id"] for r in new_rows},
                                    now)
    chunk.status, chunk.invoices_issued, chunk.updated_at = "done", len(new_rows), now
    progressed = session.execute(
        update(BillingRun).where(BillingRun.id == run.id)
        .values(chunks_done=BillingRun.chunks_done + 1,
                accounts_done=BillingRun.accounts_done + len(chunk.customer_ids),
                invoices_issued=BillingRun.invoices_issued + len(new_rows))
        .returning(BillingRun.chunks_done, BillingRun.chunks_total)
        .execution_options(synchronize_session=False)).first()
    if progressed.chunks_done >= progressed.chunks_total:
        session.execute(update(BillingRun).where(BillingRun.id == run.id)
                        .values(status="completed", finished_at=now)
                        .execution_options(synchronize_session=False))
    return len(new_rows)


def get(session: Session, run_id: str) -> dict:
    run = session.get(BillingRun, run_id) if isinstance(run_id, str) else None
    if run is None:
        raise errors.NotFound("No such billing run.", code="BILLING_RUN_NOT_FOUND")
    return dump_run(run)


RECENT_ORDER = pages.Order((BillingRun.created_at, BillingRun.id))


def recent(session: Session, limit=pages.DEFAULT_LIMIT, cursor=None) -> dict:
    """The runs, newest first."""
    return pages.keyset(session, select(BillingRun), RECENT_ORDER, limit, cursor,
                        dump=dump_run)
