"""The subscription state machine, written down once.

    active ──pause──▶ paused ──resume (or pause end)──▶ active
    active ──suspend (unpaid)──▶ suspended ──reinstate (paid)──▶ active
    active | paused | suspended ──cancel now (or at period end)──▶ cancelled   (final)
    active ──renew (period end)──▶ active

Changing the package or add-ons needs `active`. Anything else is refused with a 409 whose
reason names the current state.
"""

from __future__ import annotations

from services.common import errors

ACTIVE, PAUSED, SUSPENDED, CANCELLED = "active", "paused", "suspended", "cancelled"
STATUSES = (ACTIVE, PAUSED, SUSPENDED, CANCELLED)

# action → (states it is allowed from, state it leads to; None: unchanged)
TRANSITIONS: dict[str, tuple[frozenset[str], str | None]] = {
    "change_package": (frozenset({ACTIVE}), None),
    "add_addon": (frozenset({ACTIVE}), None),
    "remove_addon": (frozenset({ACTIVE}), None),
    "pause": (frozenset({ACTIVE}), PAUSED),
    "resume": (frozenset({PAUSED}), ACTIVE),
    "suspend": (frozenset({ACTIVE}), SUSPENDED),
    "reinstate": (frozenset({SUSPENDED}), ACTIVE),
    "cancel": (frozenset({ACTIVE, PAUSED, SUSPENDED}), CANCELLED),
    "renew": (frozenset({ACTIVE}), None),
}

CODES = {ACTIVE: "SUBSCRIPTION_ACTIVE", PAUSED: "SUBSCRIPTION_PAUSED",
         SUSPENDED: "SUBSCRIPTION_SUSPENDED", CANCELLED: "SUBSCRIPTION_CANCELLED"}
HUMAN = {"change_package": "change the package", "add_addon": "add a channel bundle",
         "remove_addon": "remove a channel bundle", "pause": "pause", "resume": "resume",
         "suspend": "suspend", "reinstate": "reinstate", "cancel": "cancel", "renew": "renew"}


def add_unserved_time(sub, gap) -> None:
    """Time a subscription was not served (paused, suspended) is added to its period, so none
    of it is paid for; the items' paid spans move with it, so credits stay exact."""
    sub.current_period_end += gap
    sub.anchor_day = sub.current_period_end.day
    for item in sub.active_items:
        item.charged_since += gap


def allowed(action: str, status: str) -> bool:
    sources, _ = TRANSITIONS[action]
    return status in sources


def next_status(action: str, status: str) -> str:
    """The state after `action`, or Conflict saying why it cannot happen now."""
    sources, target = TRANSITIONS[action]
    if status not in sources:
        code = "SUBSCRIPTION_NOT_ACTIVE" if ACTIVE in sources and status != ACTIVE else \
            CODES.get(status, "INVALID_TRANSITION")
        raise errors.Conflict(
            f"The subscription is {status}, so you cannot {HUMAN[action]} it now.", code=code,
            details={"status": status, "action": action})
    return target or status
