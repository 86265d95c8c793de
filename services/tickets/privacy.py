"""A customer's data in the tickets service, for the GDPR (issue #18): what it holds about
them (`export`) and forgetting the person (`forget`). accounts' erasure saga calls both; this
service sees only the customer id, the pseudonym and, when the caller passes them, the
person's details (`personal`: {name, email, phone, address}), as billing's part does.

What tickets holds about a customer: their tickets (subject, description, the context captured
when each was opened: their name, language, billing type, packages, region, open balance) and
each ticket's history (their comments, agents' replies and internal notes, status changes;
entries name the actor), and the service credits of incidents that affected them. There are
no attachments and no satisfaction ratings in this service (nothing to export or erase).

Export: each ticket as the customer sees it in the portal (`views.dump(for_customer=True)`:
agents' internal notes and routing internals are left out, as are agents' ids) with the
context captured about them, and their incident credits.

Forgetting, in the entrypoint's one transaction, under the customer's lock (the one opening a
ticket takes: a ticket opened concurrently is either erased too or opened after):
- tickets stay: operators keep their numbers, categories, teams, priorities, times and
  statuses (the SLA figures and ops_insights). What the customer wrote is erased: the subject,
  the description and the text of each of their comments become `ERASED`;
- every copy of the person's name becomes the pseudonym (the ticket's context and the actor
  name of the customer's history entries), and their name, e-mail, phone and address (from
  `personal`, and the name the context holds) are replaced in what agents wrote (replies,
  internal notes, resolutions; the name by the pseudonym, the rest by nothing);
- open tickets are closed (`ticket_closed`, reason `account_deleted`: escalations stop, no
  agent waits on a customer who is gone); resolved ones too (they can no longer be reopened);
- published events about the customer are deleted from the outbox now rather than at
  housekeeping (they are delivered; an unpublished one is delivered as written);
- the context of each erased ticket is marked `forgotten`, so a second call finds nothing left
  and answers zeros in the same shape; `customer_forgotten` is emitted once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import Text, cast, delete, select
from sqlalchemy.orm import Session

from services.common import errors, outbox
from services.common.clock import isoformat
from services.common.kernel_tables import OutboxMessage
from services.common.privacy import check
from services.tickets import escalation, events, history, tickets
from services.tickets.models import HistoryEntry, IncidentCredit, Ticket
from services.tickets.views import Policy, category_names, dump, event_entity

SERVICE = "tickets"
ERASED = "[erased]"  # what the customer wrote, once they are forgotten
MIN_ERASED = 4  # shorter strings (a country code, a house number) are not searched for
CONTACT_KEYS = ("email", "phone", "address")  # never captured today; dropped if ever they are
KINDS = ("tickets", "comments", "history", "closed", "events")
CLOSED_REASON = "account_deleted"


def export(session: Session, customer_id: str, policy: Policy) -> dict:
    """Everything tickets holds about the customer, JSON-ready (times ISO 8601 UTC)."""
    check(customer_id)
    names = category_names(session)
    rows = session.scalars(select(Ticket).where(Ticket.customer_id == customer_id)
                           .order_by(Ticket.number)).all()
    exported = [{**dump(session, t, policy, for_customer=True, with_history=True, names=names),
                 "context": _shown_context(t.context)} for t in rows]
    credits = [{"incident_id": c.incident_id, "amount": c.amount, "currency": c.currency,
                "status": c.status, "next_attempt_at": isoformat(c.next_attempt_at)}
               for c in session.scalars(select(IncidentCredit).where(
                   IncidentCredit.customer_id == customer_id)
                   .order_by(IncidentCredit.incident_id))]
    return {"service": SERVICE, "data": {"tickets": exported, "incident_credits": credits}}


def _shown_context(context: dict | None) -> dict:
    """The context captured about the customer, without what is the service's own book-keeping
    (which parts did not answer)."""
    return {k: v for k, v in (context or {}).items() if k not in ("unavailable", "forgotten")}


# forget ---------------------------------------------------------------------------------------

def replacements(personal: Any, pseudonym: str, names: list[str]) -> list[tuple[str, str]]:
    """(string, replacement) pairs, longest first: the person's name and each word of it (from
    `personal` and the names the tickets' contexts captured) become the pseudonym, their other
    details "". Strings shorter than MIN_ERASED characters are left alone."""
    if personal is not None and not isinstance(personal, dict):
        raise errors.InvalidArgument(fields={"personal": ["must be an object"]})
    pairs: dict[str, str] = {}

    def add(value: Any, replacement: str) -> None:
        if isinstance(value, str) and len(value.strip()) >= MIN_ERASED:
            pairs.setdefault(value.strip().casefold(), replacement)
        elif isinstance(value, dict):
            for part in value.values():
                add(part, replacement)
        elif isinstance(value, list | tuple):
            for part in value:
                add(part, replacement)

    personal = personal or {}
    for name in [personal.get("name"), *names]:
        add(name, pseudonym)
        if isinstance(name, str):  # "Dear Erika": agents write a part of the name too
            add(name.split(), pseudonym)
    for key, value in personal.items():
        if key != "name":
            add(value, "")
    return sorted(pairs.items(), key=lambda kv: -len(kv[0]))


def scrubber(pairs: list[tuple[str, str]]) -> Callable[[Any], Any]:
    """A function replacing the strings (case-insensitively) in a string or, recursively, in
    a JSON value's strings."""
    if not pairs:
        return lambda value: value
    pattern = re.compile("|".join(re.escape(s) for s, _ in pairs), re.IGNORECASE)
    lookup = dict(pairs)

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return pattern.sub(lambda m: lookup[m.group(0).casefold()], value)
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value
    return scrub


