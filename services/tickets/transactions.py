"""Where the tickets service's flows of more than one transaction begin and end: every commit
and rollback of tickets is in service.py or here. The modules flush; they never decide what is
one transaction.

Here: opening a ticket (no transaction held open while accounts and billing are asked for the
customer's context; a concurrent twin under the same key answered with its ticket), the
timer's escalation steps (one transaction per step, so one step's failure undoes no other) and
service credits (each claimed and committed before billing is asked, its answer recorded in a
transaction of its own), and whole teams: the row here, its members in accounts, its channels
in the notifier (the row committed before either is asked; what a failed step leaves is
undone, so a team exists whole or not at all).
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import errors, pages
from services.common.db import is_unique_violation
from services.tickets import escalation, exceptions, incidents, teams, tickets
from services.tickets.views import Policy

log = logging.getLogger(__name__)


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


# Teams ------------------------------------------------------------------------------------------
# A team flow is one RPC of its caller (the gateway), who waits RPC_TIMEOUT_SECONDS for it: as
# long as one of our calls may take. So the steps forward share the first half of it, and what
# they wrote is undone within most of the rest: when accounts or the notifier does not answer,
# the undo is over before the caller hears of the failure (and before it gives up).
FORWARD_SHARE, END_SHARE = 0.5, 0.9


class _Deadlines:
    def __init__(self, *proxies) -> None:
        timeout = max(proxy.timeout for proxy in proxies)
        started = time.monotonic()
        self.forward = started + timeout * FORWARD_SHARE
        self.end = started + timeout * END_SHARE


def _call(proxy, until: float, method: str, *args):
    return proxy.start(method, *args).wait(until)


def _parts(accounts, notifier, until: float, names: list[str],
           team: str | None = None) -> tuple[dict, dict]:
    """Members of `names` (accounts) and channels (notifier: of `team`, or all), asked in
    parallel: `({team: [member]}, {team: [channel]})`."""
    members = accounts.start("team_members", names)
    channels = notifier.start("list_channels", *([team] if team is not None else []))
    return members.wait(until), teams.channels_by_team(channels.wait(until))


def list_teams(session: Session, accounts, notifier) -> dict:
    """Every team, whole: the rows, then one call for the members of all and one for every
    team's channels (a team has a handful, and the list shows all teams)."""
    rows = teams.rows(session)
    session.commit()  # no transaction held open across the RPCs
    if not rows:
        return pages.whole([])
    members, channels = _parts(accounts, notifier, _Deadlines(accounts, notifier).end,
                               [t["name"] for t in rows])
    return pages.whole([teams.compose(t, members.get(t["name"], []),
                                      channels.get(t["name"], [])) for t in rows])


def get_team(session: Session, accounts, notifier, name: str) -> dict:
    """One team, whole; a missing one is NotFound before accounts or the notifier is asked."""
    team = teams.get(session, name)
    session.commit()
    members, channels = _parts(accounts, notifier, _Deadlines(accounts, notifier).end,
                               [name], name)
    return teams.compose(team, members.get(name, []), channels.get(name, []))


def _undo(what: str, step) -> None:
    try:
        step()
    except Exception:  # noqa: BLE001 - the original failure is what the caller must see
        log.exception("undoing a half-written team failed: %s", what)


def _undo_channels(notifier, until: float, channels: list[dict]) -> None:
    for channel in channels:
        _undo(f"channel {channel['id']}",
              lambda c=channel: _call(notifier, until, "delete_channel", c["id"]))


def _discard(session: Session, name: str) -> None:
    session.rollback()
    teams.discard(session, name)
    session.commit()


def create_team(session: Session, accounts, notifier, request: dict, now: dt.datetime) -> dict:
    """The whole request is validated and its members and lead checked (accounts) before the
    first write; then the row is committed here (a taken name is a 409 before anything else),
    then the members are set in accounts, then the channels made in the notifier. If a later
    step fails, what the earlier ones wrote is undone (each undo that fails is logged) and the
    failure answered: a team exists whole or not at all.

    Without `members`, agents who already list the team (an admin's role change) stay in it."""
    steps = _Deadlines(accounts, notifier)
    values = teams.load(request)
    teams.check_staff(accounts, values, steps.forward)  # no transaction open yet
    try:
        team = teams.create(session, teams.row(values), now)
        session.commit()  # the row first: no transaction held open across the RPCs
    except IntegrityError as exc:  # the same name, concurrently
        session.rollback()
        if not is_unique_violation(exc):
            raise
        raise errors.Conflict("A team with this name exists.", code=exceptions.TEAM_EXISTS,
                              fields={"name": ["is taken"]}) from None
    name = values["name"]
    created: list[dict] = []
    before: list[dict] | None = None
    try:
        members = _call(accounts, steps.forward, "team_members", [name]).get(name, [])
        if "members" in values:
            before = members
            members = _call(accounts, steps.forward, "set_team_members", name,
                            values["members"])
        for channel in values.get("channels") or []:
            created.append(_call(notifier, steps.forward, "create_channel", name, channel))
    except Exception:
        _undo_channels(notifier, steps.end, created)
        if before is not None:
            _undo(f"members of {name}", lambda: _call(
                accounts, steps.end, "set_team_members", name, [m["id"] for m in before]))
        _undo(f"team {name}", lambda: _discard(session, name))
        raise
    return teams.compose(team, members, created)


def _replace_channels(notifier, steps: _Deadlines, name: str, wanted: list[dict]) -> list[dict]:
    """The team's channels become `wanted`: the new ones are made first (so the team is never
    left without a way to be paged; if one fails, those made so far are removed and the old
    ones stay), then the old ones are removed."""
    old = _call(notifier, steps.forward, "list_channels", name)["data"]
    created: list[dict] = []
    try:
        for channel in wanted:
            created.append(_call(notifier, steps.forward, "create_channel", name, channel))
    except Exception:
        _undo_channels(notifier, steps.end, created)
        raise
    for channel in old:
        _call(notifier, steps.end, "delete_channel", channel["id"])
    return created


def update_team(session: Session, accounts, notifier, name: str, request: dict) -> dict:
    """Description and lead here (committed; a missing team is NotFound before anything
    changes), then the members if given (exactly these), then the channels if given (replaced,
    the new ones first). Members and the lead are checked before the first write."""
    steps = _Deadlines(accounts, notifier)
    values = teams.load(request, partial=True)
    teams.check_staff(accounts, values, steps.forward)  # no transaction open yet
    team = teams.update(session, name, teams.row(values))
    session.commit()  # before accounts and the notifier are asked
    if "members" in values:
        members = _call(accounts, steps.forward, "set_team_members", name, values["members"])
    else:
        members = _call(accounts, steps.forward, "team_members", [name]).get(name, [])
    if "channels" in values:
        channels = _replace_channels(notifier, steps, name, values["channels"])
    else:
        channels = _call(notifier, steps.forward, "list_channels", name)["data"]
    return teams.compose(team, members, channels)


def delete_team(session: Session, accounts, notifier, name: str) -> None:
    """A team still in use is refused (Conflict TEAM_IN_USE; a missing one NotFound) before
    anything changes; once its row is gone (committed), its members leave it and its channels
    are removed, so a team made later under the name starts empty."""
    steps = _Deadlines(accounts, notifier)
    teams.delete(session, name)
    session.commit()
    _call(accounts, steps.end, "set_team_members", name, [])
    for channel in _call(notifier, steps.end, "list_channels", name)["data"]:
        _call(notifier, steps.end, "delete_channel", channel["id"])
