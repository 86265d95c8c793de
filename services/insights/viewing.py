"""Viewing reported by the TV platform, stored as daily aggregates, and the customer's choice.

A batch is `{batch_id, records: [{customer_id, channel, day, minutes}]}`. Each record ends in
exactly one of the answer's counts, checked in this order:
- `invalid`: not an object, a missing or malformed field, a day that is not `YYYY-MM-DD` or is
  later than tomorrow (UTC), minutes not a whole number from 0 to 1440;
- `too_old`: its day is older than the retention (`earliest_day`), so it would be deleted anyway;
- `unknown_customers`: accounts knows no customer with that id;
- `unknown_channels`: no active package or add-on of the catalog carries that channel;
- `opted_out`: the customer switched the use of their viewing off: dropped, never stored;
- `stored`: added to its (customer, channel, day) row.
So `records` = the sum of the six counts. Records of one (customer, channel, day) in a batch are
summed before they are stored: one row per key, one upsert per batch (set-based: PostgreSQL's
`INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE SET minutes = minutes + excluded`).
A late batch (days already reported) adds to its days.

Records are checked by hand rather than with a marshmallow schema: a batch holds up to 50,000
of them and a schema costs ~20 µs a record, more than storing it.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, text, tuple_
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from services.common import errors
from services.common.clock import isoformat
from services.common.db import dialect_insert
from services.insights import arguments
from services.insights.exceptions import INVALID_BATCH
from services.insights.models import ViewingBatch, ViewingChoice, ViewingDay

MAX_BATCH_ID = 100
MAX_RECORDS = 50_000
MAX_MINUTES = 24 * 60
MAX_CHANNEL = 100
DEFAULT_RETENTION_DAYS = 90
COUNTS = ("stored", "unknown_customers", "unknown_channels", "opted_out", "too_old", "invalid")
CHUNK = 5_000  # ids per IN (…) list
Row = tuple[str, str, dt.date, int]


def check_batch(batch_id: object, records: object) -> None:
    """The batch's shape: InvalidArgument(INVALID_BATCH) with field errors. Nothing is stored
    for a refused batch (its id stays free)."""
    problems = {}
    if not isinstance(batch_id, str) or not batch_id.strip() or len(batch_id) > MAX_BATCH_ID:
        problems["batch_id"] = [f"must be a text of 1 to {MAX_BATCH_ID} characters"]
    if not isinstance(records, list):
        problems["records"] = ["must be a list of records"]
    elif len(records) > MAX_RECORDS:
        problems["records"] = [f"at most {MAX_RECORDS} records per batch"]
    if problems:
        raise errors.InvalidArgument("The viewing batch is not valid.", code=INVALID_BATCH,
                                     fields=problems)


def earliest_day(today: dt.date, retention_days: int) -> dt.date:
    """The oldest day kept: rows (and records) of earlier days are gone (too_old)."""
    return today - dt.timedelta(days=retention_days)


@dataclass
class Parsed:
    rows: list[Row] = field(default_factory=list)  # well formed and recent enough
    invalid: int = 0
    too_old: int = 0


def parse(records: Iterable, today: dt.date, retention_days: int) -> Parsed:
    """Each record checked (see the module's docstring): the rows kept, and what was not."""
    earliest, latest = earliest_day(today, retention_days), today + dt.timedelta(days=1)
    days: dict[str, dt.date | None] = {}
    parsed = Parsed()
    for record in records:
        try:
            customer, channel = record["customer_id"], record["channel"]
            day_text, minutes = record["day"], record["minutes"]
        except (TypeError, KeyError):
            parsed.invalid += 1
            continue
        day = None
        if isinstance(day_text, str):
            if day_text not in days:
                days[day_text] = _day(day_text)
            day = days[day_text]
        if (day is None or day > latest or not isinstance(customer, str)
                or not 0 < len(customer) <= arguments.MAX_ID or not isinstance(channel, str)
                or not 0 < len(channel) <= MAX_CHANNEL or type(minutes) is not int
                or not 0 <= minutes <= MAX_MINUTES):
            parsed.invalid += 1
        elif day < earliest:
            parsed.too_old += 1
        else:
            parsed.rows.append((customer, channel, day, minutes))
    return parsed


def _day(value: str) -> dt.date | None:
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def sort_out(batch_id: str, total: int, parsed: Parsed, known_customers: set[str],
             known_channels: set[str], opted_out: set[str]
             ) -> tuple[dict, dict[tuple[str, str, dt.date], int]]:
    """The batch's answer and the minutes to add per (customer, channel, day)."""
    counts = dict.fromkeys(COUNTS, 0)
    counts["invalid"], counts["too_old"] = parsed.invalid, parsed.too_old
    minutes: dict[tuple[str, str, dt.date], int] = {}
    for customer, channel, day, spent in parsed.rows:
        if customer not in known_customers:
            counts["unknown_customers"] += 1
        elif channel not in known_channels:
            counts["unknown_channels"] += 1
        elif customer in opted_out:
            counts["opted_out"] += 1
        else:
            counts["stored"] += 1
            if spent:
                key = (customer, channel, day)
                minutes[key] = minutes.get(key, 0) + spent
    return {"batch_id": batch_id, "status": "accepted", "records": total, **counts}, minutes


def duplicate(outcome: dict) -> dict:
    """A repeated batch's answer: the first one's counts, status `duplicate`."""
    return {**outcome, "status": "duplicate"}


def earlier_outcome(session: Session, batch_id: str) -> dict | None:
    return session.scalar(select(ViewingBatch.outcome).where(ViewingBatch.batch_id == batch_id))


def claim_batch(session: Session, batch_id: str, outcome: dict, now: dt.datetime) -> bool:
    """Record the batch in the caller's transaction; False if it was recorded already. On
    PostgreSQL a concurrent twin's insert waits on the key until this transaction ends, then
    finds it taken (or takes it, if this one rolled back)."""
    stmt = (dialect_insert(session, ViewingBatch.__table__)
            .values(batch_id=batch_id, outcome=outcome, received_at=now)
            .on_conflict_do_nothing(index_elements=["batch_id"])
            .returning(ViewingBatch.batch_id))
    return session.execute(stmt).first() is not None


_UPSERT_PG = text(
    "INSERT INTO viewing_daily (customer_id, channel, day, minutes) "
    "SELECT r.customer_id, r.channel, r.day, r.minutes FROM unnest("
    "CAST(:customers AS VARCHAR[]), CAST(:channels AS VARCHAR[]), CAST(:days AS DATE[]), "
    "CAST(:minutes AS INTEGER[])) AS r(customer_id, channel, day, minutes) "
    # a withdrawal committed since the batch read the consents still wins
    "WHERE EXISTS (SELECT 1 FROM viewing_choices c WHERE c.customer_id = r.customer_id "
    "AND c.use_viewing) "
    # one lock order for every batch: two batches adding to the same days never deadlock
    "ORDER BY 1, 2, 3 "
    "ON CONFLICT (customer_id, channel, day) "
    "DO UPDATE SET minutes = viewing_daily.minutes + excluded.minutes")


def add_minutes(session: Session, minutes: dict[tuple[str, str, dt.date], int]) -> None:
    """Add the minutes to their rows, creating the missing ones: one statement on PostgreSQL
    (each column sent as one array), an executemany of the same upsert on SQLite."""
    if not minutes:
        return
    keys = sorted(minutes)
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_UPSERT_PG, {
            "customers": [k[0] for k in keys], "channels": [k[1] for k in keys],
            "days": [k[2] for k in keys], "minutes": [minutes[k] for k in keys]})
        return
    table = ViewingDay.__table__
    stmt = sqlite.insert(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["customer_id", "channel", "day"],
        set_={"minutes": table.c.minutes + stmt.excluded.minutes})
    session.execute(stmt, [{"customer_id": c, "channel": ch, "day": d, "minutes": minutes[
        (c, ch, d)]} for c, ch, d in keys])


