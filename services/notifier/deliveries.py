"""The delivery engine: everything sent outside the portal, recorded, retried, dead-lettered.

A delivery is a row (`deliveries`) written in the transaction of whatever caused it
(`enqueue`: an event handler's notification, an alert, a broadcast), so nothing is sent for a
change that rolled back, and nothing is lost when the process dies after the commit.

Life of a delivery (`status`):
- `pending`: due at `next_attempt_at`. `send_due` (every notifier instance, on a timer) and
  `send_now` (right after an enqueue, for latency), both in transactions.py, claim due rows
  (`claim`): `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, so several instances share the
  work and never take the same row; the claimed rows turn `sending` and that commit ends the
  claim's transaction.
- `sending`: claimed. While sending, `next_attempt_at` holds the end of the claim's lease
  (claim time + `LEASE`, 1 minute): a row still `sending` after it was left by an instance that
  died mid-send, and the next `send_due` takes it back (counted as a failed attempt, because
  whether it went out is unknown). An instance stops sending a claimed batch after half the
  lease (real time) and hands the rest back unsent, so a live sender never outlasts its lease.
- Each claimed delivery is sent outside any transaction (`attempt`: no row lock or connection
  is held while a server is slow), then its outcome is recorded in its own short transaction
  (`record`):
  `sent` (`sent_at`), or a failure: `attempts` + 1, `last_error`, and `next_attempt_at` = now +
  `backoff(attempts)`; after `MAX_ATTEMPTS` failures (or a failure that cannot succeed, e.g. a
  malformed address) `dead`. `attempts` counts every attempt, the successful one included.
- `dead`: given up; ops list them (`page(status="dead")`) and `retry` them.

Backoff: exponential with *equal jitter*: the n-th failure waits `d/2 + uniform(0, d/2)` with
`d = min(BACKOFF_CAP, BACKOFF_BASE * 2**(n-1))`, i.e. 1-2 s, 2-4 s, 4-8 s, … up to 5-10 minutes.
Equal rather than full jitter: every retry waits at least half the step, so a server that is
down is not hit again at once, while the random half spreads a burst's retries apart. With
`MAX_ATTEMPTS` = 15 a delivery is retried for 34 to 67 minutes (50 on average) before it is
dead: SMTP or a webhook that is down for less than that delays deliveries, never loses them,
and a dead one waits for ops (`retry`).

When a server is unreachable (`DeliveryFailed.scope`: SMTP down, the broker gone, a webhook
host not answering), the rest of the round's deliveries to it fail with the same error without
being tried: a burst of a thousand e-mails costs one connection attempt, not a thousand timeouts.

At least once: a delivery is sent once per attempt, and recorded `sent` right after. A crash
(or a lost database connection) between a successful send and that commit makes the lease
expire and the delivery go out again. The dedup key travels with every message
(`X-Portal-Dedup-Key`; see `senders.py`) so a receiver can drop the repeat.

The functions here flush, never commit: each of the transactions above is one step of
`transactions.py` (claim, record, release, take back), and ops' `retry` is its RPC's.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import errors, pages
from services.common.clock import isoformat
from services.common.db import is_unique_violation
from services.common.ids import new_id
from services.notifier import exceptions
from services.notifier.models import Delivery
from services.notifier.senders import DeliveryFailed, redact_url, scope_of

log = logging.getLogger(__name__)

KINDS = ("customer", "alert", "broadcast")
CHANNELS = ("email", "webhook", "bus")
STATUSES = ("pending", "sending", "sent", "dead")
FAILING = "failing"  # a `page` filter: pending after at least one failed attempt

MAX_ATTEMPTS = 15
BACKOFF_BASE = 2.0  # seconds: the first step
BACKOFF_CAP = 600.0  # seconds: no step is longer than 10 minutes
# How long a claim holds before another instance takes it back: what a killed instance's
# deliveries wait (an alert paged a minute late, not five). A live sender stops after half of
# it, and one send is bounded by SMTP_TIMEOUT_SECONDS / WEBHOOK_TIMEOUT_SECONDS (10 s / 5 s).
LEASE = dt.timedelta(minutes=1)
ERROR_LIMIT = 1000  # characters of last_error kept
INTERRUPTED = "interrupted: the instance sending it stopped before recording the outcome"
ERASED = "[erased]"  # recipient, subject and body of a forgotten customer's e-mail (privacy.py)


def backoff(attempts: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after the `attempts`-th failed attempt (1 = the first): equal jitter,
    `d/2 + uniform(0, d/2)` with `d = min(BACKOFF_CAP, BACKOFF_BASE * 2**(attempts-1))`."""
    step = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (max(1, attempts) - 1))
    return step / 2 + (rng or random).uniform(0, step / 2)


