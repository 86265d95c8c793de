"""Where notifier's units of work that take more than one transaction by design are sequenced:
sending deliveries. Every commit and rollback of notifier is in service.py or here; the modules
flush, they never decide what is one transaction.

A round (`send_due`, or `send_now` for deliveries just committed): deliveries left `sending`
by a stopped instance taken back (one transaction), due ones claimed (one transaction: they
turn `sending`, leased, and the commit lets go of their rows), each sent outside any
transaction, and its outcome recorded in its own short transaction; what the round has no time
left for (half the lease) is handed back unsent. See deliveries.py for the life of a delivery.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy.orm import Session

from services.notifier import deliveries
from services.notifier.deliveries import Outgoing

log = logging.getLogger(__name__)
T = TypeVar("T")


def _step(session: Session, step: Callable[..., T], *args) -> T:
    """`step(session, *args)` in its own transaction: committed, or rolled back if it fails."""
    try:
        result = step(session, *args)
        session.commit()
        return result
    except BaseException:
        session.rollback()
        raise


def _counts() -> dict:
    return {"sent": 0, "failed": 0, "dead": 0, "requeued": 0, "released": 0}


def send_due(session: Session, senders, now: dt.datetime, limit: int = 50) -> dict:
    """One round: take back abandoned claims, claim up to `limit` due deliveries (priority,
    then due time), send each and record its outcome.

    Commits (pass a session with nothing pending). Returns counts: `sent`, `failed` (will be
    retried), `dead` (gave up), `requeued` (abandoned claims taken back), `released` (claimed
    but handed back unsent because the round ran out of time)."""
    counts = _counts()
    counts["requeued"] = _step(session, deliveries.requeue_abandoned, now)
    if counts["requeued"]:
        log.warning("%s deliveries left sending by a stopped instance were taken back",
                    counts["requeued"])
    claimed = _step(session, deliveries.claim, now, limit)
    return _send_claimed(session, senders, claimed, now, counts)


def send_now(session: Session, senders, delivery_ids: Sequence[str], now: dt.datetime) -> dict:
    """An immediate attempt at deliveries just enqueued (and committed): those of
    `delivery_ids` that are still pending and due, and not claimed by another instance.
    Commits; returns `send_due`'s counts."""
    counts = _counts()
    ids = [i for i in dict.fromkeys(delivery_ids or ()) if isinstance(i, str)]
    if not ids:
        return counts
    claimed = _step(session, deliveries.claim, now, len(ids), ids)
    return _send_claimed(session, senders, claimed, now, counts)


def _send_claimed(session: Session, senders, claimed: list[Outgoing], now: dt.datetime,
                  counts: dict) -> dict:
    budget_ends = time.monotonic() + deliveries.LEASE.total_seconds() / 2
    down: dict[str, str] = {}  # scope → the error that showed it unreachable in this round
    for index, item in enumerate(claimed):
        if time.monotonic() > budget_ends:
            _step(session, deliveries.release, claimed[index:], now)
            counts["released"] += len(claimed) - index
            break
        error, permanent = deliveries.attempt(senders, item, down)
        status = _step(session, deliveries.record, item, now, error, permanent)
        counts["sent" if status == "sent" else "dead" if status == "dead" else "failed"] += 1
    return counts
