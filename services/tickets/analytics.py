"""tickets' part of the operators' figures (docs/insights.md, `ops_insights`), over the last
`months` calendar months (UTC, the current one included), set-based.

- tickets_by_category: per month and category, the tickets opened (created) and resolved
  (`resolved_at`) in it; every month is present for every category seen in the window.
- time_to_resolve: per category, over the tickets resolved in the window, how many and the
  median and 90th percentile of the minutes from opening to resolution. Percentiles are
  nearest-rank (the smallest duration with at least that share of the tickets at or below it:
  rank ⌈p·n⌉), picked in SQL by window functions (PostgreSQL and SQLite alike); only the
  duration's arithmetic is dialect-specific. Minutes are rounded half to even.

Months are numbered by a CASE over the month boundaries (one GROUP BY pass, no date
functions), as billing's figures are.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from services.common import errors
from services.tickets.models import Ticket

MAX_MONTHS = 60


def parse_months(months) -> int:
    if isinstance(months, str) and months.strip().isdigit():
        months = int(months)
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise errors.InvalidArgument(fields={"months": [f"must be 1 to {MAX_MONTHS}"]})
    return months


def _add_months(first: dt.datetime, n: int) -> dt.datetime:
    index = first.year * 12 + first.month - 1 + n
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.UTC)


def window(now: dt.datetime, months: int) -> list[dt.datetime]:
    """months + 1 boundaries: the first instant of each month, then next month's."""
    first = _add_months(dt.datetime(now.year, now.month, 1, tzinfo=dt.UTC), 1 - months)
    return [_add_months(first, i) for i in range(months + 1)]


def _key(when: dt.datetime) -> str:
    return f"{when.year:04d}-{when.month:02d}"


def _bucket(column, bounds):
    whens = [(column < bounds[0], -1)] + [(column < b, i) for i, b in enumerate(bounds[1:])]
    return case((column.is_(None), None), *whens, else_=len(bounds) - 1)


def by_category(rows, n: int) -> dict[str, list[list[int]]]:
    """From (category, opened bucket, resolved bucket or None, count) rows: per category and
    month, [opened, resolved]."""
    out: dict[str, list[list[int]]] = {}
    for category, opened, resolved, count in rows:
        months = out.setdefault(category, [[0, 0] for _ in range(n)])
        if 0 <= opened < n:
            months[opened][0] += count
        if resolved is not None and 0 <= resolved < n:
            months[resolved][1] += count
    return out


def tickets_by_category(session: Session, bounds: list[dt.datetime]) -> list[dict]:
    t = Ticket.__table__.c
    opened, resolved = _bucket(t.created_at, bounds), _bucket(t.resolved_at, bounds)
    in_window = ((t.created_at >= bounds[0]) & (t.created_at < bounds[-1])) | \
        ((t.resolved_at >= bounds[0]) & (t.resolved_at < bounds[-1]))
    rows = session.execute(select(t.category, opened, resolved, func.count())
                           .where(in_window).group_by(t.category, opened, resolved)).all()
    figures = by_category(rows, len(bounds) - 1)
    return [{"month": _key(bounds[i]), "category": category, "opened": months[i][0],
             "resolved": months[i][1]}
            for i in range(len(bounds) - 1) for category, months in sorted(figures.items())]


def _seconds(session: Session, start, end):
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def minutes(seconds) -> int:
    return int((Decimal(str(seconds)) / 60).quantize(Decimal(1), ROUND_HALF_EVEN))


def time_to_resolve(session: Session, bounds: list[dt.datetime]) -> list[dict]:
    t = Ticket.__table__.c
    took = _seconds(session, t.created_at, t.resolved_at).label("took")
    ranked = (select(t.category, took,
                     func.row_number().over(partition_by=t.category,
                                            order_by=took).label("rank"),
                     func.count().over(partition_by=t.category).label("n"))
              .where(t.resolved_at >= bounds[0], t.resolved_at < bounds[-1])
              .subquery())
    r = ranked.c
    median_rank, p90_rank = (r.n + 1) // 2, (r.n * 9 + 9) // 10  # ⌈n/2⌉, ⌈9n/10⌉ (integers)
    rows = session.execute(
        select(r.category, func.max(r.n),
               func.max(case((r.rank == median_rank, r.took))),
               func.max(case((r.rank == p90_rank, r.took))))
        .where((r.rank == median_rank) | (r.rank == p90_rank))
        .group_by(r.category).order_by(r.category)).all()
    return [{"category": category, "resolved": int(n), "median_minutes": minutes(median),
             "p90_minutes": minutes(p90)} for category, n, median, p90 in rows]


def ops_insights(session: Session, months, now: dt.datetime) -> dict:
    bounds = window(now, parse_months(months))
    return {"tickets_by_category": tickets_by_category(session, bounds),
            "time_to_resolve": time_to_resolve(session, bounds)}

