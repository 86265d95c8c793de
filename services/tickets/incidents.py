"""Incidents: a burst of similar tickets is one incident, with one page.

An incident rule has matchers (as routing rules), attributes to group by (e.g. `region`) and a
window. A ticket that matches the first fitting rule belongs to the group `<rule>|<values>`: it
joins the group's open incident if that incident's last ticket is within the window, otherwise
it opens a new one (which pages the team once, dedup key `incident:<id>:opened`). The group's
row is locked while this is decided, so 30 tickets at once make exactly one incident.

Resolving an incident (once: a conditional UPDATE from `open`) resolves each of its unresolved
tickets (each customer is notified by `ticket_resolved`), and with a `credit` records one
service credit per affected customer (primary key `(incident, customer)`). Credits are granted
by billing's `grant_service_credit`, keyed by `incident:<id>:<customer>`, from this process
right away and by the timer until billing answered: a wallet credit for prepaid accounts, a
credit note for postpaid ones. Resolving twice, or billing seeing a grant twice, credits nobody
twice.

The functions flush; the caller commits: service.py, or `transactions.grant_due_credits`, which
claims each credit in its own transaction before billing is asked and records the answer in
another.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import errors, outbox, pages
from services.common.clock import isoformat
from services.common.contract.tickets import IncidentResolveIn, IncidentRuleIn
from services.common.ids import new_id
from services.common.schemas import load_or_raise
from services.tickets import events, exceptions, history, lifecycle, routing, views
from services.tickets.models import (
    Incident,
    IncidentCredit,
    IncidentGroup,
    IncidentRule,
    Ticket,
)

log = logging.getLogger(__name__)
CREDIT_RETRY = dt.timedelta(seconds=30)
CREDIT_MAX_ATTEMPTS = 20


# rules ------------------------------------------------------------------------------------------

def dump_rule(rule: IncidentRule) -> dict:
    return {"id": rule.id, "name": rule.name, "match": rule.match, "group_by": rule.group_by,
            "window_minutes": rule.window_minutes, "position": rule.position}


def list_rules(session: Session) -> dict:
    return pages.whole([dump_rule(r) for r in session.scalars(
        select(IncidentRule).order_by(IncidentRule.position, IncidentRule.id))])


def create_rule(session: Session, request: dict, now: dt.datetime) -> dict:
    values = load_or_raise(IncidentRuleIn(), request)
    try:
        for n, spec in enumerate(values["match"]):
            routing.compile_matcher(spec, f"match.{n}")
    except routing.InvalidRule as bad:
        raise errors.InvalidArgument(fields=bad.problems) from None
    rule = IncidentRule(id=new_id("irule"), created_at=now, **values)
    session.add(rule)
    session.flush()
    return dump_rule(rule)


def delete_rule(session: Session, rule_id: str) -> None:
    rule = session.get(IncidentRule, rule_id) if isinstance(rule_id, str) else None
    if rule is None:
        raise errors.NotFound("No such incident rule.", code=exceptions.INCIDENT_RULE_NOT_FOUND)
    session.delete(rule)
    session.flush()


# grouping ---------------------------------------------------------------------------------------

def _matching_rule(session: Session, attributes: dict) -> IncidentRule | None:
    for rule in session.scalars(select(IncidentRule).order_by(IncidentRule.position,
                                                              IncidentRule.id)):
        try:
            matchers = [routing.compile_matcher(m, "match") for m in rule.match]
        except routing.InvalidRule as bad:  # saved before RE2 (see rules.rule_set)
            log.warning("incident rule %s skipped: %s", rule.id, bad)
            continue
        if all(m.holds(attributes) for m in matchers):
            return rule
    return None


def place(session: Session, ticket: Ticket, attributes: dict,
          now: dt.datetime) -> tuple[Incident, bool] | None:
    """The incident the new ticket belongs to and whether it was opened by it; None when no
    incident rule matches. In the caller's transaction, under the group row's lock."""
    rule = _matching_rule(session, attributes)
    if rule is None:
        return None
    values = [attributes.get(name) or "unknown" for name in rule.group_by]
    key = "|".join([rule.id, *values])[:300]
    try:
        with session.begin_nested():
            session.execute(insert(IncidentGroup).values(key=key, incident_id=None))
    except IntegrityError:
        pass  # the group exists: lock it below
    group = session.scalar(select(IncidentGroup).where(IncidentGroup.key == key)
                           .with_for_update().execution_options(populate_existing=True))
    current = session.get(Incident, group.incident_id, populate_existing=True) \
        if group.incident_id else None
    if current is not None and current.status == "open" \
            and now <= current.last_ticket_at + dt.timedelta(minutes=current.window_minutes):
        current.last_ticket_at = max(current.last_ticket_at, now)
        return current, False
    where = ", ".join(f"{name} {value}" for name, value in zip(rule.group_by, values,
                                                                strict=True))
    incident = Incident(id=new_id("inc"), group_key=key, rule_id=rule.id,
                        title=f"{rule.name}" + (f" ({where})" if where else ""),
                        team=ticket.team, status="open", window_minutes=rule.window_minutes,
                        opened_at=now, last_ticket_at=now)
    session.add(incident)
    group.incident_id = incident.id
    session.flush()
    outbox.emit(session, events.INCIDENT_OPENED, "incident", _event(incident), now)
    return incident, True


# views ------------------------------------------------------------------------------------------

def _event(incident: Incident) -> dict:
    return {"id": incident.id, "title": incident.title, "team": incident.team,
            "status": incident.status, "group": incident.group_key,
            "resolution": incident.resolution}


def _counts(session: Session, ids: list[str]) -> dict[str, tuple[int, int]]:
    rows = session.execute(select(Ticket.incident_id, func.count(),
                                  func.count(func.distinct(Ticket.customer_id)))
                           .where(Ticket.incident_id.in_(ids)).group_by(Ticket.incident_id))
    return {i: (n, c) for i, n, c in rows}


def _credit_counts(session: Session, incident_id: str) -> dict:
    out = {"granted": 0, "pending": 0, "failed": 0}
    for status, n in session.execute(select(IncidentCredit.status, func.count())
                                     .where(IncidentCredit.incident_id == incident_id)
                                     .group_by(IncidentCredit.status)):
        out[status] = n
    return out


def dump(session: Session, incident: Incident, counts: dict | None = None) -> dict:
    counts = counts if counts is not None else _counts(session, [incident.id])
    tickets, customers = counts.get(incident.id, (0, 0))
    credit = ({"amount": incident.credit_amount, "currency": incident.credit_currency}
              if incident.credit_amount is not None else None)
    return {"id": incident.id, "title": incident.title, "status": incident.status,
            "team": incident.team, "group": incident.group_key, "rule_id": incident.rule_id,
            "window_minutes": incident.window_minutes, "ticket_count": tickets,
            "customer_count": customers, "opened_at": isoformat(incident.opened_at),
            "last_ticket_at": isoformat(incident.last_ticket_at),
            "acknowledged_at": isoformat(incident.acknowledged_at),
            "resolved_at": isoformat(incident.resolved_at), "resolved_by": incident.resolved_by,
            "resolution": incident.resolution, "credit": credit,
            "credits": _credit_counts(session, incident.id)}


LISTING_ORDER = pages.Order((Incident.opened_at, Incident.id))  # newest first


def listing(session: Session, status: str | None, limit=pages.DEFAULT_LIMIT,
            cursor=None) -> dict:
    if status not in (None, "", "open", "resolved"):
        raise errors.InvalidArgument(fields={"status": ["must be open or resolved"]})
    query = select(Incident)
    if status:
        query = query.where(Incident.status == status)

    def dump_all(rows: list[Incident]) -> list[dict]:
        counts = _counts(session, [i.id for i in rows])
        return [dump(session, i, counts) for i in rows]

    return pages.keyset(session, query, LISTING_ORDER, limit, cursor, dump_all=dump_all)


def _find(session: Session, incident_id) -> Incident:
    incident = session.get(Incident, incident_id) if isinstance(incident_id, str) else None
    if incident is None:
        raise errors.NotFound("No such incident.", code=exceptions.INCIDENT_NOT_FOUND)
    return incident


def get(session: Session, incident_id: str, policy, now: dt.datetime) -> dict:
    incident = _find(session, incident_id)
    rows = session.scalars(select(Ticket).where(Ticket.incident_id == incident.id)
                           .order_by(Ticket.created_at))
    names = views.category_names(session)
    return {**dump(session, incident),
            "tickets": [views.dump(session, t, policy, for_customer=False,
                                   with_history=False, names=names, now=now) for t in rows]}


def acknowledge(session: Session, incident_id: str, actor: dict, now: dt.datetime) -> dict:
    """Acknowledge the incident and every ticket in it that nobody acknowledged yet (their
    escalation stops; each ticket's `ticket_updated` tells the customer's side)."""
    incident = _find(session, incident_id)
    if incident.acknowledged_at is None:
        incident.acknowledged_at = now
    agent = history.agent_actor(actor)
    for ticket in session.scalars(select(Ticket).where(
            Ticket.incident_id == incident.id, Ticket.status.in_(("new", "routed")))
            .with_for_update()):
        ticket.status, ticket.acknowledged_at, ticket.escalation_due_at = \
            "acknowledged", now, None
        history.add(session, ticket, "acknowledged", agent, now,
                    data={"from": "routed", "to": "acknowledged", "incident_id": incident.id})
        outbox.emit(session, events.TICKET_UPDATED, "ticket",
                    views.event_entity(ticket, change="acknowledged"), now)
    session.flush()
    return dump(session, incident)


def resolve(session: Session, incident_id: str, request: dict, actor: dict, policy,
            now: dt.datetime) -> dict | None:
    """Resolve once, in the caller's transaction, which the caller commits before it asks
    billing for the credits (`transactions.grant_due_credits`). None either way: the caller
    answers the incident's state (resolved already: nothing changed)."""
    values = load_or_raise(IncidentResolveIn(), request)  # a credit is more than zero
    credit = values.get("credit")
    _find(session, incident_id)
    won = session.execute(
        update(Incident).where(Incident.id == incident_id, Incident.status == "open")
        .values(status="resolved", resolved_at=now, resolved_by=actor.get("id"),
                resolution=values["resolution"],
                credit_amount=credit["amount"] if credit else None,
                credit_currency=credit["currency"] if credit else None)
        .execution_options(synchronize_session=False)).rowcount
    if not won:
        return None
    incident = session.get(Incident, incident_id, populate_existing=True)
    agent = history.agent_actor(actor)
    extra = {"incident_id": incident.id}
    if credit:
        extra["service_credit"] = credit
    customers = set()
    for ticket in session.scalars(select(Ticket).where(Ticket.incident_id == incident.id)
                                  .order_by(Ticket.created_at).with_for_update()):
        customers.add(ticket.customer_id)
        lifecycle.resolve_one(session, ticket, values["resolution"], agent, now, **extra)
    if credit:
        for customer_id in sorted(customers):
            session.add(IncidentCredit(incident_id=incident.id, customer_id=customer_id,
                                       amount=credit["amount"], currency=credit["currency"],
                                       status="pending", attempts=0, next_attempt_at=now,
                                       result={}))
    outbox.emit(session, events.INCIDENT_RESOLVED, "incident",
                {**_event(incident), "customers": len(customers), "credit": credit}, now)
    session.flush()
    return None


