"""Escalation policies and the timer that fires their steps (PagerDuty-style).

A policy is ordered steps, each `{"delay_minutes", "target"}`: the step fires `delay_minutes`
after the previous page (the routing alert, for the first step) if nobody acknowledged the
ticket. A target is a team (`{"type": "team", "team"}`: its channels) or the ticket team's lead
(`{"type": "lead"}`: the channels of the pseudo-team `<team>-lead`). After the last step the
policy starts over, `repeat` times; then it stops.

Exactly once: a ticket's position in its policy (`escalation_round`, `escalation_step`) and the
time the next step is due are moved by a conditional UPDATE that names the position it saw, so
when two timers (two instances) find the same due step, one fires it and the other's UPDATE
matches nothing. The alert (an outbox event) and the history entry commit with the move (one
transaction per step: `transactions.escalate_due`). Due times are computed from the previous due
time, not from when the timer ran: a step is due at exactly the policy's delay, whatever the
timer's interval.

The functions flush; the caller (service.py, transactions.py) commits.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.common import errors, outbox, pages
from services.common.clock import isoformat
from services.common.contract.tickets import EscalationPolicyIn
from services.common.ids import new_id
from services.common.schemas import load_or_raise
from services.tickets import alerting, events, exceptions, history, teams
from services.tickets.models import EscalationPolicy, RoutingRule, Setting, Ticket

UNACKNOWLEDGED = ("new", "routed")


def dump(policy: EscalationPolicy) -> dict:
    return {"id": policy.id, "name": policy.name, "steps": policy.steps,
            "repeat": policy.repeat, "created_at": isoformat(policy.created_at)}


def listing(session: Session) -> dict:
    return pages.whole([dump(p) for p in session.scalars(
        select(EscalationPolicy).order_by(EscalationPolicy.name))])


def _find(session: Session, policy_id) -> EscalationPolicy:
    policy = session.get(EscalationPolicy, policy_id) if isinstance(policy_id, str) else None
    if policy is None:
        raise errors.NotFound("No such escalation policy.", code=exceptions.POLICY_NOT_FOUND)
    return policy


def _check_teams(session: Session, values: dict) -> None:
    problems = {f"steps.{n}.target.team": ["no such team"]
                for n, step in enumerate(values["steps"])
                if step["target"]["type"] == "team"
                and not teams.exists(session, step["target"]["team"])}
    if problems:
        raise errors.InvalidArgument(fields=problems)


def create(session: Session, request: dict, now: dt.datetime) -> dict:
    values = load_or_raise(EscalationPolicyIn(), request)
    _check_teams(session, values)
    policy = EscalationPolicy(id=new_id("esc"), name=values["name"], steps=values["steps"],
                              repeat=values["repeat"], created_at=now)
    session.add(policy)
    session.flush()
    return dump(policy)


def replace(session: Session, policy_id: str, request: dict) -> dict:
    """A new shape applies to tickets from their next step on."""
    values = load_or_raise(EscalationPolicyIn(), request)
    policy = _find(session, policy_id)
    _check_teams(session, values)
    policy.name, policy.steps, policy.repeat = values["name"], values["steps"], values["repeat"]
    session.flush()
    return dump(policy)


def delete(session: Session, policy_id: str) -> None:
    policy = _find(session, policy_id)
    used = session.scalar(select(RoutingRule.id).where(
        RoutingRule.escalation_policy == policy_id).limit(1))
    default = session.get(Setting, "default_route")
    if used or (default and default.value.get("escalation_policy") == policy_id):
        raise errors.Conflict("A routing rule or the default route uses this policy.",
                              code=exceptions.POLICY_IN_USE)
    session.execute(update(Ticket).where(Ticket.escalation_policy == policy_id)
                    .values(escalation_due_at=None))
    session.delete(policy)
    session.flush()


# a ticket's escalation ------------------------------------------------------------------------

def start(session: Session, ticket: Ticket, policy_id: str | None, paged_at: dt.datetime) -> None:
    """Put the ticket at the start of its policy: the first step due after its delay."""
    policy = session.get(EscalationPolicy, policy_id) if policy_id else None
    ticket.escalation_policy = policy.id if policy else None
    ticket.escalation_round = ticket.escalation_step = 0
    ticket.escalation_due_at = (paged_at + dt.timedelta(minutes=policy.steps[0]["delay_minutes"])
                                if policy and policy.steps else None)


def stop(ticket: Ticket) -> None:
    ticket.escalation_due_at = None


def _next_position(policy: EscalationPolicy, rnd: int, step: int,
                   due: dt.datetime) -> tuple[int, int, dt.datetime | None]:
    steps = policy.steps
    if step + 1 < len(steps):
        return rnd, step + 1, due + dt.timedelta(minutes=steps[step + 1]["delay_minutes"])
    if rnd < policy.repeat:
        return rnd + 1, 0, due + dt.timedelta(minutes=steps[0]["delay_minutes"])
    return rnd, step, None


def view(ticket: Ticket) -> dict:
    return {"policy": ticket.escalation_policy, "round": ticket.escalation_round,
            "step": ticket.escalation_step, "next_at": isoformat(ticket.escalation_due_at)}


def due(session: Session, now: dt.datetime, limit: int = 200) -> list[tuple]:
    """The escalation steps due by `now`: (ticket id, round, step, due at), the earliest first."""
    return [tuple(row) for row in session.execute(
        select(Ticket.id, Ticket.escalation_round, Ticket.escalation_step,
               Ticket.escalation_due_at)
        .where(Ticket.escalation_due_at <= now).order_by(Ticket.escalation_due_at)
        .limit(limit))]


def fire(session: Session, ticket_id: str, rnd: int, step: int, due_at: dt.datetime,
         now: dt.datetime) -> int:
    """Fire one due step, in the caller's transaction (one per step: the timer's
    `transactions.escalate_due`): 1 when fired; 0 when another instance fired it (the UPDATE
    that claims it matched nothing) or when the ticket no longer escalates (its due time is
    cleared)."""
    ticket = session.get(Ticket, ticket_id, populate_existing=True)
    policy = session.get(EscalationPolicy, ticket.escalation_policy) \
        if ticket.escalation_policy else None
    if ticket.status not in UNACKNOWLEDGED or policy is None or step >= len(policy.steps):
        session.execute(update(Ticket).where(Ticket.id == ticket_id,
                                             Ticket.escalation_due_at == due_at)
                        .values(escalation_due_at=None))
        return 0
    nxt_round, nxt_step, nxt_due = _next_position(policy, rnd, step, due_at)
    claimed = session.execute(
        update(Ticket).where(Ticket.id == ticket_id, Ticket.escalation_round == rnd,
                             Ticket.escalation_step == step, Ticket.escalation_due_at == due_at)
        .values(escalation_round=nxt_round, escalation_step=nxt_step,
                escalation_due_at=nxt_due)
        .execution_options(synchronize_session=False)).rowcount
    if not claimed:  # another instance fired it
        return 0
    target = policy.steps[step]["target"]
    team = target["team"] if target["type"] == "team" else f"{ticket.team}-lead"
    minutes = int((due_at - (ticket.routed_at or ticket.created_at)).total_seconds() // 60)
    headline = (f"Escalated (step {step + 1} of {len(policy.steps)}, round {rnd + 1}): "
                f"not acknowledged after {minutes} min")
    silence = alerting.raise_alert(
        session, team, alerting.severity_of(ticket.priority),
        f"Escalated: #{ticket.number} {ticket.subject}", alerting.ticket_text(ticket, headline),
        {**alerting.ticket_fields(ticket), "escalation_step": step, "escalation_round": rnd},
        f"ticket:{ticket.id}:escalation:{rnd}:{step}", list(ticket.rules or []), now)
    # `step` and `round` count from 0 (the ticket's position); `number` and `of` as people
    # count (step 1 of 2); `after_minutes`: since the ticket was routed
    data = {"step": step, "round": rnd, "target": target, "team": team,
            "due_at": isoformat(due_at), "number": step + 1, "of": len(policy.steps),
            "after_minutes": minutes}
    history.add(session, ticket, "escalated", history.SYSTEM, now, data=data)
    if silence:
        history.add(session, ticket, "silenced", history.SYSTEM, now,
                    data={"silence_id": silence, "team": team})
    outbox.emit(session, events.TICKET_ESCALATED, "ticket",
                {"id": ticket.id, "number": ticket.number, "team": ticket.team, **data}, now)
    session.flush()
    return 1
