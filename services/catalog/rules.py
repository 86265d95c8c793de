"""Service rules: may this subscription change this way, and when does the change take effect?

Pure functions of plain values and "now": no session, no clock. Each answers a `Decision`;
a forbidden change is an answer (`allowed=False`, an UPPER_SNAKE `code`, a `reason` a
customer can read and the `params` its words are made of, so a client says it in the customer's
language by action and code), never an exception. Only malformed input raises
`InvalidArgument`.

The rules, in the order they are checked:
- change_package: SAME_PACKAGE; PACKAGE_NOT_AVAILABLE (unknown or retired target); an upgrade
  (target in `upgrades_to`) takes effect now, or at period end if asked; a downgrade (target in
  `downgrades_to`) takes effect at the rule's `downgrade_timing` (or at period end if asked),
  and asking for "now" when the rule says period end is DOWNGRADE_AT_PERIOD_END; any other
  target is CHANGE_NOT_ALLOWED. Then every current add-on must be allowed on the target
  (ADDON_NOT_ALLOWED, naming it) and fit its `max_addons` (TOO_MANY_ADDONS).
- add_addon: ADDON_ALREADY_ADDED; ADDON_NOT_AVAILABLE (unknown or retired); ADDON_NOT_ALLOWED
  (not compatible with the package); TOO_MANY_ADDONS (over `max_addons`). Effective now.
- remove_addon: ADDON_NOT_PRESENT. Effective now.
- pause: PAUSE_NOT_ALLOWED; PAUSE_TOO_LONG past today + `max_pause_days` (0 days: no limit).
  Without an end date it is allowed. Every pause answer carries `until_latest` (the last day a
  pause may end on; null when there is no limit or no pause).
  The end date must be after today.
- cancel: MINIMUM_TERM while the minimum term (activation date + `min_term_months` calendar
  months) has not ended by the time the cancellation would take effect. Effective = when.
- resume: always allowed here (whether the subscription is paused is billing's to know).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

from services.catalog import exceptions as codes
from services.common import errors

NOW, PERIOD_END = "now", "period_end"


@dataclass(frozen=True)
class Rules:
    upgrades_to: tuple[str, ...] = ()
    downgrades_to: tuple[str, ...] = ()
    downgrade_timing: str = PERIOD_END
    max_addons: int = 10
    min_term_months: int = 0
    pause_allowed: bool = False
    max_pause_days: int = 0

    @classmethod
    def from_dict(cls, data: dict) -> Rules:
        return cls(**{**data, "upgrades_to": tuple(data.get("upgrades_to", ())),
                      "downgrades_to": tuple(data.get("downgrades_to", ()))})


@dataclass(frozen=True)
class PackageInfo:
    code: str
    name: str
    rules: Rules = field(default_factory=Rules)
    active: bool = True


@dataclass(frozen=True)
class AddonInfo:
    code: str
    name: str
    packages: frozenset[str] = frozenset()
    active: bool = True


@dataclass(frozen=True)
class Subscription:
    package: PackageInfo
    addons: tuple[AddonInfo, ...]
    activation_date: dt.datetime
    period_start: dt.datetime
    period_end: dt.datetime

    def has_addon(self, code: str) -> bool:
        return any(a.code == code for a in self.addons)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    code: str | None = None
    reason: str | None = None
    effective: str | None = None
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"allowed": self.allowed, "code": self.code, "reason": self.reason,
                "effective": self.effective, **self.extra}


def allow(effective: str, **extra) -> Decision:
    return Decision(True, effective=effective, extra=extra)


def refuse(code: str, reason: str, **extra) -> Decision:
    return Decision(False, code=code, reason=reason, extra=extra)


def addons_phrase(n: int) -> str:
    """The count in words: 1 add-on, 2 add-ons."""
    return f"{n} add-on" if n == 1 else f"{n} add-ons"


def add_months(when: dt.datetime, months: int) -> dt.datetime:
    """`when` plus calendar months; the day is clamped (31 January + 1 month = 28/29 February)."""
    index = when.month - 1 + months
    year, month = when.year + index // 12, index % 12 + 1
    return when.replace(year=year, month=month,
                        day=min(when.day, calendar.monthrange(year, month)[1]))


def minimum_term_end(sub: Subscription) -> dt.datetime:
    return add_months(sub.activation_date, sub.package.rules.min_term_months)


# --- the rules ------------------------------------------------------------------------------

def change_package(sub: Subscription, target: PackageInfo | None, target_code: str,
                   when: str | None = None) -> Decision:
    current = sub.package
    if target_code == current.code:
        return refuse(codes.SAME_PACKAGE, f"You already have {current.name}.",
                      params={"current": current.name})
    if target is None:
        return refuse(codes.PACKAGE_NOT_AVAILABLE, f"The package {target_code} is not available.",
                      params={"target": target_code})
    if not target.active:
        return refuse(codes.PACKAGE_NOT_AVAILABLE, f"{target.name} is no longer available.",
                      params={"target": target.name})
    rules = current.rules
    if target.code in rules.upgrades_to:
        effective = when or NOW
    elif target.code in rules.downgrades_to:
        if when == NOW and rules.downgrade_timing == PERIOD_END:
            return refuse(codes.DOWNGRADE_AT_PERIOD_END,
                          f"{current.name} can be changed to {target.name} only at the end of "
                          f"the current period, on {sub.period_end.date().isoformat()}.",
                          params={"current": current.name, "target": target.name,
                                  "date": sub.period_end.date().isoformat()})
        effective = when or rules.downgrade_timing
    else:
        return refuse(codes.CHANGE_NOT_ALLOWED,
                      f"{current.name} cannot be changed to {target.name}.",
                      params={"current": current.name, "target": target.name})
    for addon in sub.addons:
        if target.code not in addon.packages:
            return refuse(codes.ADDON_NOT_ALLOWED,
                          f"{addon.name} is not available with {target.name}. "
                          f"Remove {addon.name} first.",
                          params={"addon": addon.name, "target": target.name})
    limit = target.rules.max_addons
    if len(sub.addons) > limit:
        return refuse(codes.TOO_MANY_ADDONS,
                      f"{target.name} allows at most {addons_phrase(limit)}. "
                      f"Remove {addons_phrase(len(sub.addons) - limit)} first.",
                      params={"target": target.name, "limit": str(limit),
                              "over": str(len(sub.addons) - limit)})
    return allow(effective)


def add_addon(sub: Subscription, addon: AddonInfo | None, code: str) -> Decision:
    package = sub.package
    if sub.has_addon(code):
        name = addon.name if addon else code
        return refuse(codes.ADDON_ALREADY_ADDED, f"{name} is already part of your subscription.",
                      params={"addon": name})
    if addon is None:
        return refuse(codes.ADDON_NOT_AVAILABLE, f"The add-on {code} is not available.",
                      params={"addon": code})
    if not addon.active:
        return refuse(codes.ADDON_NOT_AVAILABLE, f"{addon.name} is no longer available.",
                      params={"addon": addon.name})
    if package.code not in addon.packages:
        return refuse(codes.ADDON_NOT_ALLOWED, f"{addon.name} cannot be added to {package.name}.",
                      params={"addon": addon.name, "package": package.name})
    limit = package.rules.max_addons
    if len(sub.addons) + 1 > limit:
        return refuse(codes.TOO_MANY_ADDONS,
                      f"{package.name} allows at most {addons_phrase(limit)}.",
                      params={"package": package.name, "limit": str(limit)})
    return allow(NOW)


def remove_addon(sub: Subscription, addon: AddonInfo | None, code: str) -> Decision:
    if not sub.has_addon(code):
        name = addon.name if addon else f"The add-on {code}"
        return refuse(codes.ADDON_NOT_PRESENT, f"{name} is not part of your subscription.",
                      params={"addon": addon.name if addon else code})
    return allow(NOW)


def pause(sub: Subscription, until: dt.date | None, now: dt.datetime) -> Decision:
    rules, today = sub.package.rules, now.date()
    if until is not None and until <= today:
        raise errors.InvalidArgument("A pause must end after today.",
                                     fields={"target.until": ["Must be a date after today."]})
    if not rules.pause_allowed:
        return refuse(codes.PAUSE_NOT_ALLOWED, f"{sub.package.name} cannot be paused.",
                      until_latest=None, params={"package": sub.package.name})
    latest = today + dt.timedelta(days=rules.max_pause_days) if rules.max_pause_days else None
    until_latest = latest.isoformat() if latest else None
    if latest is not None and until is not None and until > latest:
        return refuse(codes.PAUSE_TOO_LONG,
                      f"{sub.package.name} can be paused for at most {rules.max_pause_days} "
                      f"days, until {until_latest} at the latest.", until_latest=until_latest,
                      params={"package": sub.package.name, "days": str(rules.max_pause_days),
                              "date": until_latest})
    return allow(NOW, until_latest=until_latest)


def cancel(sub: Subscription, when: str, now: dt.datetime) -> Decision:
    term_end = minimum_term_end(sub)
    takes_effect = now if when == NOW else sub.period_end
    if takes_effect < term_end:
        return refuse(codes.MINIMUM_TERM,
                      f"The minimum term of {sub.package.name} runs until "
                      f"{term_end.date().isoformat()}: you can cancel from that day on.",
                      params={"package": sub.package.name, "date": term_end.date().isoformat()})
    return allow(when)


def resume(sub: Subscription) -> Decision:
    return allow(NOW)
