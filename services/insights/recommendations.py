"""The recommendation rules, as pure functions: what a customer pays for and what they watch in,
advice out. `advice.py` gathers the inputs (billing's subscriptions, the catalog's prices with the
customer's tax and promotions, the operator's rules, the stored viewing) and calls `recommend`.

Every amount is an integer in minor units, tax included (what the customer pays), per month (a
yearly price counts as a twelfth, `monthly`). A change the operator's rules forbid never reaches
these functions: `Holding.candidates` holds only the packages the rules allow, and an add-on
whose removal the rules forbid is not `removable`.

Kinds, and when each is given:
- `unused_addon`: an add-on whose channels were watched less than `Settings.unused_minutes` in
  the window, when viewing is known for at least `Settings.min_reported_days` days of it.
- `unused_package`: the package's own channels watched less than that; the advice is the
  cheapest package the rules allow (only if it is cheaper).
- `cheaper_package`: a package the rules allow that costs less and either covers every channel
  the customer has today (`same_channels_for_less`: needs no viewing) or covers at least
  `Settings.coverage` of the minutes they watched (`cheaper_package`).
- `better_package`: a package that covers everything they watched, adds at least
  `Settings.extra_channels` channels and costs at most `Settings.max_difference_percent` more.
- `top_up` (prepaid): the balance does not pay the next renewal; the advice is the amount
  missing, rounded up to a whole unit of the currency.
At most one package change is advised per subscription (the one that saves most, else the best
upgrade); ids are stable for the same advice, so a dismissed one stays hidden.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

KINDS = ("unused_addon", "unused_package", "cheaper_package", "better_package", "top_up")
VIEWING_KINDS = frozenset({"unused_addon", "unused_package", "better_package"})


@dataclass(frozen=True)
class Settings:
    unused_minutes: int = 60          # "hardly watched": less than an hour …
    window_days: int = 60             # … in the last 60 days
    min_reported_days: int = 14       # viewing known for fewer days proves nothing
    coverage: float = 0.95            # a cheaper package must carry 95 % of what was watched
    extra_channels: int = 5           # an upgrade worth naming adds at least this many channels
    max_difference_percent: int = 10  # … for at most this much more a month


@dataclass(frozen=True)
class Candidate:
    """A package the rules allow this subscription to change to, as the customer would pay it:
    `monthly` is the package with the add-ons kept (`addons`), promotions and tax included;
    `channels` are the package's and the kept add-ons'."""

    package: str
    name: str
    channels: frozenset
    monthly: int
    addons: tuple = ()


@dataclass(frozen=True)
class HeldAddon:
    code: str
    name: str
    channels: frozenset
    monthly: int
    removable: bool = True  # the rules allow removing it now


@dataclass(frozen=True)
class Holding:
    """An active subscription: its package (own channels, price) and add-ons."""

    subscription_id: str
    package: str
    package_name: str
    package_channels: frozenset
    package_monthly: int
    currency: str
    addons: tuple = ()
    candidates: tuple = ()

    @property
    def monthly(self) -> int:
        return self.package_monthly + sum(a.monthly for a in self.addons)

    @property
    def channels(self) -> frozenset:
        return self.package_channels.union(*(a.channels for a in self.addons))


@dataclass(frozen=True)
class Viewing:
    """Minutes watched per channel in the window, and on how many days viewing was reported."""

    minutes: dict = field(default_factory=dict)
    reported_days: int = 0

    def on(self, channels) -> int:
        return sum(self.minutes.get(channel, 0) for channel in channels)

    @property
    def total(self) -> int:
        return sum(self.minutes.values())

    @property
    def watched(self) -> frozenset:
        return frozenset(c for c, m in self.minutes.items() if m > 0)


@dataclass(frozen=True)
class Renewal:
    """A prepaid wallet's next renewal that the balance does not pay: `missing` of `currency`
    on `date`."""

    missing: int
    date: str
    currency: str


def monthly(amount: int, period: str) -> int:
    """A price per billing period as a monthly figure (a year's price over 12, rounded half
    up: the advice shows money, not fractions of a cent)."""
    return amount if period == "month" else (amount * 2 + 12) // 24


def advice_id(kind: str, subscription_id: str | None, target: str) -> str:
    digest = hashlib.sha256(f"{kind}|{subscription_id or ''}|{target}".encode()).hexdigest()
    return digest[:20]


def _advice(kind, holding_id, currency, action, effect, code, params, target) -> dict:
    return {"id": advice_id(kind, holding_id, target), "kind": kind,
            "subscription_id": holding_id, "action": action, "monthly_effect": effect,
            "currency": currency, "reason": {"code": code, "params": params}}


def _money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency}


def _change(holding: Holding, target: Candidate, kind: str, code: str, params: dict) -> dict:
    return _advice(kind, holding.subscription_id, holding.currency,
                   {"type": "change_package", "subscription_id": holding.subscription_id,
                    "package": target.package},
                   target.monthly - holding.monthly, code,
                   {"package": target.name, "current": holding.package_name, **params},
                   target.package)


def unused_addons(holding: Holding, viewing: Viewing, settings: Settings) -> list[dict]:
    found = []
    for addon in holding.addons:
        watched = viewing.on(addon.channels)
        if addon.removable and addon.monthly > 0 and watched < settings.unused_minutes:
            found.append(_advice(
                "unused_addon", holding.subscription_id, holding.currency,
                {"type": "remove_addon", "subscription_id": holding.subscription_id,
                 "addon": addon.code},
                -addon.monthly, "unused_addon",
                {"addon": addon.name, "minutes": watched, "days": settings.window_days,
                 "saving": _money(addon.monthly, holding.currency)}, addon.code))
    return found


def package_changes(holding: Holding, viewing: Viewing | None, settings: Settings,
                    shown=lambda advice: True) -> list[dict]:
    """At most one package change for `holding`: the largest saving among the unused-package,
    same-channels and covers-what-you-watch rules, else the best upgrade; only advice `shown`
    accepts (a kind switched off, a dismissed advice) is considered."""
    cheaper = sorted((c for c in holding.candidates
                      if c.package != holding.package and c.monthly < holding.monthly),
                     key=lambda c: (c.monthly, c.package))
    savings = []
    if viewing is not None and cheaper:
        own = viewing.on(holding.package_channels)
        if own < settings.unused_minutes:
            target = cheaper[0]
            savings.append(_change(holding, target, "unused_package", "unused_package", {
                "minutes": own, "days": settings.window_days,
                "saving": _money(holding.monthly - target.monthly, holding.currency)}))
    for target in cheaper:
        if holding.channels <= target.channels:
            savings.append(_change(holding, target, "cheaper_package", "same_channels_for_less",
                                   {"saving": _money(holding.monthly - target.monthly,
                                                     holding.currency)}))
            break
    if viewing is not None and viewing.total > 0:
        for target in cheaper:
            if viewing.on(target.channels) >= settings.coverage * viewing.total:
                savings.append(_change(holding, target, "cheaper_package", "cheaper_package", {
                    "saving": _money(holding.monthly - target.monthly, holding.currency),
                    "covered_percent": round(100 * viewing.on(target.channels)
                                             / viewing.total)}))
                break
    savings = [a for a in savings if shown(a)]
    if savings:
        return [min(savings, key=lambda a: (a["monthly_effect"], a["kind"]))]
    if viewing is None or viewing.total == 0:
        return []
    limit = holding.monthly * settings.max_difference_percent // 100
    upgrades = [c for c in holding.candidates
                if c.package != holding.package and 0 <= c.monthly - holding.monthly <= limit
                and viewing.watched <= c.channels
                and len(c.channels - holding.channels) >= settings.extra_channels]
    upgrades.sort(key=lambda c: (-len(c.channels - holding.channels), c.monthly, c.package))
    offered = [_change(holding, target, "better_package", "better_package", {
        "extra_channels": len(target.channels - holding.channels),
        "difference": _money(target.monthly - holding.monthly, holding.currency)})
        for target in upgrades]
    return [a for a in offered if shown(a)][:1]


def top_up(renewal: Renewal | None) -> list[dict]:
    if renewal is None or renewal.missing <= 0:
        return []
    unit = 100  # whole units of a two-decimal currency
    amount = -(-renewal.missing // unit) * unit
    return [_advice("top_up", None, renewal.currency, {"type": "top_up", "amount": amount}, 0,
                    "top_up", {"amount": _money(amount, renewal.currency),
                               "missing": _money(renewal.missing, renewal.currency),
                               "date": renewal.date}, f"{renewal.date}:{amount}")]


def recommend(holdings, viewing: Viewing | None, renewal: Renewal | None = None,
              kinds=frozenset(KINDS), dismissed=frozenset(),
              settings: Settings = Settings()) -> list[dict]:
    """Every advice for the customer, savings first. `viewing` is None when the customer
    switched the use of their viewing off or it was reported on too few days: then only
    advice that needs no viewing is given."""
    if viewing is not None and viewing.reported_days < settings.min_reported_days:
        viewing = None
    def shown(advice: dict) -> bool:
        return advice["kind"] in kinds and advice["id"] not in dismissed

    found = []
    for holding in holdings:
        if viewing is not None:
            found += unused_addons(holding, viewing, settings)
        found += package_changes(holding, viewing, settings, shown)
    found += top_up(renewal)
    return sorted((a for a in found if shown(a)),
                  key=lambda a: (a["monthly_effect"], a["kind"], a["id"]))