# the customer's choice ------------------------------------------------------------------------

def opted_out(session: Session, customer_ids: Iterable[str]) -> set[str]:
    """Which of these customers have not consented to the use of their viewing (never asked,
    or withdrawn): their records are dropped, not stored."""
    ids, consented = sorted(set(customer_ids)), set()
    for n in range(0, len(ids), CHUNK):
        consented.update(session.scalars(select(ViewingChoice.customer_id).where(
            ViewingChoice.customer_id.in_(ids[n:n + CHUNK]),
            ViewingChoice.use_viewing.is_(True))))
    return set(ids) - consented


def uses_viewing(session: Session, customer_id: str) -> bool:
    """True only when the customer consented to the use of their viewing."""
    return session.scalar(select(ViewingChoice.use_viewing).where(
        ViewingChoice.customer_id == customer_id)) is True


def consent(session: Session, customer_id: str) -> dict:
    """The consent as recorded: given or not, when and how (None: never asked)."""
    choice = session.get(ViewingChoice, customer_id)
    return {"purpose": "viewing_recommendations", "granted": bool(choice and choice.use_viewing),
            "changed_at": isoformat(choice.changed_at) if choice else None,
            "source": choice.source if choice else None}


def set_use(session: Session, customer_id: str, enabled: bool, now: dt.datetime,
            source: str | None = None) -> int:
    """Record the consent, with when and how (`source`); withdrawing it deletes every stored
    day of the customer (answered: how many rows) and from then on their records are dropped
    (`opted_out`)."""
    arguments.customer_id(customer_id)
    arguments.strict_bool(enabled, "use_viewing")
    source = str(source or "settings")[:20]
    stmt = dialect_insert(session, ViewingChoice.__table__).values(
        customer_id=customer_id, use_viewing=enabled, changed_at=now, source=source)
    session.execute(stmt.on_conflict_do_update(
        index_elements=["customer_id"],
        set_={"use_viewing": stmt.excluded.use_viewing, "changed_at": stmt.excluded.changed_at,
              "source": stmt.excluded.source}))
    if enabled:
        return 0
    return session.execute(delete(ViewingDay).where(ViewingDay.customer_id == customer_id)
                           .execution_options(synchronize_session=False)).rowcount


