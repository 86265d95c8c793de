"""Staff roles and what each may do: one table, read by the gateway (every ops route names the
permission it needs) and by the services that bound money created by staff.

Roles, as an operator's support organisation has them:
- `agent`: works the support queue of their own teams, helps customers (portal links, reads
  their accounts, bills and vouchers), and may create money up to small bounds (a goodwill
  wallet credit, a credit note): per action and per day, above which a second person approves.
- `supervisor`: everything an agent does, on every team's tickets; runs the support desk
  (teams, routing and incident rules, escalation, silences, FAQ, channels, broadcasts,
  deliveries); approves what agents ask for above their bounds.
- `finance`: billing (runs, payment terms, credit notes, wallet adjustments), voucher batches,
  offers and the ledger; approves money requests. Not the support desk configuration.
- `admin`: everything, including staff roles, the catalog and the audit log.
A customer holds none of these.

Money created by staff (`MONEY_ACTIONS`) is bounded per role by `StaffLimits`: `per_action` and
`per_day` in minor units of the account's currency (None: unbounded). By default only agents
are bounded; `STAFF_LIMITS` in the configuration changes that (see `limits_from_config`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import yaml

STAFF_ROLES = ("agent", "supervisor", "finance", "admin")

# permission → the roles that hold it (admin holds every permission)
PERMISSIONS: dict[str, frozenset[str]] = {
    name: frozenset(roles) | {"admin"} for name, roles in {
        # support
        "tickets.work": ("agent", "supervisor"),          # own teams' tickets
        "tickets.all_teams": ("supervisor",),             # any team's tickets
        "incidents.work": ("agent", "supervisor"),
        "incidents.credit": ("supervisor", "finance"),    # a credit to every customer hit
        "support.configure": ("supervisor",),             # teams, rules, FAQ, silences...
        "channels.manage": ("supervisor",),
        "alerts.raise": ("agent", "supervisor"),
        "broadcasts.send": ("supervisor",),
        "deliveries.manage": ("supervisor",),
        # customers
        "customers.read": ("agent", "supervisor", "finance"),
        "customers.portal_link": ("agent", "supervisor"),
        "customers.roles": (),                            # admin only
        "devices.manage": ("agent", "supervisor"),        # a delivered device's serial
        # money
        "wallet.adjust": ("agent", "supervisor", "finance"),
        "credit_notes.issue": ("agent", "supervisor", "finance"),
        "billing.read": ("agent", "supervisor", "finance"),
        "billing.manage": ("finance",),                   # runs, payment terms
        "ledger.verify": ("finance",),
        "vouchers.read": ("agent", "supervisor", "finance"),
        "vouchers.void": ("supervisor", "finance"),
        "vouchers.issue": ("finance",),                   # batches, their codes, offers
        "catalog.read": ("agent", "supervisor", "finance"),
        "catalog.manage": (),                             # admin only
        # governance
        "approvals.read": ("agent", "supervisor", "finance"),
        "approvals.decide": ("supervisor", "finance"),
        "audit.read": (),                                 # admin only
        # the business's figures and what customers are recommended
        "insights.read": (),                              # admin only
        "insights.configure": (),                         # admin only
    }.items()
}

# money-creating actions → the permission they need
MONEY_ACTIONS = {
    "wallet.adjust": "wallet.adjust",
    "credit_note.issue": "credit_notes.issue",
}


def is_staff(role: str | None) -> bool:
    return role in STAFF_ROLES


def allows(role: str | None, permission: str) -> bool:
    """True when `role` holds `permission` (an unknown permission is held by nobody)."""
    return role in PERMISSIONS.get(permission, frozenset())


def permissions_of(role: str | None) -> list[str]:
    return sorted(name for name, roles in PERMISSIONS.items() if role in roles)


@dataclass(frozen=True)
class Bound:
    per_action: int | None
    per_day: int | None


DEFAULT_LIMITS: dict[str, Bound] = {
    "agent": Bound(per_action=5_000, per_day=20_000),  # 50.00 and 200.00
    "supervisor": Bound(None, None),
    "finance": Bound(None, None),
    "admin": Bound(None, None),
}


def limits_from_config(value: Mapping | None) -> dict[str, Bound]:
    """`STAFF_LIMITS: {agent: {per_action: 5000, per_day: 20000}, supervisor: {...}}` over the
    defaults; a missing or null field is unbounded for that role."""
    limits = dict(DEFAULT_LIMITS)
    if isinstance(value, str):  # from the environment: YAML (or JSON) text
        value = yaml.safe_load(value) if value.strip() else None
    if value is not None and not isinstance(value, Mapping):
        raise ValueError("STAFF_LIMITS must map roles to {per_action, per_day}")
    for role, bound in (value or {}).items():
        if role not in STAFF_ROLES or not isinstance(bound, Mapping):
            raise ValueError(f"STAFF_LIMITS: unknown role {role!r} or not a mapping")
        values = {}
        for field in ("per_action", "per_day"):
            raw = bound.get(field)
            if raw is not None and (not isinstance(raw, int) or isinstance(raw, bool)
                                    or raw < 0):
                raise ValueError(f"STAFF_LIMITS.{role}.{field} must be a whole number ≥ 0")
            values[field] = raw
        limits[role] = Bound(**values)
    return limits


def needs_approval(bound: Bound, amount: int, used_today: int) -> str | None:
    """Why a money action of `amount` by a role with `bound` (who created `used_today`
    already today) needs a second person's approval: "per_action", "per_day", or None."""
    if bound.per_action is not None and amount > bound.per_action:
        return "per_action"
    if bound.per_day is not None and used_today + amount > bound.per_day:
        return "per_day"
    return None
