"""Ops teams as the tickets service knows them: a name (the routing key word of its alerts),
a description, the lead. Members are agents' accounts (accounts service) and channels are the
notifier's; the gateway shows them together.

The functions flush; the caller (the entrypoint in service.py) commits."""

from __future__ import annotations

import datetime as dt

from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import errors
from services.common.clock import isoformat
from services.common.schemas import StrictSchema, Text, load_or_raise
from services.tickets import exceptions
from services.tickets.models import RoutingRule, Setting, Team, Ticket

# one word of a routing key `<team>.<severity>` (as the notifier's channels), short enough for
# its lead's pseudo-team `<team>-lead` to be one too
NAME = validate.Regexp(r"^[A-Za-z0-9_-]{1,59}$",
                       error="Must be 1 to 59 letters, digits, '-' or '_'.")


class TeamSchema(StrictSchema):
    name = fields.String(required=True, validate=NAME)
    description = Text(500)
    lead = Text(40, allow_none=True)


def dump(team: Team) -> dict:
    return {"id": team.name, "name": team.name, "description": team.description,
            "lead": team.lead, "created_at": isoformat(team.created_at)}


def listing(session: Session) -> dict:
    return {"data": [dump(t) for t in session.scalars(select(Team).order_by(Team.name))]}


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


