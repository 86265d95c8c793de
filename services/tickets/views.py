"""How a ticket is shown: to its customer and to agents (`dump`), and in the events about it
(`event_entity`). tickets.py and incidents.py both show tickets (an incident lists its own and
tells of each one it acknowledges), so this is theirs to share and neither imports the other."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import config as keys
from services.common.clock import isoformat
from services.tickets import escalation, history, sla
from services.tickets.models import Category, Incident, Ticket


@dataclass(frozen=True)
class Policy:
    """The service's settings for tickets: the reopen window (a view shows `reopen_until`),
    the team of the default route, the portal's public URL (links in alerts), the minutes to
    resolve per priority (the SLA, `sla.py`; pairs, so that the policy stays hashable)."""

    reopen_days: int = 7
    default_team: str = "support"
    public_url: str | None = None
    sla_minutes: tuple = tuple(sla.DEFAULT_MINUTES.items())

    @classmethod
    def from_config(cls, config: dict, sla_minutes: dict | None = None) -> Policy:
        """`sla_minutes`: as read when the service started (`sla.SlaMinutes`), else the
        configuration's, read now."""
        if sla_minutes is None:
            sla_minutes = sla.minutes_from_config(config.get(keys.TICKETS_SLA_MINUTES))
        return cls(reopen_days=int(config.get(keys.TICKETS_REOPEN_DAYS) or 7),
                   default_team=str(config.get(keys.TICKETS_DEFAULT_TEAM) or "support"),
                   public_url=config.get(keys.PUBLIC_URL) or None,
                   sla_minutes=tuple(sorted(sla_minutes.items())))

    def sla_of(self, ticket: Ticket, now: dt.datetime) -> dict:
        return sla.status(created_at=ticket.created_at, priority=ticket.priority,
                          ticket_status=ticket.status, resolved_at=ticket.resolved_at,
                          closed_at=ticket.closed_at, now=now,
                          minutes=dict(self.sla_minutes))


def category_names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Category.code, Category.name)).all())


def incident_of(session: Session, ticket: Ticket) -> dict | None:
    if not ticket.incident_id:
        return None
    incident = session.get(Incident, ticket.incident_id)
    return incident and {"id": incident.id, "title": incident.title, "status": incident.status}


def dump(session: Session, ticket: Ticket, policy: Policy, *, for_customer: bool,
         with_history: bool, names: dict | None = None, now: dt.datetime | None = None
         ) -> dict:
    """The ticket as its customer or agents see it; agents' views given `now` carry the SLA
    (`sla.status`, counted against the service's clock)."""
    names = names if names is not None else category_names(session)
    reopen_until = (ticket.resolved_at + dt.timedelta(days=policy.reopen_days)
                    if ticket.status == "resolved" and ticket.resolved_at else None)
    out = {"id": ticket.id, "number": ticket.number, "status": ticket.status,
           "category": ticket.category, "category_name": names.get(ticket.category,
                                                                   ticket.category),
           "subject": ticket.subject, "description": ticket.description,
           "subscription_id": ticket.subscription_id, "priority": ticket.priority,
           "team": ticket.team, "incident": incident_of(session, ticket),
           "resolution": ticket.resolution, "reopen_until": isoformat(reopen_until),
           "created_at": isoformat(ticket.created_at), "updated_at": isoformat(ticket.updated_at),
           "acknowledged_at": isoformat(ticket.acknowledged_at),
           "resolved_at": isoformat(ticket.resolved_at),
           "closed_at": isoformat(ticket.closed_at)}
    if not for_customer:
        out.update({"customer_id": ticket.customer_id, "assignee": ticket.assignee,
                    "context": ticket.context, "escalation": escalation.view(ticket),
                    "rules": list(ticket.rules or []), "urgency": ticket.urgency,
                    "impact": ticket.impact})
        if now is not None:
            out["sla"] = policy.sla_of(ticket, now)
    if with_history:
        out["history"] = history.of(session, ticket.id, for_customer)
    return out


def event_entity(ticket: Ticket, **extra) -> dict:
    """What ticket events carry (the notifier writes the customer from it)."""
    return {"id": ticket.id, "number": ticket.number, "customer_id": ticket.customer_id,
            "subject": ticket.subject, "category": ticket.category, "status": ticket.status,
            "priority": ticket.priority, "team": ticket.team, "resolution": ticket.resolution,
            "incident_id": ticket.incident_id, **extra}