def backoff_bounds(attempts: int) -> tuple[float, float]:
    """The shortest and longest wait `backoff(attempts)` can choose."""
    step = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (max(1, attempts) - 1))
    return step / 2, step


# enqueue ------------------------------------------------------------------------------------

def _row(*, kind: str, channel: str, target: str, subject: str, body: str, payload: dict | None,
         secret: str | None, dedup_key: str, now: dt.datetime, priority: int,
         customer_id: str | None, channel_id: str | None) -> dict:
    if kind not in KINDS:
        raise ValueError(f"unknown delivery kind {kind!r}")
    if channel not in CHANNELS:
        raise ValueError(f"unknown delivery channel {channel!r}")
    if not target or len(target) > 500:
        raise ValueError("a delivery target is 1 to 500 characters")
    if not dedup_key or len(dedup_key) > 300:
        raise ValueError("a delivery dedup_key is 1 to 300 characters")
    return {"id": new_id("dlv"), "kind": kind, "channel": channel, "target": target,
            "subject": (subject or "")[:300], "body": body or "", "payload": dict(payload or {}),
            "secret": secret, "dedup_key": dedup_key, "priority": int(priority),
            "status": "pending", "attempts": 0, "next_attempt_at": now, "last_error": None,
            "customer_id": customer_id, "channel_id": channel_id, "created_at": now,
            "sent_at": None}


def enqueue(session: Session, *, kind: str, channel: str, target: str, subject: str = "",
            body: str = "", payload: dict | None = None, secret: str | None = None,
            dedup_key: str, now: dt.datetime, priority: int = 0,
            customer_id: str | None = None, channel_id: str | None = None) -> str | None:
    """Add a pending delivery, due `now`, to the caller's transaction (the caller commits);
    its id, or None if a delivery with this `dedup_key` exists already (nothing is added).

    `kind`: customer | alert | broadcast; `channel`: email (target = address, `subject`,
    `body` as text, optional `payload["html"]`) | webhook (target = URL, JSON `payload`, signed
    with `secret`) | bus (target = routing key on `alerts`, JSON `payload`). `priority` 0 is sent
    before 1 (broadcasts). Raises ValueError for an unknown kind or channel (a bug)."""
    row = _row(kind=kind, channel=channel, target=target, subject=subject, body=body,
               payload=payload, secret=secret, dedup_key=dedup_key, now=now,
               priority=priority, customer_id=customer_id, channel_id=channel_id)
    delivery = Delivery(**row)
    try:
        with session.begin_nested():
            session.add(delivery)
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        return None
    # Flushed: the row is in the transaction. Out of the identity map, so a caller's session
    # never shows a stale copy after `send_now` changed the row with plain UPDATEs.
    session.expunge(delivery)
    return row["id"]


def enqueue_many(session: Session, items: Iterable[dict], now: dt.datetime) -> list[str]:
    """`enqueue` for many deliveries in one INSERT (a broadcast's batch): each item has
    `enqueue`'s keyword arguments but `now`. Items whose dedup key exists are skipped; the ids
    of the deliveries really added come back. The caller commits."""
    defaults = {"subject": "", "body": "", "payload": None, "secret": None, "priority": 0,
                "customer_id": None, "channel_id": None}
    rows = [_row(**{**defaults, **item, "now": now}) for item in items]
    if not rows:
        return []
    # the project's two databases (PostgreSQL, SQLite) both have ON CONFLICT … RETURNING
    insert = postgresql.insert if _is_postgres(session) else sqlite.insert
    stmt = (insert(Delivery.__table__).on_conflict_do_nothing(index_elements=["dedup_key"])
            .returning(Delivery.__table__.c.id))
    return list(session.execute(stmt, rows).scalars())


