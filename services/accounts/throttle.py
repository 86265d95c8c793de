"""Throttling of failed logins, password checks and portal-link exchanges (the mechanism is
services/common/throttle.py). The check is a plain read and a failure is counted atomically, so
no lock is held while a password is hashed (see services/common/throttle.py for the bound).

Logins are counted per account and address pair, per account, and per address, with limits
chosen so that one shared address (an office, a carrier's NAT) cannot lock out everyone
behind it, nor one attacker lock out an account's owner from elsewhere:
- (account, address) — `PAIR_LIMIT`, 5 failures per 15 minutes: guessing one account's
  password from one place stops there, the owner elsewhere is not affected;
- account — `ACCOUNT_LIMIT`, 20: only guesses from many places lock the account itself;
- address — `ADDRESS_LIMIT`, 100: spraying many accounts from one place; 30 bad logins from
  a shared address lock out nobody but the accounts they were aimed at.
An account is its email, whether or not it exists, so answers do not reveal accounts. Blocks
start at 30 s and double up to 15 min. `CHECK_LIMIT` counts wrong current passwords on a
profile or password change (5 per 15 minutes per account), `SIGNUP_LIMIT` sign-ups per
address (10 an hour).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from services.accounts.models import ThrottleCounter
from services.common import throttle
from services.common.throttle import Limit, block_duration  # noqa: F401 - part of this API

PAIR_LIMIT = Limit(5, dt.timedelta(minutes=15), dt.timedelta(seconds=30),
                   dt.timedelta(minutes=15))
ACCOUNT_LIMIT = Limit(20, dt.timedelta(minutes=15), dt.timedelta(seconds=30),
                      dt.timedelta(minutes=15))
ADDRESS_LIMIT = Limit(100, dt.timedelta(minutes=15), dt.timedelta(minutes=1),
                      dt.timedelta(minutes=30))
CHECK_LIMIT = Limit(5, dt.timedelta(minutes=15), dt.timedelta(seconds=30),
                    dt.timedelta(minutes=15))
SIGNUP_LIMIT = Limit(10, dt.timedelta(hours=1), dt.timedelta(minutes=10),
                     dt.timedelta(hours=1))
PORTAL_LINK_LIMIT = Limit(30, dt.timedelta(minutes=15), dt.timedelta(minutes=1),
                          dt.timedelta(minutes=30))


def blocked_for(session: Session, keys: list[str], now: dt.datetime) -> float:
    return throttle.blocked_for(session, ThrottleCounter, keys, now)


def record_failure(session: Session, key: str, limit: Limit,
                   now: dt.datetime) -> throttle.Failure:
    return throttle.record_failure(session, ThrottleCounter, key, limit, now)


def clear(session: Session, key: str) -> None:
    throttle.clear(session, ThrottleCounter, key)
