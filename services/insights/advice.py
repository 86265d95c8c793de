"""A customer's recommendations: the inputs of `recommendations.recommend` gathered from billing
(their subscriptions, a prepaid wallet's next renewal), the catalog (channels, prices with their
tax and promotions, the operator's rules) and insights' own tables (viewing, the customer's
choice about it, dismissed advice, the operator's switches).

Prices are what the customer would pay: a candidate package is quoted by the catalog
(`quote`: list price, the best promotion, the tax of the subscription's region) with the add-ons
the customer keeps (those the target allows, except those whose channels it already carries, up
to its add-on limit). Only changes the rules allow are candidates (`package_options`), and an
add-on is advised away only if the rules allow removing it (`check_change`). Devices are left
out of the comparison: a package change keeps them.
"""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common import errors
from services.common.money import tax_of
from services.insights import preferences, viewing
from services.insights.models import ViewingDay
from services.insights.recommendations import (
    Candidate,
    HeldAddon,
    Holding,
    Renewal,
    Settings,
    Viewing,
    monthly,
    recommend,
)

SETTINGS = Settings()


def _gross(amount: dict | None) -> int:
    return 0 if amount is None else amount["gross"]["amount"]


def _snapshot(sub: dict) -> dict:
    return {"package": sub["package"]["code"], "addons": [a["code"] for a in sub["addons"]],
            "activation_date": sub["activation_date"], "current_period": sub["current_period"]}


def _waited(pending, until: float, default=None):
    """A started call's answer; `default` if the service refused it (a typed error)."""
    try:
        return pending.wait(until)
    except errors.ServiceError:
        return default


def _line_gross(net: int, rate_bp: int) -> int:
    return net + tax_of(net, rate_bp)


def _kept(sub: dict, code: str, addons: dict, packages: dict) -> list[str] | None:
    """The add-ons the subscription keeps if it changes to package `code` (None: `code` is
    not on offer): those `code` allows, except those whose channels it already carries, up to
    its limit."""
    target = packages.get(code)
    if target is None:
        return None
    channels = frozenset(target.get("channels", ()))
    kept = [a["code"] for a in sub["addons"]
            if a["code"] in addons and code in addons[a["code"]]["packages"]
            and not frozenset(addons[a["code"]]["channels"]) <= channels]
    return kept[:int(target.get("rules", {}).get("max_addons", len(kept)))]


def _candidate(sub: dict, code: str, kept: list[str], quote: dict, addons: dict,
               packages: dict) -> Candidate:
    """Package `code` as this subscription would pay it (the catalog's quote: list price, best
    promotion, the tax of its region), with the add-ons it keeps."""
    rate = quote["tax"]["rate_bp"]
    package = quote["package"]
    price = _line_gross(package["price"] - (package["discount"] or {}).get("amount", 0), rate)
    price += sum(_line_gross(a["price"], rate) for a in quote["addons"])
    channels = frozenset(packages[code].get("channels", ()))
    for a in kept:
        channels |= frozenset(addons[a]["channels"])
    return Candidate(code, packages[code]["name"], channels,
                     monthly(price, sub["billing_period"]), tuple(kept))


