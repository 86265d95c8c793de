"""Quotes: the price snapshot billing stores on a subscription; and the shop window's prices
with the customer's tax (`list_for_customers`), computed by the same rule as billing's lines.

A quote states list prices for one billing period in one currency, the best promotion on the
package, the device prices, the tax rate of the customer's region and the package's rules.
It totals nothing: billing adds the lines, applies the tax per line and rounds (half even per
line, see `services.common.money`). The pure functions on top take plain values; `quote` at the
bottom reads the catalog and applies them.

Decisions written down here:
- Promotions apply to packages only, so an add-on's `discount` is always null.
- The best promotion is the one with the largest discount on this price; ties go to the
  smallest code, so the answer never depends on row order. A promotion is valid from
  `valid_from` to `valid_until` inclusive; a fixed one applies only in its own currency.
- A device's `rental_price` is per billing period (monthly rental × 12 for "year"); its
  `sale_price` is a one-off. `included` says the package includes the device (billing decides
  what that costs: usually nothing).
- A tax region without an active tax rate is taxed at 0 ("No tax").
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.catalog import entries, exceptions
from services.catalog.models import Addon, Device, Package, Promotion, TaxRate
from services.catalog.rules import addons_phrase
from services.catalog.schemas import QuoteSchema, dump_addon, dump_device, dump_package
from services.common import errors
from services.common.money import Money, percentage, taxed
from services.common.schemas import load_or_raise, localized

MONTHS_PER_PERIOD = {"month": 1, "year": 12}
PERIOD_ADJECTIVE = {"month": "monthly", "year": "yearly"}
NO_TAX = "No tax"


def is_valid(promotion, now: dt.datetime) -> bool:
    return (promotion.active and promotion.valid_from <= now
            and (promotion.valid_until is None or now <= promotion.valid_until))


def discount_amount(promotion, price: int, currency: str) -> int:
    """What `promotion` takes off `price` (0 when it does not apply to this currency)."""
    if promotion.kind == "percent":
        return percentage(Money(price, currency), promotion.value).amount
    if promotion.currency != currency:
        return 0
    return min(promotion.value, price)


def best_discount(promotions: Iterable, package_code: str, price: int, currency: str,
                  now: dt.datetime) -> dict | None:
    """`{"promotion", "description", "amount"}` of the best valid promotion, or None."""
    best = None
    for promo in sorted(promotions, key=lambda p: p.code):
        if package_code not in promo.packages or not is_valid(promo, now):
            continue
        amount = discount_amount(promo, price, currency)
        if amount > 0 and (best is None or amount > best["amount"]):
            best = {"promotion": promo.code, "description": promo.name, "amount": amount}
    return best


def period_price(entry, label: str, currency: str, period: str) -> int:
    """The entry's list price for `period` in `currency`, or the Conflict that says why not."""
    if entry.currency != currency:
        raise errors.Conflict(f"{label} is not offered in {currency}.",
                              code=exceptions.CURRENCY_NOT_OFFERED)
    price = entry.prices.get(period)
    if price is None:
        raise errors.Conflict(f"{label} is not offered with {PERIOD_ADJECTIVE[period]} billing.",
                              code=exceptions.PERIOD_NOT_OFFERED)
    return price


def device_line(device, period: str, included: bool) -> dict:
    rental = device.rental_price
    return {"code": device.code, "model": device.model, "kind": device.kind,
            "sale_price": device.sale_price,
            "rental_price": None if rental is None else rental * MONTHS_PER_PERIOD[period],
            "included": included}


def tax_line(rate, region: str | None) -> dict:
    if rate is None or not rate.active:
        return {"region": region, "rate_bp": 0, "name": NO_TAX}
    return {"region": region, "rate_bp": rate.rate_bp, "name": rate.name}


# --- reading the catalog ------------------------------------------------------------------

def tax_for(session: Session, region: str | None, language: str | None = None) -> dict:
    """`{region, rate_bp, name}`: the tax a customer of `region` pays (0, "No tax", without an
    active rate), exactly as a quote states it, so a shown gross price is the charged one; its
    name in `language` where the operator translated it."""
    rate = session.get(TaxRate, region) if region else None
    line = tax_line(rate, region)
    if rate is not None and rate.active:
        line["name"] = localized({"name": rate.name, "translations": rate.translations},
                                 language)["name"]
    return line


