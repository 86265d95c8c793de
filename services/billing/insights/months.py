"""Calendar months in UTC: the periods of `spending` and of the operators' figures. Pure
functions, plus `bucket`, the portable SQL that numbers a timestamp's month.

`bucket(column, bounds)` is a CASE over the month boundaries (−1 before the first, i inside
month i, len(bounds) − 1 at or after the last): the same SQL on PostgreSQL and SQLite, no
date functions, evaluated once per row in a single GROUP BY pass."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case

from services.common import errors

MAX_MONTHS = 120  # a spending range: ten years
MAX_OPS_MONTHS = 60  # the operators' figures: five years


@dataclass(frozen=True)
class Period:
    key: str  # "2026-11"
    start: dt.datetime  # aware UTC; the month's first instant, or the range's start
    end: dt.datetime  # exclusive; the next month's first instant, or the range's end


def month_start(when: dt.datetime | dt.date) -> dt.datetime:
    return dt.datetime(when.year, when.month, 1, tzinfo=dt.UTC)


def next_month(when: dt.datetime) -> dt.datetime:
    return dt.datetime(when.year + when.month // 12, when.month % 12 + 1, 1, tzinfo=dt.UTC)


def add_months(first: dt.datetime, n: int) -> dt.datetime:
    index = first.year * 12 + first.month - 1 + n
    return dt.datetime(index // 12, index % 12 + 1, 1, tzinfo=dt.UTC)


def periods(start: dt.datetime, end: dt.datetime) -> list[Period]:
    """Every calendar month that [start, end) touches, in order, the first and last clipped to
    the range (a range from the 15th starts its first period on the 15th)."""
    out, cursor = [], month_start(start)
    while cursor < end:
        following = next_month(cursor)
        out.append(Period(f"{cursor.year:04d}-{cursor.month:02d}", max(cursor, start),
                          min(following, end)))
        cursor = following
    return out


def _date(value, name: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise errors.InvalidArgument(fields={name: ["must be a date YYYY-MM-DD"]}) from None


def parse_range(start, end, group) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) as aware UTC instants from ISO dates (`end` exclusive); InvalidArgument
    (VALIDATION_FAILED, with the field) for a bad date, an empty range, more than MAX_MONTHS
    months, or a group other than "month"."""
    if group != "month":
        raise errors.InvalidArgument(fields={"group": ["must be month"]})
    first, last = _date(start, "start"), _date(end, "end")
    if last <= first:
        raise errors.InvalidArgument(fields={"end": ["must be after start"]})
    begin = dt.datetime.combine(first, dt.time(), dt.UTC)
    until = dt.datetime.combine(last, dt.time(), dt.UTC)
    if len(periods(begin, until)) > MAX_MONTHS:
        raise errors.InvalidArgument(fields={"end": [f"at most {MAX_MONTHS} months after start"]})
    return begin, until


def parse_months(months) -> int:
    """How many months the operators' figures cover: an integer 1..MAX_OPS_MONTHS."""
    if isinstance(months, str) and months.strip().isdigit():
        months = int(months)
    if isinstance(months, bool) or not isinstance(months, int) \
            or not 1 <= months <= MAX_OPS_MONTHS:
        raise errors.InvalidArgument(fields={"months": [f"must be 1 to {MAX_OPS_MONTHS}"]})
    return months


def window(now: dt.datetime, months: int) -> list[dt.datetime]:
    """The boundaries of the last `months` calendar months, the current one included:
    months + 1 instants, the last being next month's first."""
    first = add_months(month_start(now), 1 - months)
    return [add_months(first, i) for i in range(months + 1)]


def key(when: dt.datetime) -> str:
    return f"{when.year:04d}-{when.month:02d}"


def bucket(column, bounds: list[dt.datetime]):
    """SQL: the index of the month `column` falls in (see the module doc); NULL stays NULL."""
    whens = [(column < bounds[0], -1)] + [(column < b, i) for i, b in enumerate(bounds[1:])]
    return case((column.is_(None), None), *whens, else_=len(bounds) - 1)