# sending ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Outgoing:
    """What a sender needs of a claimed delivery: a plain copy, so nothing touches the
    database (no lazy load, no implicit transaction) while the message is on its way."""

    id: str
    kind: str
    channel: str
    target: str
    subject: str
    body: str
    payload: dict
    secret: str | None
    dedup_key: str
    attempts: int

    @classmethod
    def of(cls, d) -> Outgoing:
        return cls(d.id, d.kind, d.channel, d.target, d.subject or "", d.body or "",
                   dict(d.payload or {}), d.secret, d.dedup_key, d.attempts or 0)


_OUTGOING_COLUMNS = (Delivery.id, Delivery.kind, Delivery.channel, Delivery.target,
                     Delivery.subject, Delivery.body, Delivery.payload, Delivery.secret,
                     Delivery.dedup_key, Delivery.attempts)


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def claim(session: Session, now: dt.datetime, limit: int,
          ids: Sequence[str] | None = None) -> list[Outgoing]:
    """Claim due pending deliveries (all, or among `ids`): `sending`, leased. The caller
    commits at once (the claim holds the rows until then), before sending any."""
    # Columns, not entities: the caller's session keeps no copy that the UPDATEs make stale.
    query = (select(*_OUTGOING_COLUMNS)
             .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
             .order_by(Delivery.priority, Delivery.next_attempt_at, Delivery.id)
             .limit(limit))
    if ids is not None:
        query = query.where(Delivery.id.in_(list(ids)))
    if _is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    claimed = [Outgoing.of(d) for d in session.execute(query).all()]
    if claimed:
        session.execute(update(Delivery)
                        .where(Delivery.id.in_([o.id for o in claimed]))
                        .values(status="sending", next_attempt_at=now + LEASE)
                        .execution_options(synchronize_session=False))
    return claimed