def watched(session: Session, customer_id: str, start: dt.date, end: dt.date
            ) -> dict[str, dict]:
    """`{channel: {"minutes", "days"}}` the customer watched from `start` to `end` (exclusive);
    empty when they switched the use of their viewing off."""
    if not uses_viewing(session, customer_id):
        return {}
    rows = session.execute(
        select(ViewingDay.channel, func.sum(ViewingDay.minutes), func.count())
        .where(ViewingDay.customer_id == customer_id, ViewingDay.day >= start,
               ViewingDay.day < end, ViewingDay.minutes > 0)
        .group_by(ViewingDay.channel))
    return {channel: {"minutes": int(total), "days": int(days)} for channel, total, days in rows}


def view(session: Session, customer_id: str, days: object, today: dt.date,
         retention_days: int) -> dict:
    """What the customer sees: their choice, and minutes per channel over the last `days`
    days (at most the retention: older days are gone), most watched first."""
    arguments.customer_id(customer_id)
    if type(days) is not int or not 1 <= days <= 3660:
        raise errors.InvalidArgument(fields={"days": ["must be a whole number from 1 to 3660"]})
    days = min(days, retention_days)
    start, end = today - dt.timedelta(days=days - 1), today + dt.timedelta(days=1)
    channels = watched(session, customer_id, start, end)
    return {"use_viewing": uses_viewing(session, customer_id),
            "consent": consent(session, customer_id), "retention_days": retention_days,
            "start": start.isoformat(), "end": end.isoformat(),
            "channels": [{"channel": name, **figures} for name, figures in sorted(
                channels.items(), key=lambda item: (-item[1]["minutes"], item[0]))]}


# retention ---------------------------------------------------------------------------------

def prune_days(session: Session, earliest: dt.date, limit: int = CHUNK) -> int:
    """Delete up to `limit` rows of days before `earliest`; how many went."""
    doomed = (select(ViewingDay.customer_id, ViewingDay.channel, ViewingDay.day)
              .where(ViewingDay.day < earliest).limit(limit))
    return _delete_keys(session, doomed)


def prune_without_consent(session: Session, limit: int = CHUNK) -> int:
    """Delete up to `limit` rows of customers without consent: a batch that read the consent
    just before it was withdrawn may have stored a day after its delete, and days stored
    before consent was asked for (insights migration 2) go too."""
    consented = select(ViewingChoice.customer_id).where(ViewingChoice.use_viewing.is_(True))
    doomed = (select(ViewingDay.customer_id, ViewingDay.channel, ViewingDay.day)
              .where(ViewingDay.customer_id.not_in(consented)).limit(limit))
    return _delete_keys(session, doomed)


def _delete_keys(session: Session, doomed) -> int:
    if session.get_bind().dialect.name == "postgresql":
        doomed = doomed.with_for_update(skip_locked=True)  # instances share the work
    key = tuple_(ViewingDay.customer_id, ViewingDay.channel, ViewingDay.day)
    return session.execute(delete(ViewingDay).where(key.in_(doomed))
                           .execution_options(synchronize_session=False)).rowcount


def prune_batches(session: Session, received_before: dt.datetime, limit: int = CHUNK) -> int:
    """Forget batch ids received before `received_before`: every record such a batch can hold
    is older than the retention by then, so a repeat of it stores nothing (`too_old`)."""
    doomed = (select(ViewingBatch.batch_id).where(ViewingBatch.received_at < received_before)
              .limit(limit))
    return session.execute(delete(ViewingBatch).where(ViewingBatch.batch_id.in_(doomed))
                           .execution_options(synchronize_session=False)).rowcount


def batches_kept_until(now: dt.datetime, retention_days: int) -> dt.datetime:
    """Batch ids are kept two days longer than the days they may carry (a day up to tomorrow)."""
    return now - dt.timedelta(days=retention_days + 2)


# the channels the catalog sells, asked briefly ------------------------------------------------

class ChannelCache:
    """The union of the channels of the catalog's active packages and add-ons, kept `seconds`
    per process: a batch a second does not ask the catalog twice a second."""

    def __init__(self, seconds: float = 60.0, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.seconds, self.clock = seconds, clock
        self._channels: frozenset[str] | None = None
        self._until = 0.0
        self._lock = threading.Lock()

    def get(self, fetch: Callable[[], Iterable[str]]) -> frozenset[str]:
        if self._channels is not None and self.clock() < self._until:
            return self._channels
        channels = frozenset(fetch())  # a failure raises; the next call asks again
        with self._lock:
            self._channels, self._until = channels, self.clock() + self.seconds
        return channels

    def forget(self) -> None:
        self._channels = None