def holdings(billing, catalog, subs: list[dict], language: str | None, until: float
             ) -> list[Holding]:
    """The subscriptions as the rules see them. The catalog is asked in two parallel rounds:
    prices, channels, options and removals; then a quote per allowed package."""
    regions = {sub["tax"]["region"] for sub in subs}
    packages_of = {r: catalog.start("list_packages", tax_region=r, language=language)
                   for r in regions}
    addons_of = {r: catalog.start("list_addons", tax_region=r, language=language)
                 for r in regions}
    options_of = {sub["id"]: catalog.start("package_options", _snapshot(sub)) for sub in subs}
    removals = {(sub["id"], a["code"]): catalog.start("check_change", _snapshot(sub), {
        "action": "remove_addon", "addon": a["code"]}) for sub in subs for a in sub["addons"]}
    packages_of = {r: {p["code"]: p for p in _waited(c, until, [])}
                   for r, c in packages_of.items()}
    addons_of = {r: {a["code"]: a for a in _waited(c, until, [])} for r, c in addons_of.items()}
    quotes = {}
    for sub in subs:
        packages, addons = packages_of[sub["tax"]["region"]], addons_of[sub["tax"]["region"]]
        for option in _waited(options_of[sub["id"]], until, []):
            kept = _kept(sub, option["package"], addons, packages)
            if option["allowed"] and not option["current"] and kept is not None:
                quotes[sub["id"], option["package"]] = kept, catalog.start(
                    "quote", sub["currency"], sub["billing_period"], option["package"], kept,
                    tax_region=sub["tax"]["region"])
    made = []
    for sub in subs:
        region, period = sub["tax"]["region"], sub["billing_period"]
        packages, addons = packages_of[region], addons_of[region]
        held = tuple(HeldAddon(
            a["code"], addons.get(a["code"], {}).get("name", a["name"]),
            frozenset(addons.get(a["code"], {}).get("channels", ())),
            monthly(_gross(a["taxed_price"]), period),
            bool((_waited(removals[sub["id"], a["code"]], until) or {}).get("allowed")))
            for a in sub["addons"])
        candidates = []
        for (sub_id, code), (kept, pending) in quotes.items():
            quote = _waited(pending, until) if sub_id == sub["id"] else None
            if quote is not None:  # None: not offered in this currency or period, retired
                candidates.append(_candidate(sub, code, kept, quote, addons, packages))
        package = sub["package"]
        own = packages.get(package["code"])
        if own is None:  # retired: subscriptions outlive offers
            own = _waited(catalog.start("get_package", package["code"]), until, {})
        made.append(Holding(
            sub["id"], package["code"], own.get("name", package["name"]),
            frozenset(own.get("channels", ())),
            monthly(_gross(package["taxed_price"]) - _gross(package.get("taxed_discount")),
                    period),
            sub["currency"], held, tuple(candidates)))
    return made


def viewing_of(session: Session, customer_id: str, today: dt.date,
               settings: Settings = SETTINGS) -> Viewing | None:
    """The window's viewing, or None when the customer switched its use off."""
    if not viewing.uses_viewing(session, customer_id):
        return None
    start, end = today - dt.timedelta(days=settings.window_days), today + dt.timedelta(days=1)
    watched = viewing.watched(session, customer_id, start, end)
    reported = session.scalar(select(func.count(func.distinct(ViewingDay.day))).where(
        ViewingDay.customer_id == customer_id, ViewingDay.day >= start, ViewingDay.day < end))
    return Viewing({channel: row["minutes"] for channel, row in watched.items()},
                   int(reported or 0))


def _renewal(billing, customer_id: str, wallet, until: float) -> Renewal | None:
    """A prepaid wallet's next renewal that its balance does not pay (billing's outlook)."""
    wallet = _waited(wallet, until)
    if wallet is None:  # not a prepaid account: no wallet
        return None
    currency = wallet["balance"]["currency"]
    outlook = billing.dashboard(customer_id, currency, "prepaid")["wallet"] or {}
    upcoming = outlook.get("next_renewal")
    if not upcoming or upcoming["covered"]:
        return None
    return Renewal(upcoming["missing"]["amount"], upcoming["date"][:10], currency)


def for_customer(session: Session, billing, catalog, customer_id: str, language: str | None,
                 now: dt.datetime) -> dict:
    """`{"data": [recommendation]}` for the customer (see docs/insights.md), names in
    `language` (the gateway passes the account's)."""
    kinds = preferences.enabled_kinds(session)  # insights' own rows first, then the others'
    dismissed = preferences.dismissed(session, customer_id)
    seen = viewing_of(session, customer_id, now.date())
    until = time.monotonic() + billing.timeout
    subs, wallet = billing.start("list_subscriptions", customer_id), \
        billing.start("get_wallet", customer_id)
    subs = [s for s in subs.wait(until)["data"] if s["status"] == "active"]
    held = holdings(billing, catalog, subs, language, until)
    return {"data": recommend(held, seen, _renewal(billing, customer_id, wallet, until),
                              frozenset(kinds), frozenset(dismissed), SETTINGS)}
