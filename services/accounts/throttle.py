"""Throttling of failed attempts (logins, portal links), kept in the database so every
instance of the service shares it.

Per key, failures are counted in a sliding window; once a key reaches its limit it is blocked,
and each further failure doubles the block (capped). A success clears the account key.
Defaults: an account (by email, whether or not it exists, so answers do not reveal accounts)
gets 5 failures per 15 minutes, then 30 s, 60 s, … up to 15 min; a client address gets 30.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.accounts.models import ThrottleCounter


@dataclass(frozen=True)
class Limit:
    max_failures: int
    window: dt.timedelta
    base_block: dt.timedelta
    max_block: dt.timedelta


ACCOUNT_LIMIT = Limit(5, dt.timedelta(minutes=15), dt.timedelta(seconds=30),
                      dt.timedelta(minutes=15))
ADDRESS_LIMIT = Limit(30, dt.timedelta(minutes=15), dt.timedelta(minutes=1),
                      dt.timedelta(minutes=30))


def blocked_for(session: Session, keys: list[str], now: dt.datetime,
                lock: bool = False) -> float:
    """Seconds until every key is free again (0: not blocked). With `lock`, the counters are
    locked until the caller's transaction ends, so concurrent attempts on one key are counted
    one after the other instead of all passing the check at once (PostgreSQL)."""
    longest = 0.0
    for key in keys:
        counter = session.get(ThrottleCounter, key, with_for_update=lock or None)
        if counter and counter.blocked_until and counter.blocked_until > now:
            longest = max(longest, (counter.blocked_until - now).total_seconds())
    return longest


def block_duration(limit: Limit, failures: int) -> dt.timedelta | None:
    """Pure rule: how long a key with `failures` failures in the window is blocked."""
    if failures < limit.max_failures:
        return None
    doublings = min(failures - limit.max_failures, 20)
    return min(limit.base_block * (2 ** doublings), limit.max_block)


def record_failure(session: Session, key: str, limit: Limit, now: dt.datetime) -> None:
    counter = session.get(ThrottleCounter, key, with_for_update=True)
    if counter is None:
        try:
            with session.begin_nested():
                counter = ThrottleCounter(key=key, window_start=now, failures=0)
                session.add(counter)
        except IntegrityError:  # a concurrent first failure created it
            counter = session.get(ThrottleCounter, key, with_for_update=True,
                                  populate_existing=True)
    if now - counter.window_start > limit.window and not (
            counter.blocked_until and counter.blocked_until > now):
        counter.window_start = now
        counter.failures = 0
    counter.failures += 1
    block = block_duration(limit, counter.failures)
    if block:
        counter.blocked_until = now + block


def clear(session: Session, key: str) -> None:
    counter = session.get(ThrottleCounter, key)
    if counter is not None:
        session.delete(counter)
