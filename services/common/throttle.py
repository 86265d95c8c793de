"""Throttling of failed attempts (logins and portal links in accounts, voucher guesses in
vouchers), kept in the service's database so every instance of it shares it.

Per key, failures are counted in a sliding window; once a key reaches its limit it is blocked,
and each further failure doubles the block (capped). A success clears the account key.
Each service has its own counter table (`ThrottleCounterColumns`) and its own `Limit`s.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Integer, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from services.common.sqltypes import UtcDateTime


@dataclass(frozen=True)
class Limit:
    max_failures: int
    window: dt.timedelta
    base_block: dt.timedelta
    max_block: dt.timedelta


class ThrottleCounterColumns:
    """Failed attempts per key in a window; mix into a service's declarative model."""

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


def blocked_for(session: Session, model: type, keys: list[str], now: dt.datetime,
                lock: bool = False) -> float:
    """Seconds until every key is free again (0: not blocked). With `lock`, the counters are
    locked until the caller's transaction ends, so concurrent attempts on one key are counted
    one after the other instead of all passing the check at once (PostgreSQL)."""
    longest = 0.0
    for key in keys:
        counter = session.get(model, key, with_for_update=lock or None)
        if counter and counter.blocked_until and counter.blocked_until > now:
            longest = max(longest, (counter.blocked_until - now).total_seconds())
    return longest


def block_duration(limit: Limit, failures: int) -> dt.timedelta | None:
    """Pure rule: how long a key with `failures` failures in the window is blocked."""
    if failures < limit.max_failures:
        return None
    doublings = min(failures - limit.max_failures, 20)
    return min(limit.base_block * (2 ** doublings), limit.max_block)


def record_failure(session: Session, model: type, key: str, limit: Limit,
                   now: dt.datetime) -> bool:
    """Count a failure; True when this failure starts a block (worth telling ops)."""
    counter = session.get(model, key, with_for_update=True)
    if counter is None:
        try:
            with session.begin_nested():
                counter = model(key=key, window_start=now, failures=0)
                session.add(counter)
        except IntegrityError:  # a concurrent first failure created it
            counter = session.get(model, key, with_for_update=True, populate_existing=True)
    if now - counter.window_start > limit.window and not (
            counter.blocked_until and counter.blocked_until > now):
        counter.window_start = now
        counter.failures = 0
    counter.failures += 1
    block = block_duration(limit, counter.failures)
    if block:
        was_blocked = counter.blocked_until is not None and counter.blocked_until > now
        counter.blocked_until = now + block
        return not was_blocked
    return False


def clear(session: Session, model: type, key: str) -> None:
    counter = session.get(model, key)
    if counter is not None:
        session.delete(counter)