def list_for_customers(session: Session, kind: str, tax_region: str | None,
                       package: str | None = None, language: str | None = None) -> list[dict]:
    """The active packages, add-ons (those allowed on `package`) or devices, each price also
    given with the tax of `tax_region` (`with_tax`), names and descriptions in `language`
    where the operator translated them."""
    model, dump = {"packages": (Package, dump_package), "addons": (Addon, dump_addon),
                   "devices": (Device, dump_device)}[kind]
    tax = tax_for(session, tax_region, language)
    shown = [with_tax(localized(entry, language), tax)
             for entry in entries.list_active(session, model, dump)]
    if package is not None:
        shown = [a for a in shown if package in a["packages"]]
    return shown


def with_tax(entry: dict, tax: dict) -> dict:
    """The public dump plus `tax` and, per price, `{net, tax, gross}`: `taxed_prices` by
    billing period (packages, add-ons) or `taxed_sale_price` / `taxed_rental_price` (devices,
    monthly rental)."""
    rate = tax["rate_bp"]
    if "prices" in entry:
        taxed_prices = {period: taxed(amount, entry["currency"], rate)
                        for period, amount in entry["prices"].items()}
        return {**entry, "tax": tax, "taxed_prices": taxed_prices}
    return {**entry, "tax": tax, **{
        f"taxed_{name}": None if entry[name] is None else taxed(
            entry[name]["amount"], entry[name]["currency"], rate)
        for name in ("sale_price", "rental_price")}}


def _addon(session: Session, code: str, package: Package, currency: str, period: str) -> dict:
    addon = entries.find(session, entries.KINDS["addons"], code)
    if addon is None:
        raise errors.NotFound(f"There is no add-on with the code {code}.",
                              code=exceptions.ADDON_NOT_FOUND)
    if not addon.active:
        raise errors.Conflict(f"{addon.name} is no longer available.",
                              code=exceptions.ADDON_NOT_AVAILABLE)
    if package.code not in addon.packages:
        raise errors.Conflict(f"{addon.name} cannot be added to {package.name}.",
                              code=exceptions.ADDON_NOT_ALLOWED)
    price = period_price(addon, addon.name, currency, period)
    return {"code": addon.code, "name": addon.name, "price": price, "discount": None}


def _device(session: Session, code: str, package: Package, currency: str, period: str) -> dict:
    device = entries.find(session, entries.KINDS["devices"], code)
    if device is None:
        raise errors.NotFound(f"There is no device with the code {code}.",
                              code=exceptions.DEVICE_NOT_FOUND)
    if not device.active:
        raise errors.Conflict(f"The {device.model} is no longer available.",
                              code=exceptions.DEVICE_NOT_AVAILABLE)
    if device.currency != currency:
        raise errors.Conflict(f"The {device.model} is not offered in {currency}.",
                              code=exceptions.CURRENCY_NOT_OFFERED)
    return device_line(device, period, code in package.included_devices)


def quote(session: Session, args: dict, now: dt.datetime) -> dict:
    """`args`: quote()'s arguments by name; add-on and device codes as lists (tuples are fine)."""
    args = {k: list(v) if isinstance(v, tuple) else v for k, v in args.items()}
    for name in ("addons", "devices"):
        if args.get(name) is None:
            args[name] = []
    values = load_or_raise(QuoteSchema(), args)
    currency, period = values["currency"], values["period"]
    package = entries.get(session, entries.KINDS["packages"], values["package"])
    if not package.active:
        raise errors.Conflict(f"{package.name} is no longer available.",
                              code=exceptions.PACKAGE_NOT_AVAILABLE)
    price = period_price(package, package.name, currency, period)
    addons = [_addon(session, code, package, currency, period) for code in values["addons"]]
    limit = package.rules["max_addons"]
    if len(addons) > limit:
        raise errors.Conflict(f"{package.name} allows at most {addons_phrase(limit)}.",
                              code=exceptions.TOO_MANY_ADDONS)
    # the package's own devices come with it, whether asked for or not
    wanted = list(values["devices"]) + [code for code in package.included_devices
                                        if code not in values["devices"]]
    devices = [_device(session, code, package, currency, period) for code in wanted]
    promotions = session.scalars(select(Promotion).where(Promotion.active.is_(True))).all()
    region = values["tax_region"]
    rate = session.get(TaxRate, region) if region else None
    return {
        "currency": currency,
        "period": period,
        "package": {"code": package.code, "name": package.name, "price": price,
                    "discount": best_discount(promotions, package.code, price, currency, now)},
        "addons": addons,
        "devices": devices,
        "tax": tax_line(rate, region),
        "rules": copy.deepcopy(package.rules),
    }
