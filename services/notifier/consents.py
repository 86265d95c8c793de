"""Consent to promotions: given or withdrawn by the customer, recorded with when and how.
Broadcasts of promotions reach only the customers who gave it (broadcasts.send_page); the
topic's channel preferences (inbox, e-mail) apply on top. Maintenance notices need none.

The functions flush, never commit: the entrypoint owns the transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import errors
from services.common.clock import isoformat
from services.common.db import dialect_insert
from services.notifier.models import Consent

PURPOSES = ("promotions",)
SOURCES = ("settings", "signup", "support", "import")
CHUNK = 1000


def _check(customer_id: object, purpose: object) -> None:
    if not isinstance(customer_id, str) or not 1 <= len(customer_id) <= 40:
        raise errors.InvalidArgument(fields={"customer_id": ["must be a customer id"]})
    if purpose not in PURPOSES:
        raise errors.InvalidArgument(fields={"purpose": [f"must be one of {list(PURPOSES)}"]})


def dump(purpose: str, found: Consent | None) -> dict:
    return {"purpose": purpose, "granted": bool(found and found.granted),
            "changed_at": isoformat(found.changed_at) if found else None,
            "source": found.source if found else None}


def of(session: Session, customer_id: str) -> list[dict]:
    """Each purpose's consent as recorded (never given: granted false, no date)."""
    found = {c.purpose: c for c in session.scalars(select(Consent).where(
        Consent.customer_id == customer_id))}
    return [dump(purpose, found.get(purpose)) for purpose in PURPOSES]


def record(session: Session, customer_id: str, purpose: str, granted: object, source: object,
           now: dt.datetime) -> dict:
    _check(customer_id, purpose)
    if not isinstance(granted, bool):
        raise errors.InvalidArgument(fields={"granted": ["must be true or false"]})
    source = source or "settings"
    if source not in SOURCES:
        raise errors.InvalidArgument(fields={"source": [f"must be one of {list(SOURCES)}"]})
    stmt = dialect_insert(session, Consent.__table__).values(
        customer_id=customer_id, purpose=purpose, granted=granted, changed_at=now,
        source=source)
    session.execute(stmt.on_conflict_do_update(
        index_elements=["customer_id", "purpose"],
        set_={"granted": stmt.excluded.granted, "changed_at": stmt.excluded.changed_at,
              "source": stmt.excluded.source}))
    return dump(purpose, session.get(Consent, (customer_id, purpose), populate_existing=True))


def consented(session: Session, customer_ids: Iterable[str], purpose: str) -> set[str]:
    """Which of these customers gave their consent to `purpose`."""
    ids, found = sorted(set(customer_ids)), set()
    for n in range(0, len(ids), CHUNK):
        found.update(session.scalars(select(Consent.customer_id).where(
            Consent.customer_id.in_(ids[n:n + CHUNK]), Consent.purpose == purpose,
            Consent.granted.is_(True))))
    return found
