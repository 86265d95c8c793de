"""Billing periods: pure date arithmetic.

A subscription is billed from its activation instant (anniversary billing): a monthly period
ends on the same day and time of the next month, clamped to the month's last day and then back
to the anchor day when the month allows (31 Jan → 28 Feb → 31 Mar).
"""

from __future__ import annotations

import calendar
import datetime as dt

PERIOD_MONTHS = {"month": 1, "year": 12}


def add_months(when: dt.datetime, months: int, anchor_day: int | None = None) -> dt.datetime:
    month_index = when.month - 1 + months
    year, month = when.year + month_index // 12, month_index % 12 + 1
    day = min(anchor_day or when.day, calendar.monthrange(year, month)[1])
    return when.replace(year=year, month=month, day=day)


def period_end(start: dt.datetime, period: str, anchor_day: int | None = None) -> dt.datetime:
    return add_months(start, PERIOD_MONTHS[period], anchor_day)


def seconds(start: dt.datetime, end: dt.datetime) -> int:
    """Whole seconds between two instants (proration counts seconds)."""
    return int((end - start).total_seconds())
