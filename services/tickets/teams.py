"""Ops teams: the tickets service's row (a name, the routing key word of its alerts; a
description; the lead), composed with its members (agents' accounts, the accounts service's)
and its alert channels (the notifier's). A whole team is answered here; the flows that write
the three parts (one transaction here, then accounts, then the notifier, undone on failure) are
in transactions.py.

The functions flush; the caller (service.py or transactions.py) commits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import errors, permissions
from services.common.clock import isoformat
from services.common.contract.tickets import Ref, TeamChange, TeamIn, TeamName
from services.common.schemas import StrictSchema, Text, load_or_raise
from services.tickets import exceptions
from services.tickets.models import RoutingRule, Setting, Team, Ticket


class TeamSchema(StrictSchema):
    """The tickets service's row of a team (its name is the contract's TeamName: one word of
    an alert's routing key)."""

    name = TeamName(required=True)
    description = Text(500)
    lead = Ref(allow_none=True)


ROW = ("name", "description", "lead")


def load(request: dict, partial: bool = False) -> dict:
    """A whole team's request (the contract's TeamIn; TeamChange, without the name, for a
    change): the row's fields, its members (exactly these staff accounts) and its channels (each
    as the notifier will load it), validated before anything is asked or written."""
    return load_or_raise(TeamChange() if partial else TeamIn(), request)


def row(values: dict) -> dict:
    """The tickets service's part of a whole team's request."""
    return {k: values[k] for k in ROW if k in values}


def check_staff(accounts, values: dict, until: float) -> None:
    """Members and the lead must be agent or admin accounts: asked of accounts (in parallel,
    outside any transaction) before anything is written, so a bad id is InvalidArgument and
    nothing is created or changed. (accounts checks members again when they are set.)"""
    members, lead = values.get("members") or [], values.get("lead")
    wanted = sorted(set(members) | ({lead} if lead else set()))
    if not wanted:
        return
    pending = {account_id: accounts.start("get_account", account_id)
               for account_id in wanted}
    not_staff = set()
    for account_id, reply in pending.items():
        try:
            role = reply.wait(until).get("role")
        except errors.NotFound:
            role = None
        if not permissions.is_staff(role):
            not_staff.add(account_id)
    problems = {}
    if bad := [m for m in sorted(set(members)) if m in not_staff]:
        problems["members"] = [f"{m} is not a staff account" for m in bad]
    if lead in not_staff:
        problems["lead"] = [f"{lead} is not a staff account"]
    if problems:
        raise errors.InvalidArgument(fields=problems)


def compose(team: dict, members: list[dict], channels: list[dict]) -> dict:
    """A whole team: the row as `dump` shows it, its members and its channels."""
    return {**team, "members": members, "channels": channels}


def channels_by_team(channels: dict) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for channel in channels["data"]:
        grouped.setdefault(channel["team"], []).append(channel)
    return grouped


def dump(team: Team) -> dict:
    return {"id": team.name, "name": team.name, "description": team.description,
            "lead": team.lead, "created_at": isoformat(team.created_at)}


def rows(session: Session) -> list[dict]:
    """Every team's row, by name."""
    return [dump(t) for t in session.scalars(select(Team).order_by(Team.name))]


def find(session: Session, name) -> Team:
    team = session.get(Team, name) if isinstance(name, str) else None
    if team is None:
        raise errors.NotFound("No such team.", code=exceptions.TEAM_NOT_FOUND)
    return team


def get(session: Session, name: str) -> dict:
    return dump(find(session, name))


def exists(session: Session, name: str) -> bool:
    return session.get(Team, name) is not None


def create(session: Session, request: dict, now: dt.datetime) -> dict:
    values = load_or_raise(TeamSchema(), request)
    if exists(session, values["name"]):
        raise errors.Conflict("A team with this name exists.", code=exceptions.TEAM_EXISTS,
                              fields={"name": ["is taken"]})
    team = Team(name=values["name"], description=values.get("description") or "",
                lead=values.get("lead"), created_at=now)
    session.add(team)
    session.flush()
    return dump(team)


def update(session: Session, name: str, request: dict) -> dict:
    values = load_or_raise(TeamSchema(partial=True), request)
    team = find(session, name)
    if values.get("name", name) != name:
        raise errors.InvalidArgument(fields={"name": ["cannot be changed"]})
    for field in ("description", "lead"):
        if field in values:
            setattr(team, field, values[field] or ("" if field == "description" else None))
    session.flush()
    return dump(team)


def delete(session: Session, name: str) -> None:
    """Only a team nothing points at: no rule routes to it, it is not the default route, and it
    has no open ticket."""
    team = find(session, name)
    used = session.scalar(select(RoutingRule.id).where(RoutingRule.team == name).limit(1))
    default = session.get(Setting, "default_route")
    open_ticket = session.scalar(select(Ticket.id).where(
        Ticket.team == name, Ticket.status.not_in(("resolved", "closed"))).limit(1))
    if used or open_ticket or (default and default.value.get("team") == name):
        raise errors.Conflict("Routing rules, the default route or open tickets still use this "
                              "team.", code=exceptions.TEAM_IN_USE)
    session.delete(team)
    session.flush()


def discard(session: Session, name: str) -> None:
    """Undo a team's row just created (a later step of its creation failed), whatever points at
    the name since."""
    team = session.get(Team, name)
    if team is not None:
        session.delete(team)
        session.flush()


