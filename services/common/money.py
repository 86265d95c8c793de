"""Money in integer minor units with an ISO 4217 currency. Never floats.

Rounding rule, written down once: amounts that must be divided (proration, percentages, taxes)
are computed on integers and rounded **half to even** per line; totals are sums of rounded lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision, list_currencies

KNOWN_CURRENCIES = frozenset(list_currencies())


def is_currency(code: str) -> bool:
    return isinstance(code, str) and code.isupper() and code in KNOWN_CURRENCIES


def decimal_string(amount: int, currency: str) -> str:
    """Minor units as a plain decimal (`1050, "EUR"` → `"10.50"`; JPY has no decimals)."""
    exponent = minor_unit_exponent(currency)
    if exponent == 0:
        return str(amount)
    sign, amount = ("-" if amount < 0 else ""), abs(amount)
    return f"{sign}{amount // 10 ** exponent}.{amount % 10 ** exponent:0{exponent}d}"


def minor_unit_exponent(currency: str) -> int:
    """Digits after the decimal point for `currency` (EUR 2, JPY 0, BHD 3), from CLDR."""
    if not is_currency(currency):
        raise ValueError(f"unknown currency {currency!r}")
    return get_currency_precision(currency)


@dataclass(frozen=True, slots=True)
class Money:
    amount: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, int) or isinstance(self.amount, bool):
            raise TypeError("Money.amount must be an int in minor units")
        if not is_currency(self.currency):
            raise ValueError(f"unknown currency {self.currency!r}")

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"currency mismatch: {self.currency} vs {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def to_dict(self) -> dict:
        return {"amount": self.amount, "currency": self.currency}

    @classmethod
    def from_dict(cls, data: dict) -> Money:
        return cls(data["amount"], data["currency"])

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)


def divide_half_even(numerator: int, denominator: int) -> int:
    """round(numerator / denominator) with ties to even, exactly, on integers."""
    if denominator == 0:
        raise ZeroDivisionError("denominator is zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


def tax_of(amount: int, rate_bp: int) -> int:
    """The tax on one net amount at `rate_bp` basis points (1900 = 19 %), rounded half-even:
    the one rule billing's lines and the catalog's shown prices both use."""
    return divide_half_even(amount * rate_bp, 10_000)


def taxed(amount: int, currency: str, rate_bp: int) -> dict:
    """A net price as the API shows it with its tax: `{net, tax, gross}`, each money."""
    tax = tax_of(amount, rate_bp)
    return {"net": {"amount": amount, "currency": currency},
            "tax": {"amount": tax, "currency": currency},
            "gross": {"amount": amount + tax, "currency": currency}}


def percentage(money: Money, basis_points: int) -> Money:
    """`money * basis_points / 10000` (1900 bp = 19 %), rounded half-even."""
    return Money(divide_half_even(money.amount * basis_points, 10_000), money.currency)


def from_decimal_string(text: str, currency: str) -> Money:
    """Parse "29.99" into Money(2999, "EUR"); refuses more digits than the currency has."""
    exponent = minor_unit_exponent(currency)
    value = Decimal(text)
    scaled = value.scaleb(exponent)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{text} has more than {exponent} decimals for {currency}")
    return Money(int(scaled), currency)


def to_decimal(money: Money) -> Decimal:
    return Decimal(money.amount).scaleb(-minor_unit_exponent(money.currency))


def format_money(money: Money, locale: str = "en") -> str:
    """Human text for a customer's language: 2999 EUR → "€29.99" (en), "29,99 €" (de)."""
    return format_currency(to_decimal(money), money.currency, locale=locale)
