"""Proration is exact and explained: properties over any sequence of changes in one period."""

import datetime as dt
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from services.billing.subscriptions.periods import add_months, period_end, seconds
from services.billing.subscriptions.proration import Held, Offer, line, swap, tax_of, totals

START = dt.datetime(2026, 1, 31, 10, 0, tzinfo=dt.UTC)
END = period_end(START, "month", 31)
WHOLE = seconds(START, END)

prices = st.integers(min_value=0, max_value=500_000)
offsets = st.integers(min_value=0, max_value=WHOLE)


def simulate(first_price: int, changes: list[tuple[int, int]]):
    """Start on a package at `first_price` for the full period, then at each offset switch to a
    package at the given price. Returns (total charged, exact value used, lines)."""
    held = Held("p0", "P0", first_price, START)
    total, used, previous_at, previous_price = first_price, Fraction(0), START, first_price
    all_lines = []
    for n, (offset, price) in enumerate(sorted(changes), start=1):
        at = START + dt.timedelta(seconds=offset)
        lines, _, added = swap([held], [Offer(f"p{n}", f"P{n}", price, price)], START, END,
                               at, 1900)
        total += sum(x.amount for x in lines)
        used += Fraction(previous_price * seconds(previous_at, at), WHOLE)
        held, previous_at, previous_price = added[0], at, price
        all_lines += lines
    used += Fraction(previous_price * seconds(previous_at, END), WHOLE)
    return total, used, all_lines


@settings(max_examples=400)
@given(prices, st.lists(st.tuples(offsets, prices), max_size=8))
def test_any_sequence_of_changes_never_charges_more_than_was_used(first, changes):
    total, used, lines = simulate(first, changes)
    assert total <= used
    assert total >= used - 2 * len(changes)  # and never much less: one unit per line at most


@settings(max_examples=400)
@given(prices, prices, offsets)
def test_an_upgrade_reversed_at_once_nets_to_zero(price_a, price_b, offset):
    at = START + dt.timedelta(seconds=offset)
    a = Held("basic", "Basic", price_a, START)
    up, credited, (b,) = swap([a], [Offer("premium", "Premium", price_b, price_b)], START, END,
                              at, 1900)
    down, _, (a_again,) = swap([b], [Offer("basic", "Basic", price_a, price_a)], START, END,
                               at, 1900, credited_now=credited)
    assert sum(x.amount for x in up + down) == 0
    assert sum(x.tax for x in up + down) == 0
    assert a_again.charged == credited["basic"]


@given(prices, st.integers(min_value=1, max_value=WHOLE), st.integers(0, 10_000))
def test_discounts_are_their_own_line_and_never_exceed_the_charge(list_price, offset, bp):
    net_price = list_price - (list_price * bp) // 10_000
    at = START + dt.timedelta(seconds=offset)
    lines, _, (held,) = swap([], [Offer("family", "Family", list_price, net_price)], START, END,
                             at, 2000)
    charge = [x for x in lines if x.kind == "charge"]
    discount = [x for x in lines if x.kind == "discount"]
    assert len(charge) == 1 and len(discount) <= 1
    assert sum(x.amount for x in lines) == held.charged >= 0
    assert all(-d.amount <= charge[0].amount for d in discount)


@given(st.lists(st.tuples(st.integers(-10**7, 10**7), st.sampled_from([0, 700, 1900, 2000,
                                                                        810]))))
def test_tax_is_rounded_half_even_per_line_then_summed(items):
    lines = [line("charge", "x", amount, rate) for amount, rate in items]
    for ln, (amount, rate) in zip(lines, items, strict=True):
        exact = Fraction(amount * rate, 10_000)
        assert abs(ln.tax - exact) <= Fraction(1, 2)
        if abs(ln.tax - exact) == Fraction(1, 2):
            assert ln.tax % 2 == 0
    assert totals(lines).tax == sum(tax_of(a, r) for a, r in items)
    assert totals(lines).total == sum(a for a, _ in items) + totals(lines).tax


def test_a_worked_example_matches_the_documented_rounding():
    # 29.99 a month, upgraded to 49.99 exactly half-way through a 30-day period
    start = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    end = period_end(start, "month")
    at = start + dt.timedelta(days=15)
    lines, credited, _ = swap([Held("basic", "Basic", 2999, start)],
                              [Offer("premium", "Premium", 4999, 4999)], start, end, at, 1900)
    assert [(x.kind, x.amount, x.tax) for x in lines] == [
        ("credit", -1500, -285),  # 1499.5 rounded up: in the customer's favour
        ("charge", 2499, 475),    # 2499.5 rounded down: in the customer's favour
    ]
    assert credited == {"basic": 1500}


def test_months_keep_their_anchor_day():
    jan31 = dt.datetime(2026, 1, 31, tzinfo=dt.UTC)
    feb = add_months(jan31, 1, 31)
    assert feb.day == 28 and add_months(feb, 1, 31).day == 31
    assert period_end(jan31, "year", 31) == dt.datetime(2027, 1, 31, tzinfo=dt.UTC)
