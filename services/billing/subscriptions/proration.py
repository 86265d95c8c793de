"""Proration and the lines a customer sees before confirming a change. Pure functions.

Rules, written down once:
- Proration counts **seconds**: the part of a period left at instant `t` is
  (period end − t) / (period end − start).
- A prorated **charge** for the rest of the period is rounded **down**, and a **credit** for the
  unused part of what was charged is rounded **up**: both in the customer's favour, so a sequence
  of changes never charges more than the customer used.
- A credit is computed from what was actually charged for the item (its `charged` amount over
  `[charged_since, period end]`), not from today's price list.
- An item taken back at the very instant it was removed (an upgrade reversed at once) is charged
  exactly what was credited for it: the pair nets to zero instead of losing a rounding unit.
- A promotion is its own line (negative), so the customer sees the list price and the discount.
- Tax is computed **per line**, rounded half to even, then summed; every line carries its tax.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from services.billing.money import texts
from services.billing.subscriptions.periods import seconds
from services.common.money import tax_of


@dataclass(frozen=True)
class Line:
    kind: str  # charge | credit | discount | fee | one_off
    description: str
    amount: int  # net, minor units; negative for credits and discounts
    tax_rate_bp: int
    tax: int
    item: str | None = None  # the item code the line is about
    text: dict | None = None  # {"code", "params"}: the description as data (money/texts.py)

    def to_dict(self) -> dict:
        return asdict(self)


def line(kind: str, description: str, amount: int, rate_bp: int, item: str | None = None,
         text: dict | None = None) -> Line:
    return Line(kind, description, amount, rate_bp, tax_of(amount, rate_bp), item, text)


def floor_share(amount: int, part: int, whole: int) -> int:
    """amount × part / whole, rounded down (for non-negative amounts)."""
    if whole <= 0:
        return 0
    return (amount * max(0, min(part, whole))) // whole


def ceil_share(amount: int, part: int, whole: int) -> int:
    """amount × part / whole, rounded up (for non-negative amounts)."""
    if whole <= 0:
        return 0
    return -((-amount * max(0, min(part, whole))) // whole)


def charge_for_rest(list_price: int, net_price: int, period_start: dt.datetime,
                    period_end: dt.datetime, at: dt.datetime) -> tuple[int, int]:
    """(gross, net) to charge for [at, period end] of a period priced `list_price` (`net_price`
    after the promotion). Both rounded down; the discount line is their difference."""
    whole, rest = seconds(period_start, period_end), seconds(at, period_end)
    return floor_share(list_price, rest, whole), floor_share(net_price, rest, whole)


def credit_for_unused(charged: int, charged_since: dt.datetime, period_end: dt.datetime,
                      at: dt.datetime) -> int:
    """The part of `charged` (paid for [charged_since, period end]) not used by `at`; rounded up."""
    return ceil_share(charged, seconds(at, period_end), seconds(charged_since, period_end))


@dataclass(frozen=True)
class Held:
    """An item the customer has: `charged` was paid for [since, period end]."""

    code: str
    name: str
    charged: int
    since: dt.datetime


@dataclass(frozen=True)
class Offer:
    """An item to add, priced per full period (`net` after its promotion)."""

    code: str
    name: str
    list_price: int
    net_price: int


def swap(removing: list[Held], adding: list[Offer], period_start: dt.datetime,
         period_end: dt.datetime, at: dt.datetime, rate_bp: int,
         credited_now: dict[str, int] | None = None) -> tuple[list[Line], dict[str, int],
                                                               list[Held]]:
    """The lines of removing and adding items at instant `at`.

    Returns (lines, what each removed item was credited, the added items as held).
    `credited_now` maps codes removed at this same instant to what they were credited.
    """
    span = f"{at:%d %b %Y} – {period_end:%d %b %Y}"
    lines: list[Line] = []
    credited: dict[str, int] = {}
    for item in removing:
        credit = credit_for_unused(item.charged, item.since, period_end, at)
        credited[item.code] = credit
        if credit:
            lines.append(line("credit", f"Credit for unused {item.name} ({span})", -credit,
                              rate_bp, item.code,
                              texts.period(texts.CREDIT_UNUSED, item.name, at, period_end)))
    held = []
    for offer in adding:
        restored = (credited_now or {}).get(offer.code)
        if restored is not None:
            lines.append(line("charge", f"{offer.name} ({span})", restored, rate_bp, offer.code,
                              texts.period(texts.PERIOD_FEE, offer.name, at, period_end)))
            held.append(Held(offer.code, offer.name, restored, at))
            continue
        gross, net = charge_for_rest(offer.list_price, offer.net_price, period_start,
                                     period_end, at)
        lines.append(line("charge", f"{offer.name} ({span})", gross, rate_bp, offer.code,
                          texts.period(texts.PERIOD_FEE, offer.name, at, period_end)))
        if gross != net:
            lines.append(line("discount", f"Promotion on {offer.name}", net - gross, rate_bp,
                              offer.code, texts.text(texts.PROMOTION, name=offer.name)))
        held.append(Held(offer.code, offer.name, net, at))
    return lines, credited, held


@dataclass(frozen=True)
class Totals:
    subtotal: int
    tax: int
    total: int


def totals(lines: list[Line]) -> Totals:
    subtotal = sum(x.amount for x in lines)
    tax = sum(x.tax for x in lines)
    return Totals(subtotal, tax, subtotal + tax)
