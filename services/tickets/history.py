"""A ticket's history: every change and every comment, in order. Customers see only what is
meant for them (no internal notes, no routing internals); agents see everything."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.clock import isoformat
from services.tickets.models import HistoryEntry, Ticket

SYSTEM = {"type": "system", "id": None, "name": None}
# kinds a customer never sees (besides internal notes)
AGENTS_ONLY = frozenset({"escalated", "alerted", "silenced", "assigned", "priority_changed"})


def customer_actor(customer_id: str, name: str | None = None) -> dict:
    return {"type": "customer", "id": customer_id, "name": name}


def agent_actor(actor: dict) -> dict:
    return {"type": "agent", "id": actor.get("id"), "name": actor.get("name")}


def add(session: Session, ticket: Ticket, kind: str, actor: dict, now: dt.datetime, *,
        text: str | None = None, internal: bool = False, data: dict | None = None
        ) -> HistoryEntry:
    entry = HistoryEntry(ticket_id=ticket.id, at=now, kind=kind, actor_type=actor["type"],
                         actor_id=actor.get("id"), actor_name=actor.get("name"), text=text,
                         internal=internal, data=data or {})
    session.add(entry)
    ticket.updated_at = now
    return entry


def visible_to_customer(entry: HistoryEntry) -> bool:
    return not entry.internal and entry.kind not in AGENTS_ONLY


def dump(entry: HistoryEntry, for_customer: bool) -> dict:
    actor = {"type": entry.actor_type, "name": entry.actor_name}
    if not for_customer:
        actor["id"] = entry.actor_id
    data = dict(entry.data or {})
    if for_customer:
        data.pop("rule_ids", None)
        data.pop("also", None)  # other teams a `continue` rule paged: routing internals
    return {"id": entry.id, "at": isoformat(entry.at), "kind": entry.kind, "actor": actor,
            "text": entry.text, "internal": entry.internal, "data": data}


def of(session: Session, ticket_id: str, for_customer: bool) -> list[dict]:
    entries = session.scalars(select(HistoryEntry).where(HistoryEntry.ticket_id == ticket_id)
                              .order_by(HistoryEntry.id))
    return [dump(e, for_customer) for e in entries
            if not for_customer or visible_to_customer(e)]
