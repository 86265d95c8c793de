"""Invoice arithmetic: totals equal the sum of lines, taxes and discounts, with the documented
rounding, over random charges, tax rates and currencies with 0, 2 and 3 minor digits."""

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from services.billing.invoicing.arithmetic import (
    InvoiceTotals,
    format_number,
    line_from_charge,
    totals,
)
from services.common.money import Money, from_decimal_string, minor_unit_exponent, to_decimal

CURRENCIES = ["JPY", "EUR", "BHD"]  # 0, 2 and 3 minor digits
RATES = [0, 500, 700, 810, 1900, 2000, 2500]

charges = st.lists(st.tuples(st.sampled_from(["fee", "charge", "credit", "discount",
                                              "one_off"]),
                             st.integers(-10**7, 10**7), st.sampled_from(RATES)),
                   min_size=1, max_size=40)


@given(charges, st.sampled_from(CURRENCIES))
def test_totals_are_the_sum_of_the_lines_with_per_line_half_even_tax(items, currency):
    lines = [line_from_charge(f"line {n}", kind,
                              -abs(amount) if kind == "discount" else amount, rate)
             for n, (kind, amount, rate) in enumerate(items)]
    result = totals(lines)
    assert result.total == sum(x.amount for x in lines) + sum(x.tax for x in lines)
    assert result.subtotal - result.discount == sum(x.amount for x in lines)
    assert result.discount >= 0
    for ln in lines:
        exact = Fraction(ln.amount * ln.tax_rate_bp, 10_000)
        assert abs(ln.tax - exact) <= Fraction(1, 2)
        if abs(ln.tax - exact) == Fraction(1, 2):
            assert ln.tax % 2 == 0  # ties to even
    assert result.tax == sum(x.tax for x in lines)
    # minor units of a currency with 0, 2 or 3 digits turn into its decimal amount and back
    # exactly (what the PDF prints is what was summed)
    total = Money(result.total, currency)
    printed = to_decimal(total)
    assert printed.as_tuple().exponent == -minor_unit_exponent(currency) or result.total == 0
    assert from_decimal_string(str(printed), currency) == total


def test_a_worked_invoice():
    lines = [line_from_charge("Family (21 Nov – 21 Dec)", "fee", 2499, 1900),
             line_from_charge("Promotion on Family", "discount", -250, 1900),
             line_from_charge("Sports Plus", "fee", 999, 1900)]
    assert [ln.tax for ln in lines] == [475, -48, 190]
    assert totals(lines) == InvoiceTotals(subtotal=3498, discount=250, tax=617, total=3865)
    assert format_number("INV", 2026, 42) == "INV-2026-000042"
