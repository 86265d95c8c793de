import pytest

from services.common.money import (
    Money,
    divide_half_even,
    format_money,
    from_decimal_string,
    is_currency,
    minor_unit_exponent,
    percentage,
)


@pytest.mark.parametrize(("num", "den", "expected"), [
    (5, 2, 2), (7, 2, 4), (-5, 2, -2), (-7, 2, -4), (1, 3, 0), (2, 3, 1), (10, 4, 2),
    (14, 4, 4), (9, 1, 9), (5, -2, -2),
])
def test_division_rounds_half_to_even(num, den, expected):
    assert divide_half_even(num, den) == expected


def test_percentage_in_basis_points():
    assert percentage(Money(2999, "EUR"), 1900) == Money(570, "EUR")  # 569.81
    assert percentage(Money(250, "EUR"), 1000) == Money(25, "EUR")


def test_money_refuses_floats_and_unknown_currencies():
    with pytest.raises(TypeError):
        Money(29.99, "EUR")
    with pytest.raises(ValueError):
        Money(100, "XYZ")
    with pytest.raises(ValueError):
        Money(100, "eur")
    with pytest.raises(ValueError):
        Money(1, "EUR") + Money(1, "USD")


def test_minor_units_follow_iso_4217():
    assert minor_unit_exponent("EUR") == 2
    assert minor_unit_exponent("JPY") == 0
    assert minor_unit_exponent("BHD") == 3
    assert is_currency("CHF") and not is_currency("EURO")


def test_decimal_strings_parse_exactly():
    assert from_decimal_string("29.99", "EUR") == Money(2999, "EUR")
    assert from_decimal_string("500", "JPY") == Money(500, "JPY")
    with pytest.raises(ValueError):
        from_decimal_string("1.234", "EUR")


def test_formatting_follows_the_customers_language():
    assert format_money(Money(2999, "EUR"), "en") == "€29.99"
    assert format_money(Money(123456, "EUR"), "de") == "1.234,56\xa0€"
    assert format_money(Money(-500, "USD"), "en") == "-$5.00"
