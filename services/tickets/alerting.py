"""Alerts the tickets service raises: recorded as an `alert_requested` event in the caller's
transaction (the outbox), which the notifier turns into one delivery per team channel, once per
dedup key. If the notifier is down the event waits on its queue: nothing is lost, nothing pages
twice. An active silence of the team (or of a rule that matched) holds the alert back; the
caller writes that in the ticket's history."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from services.common import outbox
from services.tickets import events, silences

SEVERITY = {"P1": "critical", "P2": "critical", "P3": "warning", "P4": "info"}


def severity_of(priority: str | None) -> str:
    return SEVERITY.get(priority or "", "warning")


def raise_alert(session: Session, team: str, severity: str, title: str, text: str,
                fields: dict, dedup_key: str, rule_ids: list[str],
                now: dt.datetime) -> str | None:
    """Request the alert; the id of the silence that held it back, or None when requested."""
    silence = silences.holding(session, team, rule_ids, now)
    if silence is not None:
        return silence
    outbox.emit(session, events.ALERT_REQUESTED, "alert", {
        "team": team, "severity": severity, "title": title[:300], "text": text[:3000],
        "fields": fields, "dedup_key": dedup_key}, now)
    return None


def ticket_fields(ticket, public_url: str | None = None) -> dict:
    """The structured part of a ticket's alert (ops tools read these, people read `text`)."""
    context = ticket.context or {}
    out = {"ticket_id": ticket.id, "number": ticket.number, "category": ticket.category,
           "priority": ticket.priority, "status": ticket.status, "team": ticket.team,
           "region": context.get("tax_region"), "package": context.get("package"),
           "billing_type": context.get("billing_type"), "customer_id": ticket.customer_id,
           "incident_id": ticket.incident_id}
    if public_url:
        out["url"] = f"{public_url.rstrip('/')}/#/ops/support/{ticket.id}"
    return out


def ticket_text(ticket, headline: str) -> str:
    context = ticket.context or {}
    where = ", ".join(x for x in (context.get("tax_region"), context.get("package"),
                                  context.get("billing_type")) if x)
    return (f"{headline}\n*#{ticket.number}* [{ticket.priority}] {ticket.subject}"
            + (f" ({where})" if where else "") + f"\n{ticket.description[:500]}")
