"""FAQ entries by category and language, searched by every word of `q` (in the question or
the answer, case-insensitive). A customer's language falls back to English.

The functions flush; the caller (the entrypoint in service.py) commits."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from services.common import errors, pages
from services.common.contract.tickets import SUPPORT_LANGUAGES, FaqIn
from services.common.ids import new_id
from services.common.schemas import load_or_raise
from services.tickets import exceptions
from services.tickets.models import FaqEntry


def dump(entry: FaqEntry) -> dict:
    return {"id": entry.id, "category": entry.category, "language": entry.language,
            "question": entry.question, "answer": entry.answer, "position": entry.position,
            "updated_at": entry.updated_at.isoformat()}


def search(session: Session, q: str | None, category: str | None, language: str | None,
           limit: int = 20) -> dict:
    if q is not None and (not isinstance(q, str) or len(q) > 200):
        raise errors.InvalidArgument(fields={"q": ["must be at most 200 characters"]})
    limit = max(1, min(int(limit or 20), 50))
    words = [w for w in (q or "").lower().split() if w][:10]
    query = select(FaqEntry)
    if category:
        query = query.where(FaqEntry.category == category)
    for word in words:
        query = query.where(or_(func.lower(FaqEntry.question).contains(word, autoescape=True),
                                func.lower(FaqEntry.answer).contains(word, autoescape=True)))
    wanted = language if language in SUPPORT_LANGUAGES else "en"
    rows = list(session.scalars(query.where(FaqEntry.language.in_({wanted, "en"}))
                                .order_by(FaqEntry.position, FaqEntry.question)
                                .limit(limit * 2)))
    own = [e for e in rows if e.language == wanted]
    chosen = own if own else [e for e in rows if e.language == "en"]
    return {"data": [dump(e) for e in chosen[:limit]]}


def listing(session: Session) -> dict:
    return pages.whole([dump(e) for e in session.scalars(
        select(FaqEntry).order_by(FaqEntry.category, FaqEntry.language, FaqEntry.position))])


def _find(session: Session, entry_id) -> FaqEntry:
    entry = session.get(FaqEntry, entry_id) if isinstance(entry_id, str) else None
    if entry is None:
        raise errors.NotFound("No such FAQ entry.", code=exceptions.FAQ_NOT_FOUND)
    return entry


def create(session: Session, request: dict, now: dt.datetime) -> dict:
    values = load_or_raise(FaqIn(), request)
    # `position` is optional in the request (0 when left out): given, it must not be passed twice
    entry = FaqEntry(id=new_id("faq"), created_at=now, updated_at=now, **{"position": 0, **values})
    session.add(entry)
    session.flush()
    return dump(entry)


def update(session: Session, entry_id: str, request: dict, now: dt.datetime) -> dict:
    values = load_or_raise(FaqIn(partial=True), request)
    entry = _find(session, entry_id)
    for name, value in values.items():
        setattr(entry, name, value)
    entry.updated_at = now
    session.flush()
    return dump(entry)


def delete(session: Session, entry_id: str) -> None:
    session.delete(_find(session, entry_id))
    session.flush()


