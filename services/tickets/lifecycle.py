"""A ticket's lifecycle: the status machine, and the moves both tickets.py and incidents.py make.

`new` → `routed` → `acknowledged` → `in_progress` ⇄ `waiting_on_customer` → `resolved` →
`closed`. `AGENT_MOVES` is what an agent may set directly (resolving has its own call, with the
resolution). Leaving `new`/`routed` by any move stops the escalation.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from services.common import outbox
from services.common.contract.tickets import TICKET_STATUSES
from services.tickets import escalation, events, history
from services.tickets.models import Ticket
from services.tickets.views import event_entity

STATUSES = TICKET_STATUSES  # the contract's: the gateway documents and checks the same
DONE = ("resolved", "closed")
# what an agent may set by PATCH (resolving has its own call, with the resolution)
AGENT_MOVES = {
    "new": {"acknowledged", "in_progress", "waiting_on_customer"},
    "routed": {"acknowledged", "in_progress", "waiting_on_customer"},
    "acknowledged": {"in_progress", "waiting_on_customer"},
    "in_progress": {"waiting_on_customer"},
    "waiting_on_customer": {"in_progress"},
    "resolved": {"in_progress", "closed"},
    "closed": set(),
}


def set_status(session: Session, ticket: Ticket, status: str, actor: dict, now: dt.datetime,
               kind: str = "status_changed") -> None:
    """Move the ticket (the caller checked the move) and write it in its history."""
    before = ticket.status
    ticket.status = status
    history.add(session, ticket, kind, actor, now, data={"from": before, "to": status})
    if before in escalation.UNACKNOWLEDGED and status not in escalation.UNACKNOWLEDGED:
        ticket.acknowledged_at = ticket.acknowledged_at or now
        escalation.stop(ticket)


def resolve_one(session: Session, ticket: Ticket, resolution: str, actor: dict,
                now: dt.datetime, **extra) -> bool:
    """Resolve in the caller's transaction; False when it already was resolved or closed.
    `extra` goes into the history entry's data and the `ticket_resolved` event."""
    if ticket.status in DONE:
        return False
    before = ticket.status
    ticket.status, ticket.resolution, ticket.resolved_at = "resolved", resolution, now
    ticket.acknowledged_at = ticket.acknowledged_at or now
    escalation.stop(ticket)
    history.add(session, ticket, "resolved", actor, now, text=resolution,
                data={"from": before, **extra})
    outbox.emit(session, events.TICKET_RESOLVED, "ticket", event_entity(ticket, **extra), now)
    return True
