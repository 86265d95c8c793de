"""Throttling of failed attempts (logins and portal links in accounts, voucher guesses in
vouchers), kept in the service's database so every instance of it shares it.

Per key, failures are counted in a sliding window; once a key reaches its limit it is blocked,
and each further failure after a block ends doubles the next block (capped). A success clears
the account key (logins). Each service has its own counter table (`ThrottleCounterColumns`) and
its own `Limit`s.

No lock is held across the work an attempt does (a password hash, a voucher redemption):
- the check (`blocked_for`) is a plain read, or a condition inside the caller's own statement;
- a failure is counted by one atomic statement (`INSERT … ON CONFLICT DO UPDATE … RETURNING`),
  which locks the counter row only until the caller commits its short failure transaction.
  While a key is blocked, a failure is refused and not counted (`Failure.counted` is False), so
  the answers to wrong attempts are exact whatever the concurrency: the first `max_failures`
  failures of a window are answered as failures, the one reaching the limit starts the block,
  every later one is refused as blocked.
The bound this keeps: attempts that were already past the check when the block started still
finish, so per key and window at most `max_failures - 1 + k` attempts are *tried* (a code looked
up, a password verified) before the block, `k` being the attempts on that key in flight at
that moment (at most the workers of the service's instances). Reserving an attempt before the
work would make that exact, at the price of a write on a shared row (a busy address) for every
attempt, right or wrong.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Integer, String, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
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


@dataclass(frozen=True)
class Failure:
    """What counting a failure did. `counted` False: the key was blocked already (by a
    concurrent failure), so this attempt is refused as blocked and not counted."""

    counted: bool
    failures: int
    blocked_until: dt.datetime | None
    started_block: bool  # this failure started a block: worth telling ops

    def wait(self, now: dt.datetime) -> float:
        """Seconds until the key is free again (0: not blocked)."""
        if self.blocked_until is None or self.blocked_until <= now:
            return 0.0
        return (self.blocked_until - now).total_seconds()


def blocked_for(session: Session, model: type, keys: list[str], now: dt.datetime) -> float:
    """Seconds until every key is free again (0: not blocked). A plain read: no lock."""
    if not keys:
        return 0.0
    until = session.scalar(select(model.blocked_until).where(
        model.key.in_(keys), model.blocked_until > now).order_by(
        model.blocked_until.desc()).limit(1))
    return (until - now).total_seconds() if until else 0.0


def block_duration(limit: Limit, failures: int) -> dt.timedelta | None:
    """Pure rule: how long a key with `failures` failures in the window is blocked."""
    if failures < limit.max_failures:
        return None
    doublings = min(failures - limit.max_failures, 20)
    return min(limit.base_block * (2 ** doublings), limit.max_block)


def _insert(session: Session):
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise NotImplementedError(f"throttle counters need INSERT … ON CONFLICT ({name})")


def record_failure(session: Session, model: type, key: str, limit: Limit,
                   now: dt.datetime) -> Failure:
    """Count a failure atomically, in the caller's transaction (commit it soon: the counter row
    stays locked until then, so concurrent failures of one key are counted one after the other).

    A key blocked right now is not counted (the attempt is refused as blocked). Otherwise a
    window older than `limit.window` starts again at this failure; reaching the limit sets the
    block (`block_duration`)."""
    table = model.__table__
    c = table.c
    blocked = c.blocked_until > now
    expired = c.window_start < now - limit.window
    upsert = _insert(session)(table).values(key=key, window_start=now, failures=1)
    upsert = upsert.on_conflict_do_update(index_elements=[c.key], set_={
        "failures": case((blocked, c.failures), (expired, 1), else_=c.failures + 1),
        "window_start": case((blocked, c.window_start), (expired, now), else_=c.window_start),
    }).returning(c.failures, c.blocked_until)
    failures, blocked_until = session.execute(upsert).one()
    if blocked_until is not None and blocked_until > now:
        return Failure(counted=False, failures=failures, blocked_until=blocked_until,
                       started_block=False)
    block = block_duration(limit, failures)
    if block is None:
        return Failure(counted=True, failures=failures, blocked_until=None, started_block=False)
    until = now + block
    session.execute(table.update().where(c.key == key).values(blocked_until=until))
    return Failure(counted=True, failures=failures, blocked_until=until, started_block=True)


def clear(session: Session, model: type, key: str) -> None:
    session.execute(delete(model).where(model.key == key))
