"""Throttling of failed logins and portal-link exchanges (the mechanism is
services/common/throttle.py). An account (by email, whether or not it exists, so answers do not
reveal accounts) gets 5 failures per 15 minutes, then 30 s, 60 s, … up to 15 min; a client
address gets 30. The check is a plain read and a failure is counted atomically, so no lock
is held while a password is hashed (see services/common/throttle.py for the bound this keeps).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from services.accounts.models import ThrottleCounter
from services.common import throttle
from services.common.throttle import Limit, block_duration  # noqa: F401 - part of this API

ACCOUNT_LIMIT = Limit(5, dt.timedelta(minutes=15), dt.timedelta(seconds=30),
                      dt.timedelta(minutes=15))
ADDRESS_LIMIT = Limit(30, dt.timedelta(minutes=15), dt.timedelta(minutes=1),
                      dt.timedelta(minutes=30))


def blocked_for(session: Session, keys: list[str], now: dt.datetime) -> float:
    return throttle.blocked_for(session, ThrottleCounter, keys, now)


def record_failure(session: Session, key: str, limit: Limit,
                   now: dt.datetime) -> throttle.Failure:
    return throttle.record_failure(session, ThrottleCounter, key, limit, now)


def clear(session: Session, key: str) -> None:
    throttle.clear(session, ThrottleCounter, key)
