"""Idempotency keys for money-moving calls: the first outcome is stored and replayed.

`run_idempotent(session, scope=..., key=..., request=..., action=...)` inserts the key (unique
primary key `(scope, key)`) and runs `action` in the same transaction, then stores the response,
or the typed error the action raised, and commits. Outcomes:
- a new key: the action runs once; its result is returned and stored;
- a key seen with the same request: the stored result is returned (or the stored error raised)
  and the action does not run;
- a key seen with a different request: `Conflict(IDEMPOTENCY_KEY_REUSED)`;
- a retryable failure (`ServiceUnavailable`) is not stored: the key stays free for the retry.
Concurrent duplicates: on PostgreSQL the second insert waits on the key until the first
transaction ends, then replays its outcome; on SQLite writers are serialized. One effect.
The action must not commit; `run_idempotent` commits its work together with the record.

Card payments (billing) take another route, because their provider call must happen outside
any transaction: the payment row is their "once" (see services/billing/money/payments.py), and the
outcome is stored by `record()` in the transaction that completes the payment; a twin that
finds the payment completed already answers `stored()`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import errors
from services.common.db import Prepared
from services.common.kernel_tables import IdempotencyRecord

IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
MAX_KEY_LENGTH = 255


def fingerprint(request: Any) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _error_to_dict(exc: errors.ServiceError) -> dict:
    return {"kind": type(exc).__name__, "message": exc.message, "code": exc.code,
            "fields": exc.fields, "details": exc.details}


def _error_from_dict(data: dict) -> errors.ServiceError:
    kind = {k.__name__: k for k in errors.KINDS}.get(data.get("kind"), errors.ServiceError)
    return kind(data.get("message"), data.get("code"), data.get("fields"), data.get("details"))


def run_idempotent(session: Session, *, scope: str, key: str, request: Any,
                   action: Callable[[], Any], now: dt.datetime | None = None) -> Any:
    check_key(key)
    now = now or dt.datetime.now(dt.UTC)
    request_hash = fingerprint(request)
    if session.get(IdempotencyRecord, (scope, key)) is not None:  # a plain repeat: no insert
        return _replay(session, scope, key, request_hash)
    record = IdempotencyRecord(scope=scope, key=key, request_hash=request_hash, created_at=now)
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        return _replay(session, scope, key, request_hash)

    try:
        with session.begin_nested():
            response = action()
    except errors.ServiceUnavailable:
        session.rollback()  # a retryable failure is not an outcome: the retry runs again
        raise
    except errors.ServiceError as exc:
        record.error = _error_to_dict(exc)
        record.completed_at = now
        session.commit()
        raise
    record.response = response
    record.completed_at = now
    session.commit()
    return response


def _replay(session: Session, scope: str, key: str, request_hash: str) -> Any:
    session.rollback()  # end the transaction so we read what the first caller committed
    existing = session.get(IdempotencyRecord, (scope, key), populate_existing=True)
    if existing is None:  # pragma: no cover - the conflicting row vanished (pruned)
        raise errors.Conflict("The idempotency key is being reused; retry.",
                              code="IDEMPOTENCY_KEY_IN_USE")
    if existing.request_hash != request_hash:
        raise errors.Conflict(
            "This Idempotency-Key was already used with a different request.",
            code=IDEMPOTENCY_KEY_REUSED)
    if existing.error:
        raise _error_from_dict(existing.error)
    return existing.response


MISSING = object()  # `stored()`: no outcome under this key
_TABLE = IdempotencyRecord.__table__
_RECORD = Prepared(lambda insert: insert(_TABLE).on_conflict_do_nothing()
                   .returning(_TABLE.c.scope))
_STORED = select(_TABLE.c.request_hash, _TABLE.c.response, _TABLE.c.error).where(
    _TABLE.c.scope == bindparam("p_scope"), _TABLE.c.key == bindparam("p_key"))


def check_key(key: Any) -> None:
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise errors.InvalidArgument(
            fields={"idempotency_key": [f"must be 1 to {MAX_KEY_LENGTH} characters"]})


def record(session: Session, *, scope: str, key: str, request: Any, now: dt.datetime,
           response: Any = None, error: errors.ServiceError | None = None) -> bool:
    """Store an outcome in the caller's transaction (one INSERT … ON CONFLICT DO NOTHING).
    False when the key has one already (a concurrent twin stored it first; on PostgreSQL the
    INSERT waits for the twin's transaction): the caller then rolls back and answers
    `stored()`, so both answer the same."""
    return _RECORD.run(
        session, scope=scope, key=key, request_hash=fingerprint(request), created_at=now,
        completed_at=now, response=response,
        error=_error_to_dict(error) if error is not None else None).first() is not None


def stored(session: Session, scope: str, key: str, request: Any) -> Any:
    """The outcome stored under the key: its response, or its error raised; `MISSING` if
    none. A different request under the key is `Conflict(IDEMPOTENCY_KEY_REUSED)`."""
    row = session.execute(_STORED, {"p_scope": scope, "p_key": key}).first()
    if row is None:
        return MISSING
    if row.request_hash != fingerprint(request):
        raise errors.Conflict(
            "This Idempotency-Key was already used with a different request.",
            code=IDEMPOTENCY_KEY_REUSED)
    if row.error:
        raise _error_from_dict(row.error)
    return row.response
