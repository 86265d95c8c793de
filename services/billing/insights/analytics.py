"""The operators' figures over the last `months` calendar months (UTC, the current one
included), set-based: each figure is one GROUP BY over one table, whose rows are numbered by
month with `months.bucket` (a portable CASE, the same SQL on PostgreSQL and SQLite); Python
only adds up the small grouped result (months × packages), never the rows.

Definitions, written down once:
- subscribers_by_package: subscriptions holding the package (its item not removed) at the end
  of each month (now, for the current one). A paused or suspended subscription still counts
  (it is a subscriber; past pauses are not recorded); a cancelled one stops counting when it
  ended, a package change moves it from the old package to the new at the change.
- churn: `active_at_start` = subscriptions activated before the month's first instant and not
  cancelled by then; `cancelled` = subscriptions whose cancellation took effect in the month;
  `rate` = cancelled / active_at_start as a decimal string with 4 places (half to even),
  "0.0000" when nobody was active.
- cancellation_reasons: the reasons of the cancellations in the window, most frequent first
  (at most `TOP_REASONS`); "" when none was given.
- arpa: per month and currency, revenue (what was charged net of tax: charges, voids and
  credits included, less the credit notes that lowered unpaid invoices) divided by the
  accounts served in the month (an account with a subscription activated before the month's
  end and not all of its subscriptions cancelled before its start), rounded half to even to
  the minor unit. Accounts are counted from subscriptions (one pass grouping them by account),
  not as distinct customers among the month's charges: that would sort every charge of the
  window (tests/perf/bench_ops_insights.py measured it 30 times slower than a scan).
- wallet_float: per currency, the money held in prepaid wallets and how many hold any.
- overdue: per currency, what is still due on invoices past their due date (open or marked
  overdue), and how many.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from services.billing.insights import months as calendar
from services.billing.models import (
    Charge,
    CreditNote,
    Invoice,
    Subscription,
    SubscriptionItem,
    Wallet,
)

TOP_REASONS = 20


def rate(part: int, whole: int) -> str:
    if whole <= 0:
        return "0.0000"
    return str((Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_EVEN))


def half_even_div(amount: int, count: int) -> int:
    if count <= 0:
        return 0
    q, r = divmod(amount, count)
    if 2 * r > count or (2 * r == count and q % 2 == 1):
        q += 1
    return q


def held_at_end(rows, n: int) -> dict[str, list[int]]:
    """From (code, added bucket, removed bucket or None, count) rows: per code, how many were
    held at the end of each of the n months (added in or before the month, not removed by its
    end)."""
    out: dict[str, list[int]] = {}
    for code, added, removed, count in rows:
        held = out.setdefault(code, [0] * n)
        for i in range(n):
            if added <= i and (removed is None or removed > i):
                held[i] += count
    return out


def subscribers_by_package(session: Session, bounds: list[dt.datetime]) -> list[dict]:
    n = len(bounds) - 1
    items = SubscriptionItem.__table__.c
    added, removed = calendar.bucket(items.added_at, bounds), calendar.bucket(items.removed_at,
                                                                              bounds)
    rows = session.execute(
        select(items.code, added, removed, func.count())
        .where(items.kind == "package", items.added_at < bounds[-1],
               or_(items.removed_at.is_(None), items.removed_at >= bounds[0]))
        .group_by(items.code, added, removed)).all()
    held = held_at_end(rows, n)
    return [{"month": calendar.key(bounds[i]), "package": code, "active": counts[i]}
            for i in range(n) for code, counts in sorted(held.items()) if any(counts)]


def churn_figures(rows, n: int) -> list[tuple[int, int]]:
    """From (activated bucket, cancelled bucket or None, count) rows: per month,
    (active at its start, cancelled in it)."""
    out = [[0, 0] for _ in range(n)]
    for activated, cancelled, count in rows:
        for i in range(n):
            if activated < i and (cancelled is None or cancelled >= i):
                out[i][0] += count
            if cancelled == i:
                out[i][1] += count
    return [(a, c) for a, c in out]


def churn(session: Session, bounds: list[dt.datetime]) -> list[dict]:
    n = len(bounds) - 1
    subs = Subscription.__table__.c
    activated = calendar.bucket(subs.activation_date, bounds)
    cancelled = calendar.bucket(subs.cancelled_at, bounds)
    rows = session.execute(
        select(activated, cancelled, func.count())
        .where(subs.activation_date < bounds[-1],
               or_(subs.cancelled_at.is_(None), subs.cancelled_at >= bounds[0]))
        .group_by(activated, cancelled)).all()
    return [{"month": calendar.key(bounds[i]), "active_at_start": active, "cancelled": gone,
             "rate": rate(gone, active)}
            for i, (active, gone) in enumerate(churn_figures(rows, n))]


def cancellation_reasons(session: Session, bounds: list[dt.datetime]) -> list[dict]:
    subs = Subscription.__table__.c
    reason = func.coalesce(subs.cancel_reason, "")
    rows = session.execute(
        select(reason, func.count().label("n"))
        .where(subs.cancelled_at >= bounds[0], subs.cancelled_at < bounds[-1])
        .group_by(reason).order_by(func.count().desc(), reason).limit(TOP_REASONS)).all()
    return [{"reason": r, "count": count} for r, count in rows]


def served(rows, n: int) -> dict[str, list[int]]:
    """From (currency, first activation bucket, last cancellation bucket or None while any
    subscription lives, count) rows of accounts: per currency, the accounts served in each of
    the n months."""
    out: dict[str, list[int]] = {}
    for currency, started, stopped, count in rows:
        months = out.setdefault(currency, [0] * n)
        for i in range(n):
            if started <= i and (stopped is None or stopped >= i):
                months[i] += count
    return out


def arpa(session: Session, bounds: list[dt.datetime]) -> list[dict]:
    n = len(bounds) - 1
    charges, notes, subs = Charge.__table__.c, CreditNote.__table__.c, Subscription.__table__.c
    month = calendar.bucket(charges.created_at, bounds)
    revenue = {(m, cur): int(total) for m, cur, total in session.execute(
        select(month, charges.currency, func.sum(charges.amount))
        .where(charges.created_at >= bounds[0], charges.created_at < bounds[-1])
        .group_by(month, charges.currency))}
    note_month = calendar.bucket(notes.created_at, bounds)
    for m, cur, credited in session.execute(
            select(note_month, notes.currency, func.sum(notes.amount - notes.tax))
            .where(notes.applied_to == "invoice", notes.created_at >= bounds[0],
                   notes.created_at < bounds[-1])
            .group_by(note_month, notes.currency)):
        revenue[(m, cur)] = revenue.get((m, cur), 0) - int(credited)
    accounts = (select(subs.currency.label("currency"),
                       func.min(subs.activation_date).label("started"),
                       case((func.count(subs.cancelled_at) < func.count(), None),
                            else_=func.max(subs.cancelled_at)).label("stopped"))
                .where(subs.activation_date < bounds[-1])
                .group_by(subs.customer_id, subs.currency).subquery())
    started = calendar.bucket(accounts.c.started, bounds)
    stopped = calendar.bucket(accounts.c.stopped, bounds)
    counts = served(session.execute(
        select(accounts.c.currency, started, stopped, func.count())
        .where(or_(accounts.c.stopped.is_(None), accounts.c.stopped >= bounds[0]))
        .group_by(accounts.c.currency, started, stopped)).all(), n)
    keys = {(m, cur) for m, cur in revenue if 0 <= m < n} | {
        (m, cur) for cur, months in counts.items() for m in range(n) if months[m]}
    return [{"month": calendar.key(bounds[m]), "currency": cur,
             "amount": half_even_div(revenue.get((m, cur), 0), counts.get(cur, [0] * n)[m]),
             "accounts": counts.get(cur, [0] * n)[m]}
            for m, cur in sorted(keys)]


def wallet_float(session: Session) -> list[dict]:
    wallets = Wallet.__table__.c
    return [{"currency": cur, "amount": int(amount), "wallets": count}
            for cur, amount, count in session.execute(
                select(wallets.currency, func.sum(wallets.balance), func.count())
                .where(wallets.balance > 0).group_by(wallets.currency)
                .order_by(wallets.currency))]


def overdue(session: Session, now: dt.datetime) -> list[dict]:
    inv = Invoice.__table__.c
    due = inv.total - inv.amount_paid - inv.amount_credited
    return [{"currency": cur, "amount": int(amount), "invoices": count}
            for cur, amount, count in session.execute(
                select(inv.currency, func.sum(due), func.count())
                .where(and_(inv.status.in_(("open", "overdue")),
                            inv.due_date < now.date().isoformat(), inv.number.is_not(None),
                            due > 0))
                .group_by(inv.currency).order_by(inv.currency))]


def ops_insights(session: Session, months, now: dt.datetime) -> dict:
    """The RPC's answer (docs/insights.md); `months` 1..60 (InvalidArgument otherwise)."""
    bounds = calendar.window(now, calendar.parse_months(months))
    return {"subscribers_by_package": subscribers_by_package(session, bounds),
            "churn": churn(session, bounds),
            "cancellation_reasons": cancellation_reasons(session, bounds),
            "arpa": arpa(session, bounds),
            "wallet_float": wallet_float(session),
            "overdue": overdue(session, now)}