# service credits ------------------------------------------------------------------------------

def due_credits(session: Session, now: dt.datetime, incident_id: str | None = None,
                limit: int = 100) -> list[tuple[str, str, int]]:
    """The pending credits due by `now`: (incident id, customer id, attempts so far)."""
    query = select(IncidentCredit.incident_id, IncidentCredit.customer_id,
                   IncidentCredit.attempts).where(IncidentCredit.status == "pending",
                                                  IncidentCredit.next_attempt_at <= now)
    if incident_id:
        query = query.where(IncidentCredit.incident_id == incident_id)
    return [tuple(row) for row in session.execute(query.limit(limit))]


def claim_credit(session: Session, incident_id: str, customer_id: str, attempts: int,
                 now: dt.datetime) -> bool:
    """Take a pending credit for one attempt (a conditional UPDATE on the attempts seen, so two
    instances do not call billing for the same one at once) and set when the next is due;
    False when another instance took it. The caller commits before it asks billing."""
    return bool(session.execute(
        update(IncidentCredit).where(IncidentCredit.incident_id == incident_id,
                                     IncidentCredit.customer_id == customer_id,
                                     IncidentCredit.status == "pending",
                                     IncidentCredit.attempts == attempts)
        .values(attempts=attempts + 1,
                next_attempt_at=now + CREDIT_RETRY * (2 ** min(attempts, 6)))
        .execution_options(synchronize_session=False)).rowcount)


