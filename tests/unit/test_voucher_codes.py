"""Voucher codes: the check symbol catches typos without a lookup, input is forgiving, codes are
derived from the secret and only their keyed hash is stored."""

import itertools

from hypothesis import given
from hypothesis import strategies as st

from services.vouchers import codes

KEYS = codes.CodeKeys("unit-test-secret")
bodies = st.text(alphabet=codes.ALPHABET, min_size=codes.RANDOM_SYMBOLS,
                 max_size=codes.RANDOM_SYMBOLS)


def test_a_derived_code_is_well_formed_stable_and_long_enough():
    code = KEYS.code_for("vb_1", "000010000001")
    assert len(code) == 14 and codes.is_well_formed(code)
    assert code == KEYS.code_for("vb_1", "000010000001")
    assert code != KEYS.code_for("vb_1", "000010000002")
    assert code != KEYS.code_for("vb_1", "000010000001", variant=1)
    assert code != codes.CodeKeys("another-secret").code_for("vb_1", "000010000001")
    assert len(codes.ALPHABET) ** codes.RANDOM_SYMBOLS >= 2 ** 60


@given(bodies)
def test_every_single_wrong_symbol_is_caught(body):
    code = body + codes.check_symbol(body)
    assert codes.is_well_formed(code)
    for i, wrong in itertools.product(range(len(code)), codes.ALPHABET):
        if wrong != code[i]:
            assert not codes.is_well_formed(code[:i] + wrong + code[i + 1:])


@given(bodies)
def test_swapping_neighbours_is_caught_unless_they_are_the_luhn_blind_pair(body):
    code = body + codes.check_symbol(body)
    for i in range(len(code) - 1):
        a, b = code[i], code[i + 1]
        if a == b:
            continue
        swapped = code[:i] + b + a + code[i + 2:]
        # Luhn mod N misses only the swap of the symbols worth 0 and N-1
        blind = {codes.INDEX[a], codes.INDEX[b]} == {0, codes.N - 1}
        assert codes.is_well_formed(swapped) == blind


def test_input_is_forgiving_the_crockford_way_and_display_groups_by_four():
    code = KEYS.code_for("vb_1", "000010000001")
    shown = codes.display(code)
    assert shown.count("-") == 3 and shown.replace("-", "") == code
    assert codes.normalize(f"  {shown.lower()} ") == code
    assert codes.normalize("o1-IL") == "0111"
    assert not codes.is_well_formed(codes.normalize("not a code"))
    assert not codes.is_well_formed("")


def test_the_stored_hash_reveals_nothing_without_the_key():
    code = KEYS.code_for("vb_1", "000010000001")
    stored = KEYS.lookup_hash(code)
    assert len(stored) == 64 and code not in stored
    assert stored != codes.CodeKeys("another-secret").lookup_hash(code)
