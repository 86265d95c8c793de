"""Where the tickets service's flows of more than one transaction begin and end: every commit
and rollback of tickets is in service.py or here. The modules flush; they never decide what is
one transaction.

Here: opening a ticket (no transaction held open while accounts and billing are asked for the
customer's context; a concurrent twin under the same key answered with its ticket), the
timer's escalation steps (one transaction per step, so one step's failure undoes no other) and
service credits (each claimed and committed before billing is asked, its answer recorded in a
transaction of its own).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import errors
from services.common.db import is_unique_violation
from services.tickets import escalation, incidents, tickets
from services.tickets.views import Policy


def open_ticket(session: Session, accounts, billing, customer_id: str, request: dict,
                idempotency_key: str | None, now: dt.datetime, policy: Policy) -> dict:
    """The ticket opened (or the one opened earlier under the key), as its customer sees it."""
    try:
        values, category, earlier = tickets.opening(session, customer_id, request,
                                                    idempotency_key)
    except errors.ServiceError:
        session.commit()  # a refusal changed nothing but a fresh database's categories: kept
        raise
    session.commit()  # no transaction held open across the RPCs
    if earlier is not None:
        return tickets.customer_dump(session, earlier, policy)
    context = tickets.context_of(accounts, billing, customer_id, values)
    try:
        ticket = tickets.create(session, customer_id, values, category, context,
                                idempotency_key, policy, now)
        session.commit()
    except IntegrityError as exc:  # the same key, concurrently: answer the ticket it made
        session.rollback()
        if not is_unique_violation(exc):
            raise
        ticket = tickets.repeat(session, customer_id, idempotency_key, values)
        if ticket is None:
            raise
    except errors.ServiceError:  # too many open or recent: nothing kept, the lock let go now
        session.rollback()
        raise
    return tickets.customer_dump(session, ticket, policy)


def escalate_due(session: Session, now: dt.datetime) -> int:
    """Every escalation step due by `now`, each in its own transaction; how many fired."""
    due = escalation.due(session, now)
    session.commit()
    fired = 0
    for ticket_id, rnd, step, due_at in due:
        fired += escalation.fire(session, ticket_id, rnd, step, due_at, now)
        session.commit()
    return fired


def grant_due_credits(session: Session, billing, now: dt.datetime,
                      incident_id: str | None = None) -> int:
    """Grant the pending service credits due (of one incident, or all); how many billing
    granted. Each is claimed and committed before billing is asked (billing's key makes even a
    second ask harmless), and billing's answer is recorded in a transaction of its own."""
    due = incidents.due_credits(session, now, incident_id)
    session.commit()
    granted = 0
    for inc_id, customer_id, attempts in due:
        claimed = incidents.claim_credit(session, inc_id, customer_id, attempts, now)
        session.commit()
        if claimed:
            granted += _grant(session, billing, inc_id, customer_id, attempts + 1, now)
    return granted


def _grant(session: Session, billing, incident_id: str, customer_id: str, attempt: int,
           now: dt.datetime) -> int:
    request = incidents.credit_request(session, incident_id, customer_id)
    try:
        result = billing.grant_service_credit(customer_id, request, "tickets")
    except (errors.InvalidArgument, errors.NotFound, errors.Conflict) as refused:
        session.rollback()
        incidents.credit_refused(session, incident_id, customer_id, refused)
        session.commit()
        return 0
    except Exception as exc:  # noqa: BLE001 - billing slow or down: retried later
        session.rollback()
        incidents.credit_unanswered(session, incident_id, customer_id, attempt, exc)
        session.commit()
        return 0
    incidents.credit_granted(session, incident_id, customer_id, request, result, now)
    session.commit()
    return 1
