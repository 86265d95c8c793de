"""Pure rules of postpaid collection and credit notes: the dunning policy from configuration and
the credit note's tax share."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.billing.invoicing.collection import Policy
from services.billing.invoicing.credit_notes import _half_even_share


def test_the_dunning_policy_is_read_from_configuration():
    assert Policy.from_config("1,3,7", "24", "3") == Policy((1, 3, 7), 24, 3)
    assert Policy.from_config(None, None, None) == Policy((1, 3, 7), 24, 3)
    assert Policy.from_config("2, 5", 12, 1).retry_days == (2, 5)


@pytest.mark.parametrize("bad", ["3,1", "1,-2", "x"])
def test_a_wrong_dunning_schedule_is_refused_at_start(bad):
    with pytest.raises(ValueError):
        Policy.from_config(bad, 24, 3)


@given(st.integers(0, 10**7), st.integers(0, 10**6), st.integers(1, 10**7))
def test_the_tax_share_is_the_exact_ratio_rounded_half_to_even(amount, part, whole):
    exact = Fraction(amount * part, whole)
    got = _half_even_share(amount, part, whole)
    assert abs(got - exact) <= Fraction(1, 2)
    if abs(got - exact) == Fraction(1, 2):
        assert got % 2 == 0
    assert got == round(exact)  # Python rounds Fractions half to even
