"""What every service's part of the privacy rights shares (accounts orchestrates them:
services/accounts/privacy.py): the arguments of `export_customer` / `forget_customer`, one
forgetting of a customer at a time, and counting the rows a statement changed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.common import errors

PSEUDONYM_MAX = 200  # the longest pseudonym (a card holder's and history's name columns)
_LOCK_CLASS = 18  # the advisory lock's second key: issue 18's erasures


def check(customer_id: Any, pseudonym: Any = None, need_pseudonym: bool = False) -> str:
    """InvalidArgument (VALIDATION_FAILED with fields) for arguments the RPCs cannot take;
    answers the customer id."""
    bad = {}
    if not isinstance(customer_id, str) or not 1 <= len(customer_id) <= 40:
        bad["customer_id"] = ["must be 1 to 40 characters"]
    if need_pseudonym and (not isinstance(pseudonym, str) or not pseudonym.strip()
                           or len(pseudonym) > PSEUDONYM_MAX):
        bad["pseudonym"] = [f"must be a non-empty string of at most {PSEUDONYM_MAX} characters"]
    if bad:
        raise errors.InvalidArgument(fields=bad)
    return customer_id


def pseudonym(value: Any) -> str:
    """The pseudonym, stripped (InvalidArgument on the `pseudonym` field otherwise)."""
    check("-", value, need_pseudonym=True)
    return value.strip()


def lock_customer(session: Session, service: str, customer_id: str) -> None:
    """One forgetting of a customer at a time in this service, until the transaction ends
    (PostgreSQL's advisory lock; SQLite writes one at a time anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:c, :k))"),
                        {"c": f"{service}-forget:{customer_id}", "k": _LOCK_CLASS})


def changed(session: Session, statement) -> int:
    """Rows an UPDATE or DELETE changed (the session's objects are not synchronised)."""
    return session.execute(statement.execution_options(
        synchronize_session=False)).rowcount or 0