def forget(session: Session, customer_id: str, pseudonym: str, personal: Any,
           now: dt.datetime) -> dict:
    """Forget the person (see the module's docstring); flushed, the caller commits.
    `{"service": "tickets", "forgotten": {tickets, comments, history, closed, events}}`: the
    tickets erased, the customer's comments erased, the history entries changed, the tickets
    closed and the published events deleted by this call."""
    check(customer_id, pseudonym, need_pseudonym=True)
    pseudonym = pseudonym.strip()
    tickets.lock_customer(session, customer_id)
    counts = dict.fromkeys(KINDS, 0)
    rows = [t for t in session.scalars(select(Ticket).where(Ticket.customer_id == customer_id)
                                       .order_by(Ticket.number).with_for_update())
            if not (t.context or {}).get("forgotten")]
    names = [(t.context or {}).get("name") for t in rows]
    scrub = scrubber(replacements(personal, pseudonym, [n for n in names if n]))
    for ticket in rows:
        _erase(session, ticket, customer_id, pseudonym, scrub, counts, now)
    if rows:
        counts["events"] = session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.published_at.is_not(None),
                cast(OutboxMessage.payload, Text).contains(customer_id, autoescape=True))
            .execution_options(synchronize_session=False)).rowcount or 0
    if any(counts.values()):
        outbox.emit(session, events.CUSTOMER_FORGOTTEN, "customer",
                    {"id": customer_id, "pseudonym": pseudonym, "forgotten": counts}, now)
    session.flush()
    return {"service": SERVICE, "forgotten": counts}


def _erase(session: Session, ticket: Ticket, customer_id: str, pseudonym: str,
           scrub: Callable[[Any], Any], counts: dict, now: dt.datetime) -> None:
    for entry in session.scalars(select(HistoryEntry).where(
            HistoryEntry.ticket_id == ticket.id).order_by(HistoryEntry.id)):
        before = (entry.actor_name, entry.text, entry.data)
        if entry.actor_type == "customer" and entry.actor_id == customer_id:
            entry.actor_name = pseudonym
            if entry.kind == "comment" and entry.text != ERASED:
                entry.text = ERASED
                counts["comments"] += 1
        if entry.text is not None and entry.text != ERASED:
            entry.text = scrub(entry.text)
        entry.data = scrub(dict(entry.data or {}))
        if entry.actor_type != "customer" and entry.actor_name:
            entry.actor_name = scrub(entry.actor_name)
        counts["history"] += (entry.actor_name, entry.text, entry.data) != before
    context = {k: v for k, v in scrub(dict(ticket.context or {})).items()
               if k not in CONTACT_KEYS}
    if context.get("name"):
        context["name"] = pseudonym
    ticket.subject, ticket.description = ERASED, ERASED
    if ticket.resolution:
        ticket.resolution = scrub(ticket.resolution)
    if ticket.status != "closed":
        _close(session, ticket, now)
        counts["closed"] += 1
    ticket.context = {**context, "forgotten": isoformat(now)}
    ticket.updated_at = now
    counts["tickets"] += 1


def _close(session: Session, ticket: Ticket, now: dt.datetime) -> None:
    """Closed because the customer is gone: escalation stopped, `ticket_closed` told (its
    entity carries the erased subject)."""
    before = ticket.status
    ticket.status, ticket.closed_at = "closed", now
    escalation.stop(ticket)
    history.add(session, ticket, "closed", history.SYSTEM, now,
                data={"from": before, "to": "closed", "reason": CLOSED_REASON})
    outbox.emit(session, events.TICKET_CLOSED, "ticket",
                event_entity(ticket, reason=CLOSED_REASON), now)
