"""Service level: the time a ticket of each priority has from being raised to being resolved.

`TICKETS_SLA_MINUTES` (the operator's configuration, `{P1: 240, P2: 480, ...}`) sets the
minutes per priority over `DEFAULT_MINUTES`; a ticket's due time is its `created_at` plus its
current priority's minutes (a priority change moves it). The clock does not stop while the
ticket waits on the customer. What a view answers (`state`):
- `running`: open, `remaining_seconds` until the due time (negative: overdue by that much,
  and `breached` is true);
- `met` / `breached`: resolved (or closed) before / after the due time, `remaining_seconds`
  the margin at resolution (negative when it was late).
`remaining_seconds` is counted against the service's clock, so a client shows it without
trusting its own clock. Pure functions: tested as such (tests/unit/test_tickets_sla.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import yaml
from nameko.extensions import DependencyProvider

from services.common import config as keys
from services.common.clock import isoformat
from services.common.contract.tickets import PRIORITIES

DEFAULT_MINUTES: dict[str, int] = {"P1": 4 * 60, "P2": 8 * 60, "P3": 24 * 60, "P4": 72 * 60}
MAX_MINUTES = 90 * 24 * 60


def minutes_from_config(value) -> dict[str, int]:
    """`TICKETS_SLA_MINUTES` over the defaults: a mapping (or its YAML/JSON text) of priority
    to whole minutes (1 to 90 days); a bad value is a ValueError naming the setting."""
    minutes = dict(DEFAULT_MINUTES)
    if isinstance(value, str):
        value = yaml.safe_load(value) if value.strip() else None
    if value is None:
        return minutes
    if not isinstance(value, Mapping):
        raise ValueError("TICKETS_SLA_MINUTES must map priorities (P1…P4) to minutes")
    for priority, raw in value.items():
        if priority not in PRIORITIES:
            raise ValueError(f"TICKETS_SLA_MINUTES: unknown priority {priority!r}")
        if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= MAX_MINUTES:
            raise ValueError(f"TICKETS_SLA_MINUTES.{priority} must be whole minutes, "
                             f"1 to {MAX_MINUTES}")
        minutes[priority] = raw
    return minutes


def due_at(created_at: dt.datetime, priority: str, minutes: Mapping[str, int]) -> dt.datetime:
    return created_at + dt.timedelta(minutes=minutes.get(priority, DEFAULT_MINUTES["P4"]))


def status(*, created_at: dt.datetime, priority: str, ticket_status: str,
           resolved_at: dt.datetime | None, closed_at: dt.datetime | None,
           now: dt.datetime, minutes: Mapping[str, int]) -> dict:
    """The ticket's SLA as views answer it: `{"minutes", "due_at", "state",
    "remaining_seconds", "breached"}`."""
    due = due_at(created_at, priority, minutes)
    if ticket_status in ("resolved", "closed"):
        done = resolved_at or closed_at or now
        remaining = int((due - done).total_seconds())
        state = "met" if remaining >= 0 else "breached"
    else:
        remaining = int((due - now).total_seconds())
        state = "running"
    return {"minutes": minutes.get(priority, DEFAULT_MINUTES["P4"]), "due_at": isoformat(due),
            "state": state, "remaining_seconds": remaining, "breached": remaining < 0}


class SlaMinutes(DependencyProvider):
    """TICKETS_SLA_MINUTES, read (and a bad value refused, naming the setting) when the
    service starts: the minutes per priority."""

    def setup(self) -> None:
        try:
            self.minutes = minutes_from_config(self.container.config.get(keys.TICKETS_SLA_MINUTES))
        except ValueError as bad:
            raise ValueError(f"Refusing to start: {bad}. E.g. TICKETS_SLA_MINUTES='{{P1: 240, "
                             "P2: 480, P3: 1440, P4: 4320}'") from None

    def get_dependency(self, worker_ctx) -> dict[str, int]:
        return self.minutes
