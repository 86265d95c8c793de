"""check_change: reads what the rules need from the catalog, then asks `rules`.

The subscription is billing's: it is read tolerantly (unknown keys ignored), but the package
and add-ons it names must be catalog entries (retired ones are fine: subscriptions outlive
offers); anything else is malformed input, `InvalidArgument`. The target is read strictly.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.catalog import entries, rules
from services.catalog.models import Package
from services.catalog.schemas import (
    TARGETS,
    ActionSchema,
    SubscriptionSchema,
    load_prefixed,
)
from services.common import errors


def package_info(session: Session, code: str) -> rules.PackageInfo | None:
    package = entries.find(session, entries.KINDS["packages"], code)
    if package is None:
        return None
    return rules.PackageInfo(package.code, package.name, rules.Rules.from_dict(package.rules),
                             package.active)


def addon_info(session: Session, code: str) -> rules.AddonInfo | None:
    addon = entries.find(session, entries.KINDS["addons"], code)
    if addon is None:
        return None
    return rules.AddonInfo(addon.code, addon.name, frozenset(addon.packages), addon.active)


def _subscription(session: Session, data) -> rules.Subscription:
    values = load_prefixed(SubscriptionSchema(), data, "subscription")
    package = package_info(session, values["package"])
    if package is None:
        raise errors.InvalidArgument(fields={"subscription.package": [
            f"There is no package with the code {values['package']}."]})
    addons = []
    for code in values["addons"]:
        addon = addon_info(session, code)
        if addon is None:
            raise errors.InvalidArgument(fields={"subscription.addons": [
                f"There is no add-on with the code {code}."]})
        addons.append(addon)
    period = values["current_period"]
    return rules.Subscription(package, tuple(addons), values["activation_date"],
                              period["start"], period["end"])


def check_change(session: Session, subscription, target, now: dt.datetime) -> dict:
    sub = _subscription(session, subscription)
    action = load_prefixed(ActionSchema(), target, "target")["action"]
    wanted = load_prefixed(TARGETS[action](), target, "target")
    if action == "change_package":
        code = wanted["package"]
        decision = rules.change_package(sub, package_info(session, code), code, wanted["when"])
    elif action == "add_addon":
        code = wanted["addon"]
        decision = rules.add_addon(sub, addon_info(session, code), code)
    elif action == "remove_addon":
        code = wanted["addon"]
        decision = rules.remove_addon(sub, addon_info(session, code), code)
    elif action == "pause":
        decision = rules.pause(sub, wanted["until"], now)
    elif action == "cancel":
        decision = rules.cancel(sub, wanted["when"], now)
    else:
        decision = rules.resume(sub)
    return decision.as_dict()


def package_options(session: Session, subscription) -> list[dict]:
    """Every active package (and the current one) as a change of `subscription` would meet it:
    `{package, kind: upgrade | downgrade | None, current, allowed, code, reason, params,
    effective}`, by the same rules `check_change` applies, in the catalog's order."""
    sub = _subscription(session, subscription)
    current = sub.package
    codes = [p.code for p in session.scalars(
        select(Package).where(Package.active.is_(True)).order_by(Package.code))]
    if current.code not in codes:
        codes.insert(0, current.code)
    options = []
    for code in codes:
        decision = rules.change_package(sub, package_info(session, code), code)
        kind = ("upgrade" if code in current.rules.upgrades_to
                else "downgrade" if code in current.rules.downgrades_to else None)
        options.append({"package": code, "kind": kind, "current": code == current.code,
                        **{"params": {}, **decision.as_dict()}})
    return options
