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


class _Catalog:
    """The catalog's answers this computation needs, each asked once."""

    def __init__(self, catalog, language: str | None) -> None:
        self.rpc, self.language = catalog, language
        self._packages: dict = {}
        self._addons: dict = {}

    def packages(self, region: str | None) -> dict:
        if region not in self._packages:
            self._packages[region] = {p["code"]: p for p in self.rpc.list_packages(
                tax_region=region, language=self.language)}
        return self._packages[region]

    def addons(self, region: str | None) -> dict:
        if region not in self._addons:
            self._addons[region] = {a["code"]: a for a in self.rpc.list_addons(
                tax_region=region, language=self.language)}
        return self._addons[region]

    def package_channels(self, code: str, region: str | None) -> frozenset:
        package = self.packages(region).get(code)
        if package is None:  # retired: subscriptions outlive offers
            try:
                package = self.rpc.get_package(code)
            except errors.NotFound:
                return frozenset()
        return frozenset(package.get("channels", ()))


def _line_gross(net: int, rate_bp: int) -> int:
    return net + tax_of(net, rate_bp)


def _candidate(catalog: _Catalog, sub: dict, code: str, addons: dict, packages: dict
               ) -> Candidate | None:
    """The package `code` as this subscription would pay it, with the add-ons it keeps."""
    target = packages.get(code)
    if target is None:
        return None
    channels = frozenset(target.get("channels", ()))
    kept = [a["code"] for a in sub["addons"]
            if a["code"] in addons and code in addons[a["code"]]["packages"]
            and not frozenset(addons[a["code"]]["channels"]) <= channels]
    kept = kept[:int(target.get("rules", {}).get("max_addons", len(kept)))]
    try:
        quote = catalog.rpc.quote(sub["currency"], sub["billing_period"], code, kept,
                                  tax_region=sub["tax"]["region"])
    except errors.ServiceError:  # not offered in this currency or period, or retired
        return None
    rate = quote["tax"]["rate_bp"]
    package = quote["package"]
    price = _line_gross(package["price"] - (package["discount"] or {}).get("amount", 0), rate)
    price += sum(_line_gross(a["price"], rate) for a in quote["addons"])
    for a in kept:
        channels |= frozenset(addons[a]["channels"])
    return Candidate(code, target["name"], channels, monthly(price, sub["billing_period"]),
                     tuple(kept))


def holding(catalog: _Catalog, sub: dict) -> Holding:
    region, period = sub["tax"]["region"], sub["billing_period"]
    packages, addons = catalog.packages(region), catalog.addons(region)
    snapshot = _snapshot(sub)
    held = []
    for addon in sub["addons"]:
        decision = catalog.rpc.check_change(snapshot, {"action": "remove_addon",
                                                       "addon": addon["code"]})
        entry = addons.get(addon["code"], {})
        held.append(HeldAddon(addon["code"], entry.get("name", addon["name"]),
                              frozenset(entry.get("channels", ())),
                              monthly(_gross(addon["taxed_price"]), period),
                              bool(decision["allowed"])))
    package = sub["package"]
    candidates = []
    for option in catalog.rpc.package_options(snapshot):
        if option["allowed"] and not option["current"]:
            candidate = _candidate(catalog, sub, option["package"], addons, packages)
            if candidate is not None:
                candidates.append(candidate)
    name = packages.get(package["code"], {}).get("name", package["name"])
    return Holding(sub["id"], package["code"], name,
                   catalog.package_channels(package["code"], region),
                   monthly(_gross(package["taxed_price"]) - _gross(package.get("taxed_discount")),
                           period),
                   sub["currency"], tuple(held), tuple(candidates))


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


def _renewal(billing, customer_id: str) -> Renewal | None:
    """A prepaid wallet's next renewal that its balance does not pay (billing's outlook)."""
    try:
        wallet = billing.get_wallet(customer_id)
    except errors.ServiceError:  # not a prepaid account: no wallet
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
    subs = [s for s in billing.list_subscriptions(customer_id)["data"]
            if s["status"] == "active"]
    shop = _Catalog(catalog, language)
    holdings = [holding(shop, sub) for sub in subs]
    return {"data": recommend(holdings, seen, _renewal(billing, customer_id),
                              frozenset(kinds), frozenset(dismissed), SETTINGS)}
