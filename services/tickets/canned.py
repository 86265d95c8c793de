"""Canned replies: texts agents insert into a reply (and edit before sending), kept by
supervisors and admins per ticket category (or any category: `category` None) and language.
The desk asks for those of a ticket's category and its customer's language.

The functions flush; the caller (the entrypoint in service.py) commits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.common import errors, pages
from services.common.clock import isoformat
from services.common.contract.tickets import (
    SUPPORT_LANGUAGES,
    CannedReplyChange,
    CannedReplyIn,
)
from services.common.ids import new_id
from services.common.schemas import load_or_raise
from services.tickets import categories, exceptions
from services.tickets.models import CannedReply, Category

ORDER = pages.Order((CannedReply.title, CannedReply.id), descending=False)


def dump(reply: CannedReply) -> dict:
    return {"id": reply.id, "title": reply.title, "body": reply.body,
            "category": reply.category, "language": reply.language,
            "created_at": isoformat(reply.created_at), "updated_at": isoformat(reply.updated_at)}


def listing(session: Session, filters: dict | None, limit, cursor) -> dict:
    """A keyset page by title. `category`: that category's replies and those for any
    category; `language`: that language's."""
    filters = filters or {}
    query = select(CannedReply)
    language = filters.get("language")
    if language:
        if language not in SUPPORT_LANGUAGES:
            raise errors.InvalidArgument(fields={"language": [
                f"must be one of {', '.join(SUPPORT_LANGUAGES)}"]})
        query = query.where(CannedReply.language == language)
    if filters.get("category"):
        query = query.where(or_(CannedReply.category == filters["category"],
                                CannedReply.category.is_(None)))
    return pages.keyset(session, query, ORDER, limit, cursor, dump=dump)


def _find(session: Session, reply_id) -> CannedReply:
    reply = session.get(CannedReply, reply_id) \
        if isinstance(reply_id, str) and len(reply_id) <= 40 else None
    if reply is None:
        raise errors.NotFound("No such canned reply.", code=exceptions.CANNED_REPLY_NOT_FOUND)
    return reply


def _check_category(session: Session, values: dict) -> None:
    """The category exists (a fresh database gets its categories seeded first, as when a
    ticket is opened)."""
    code = values.get("category")
    if code is None:
        return
    if session.get(Category, code) is None:
        categories.seed(session)
        if session.get(Category, code) is None:
            raise errors.InvalidArgument(fields={"category": ["no such category"]})


def create(session: Session, request: dict, now: dt.datetime) -> dict:
    values = load_or_raise(CannedReplyIn(), request)
    _check_category(session, values)
    reply = CannedReply(id=new_id("cnr"), title=values["title"], body=values["body"],
                        category=values.get("category"), language=values["language"],
                        created_at=now, updated_at=now)
    session.add(reply)
    session.flush()
    return dump(reply)


def update(session: Session, reply_id: str, request: dict, now: dt.datetime) -> dict:
    values = load_or_raise(CannedReplyChange(partial=True), request)
    reply = _find(session, reply_id)
    _check_category(session, values)
    for name, value in values.items():
        setattr(reply, name, value)
    reply.updated_at = now
    session.flush()
    return dump(reply)


def delete(session: Session, reply_id: str) -> None:
    session.delete(_find(session, reply_id))
    session.flush()