def credit_request(session: Session, incident_id: str, customer_id: str) -> dict:
    """What billing's `grant_service_credit` is asked (keyed `incident:<id>:<customer>`)."""
    credit = session.get(IncidentCredit, (incident_id, customer_id), populate_existing=True)
    incident = session.get(Incident, incident_id)
    return {"amount": {"amount": credit.amount, "currency": credit.currency},
            "reason": f"Service credit: {incident.title}"[:300],
            "reference": f"incident:{incident_id}:{customer_id}"}


def credit_granted(session: Session, incident_id: str, customer_id: str, request: dict,
                   result: dict, now: dt.datetime) -> None:
    """Billing granted it: the credit is done, and each of the customer's tickets in the
    incident says so in its history."""
    credit = session.get(IncidentCredit, (incident_id, customer_id))
    credit.status, credit.result, credit.last_error = "granted", result, None
    for ticket in session.scalars(select(Ticket).where(Ticket.incident_id == incident_id,
                                                       Ticket.customer_id == customer_id)):
        history.add(session, ticket, "credited", history.SYSTEM, now,
                    data={"amount": request["amount"], "kind": result.get("kind")})
    session.flush()


def credit_refused(session: Session, incident_id: str, customer_id: str,
                   refused: errors.ServiceError) -> None:
    """Billing refused it (no such customer, a currency it cannot take…): failed for good."""
    credit = session.get(IncidentCredit, (incident_id, customer_id))
    credit.status, credit.last_error = "failed", f"{refused.code}: {refused.message}"[:500]
    session.flush()
    log.warning("service credit for %s in %s refused: %s", customer_id, incident_id, refused)


def credit_unanswered(session: Session, incident_id: str, customer_id: str, attempt: int,
                      exc: Exception) -> None:
    """Billing slow or down: retried when the claim said, until CREDIT_MAX_ATTEMPTS."""
    credit = session.get(IncidentCredit, (incident_id, customer_id))
    credit.last_error = f"{type(exc).__name__}: {exc}"[:500]
    if attempt >= CREDIT_MAX_ATTEMPTS:
        credit.status = "failed"
    session.flush()
