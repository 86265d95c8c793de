"""Silences: ops mute a team's alerts or a rule's for a time window, with who and why (as in
Alertmanager). A silenced alert is not sent; the ticket's history says which silence held it.

The functions flush; the caller (the entrypoint in service.py) commits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.common import errors, pages
from services.common.clock import isoformat
from services.common.contract.tickets import SilenceIn
from services.common.ids import new_id
from services.common.schemas import load_or_raise
from services.tickets import exceptions
from services.tickets.models import Silence

MAX_LENGTH = dt.timedelta(days=90)


def dump(silence: Silence, now: dt.datetime) -> dict:
    return {"id": silence.id, "team": silence.team, "rule_id": silence.rule_id,
            "starts_at": isoformat(silence.starts_at), "ends_at": isoformat(silence.ends_at),
            "reason": silence.reason, "created_by": silence.created_by,
            "created_at": isoformat(silence.created_at),
            "active": silence.starts_at <= now < silence.ends_at}


LISTING_ORDER = pages.Order((Silence.ends_at, Silence.id))  # the longest-lasting first


def listing(session: Session, active_only: bool, now: dt.datetime, limit=pages.DEFAULT_LIMIT,
            cursor=None) -> dict:
    query = select(Silence)
    if active_only:
        query = query.where(Silence.starts_at <= now, Silence.ends_at > now)
    return pages.keyset(session, query, LISTING_ORDER, limit, cursor,
                        dump=lambda s: dump(s, now))


def create(session: Session, request: dict, actor: dict, now: dt.datetime) -> dict:
    values = load_or_raise(SilenceIn(), request)
    starts = values.get("starts_at") or now
    if values["ends_at"] <= now:
        raise errors.InvalidArgument(fields={"ends_at": ["must be in the future"]})
    if values["ends_at"] - starts > MAX_LENGTH:
        raise errors.InvalidArgument(fields={"ends_at": ["a silence lasts at most 90 days"]})
    silence = Silence(id=new_id("sil"), team=values.get("team"), rule_id=values.get("rule_id"),
                      starts_at=starts, ends_at=values["ends_at"], reason=values["reason"],
                      created_by=actor["id"], created_at=now)
    session.add(silence)
    session.flush()
    return dump(silence, now)


def expire(session: Session, silence_id: str, actor: dict, now: dt.datetime) -> dict:
    silence = session.get(Silence, silence_id) if isinstance(silence_id, str) else None
    if silence is None:
        raise errors.NotFound("No such silence.", code=exceptions.SILENCE_NOT_FOUND)
    if silence.ends_at > now:
        silence.ends_at = max(now, silence.starts_at)
        silence.reason = f"{silence.reason} (ended early by {actor.get('name') or actor['id']})"
        session.flush()
    return dump(silence, now)


def holding(session: Session, team: str, rule_ids: list[str], now: dt.datetime) -> str | None:
    """The id of an active silence that mutes an alert of `team` raised by one of `rule_ids`."""
    conditions = [Silence.team == team]
    if rule_ids:
        conditions.append(Silence.rule_id.in_(rule_ids))
    return session.scalar(select(Silence.id).where(
        or_(*conditions), Silence.starts_at <= now, Silence.ends_at > now).limit(1))
