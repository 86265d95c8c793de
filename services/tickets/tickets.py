"""Tickets: raised by customers, routed to teams, worked by agents.

Opening a ticket captures the customer's context (billing type, packages, tax region, open
balance: asked of accounts and billing before the transaction; a part that does not answer in
time is listed in `context.unavailable`, and the ticket is still taken), gives it the
category's priority, routes it (`routing.py` over the ops' rules), joins or opens an incident
when an incident rule matches, requests the team's alert, starts the escalation policy, and
records `ticket_opened` — one transaction. A repeated `Idempotency-Key` answers the same ticket
(unique key `(customer_id, idempotency_key)`). Its steps (`opening`, `context_of`, `create`) are
sequenced by `transactions.open_ticket`.

Status machine (agents; `lifecycle.py`): `new` → `routed` → `acknowledged` → `in_progress` ⇄
`waiting_on_customer` → `resolved` → `closed`. Acknowledging, or any other status an agent
sets, stops the escalation. Resolving needs a resolution text (`resolve`). A customer's comment
on `waiting_on_customer` puts it back `in_progress`; on `resolved`, within the reopen window, it
reopens it; after the window the timer closes it.

The functions flush; the caller (service.py, transactions.py) commits. A refusal is raised
before anything is committed: the worker's session is rolled back at its teardown.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from services.common import errors, outbox, pages, permissions
from services.common.contract.tickets import (  # the requests, as the gateway checks them
    AssignIn,
    CommentIn,
    OpsCommentIn,
    ResolveIn,
    TicketChange,
    TicketIn,
)
from services.common.idempotency import IDEMPOTENCY_KEY_REUSED
from services.common.ids import new_id
from services.common.schemas import load_or_raise
from services.tickets import (
    alerting,
    categories,
    counters,
    escalation,
    events,
    exceptions,
    history,
    incidents,
    routing,
    rules,
)
from services.tickets.lifecycle import AGENT_MOVES, DONE, STATUSES, resolve_one, set_status
from services.tickets.models import Category, HistoryEntry, Ticket
from services.tickets.views import Policy, category_names, dump, event_entity

# views ----------------------------------------------------------------------------------------

def _find(session: Session, ticket_id, customer_id: str | None = None,
          lock: bool = False, teams: list[str] | None = None) -> Ticket:
    """The ticket; for a customer, only their own (another's id is NotFound, like a missing);
    for an agent limited to `teams`, only those teams' tickets (the same NotFound)."""
    ticket = None
    if isinstance(ticket_id, str) and len(ticket_id) <= 40:
        query = select(Ticket).where(Ticket.id == ticket_id)
        ticket = session.scalar(query.with_for_update() if lock else query)
    if ticket is None or (customer_id is not None and ticket.customer_id != customer_id) or (
            teams is not None and ticket.team not in teams):
        raise errors.NotFound("No such ticket.", code=exceptions.TICKET_NOT_FOUND)
    return ticket


def scope(actor: dict | None) -> list[str] | None:
    """The teams an agent may act for (`actor["teams"]`, set by the gateway for roles without
    `tickets.all_teams`); None: every team."""
    teams = (actor or {}).get("teams")
    return None if teams is None else [t for t in teams if isinstance(t, str)]


def customer_view(session: Session, customer_id: str, ticket_id: str, policy: Policy,
                  now: dt.datetime) -> dict:
    return dump(session, _find(session, ticket_id, customer_id), policy, for_customer=True,
                with_history=True)


def ops_view(session: Session, ticket_id: str, policy: Policy, now: dt.datetime,
             actor: dict | None = None) -> dict:
    return dump(session, _find(session, ticket_id, teams=scope(actor)), policy,
                for_customer=False, with_history=True, now=now)


def _status_filter(query, status: str | None):
    if status in (None, ""):
        return query
    if status == "open":
        return query.where(Ticket.status.not_in(DONE))
    if status == "done":
        return query.where(Ticket.status.in_(DONE))
    if status not in STATUSES:
        raise errors.InvalidArgument(fields={"status": [
            f"must be open, done or one of {', '.join(STATUSES)}"]})
    return query.where(Ticket.status == status)


CUSTOMER_ORDER = pages.Order((Ticket.number,))  # newest first
QUEUE_ORDER = pages.Order((Ticket.priority, Ticket.created_at, Ticket.id), descending=False)


def _dump_page(session: Session, policy: Policy, for_customer: bool,
               now: dt.datetime | None = None):
    def dump_all(rows: list[Ticket]) -> list[dict]:
        names = category_names(session)
        return [dump(session, t, policy, for_customer=for_customer, with_history=False,
                     names=names, now=None if for_customer else now) for t in rows]
    return dump_all


def customer_page(session: Session, customer_id: str, status: str | None, limit,
                  cursor: str | None, policy: Policy, now: dt.datetime) -> dict:
    """The customer's tickets, newest first (by number): a keyset page."""
    query = _status_filter(select(Ticket).where(Ticket.customer_id == customer_id), status)
    return pages.keyset(session, query, CUSTOMER_ORDER, limit, cursor,
                        dump_all=_dump_page(session, policy, for_customer=True))


def open_summary(session: Session, customer_id: str, policy: Policy, now: dt.datetime) -> dict:
    """The dashboard's part: how many are open, and the latest few. One query when none is open
    (the count comes with the rows, by a window function); else one more for their categories'
    names (and one per ticket in an incident)."""
    rows = session.execute(
        select(Ticket, func.count().over().label("open"))
        .where(Ticket.customer_id == customer_id, Ticket.status.not_in(DONE))
        .order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(3)).all()
    if not rows:
        return {"count": 0, "latest": []}
    latest = [row.Ticket for row in rows]
    names = dict(session.execute(select(Category.code, Category.name).where(
        Category.code.in_({t.category for t in latest}))).all())
    return {"count": rows[0].open, "latest": [dump(session, t, policy, for_customer=True,
                                                   with_history=False, names=names)
                                              for t in latest]}


def queue(session: Session, filters: dict, limit, cursor: str | None, policy: Policy,
          now: dt.datetime) -> dict:
    """Agents' queue: most urgent first (priority, then the oldest), a keyset page."""
    query = _status_filter(select(Ticket), filters.get("status"))
    for name, column in (("team", Ticket.team), ("assignee", Ticket.assignee),
                         ("incident", Ticket.incident_id), ("customer", Ticket.customer_id)):
        if filters.get(name):
            query = query.where(column == filters[name])
    if filters.get("teams") is not None:  # an agent's own teams
        query = query.where(Ticket.team.in_(list(filters["teams"])))
    return pages.keyset(session, query, QUEUE_ORDER, limit, cursor,
                        dump_all=_dump_page(session, policy, for_customer=False, now=now))


# opening --------------------------------------------------------------------------------------

def _capture(accounts, billing, customer_id: str, subscription_id: str | None) -> dict:
    """The customer's context now, from accounts and billing (what does not answer is listed
    in `unavailable`; the ticket is taken anyway)."""
    context: dict = {"unavailable": []}
    try:
        account = accounts.get_account(customer_id)
    except errors.NotFound:
        raise
    except Exception:  # noqa: BLE001 - slow or down: the ticket is still taken
        context["unavailable"].append("account")
        return context
    context.update({"name": account.get("name"), "language": account.get("language"),
                    "billing_type": account.get("billing_type"),
                    "currency": account.get("currency"), "tax_region": account.get("tax_region")})
    try:
        parts = billing.dashboard(customer_id, account.get("currency"),
                                  account.get("billing_type"))
    except Exception:  # noqa: BLE001
        context["unavailable"].append("billing")
        return context
    subscriptions = parts.get("subscriptions") or []
    context["subscriptions"] = [s["id"] for s in subscriptions]
    context["packages"] = sorted({s["package"]["code"] for s in subscriptions
                                  if s.get("package")})
    chosen = next((s for s in subscriptions if s["id"] == subscription_id), None)
    pick = chosen or (subscriptions[0] if subscriptions else None)
    context["package"] = pick["package"]["code"] if pick and pick.get("package") else None
    if parts.get("wallet"):
        context["open_balance"] = parts["wallet"].get("balance")
    elif parts.get("bills"):
        context["open_balance"] = parts["bills"].get("outstanding_total")
    else:
        context["open_balance"] = None
    return context


def repeat(session: Session, customer_id: str, key: str | None, values: dict) -> Ticket | None:
    """The ticket opened earlier under this customer's key; a different request under it is
    Conflict(IDEMPOTENCY_KEY_REUSED)."""
    if not key:
        return None
    earlier = session.scalar(select(Ticket).where(Ticket.customer_id == customer_id,
                                                  Ticket.idempotency_key == key))
    if earlier is None:
        return None
    if (earlier.category, earlier.subject, earlier.description,
            earlier.subscription_id) != (values["category"], values["subject"],
                                         values["description"], values.get("subscription_id")):
        raise errors.Conflict("This Idempotency-Key was already used with a different request.",
                              code=IDEMPOTENCY_KEY_REUSED)
    return earlier


def opening(session: Session, customer_id: str, request: dict, idempotency_key: str | None
            ) -> tuple[dict, Category | None, Ticket | None]:
    """Opening's first step: the request checked; (values, category, None), or (values, None,
    the earlier ticket) for a repeated key. A fresh database gets its categories seeded here;
    the caller commits them (even when the request is refused) before it asks accounts and
    billing for the context."""
    values = load_or_raise(TicketIn(), request)
    if idempotency_key is not None and (not isinstance(idempotency_key, str)
                                        or not 1 <= len(idempotency_key) <= 255):
        raise errors.InvalidArgument(fields={"Idempotency-Key": ["must be 1 to 255 characters"]})
    earlier = repeat(session, customer_id, idempotency_key, values)
    if earlier is not None:
        return values, None, earlier
    try:
        category = categories.find(session, values["category"])
    except errors.NotFound:
        categories.seed(session)
        category = session.get(Category, values["category"])
        if category is None or not category.active:
            raise errors.InvalidArgument(fields={"category": ["no such category"]}) from None
    missing = [f for f in category.required_fields or [] if not values.get(f)]
    if missing:
        raise errors.InvalidArgument(
            "This category needs more details.",
            fields={f: [f"is required for {category.name.lower()}"] for f in missing})
    return values, category, None


def context_of(accounts, billing, customer_id: str, values: dict) -> dict:
    """Opening's second step, outside any transaction: the customer's context; a subscription
    that is not the customer's is InvalidArgument."""
    context = _capture(accounts, billing, customer_id, values.get("subscription_id"))
    if values.get("subscription_id") and "subscriptions" in context \
            and values["subscription_id"] not in context["subscriptions"]:
        raise errors.InvalidArgument(fields={"subscription_id": ["is not one of yours"]})
    return context


def customer_dump(session: Session, ticket: Ticket, policy: Policy) -> dict:
    return dump(session, ticket, policy, for_customer=True, with_history=True)


# what one customer may raise: at most OPEN_MAX tickets open at once, OPENED_PER_HOUR new ones
# an hour, COMMENTS_PER_HOUR comments on one ticket an hour (a person writes far less; a
# script flooding the desk stops here)
OPEN_MAX = 10
OPENED_PER_HOUR = 10
COMMENTS_PER_HOUR = 20


def lock_customer(session: Session, customer_id: str) -> None:
    """The customer's lock until the transaction ends (PostgreSQL: an advisory lock per
    customer; SQLite writes one at a time): opening a ticket and forgetting the customer
    (privacy.py) take it, so they never interleave."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:c, 7))"),
                        {"c": customer_id})


def _refuse_a_flood(session: Session, customer_id: str, now: dt.datetime) -> None:
    """In the transaction that adds the ticket, after taking the customer's lock, so
    concurrent requests count each other."""
    lock_customer(session, customer_id)
    hour_ago = now - dt.timedelta(hours=1)
    open_now, last_hour, first = session.execute(select(
        func.count().filter(Ticket.status.not_in(DONE)),
        func.count().filter(Ticket.created_at > hour_ago),
        func.min(Ticket.created_at).filter(Ticket.created_at > hour_ago))
        .where(Ticket.customer_id == customer_id)).one()
    if open_now >= OPEN_MAX:
        raise errors.Conflict(f"You have {open_now} open requests; please follow up on one of "
                              "those, or wait until they are resolved.",
                              code=exceptions.TOO_MANY_OPEN_TICKETS)
    if last_hour >= OPENED_PER_HOUR:
        raise errors.rate_limited(_seconds_until(first, now), "You have raised many requests "
                                  "in the last hour; please try again later.")


def _seconds_until(first, now: dt.datetime) -> float:
    """Until the oldest of the last hour's items leaves the window."""
    if first is None:
        return 60.0
    first = first if first.tzinfo else first.replace(tzinfo=dt.UTC)
    return max(1.0, (first + dt.timedelta(hours=1) - now).total_seconds())


def create(session: Session, customer_id: str, values: dict, category: Category,
           context: dict, idempotency_key: str | None, policy: Policy,
           now: dt.datetime) -> Ticket:
    """Opening's last step, one transaction the caller commits: the ticket numbered, routed,
    paged and `ticket_opened` recorded. A concurrent twin under the same key is an
    IntegrityError (the unique key) the caller answers with `repeat`."""
    _refuse_a_flood(session, customer_id, now)
    customer = history.customer_actor(customer_id, context.get("name"))
    ticket = Ticket(id=new_id("tkt"), number=counters.next_ticket_number(session),
                    customer_id=customer_id, idempotency_key=idempotency_key,
                    category=category.code,
                    subject=values["subject"], description=values["description"],
                    subscription_id=values.get("subscription_id"), context=context,
                    urgency=category.urgency, impact=category.impact,
                    priority=routing.priority_of(category.urgency, category.impact),
                    status="new", rules=[], escalation_round=0, escalation_step=0,
                    created_at=now, updated_at=now)
    session.add(ticket)
    session.flush()
    history.add(session, ticket, "created", customer, now)
    route(session, ticket, policy, now)
    outbox.emit(session, events.TICKET_OPENED, "ticket", event_entity(ticket), now)
    session.flush()
    return ticket


def route(session: Session, ticket: Ticket, policy: Policy, now: dt.datetime) -> None:
    """Route by the rules, join or open an incident, request the alerts, start escalation."""
    attributes = routing.attributes_of({
        "category": ticket.category, "priority": ticket.priority, "subject": ticket.subject,
        "description": ticket.description, "subscription_id": ticket.subscription_id,
        "context": ticket.context})
    decisions = routing.route(rules.rule_set(session, policy), attributes)
    first = decisions[0]
    ticket.team = first.team
    if first.priority:
        ticket.priority = first.priority
    ticket.rules = [d.rule_id for d in decisions if d.rule_id]
    ticket.status, ticket.routed_at = "routed", now
    history.add(session, ticket, "routed", history.SYSTEM, now,
                data={"team": ticket.team, "rule_ids": ticket.rules,
                      "also": [d.team for d in decisions[1:]]})
    placed = incidents.place(session, ticket, {**attributes, "priority": ticket.priority},
                             now)
    if placed is not None:
        incident, opened = placed
        ticket.incident_id, ticket.team = incident.id, incident.team
        history.add(session, ticket, "incident", history.SYSTEM, now,
                    data={"incident_id": incident.id, "title": incident.title,
                          "opened": opened})
        if not opened:  # the incident paged already: this ticket adds no page
            outbox.emit(session, events.TICKET_ROUTED, "ticket", event_entity(ticket), now)
            return
        _page(session, ticket, incident.team, f"incident:{incident.id}:opened",
              f"Incident opened: {incident.title}", now, policy)
    else:
        for decision in decisions:
            _page(session, ticket, decision.team,
                  f"ticket:{ticket.id}:routed:{decision.team}",
                  f"New ticket for {decision.team}", now, policy)
    escalation.start(session, ticket, first.escalation_policy, now)
    outbox.emit(session, events.TICKET_ROUTED, "ticket", event_entity(ticket), now)


def _page(session: Session, ticket: Ticket, team: str, dedup_key: str, headline: str,
          now: dt.datetime, policy: Policy) -> None:
    fields_ = alerting.ticket_fields(ticket, policy.public_url)
    silence = alerting.raise_alert(session, team, alerting.severity_of(ticket.priority),
                                   f"#{ticket.number} {ticket.subject}",
                                   alerting.ticket_text(ticket, headline), fields_, dedup_key,
                                   list(ticket.rules or []), now)
    if silence is None:
        history.add(session, ticket, "alerted", history.SYSTEM, now,
                    data={"team": team, "dedup_key": dedup_key})
    else:
        history.add(session, ticket, "silenced", history.SYSTEM, now,
                    data={"team": team, "silence_id": silence, "dedup_key": dedup_key})


# customers' comments --------------------------------------------------------------------------

def customer_comment(session: Session, customer_id: str, ticket_id: str, request: dict,
                     policy: Policy, now: dt.datetime) -> dict:
    values = load_or_raise(CommentIn(), request)
    ticket = _find(session, ticket_id, customer_id, lock=True)  # counts exact: one at a time
    recent, first = session.execute(select(func.count(), func.min(HistoryEntry.at))
                                    .where(HistoryEntry.ticket_id == ticket.id,
                                           HistoryEntry.kind == "comment",
                                           HistoryEntry.actor_type == "customer",
                                           HistoryEntry.at > now - dt.timedelta(hours=1))
                                    ).one()
    if recent >= COMMENTS_PER_HOUR:
        raise errors.rate_limited(_seconds_until(first, now), "Many comments in the last hour; "
                                  "please wait for our answer.")
    actor = history.customer_actor(customer_id, (ticket.context or {}).get("name"))
    if ticket.status == "resolved":
        if now > ticket.resolved_at + dt.timedelta(days=policy.reopen_days):
            raise errors.Conflict("This request is closed; please raise a new one.",
                                  code=exceptions.TICKET_CLOSED)
        set_status(session, ticket, "in_progress", actor, now, kind="reopened")
        ticket.resolved_at, ticket.resolution = None, None
    elif ticket.status == "closed":
        raise errors.Conflict("This request is closed; please raise a new one.",
                              code=exceptions.TICKET_CLOSED)
    elif ticket.status == "waiting_on_customer":
        set_status(session, ticket, "in_progress", actor, now)
    entry = history.add(session, ticket, "comment", actor, now, text=values["text"])
    outbox.emit(session, events.TICKET_UPDATED, "ticket",
                event_entity(ticket, change="customer_comment"), now)
    session.flush()
    return history.dump(entry, for_customer=True)


# agents -----------------------------------------------------------------------------------------

def _agent_view(session: Session, ticket: Ticket, policy: Policy, now: dt.datetime) -> dict:
    return dump(session, ticket, policy, for_customer=False, with_history=True, now=now)


def acknowledge(session: Session, ticket_id: str, actor: dict, policy: Policy,
                now: dt.datetime) -> dict:
    ticket = _find(session, ticket_id, lock=True, teams=scope(actor))
    if ticket.status in DONE:
        raise errors.Conflict(f"This ticket is {ticket.status}.",
                              code=exceptions.INVALID_STATUS_CHANGE)
    if ticket.status in ("new", "routed"):
        set_status(session, ticket, "acknowledged", history.agent_actor(actor), now,
                    kind="acknowledged")
        if ticket.assignee is None:
            ticket.assignee = actor.get("id")
        outbox.emit(session, events.TICKET_UPDATED, "ticket",
                    event_entity(ticket, change="acknowledged"), now)
    session.flush()
    return _agent_view(session, ticket, policy, now)


def assign(session: Session, accounts, ticket_id: str, request: dict, actor: dict,
           policy: Policy, now: dt.datetime) -> dict:
    values = load_or_raise(AssignIn(), request)
    assignee = values["assignee"]
    if assignee is not None:
        try:
            account = accounts.get_account(assignee)
        except errors.NotFound:
            account = None
        if account is None or not permissions.is_staff(account.get("role")):
            raise errors.InvalidArgument(fields={"assignee": ["is not an agent"]})
    ticket = _find(session, ticket_id, lock=True, teams=scope(actor))
    if ticket.status == "closed":
        raise errors.Conflict("This ticket is closed.", code=exceptions.INVALID_STATUS_CHANGE)
    if ticket.assignee != assignee:
        history.add(session, ticket, "assigned", history.agent_actor(actor), now,
                    data={"from": ticket.assignee, "assignee": assignee})
        ticket.assignee = assignee
    session.flush()
    return _agent_view(session, ticket, policy, now)


def change(session: Session, ticket_id: str, request: dict, actor: dict, policy: Policy,
           now: dt.datetime) -> dict:
    values = load_or_raise(TicketChange(), request)  # a status or a priority, at least
    ticket = _find(session, ticket_id, lock=True, teams=scope(actor))
    agent = history.agent_actor(actor)
    wanted = values.get("status")
    told = None  # (event, change): how the customer's side hears of it
    if wanted is not None and wanted != ticket.status:
        if wanted == "resolved":
            raise errors.Conflict("Resolve a ticket with its resolution (…/resolve).",
                                  code=exceptions.INVALID_STATUS_CHANGE)
        if wanted not in AGENT_MOVES[ticket.status]:
            raise errors.Conflict(f"A {ticket.status} ticket cannot become {wanted}.",
                                  code=exceptions.INVALID_STATUS_CHANGE)
        before = ticket.status
        set_status(session, ticket, wanted, agent,
                    now, kind="reopened" if before == "resolved" and wanted != "closed"
                    else "status_changed")
        if before == "resolved" and wanted == "in_progress":
            ticket.resolved_at, ticket.resolution = None, None
        if wanted == "closed":
            ticket.closed_at = now
            told = (events.TICKET_CLOSED, {})
        else:
            told = (events.TICKET_UPDATED, {"change": "waiting_on_customer"
                                     if wanted == "waiting_on_customer" else "status"})
    if values.get("priority") and values["priority"] != ticket.priority:
        if ticket.status == "closed":
            raise errors.Conflict("This ticket is closed.", code=exceptions.INVALID_STATUS_CHANGE)
        history.add(session, ticket, "priority_changed", agent, now,
                    data={"from": ticket.priority, "to": values["priority"]})
        ticket.priority = values["priority"]
        told = told or (events.TICKET_UPDATED, {"change": "priority"})
    if told is not None:
        event_type, extra = told
        outbox.emit(session, event_type, "ticket", event_entity(ticket, **extra), now)
    session.flush()
    return _agent_view(session, ticket, policy, now)


def agent_comment(session: Session, ticket_id: str, request: dict, actor: dict,
                  policy: Policy, now: dt.datetime) -> dict:
    values = load_or_raise(OpsCommentIn(), request)
    ticket = _find(session, ticket_id, lock=True, teams=scope(actor))
    if ticket.status == "closed" and not values["internal"]:
        raise errors.Conflict("This ticket is closed.", code=exceptions.TICKET_CLOSED)
    entry = history.add(session, ticket, "comment", history.agent_actor(actor), now,
                        text=values["text"], internal=values["internal"])
    if not values["internal"]:
        outbox.emit(session, events.TICKET_UPDATED, "ticket", event_entity(ticket, change="reply",
                                                                    text=values["text"][:500]),
                    now)
    session.flush()
    return history.dump(entry, for_customer=False)


def resolve(session: Session, ticket_id: str, request: dict, actor: dict, policy: Policy,
            now: dt.datetime) -> dict:
    values = load_or_raise(ResolveIn(), request)
    ticket = _find(session, ticket_id, lock=True, teams=scope(actor))
    if ticket.status in DONE:
        raise errors.Conflict(f"This ticket is {ticket.status} already.",
                              code=exceptions.INVALID_STATUS_CHANGE)
    resolve_one(session, ticket, values["resolution"], history.agent_actor(actor), now)
    session.flush()
    return _agent_view(session, ticket, policy, now)


def close_expired(session: Session, policy: Policy, now: dt.datetime, limit: int = 500) -> int:
    """Resolved tickets past the reopen window become closed (each once: the UPDATE's
    condition)."""
    cutoff = now - dt.timedelta(days=policy.reopen_days)
    ids = list(session.scalars(select(Ticket.id).where(
        Ticket.status == "resolved", Ticket.resolved_at < cutoff).limit(limit)))
    if not ids:
        return 0
    closed = list(session.scalars(
        update(Ticket).where(Ticket.id.in_(ids), Ticket.status == "resolved")
        .values(status="closed", closed_at=now, updated_at=now).returning(Ticket.id)
        .execution_options(synchronize_session=False)))
    for ticket in session.scalars(select(Ticket).where(Ticket.id.in_(closed))
                                  .execution_options(populate_existing=True)):
        history.add(session, ticket, "closed", history.SYSTEM, now,
                    data={"from": "resolved", "to": "closed"})
        outbox.emit(session, events.TICKET_CLOSED, "ticket", event_entity(ticket), now)
    session.flush()
    return len(closed)
