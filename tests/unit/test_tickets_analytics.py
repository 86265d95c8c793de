"""tickets' part of the operators' figures (services/tickets/analytics.py): months, grouped
counts, minutes; the SQL itself is proved on PostgreSQL and SQLite in
tests/integration/test_ops_insights_postgres.py."""

import datetime as dt
from decimal import Decimal

import pytest

from services.common import errors
from services.tickets import analytics


def utc(*args):
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(("now", "months", "first", "last"), [
    (utc(2026, 12, 4, 12), 1, utc(2026, 12, 1), utc(2027, 1, 1)),
    (utc(2026, 12, 4, 12), 12, utc(2026, 1, 1), utc(2027, 1, 1)),
    (utc(2027, 1, 31, 23, 59), 2, utc(2026, 12, 1), utc(2027, 2, 1)),
    (utc(2026, 3, 1), 14, utc(2025, 2, 1), utc(2026, 4, 1)),
])
def test_the_window_is_whole_months_ending_with_the_current_one(now, months, first, last):
    bounds = analytics.window(now, months)
    assert (len(bounds), bounds[0], bounds[-1]) == (months + 1, first, last)
    assert all(b.day == 1 and b.hour == 0 for b in bounds)


@pytest.mark.parametrize("value", [0, 61, -1, "x", None, True, 1.5, "12.0"])
def test_months_outside_1_to_60_are_invalid(value):
    with pytest.raises(errors.InvalidArgument) as caught:
        analytics.parse_months(value)
    assert "months" in caught.value.fields


def test_grouped_rows_become_opened_and_resolved_per_month():
    rows = [("billing", 0, 0, 2), ("billing", 0, 1, 1), ("billing", -1, 0, 4),  # opened before
            ("billing", 1, None, 3), ("technical", 1, 2, 1)]  # resolved after the window
    assert analytics.by_category(rows, 2) == {"billing": [[3, 6], [3, 1]],
                                              "technical": [[0, 0], [1, 0]]}


@pytest.mark.parametrize(("seconds", "minutes"), [
    (0, 0), (29, 0), (30, 0), (90, 2), (150, 2), (450.0, 8), (Decimal("1800.000000"), 30),
    (86400, 1440)])
def test_seconds_become_minutes_rounded_half_to_even(seconds, minutes):
    assert analytics.minutes(seconds) == minutes
