"""Dismissed recommendations ("Not interested", for good) and the operator's switches for the
kinds of recommendation. Storage only: the rules are in recommendations.py and advice.py, which
call `dismissed(session, customer_id)` and `enabled_kinds(session)`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import errors
from services.common.db import dialect_insert
from services.insights import arguments
from services.insights.exceptions import UNKNOWN_RECOMMENDATION_KIND
from services.insights.models import DismissedRecommendation, RecommendationSetting

KINDS = ("unused_addon", "unused_package", "cheaper_package", "better_package", "top_up")
MAX_RECOMMENDATION_ID = 100


def dismiss(session: Session, customer_id: str, recommendation_id: object,
            now: dt.datetime) -> dict:
    """Hide the recommendation from the customer for good; dismissing twice is one row."""
    arguments.customer_id(customer_id)
    if not isinstance(recommendation_id, str) or not recommendation_id \
            or len(recommendation_id) > MAX_RECOMMENDATION_ID:
        raise errors.InvalidArgument(fields={"recommendation_id": [
            f"must be an id of 1 to {MAX_RECOMMENDATION_ID} characters"]})
    session.execute(dialect_insert(session, DismissedRecommendation.__table__).values(
        customer_id=customer_id, recommendation_id=recommendation_id, dismissed_at=now)
        .on_conflict_do_nothing(index_elements=["customer_id", "recommendation_id"]))
    return {"customer_id": customer_id, "recommendation_id": recommendation_id,
            "dismissed": True}


def dismissed(session: Session, customer_id: str) -> set[str]:
    """The ids of the recommendations the customer dismissed."""
    return set(session.scalars(select(DismissedRecommendation.recommendation_id).where(
        DismissedRecommendation.customer_id == customer_id)))


def kinds(session: Session) -> dict[str, bool]:
    """Every kind with its switch (on unless the operator turned it off)."""
    stored = {kind: enabled for kind, enabled in session.execute(
        select(RecommendationSetting.kind, RecommendationSetting.enabled))}
    return {kind: bool(stored.get(kind, True)) for kind in KINDS}


def enabled_kinds(session: Session) -> set[str]:
    return {kind for kind, on in kinds(session).items() if on}


def set_kinds(session: Session, changes: object) -> dict[str, bool]:
    """Switch the named kinds on or off (`{kind: bool}`; the others keep their switch). An
    unknown kind or a value that is not a boolean refuses the whole change."""
    if not isinstance(changes, dict) or not changes:
        raise errors.InvalidArgument(fields={"kinds": ["must name at least one kind"]})
    unknown = sorted(str(k) for k in changes if k not in KINDS)
    if unknown:
        raise errors.InvalidArgument(
            f"Unknown recommendation kinds: {', '.join(unknown)}.",
            code=UNKNOWN_RECOMMENDATION_KIND,
            fields={f"kinds.{k}": [f"must be one of {', '.join(KINDS)}"] for k in unknown})
    bad = sorted(k for k, v in changes.items() if not isinstance(v, bool))
    if bad:
        raise errors.InvalidArgument(fields={f"kinds.{k}": ["must be true or false"]
                                             for k in bad})
    for kind, enabled in sorted(changes.items()):
        stmt = dialect_insert(session, RecommendationSetting.__table__).values(
            kind=kind, enabled=enabled)
        session.execute(stmt.on_conflict_do_update(index_elements=["kind"],
                                                   set_={"enabled": stmt.excluded.enabled}))
    return kinds(session)