def requeue_abandoned(session: Session, now: dt.datetime) -> int:
    """Take back deliveries whose instance died mid-send (still `sending` after the lease);
    how many (the caller commits)."""
    attempts = Delivery.attempts + 1
    result = session.execute(
        update(Delivery)
        .where(Delivery.status == "sending", Delivery.next_attempt_at <= now)
        .values(status=case((attempts >= MAX_ATTEMPTS, "dead"), else_="pending"),
                attempts=attempts, last_error=INTERRUPTED, next_attempt_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


def record(session: Session, item: Outgoing, now: dt.datetime, error: str | None,
           permanent: bool = False) -> str:
    """Record one attempt's outcome (the caller commits it, on its own); the new status."""
    attempts = item.attempts + 1
    if error is None:
        values = {"status": "sent", "sent_at": now, "attempts": attempts}
    else:
        dead = permanent or attempts >= MAX_ATTEMPTS
        values = {"status": "dead" if dead else "pending", "attempts": attempts,
                  "last_error": error[:ERROR_LIMIT],
                  "next_attempt_at": now if dead else
                  now + dt.timedelta(seconds=backoff(attempts))}
    session.execute(update(Delivery)
                    .where(Delivery.id == item.id, Delivery.status == "sending")
                    .values(**values)
                    .execution_options(synchronize_session=False))
    return values["status"]


def release(session: Session, items: Sequence[Outgoing], now: dt.datetime) -> None:
    """Hand claimed deliveries back unsent (no attempt made): pending, due now (the caller
    commits)."""
    if items:
        session.execute(update(Delivery)
                        .where(Delivery.id.in_([o.id for o in items]),
                               Delivery.status == "sending")
                        .values(status="pending", next_attempt_at=now)
                        .execution_options(synchronize_session=False))


def attempt(senders, item: Outgoing, down: dict[str, str]) -> tuple[str | None, bool]:
    """Send one claimed delivery, outside any transaction: `(error, permanent)`, the error None
    when it went out. `down` maps each scope (a server) found unreachable in this round to the
    error that showed it: a delivery to one fails with that error without being tried, and a
    newly unreachable one is added."""
    scope = scope_of(item)
    if scope in down:
        return down[scope], False
    try:
        senders.send(item)
    except DeliveryFailed as exc:
        error = exc.message or type(exc).__name__
        if exc.scope:
            down[exc.scope] = error
        return error, exc.permanent
    except Exception as exc:  # noqa: BLE001 - a sender bug must not strand the batch
        log.exception("delivery %s: unexpected error from the sender", item.id)
        return f"unexpected {type(exc).__name__}: {exc}", False
    return None, False


# ops ----------------------------------------------------------------------------------------

def dump(delivery: Delivery) -> dict:
    """A delivery as ops see it: never the webhook secret, nor a webhook URL's path (where
    webhook credentials live), nor the payload and body (customer data)."""
    target = delivery.target
    if delivery.channel == "webhook":
        target = redact_url(target)
    return {"id": delivery.id, "kind": delivery.kind, "channel": delivery.channel,
            "target": target, "subject": delivery.subject or "", "status": delivery.status,
            "attempts": delivery.attempts or 0, "priority": delivery.priority or 0,
            "next_attempt_at": isoformat(delivery.next_attempt_at),
            "last_error": delivery.last_error, "created_at": isoformat(delivery.created_at),
            "sent_at": isoformat(delivery.sent_at), "dedup_key": delivery.dedup_key,
            "customer_id": delivery.customer_id, "channel_id": delivery.channel_id}


PAGE_ORDER = pages.Order((Delivery.created_at, Delivery.id))  # newest first


def page(session: Session, status: str | None = None, limit=50, cursor=None) -> dict:
    """Deliveries, newest first: `{"data", "has_more", "next_cursor"}`. `status`: pending,
    sending, sent, dead, or `failing` (pending after at least one failed attempt)."""
    if status is not None and status not in (*STATUSES, FAILING):
        raise errors.InvalidArgument(fields={"status": [
            f"must be one of {', '.join((*STATUSES, FAILING))}"]})
    query = select(Delivery)
    if status == FAILING:
        query = query.where(Delivery.status == "pending", Delivery.attempts > 0)
    elif status:
        query = query.where(Delivery.status == status)
    return pages.keyset(session, query, PAGE_ORDER, limit, cursor, dump=dump)


def retry(session: Session, delivery_id: str, now: dt.datetime) -> dict:
    """Ops: a dead or failing delivery back to pending, due now (a dead one starts its
    attempts again; `last_error` stays until the next outcome). The caller commits; the
    delivery.
    NotFound (DELIVERY_NOT_FOUND) if there is none; Conflict (DELIVERY_NOT_RETRYABLE) if it is
    sent, being sent, pending without a failure, or a forgotten customer's (`ERASED`)."""
    if not isinstance(delivery_id, str) or len(delivery_id) > 40:
        raise errors.NotFound("No such delivery.", code=exceptions.DELIVERY_NOT_FOUND)
    retryable = or_(Delivery.status == "dead",
                    (Delivery.status == "pending") & (Delivery.attempts > 0)) \
        & (Delivery.target != ERASED)
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, retryable)
        .values(status="pending", next_attempt_at=now,
                attempts=case((Delivery.status == "dead", 0), else_=Delivery.attempts))
        .execution_options(synchronize_session=False))
    delivery = session.get(Delivery, delivery_id, populate_existing=True)
    if delivery is None:
        raise errors.NotFound("No such delivery.", code=exceptions.DELIVERY_NOT_FOUND)
    if delivery.target == ERASED:  # its customer was forgotten
        raise errors.Conflict("The delivery's recipient was erased; it cannot be sent.",
                              code=exceptions.DELIVERY_NOT_RETRYABLE)
    if not result.rowcount:  # nothing changed
        raise errors.Conflict(f"The delivery is {delivery.status}; only dead or failing "
                              "deliveries can be retried.", code=exceptions.DELIVERY_NOT_RETRYABLE)
    return dump(delivery)
