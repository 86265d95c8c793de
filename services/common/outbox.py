"""The transactional outbox: events are rows committed with the change, then published.

`emit()` adds the event to the caller's session; it leaves the service only if that transaction
commits. `OutboxRelay` (run by the `Database` provider in every service process) publishes
unpublished rows in order to the service's topic exchange `<service>.events` (nameko's event
exchange, so `@event_handler("<service>", "<event_type>")` receives them) with publisher
confirms, and marks them published. If the broker is down the rows wait and the relay backs off;
if the process dies after the commit, the next relay to run publishes them. A message may be
published twice (crash between confirm and mark): consumers are idempotent on `event_id`.

Housekeeping (`prune`, run by the relay every `HOUSEKEEPING_SECONDS`): published events older
than `OUTBOX_RETENTION_DAYS` and consumers' `processed_events` marks older than
`PROCESSED_EVENTS_RETENTION_DAYS` are deleted, in batches, so neither table grows with the
system's age (a million subscribers make millions of events a month). An unpublished event is
never deleted, whatever its age. A mark is kept far longer than any redelivery can come (the
broker's redeliveries are minutes apart, a republished event is one the outbox had not marked).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from dataclasses import dataclass

import amqp
from kombu import Connection, Exchange
from nameko.constants import PERSISTENT
from sqlalchemy import Engine, Text, cast, delete, insert, select, text, tuple_, update
from sqlalchemy.orm import Session

from services.common import bulk, green
from services.common.events import make_envelope
from services.common.kernel_tables import OutboxMessage, ProcessedEvent

log = logging.getLogger(__name__)


_INSERT_MESSAGE = insert(OutboxMessage.__table__)


def emit(session: Session, event_type: str, entity_name: str, entity: dict,
         now: dt.datetime) -> dict:
    """Record `event_type` with payload `{event_id, occurred_at, <entity_name>: entity}`.

    One Core INSERT at once (not an ORM object flushed later): on the money paths an event
    costs one statement, and the rows keep the order of the calls."""
    envelope = make_envelope(entity_name, entity, now)
    session.execute(_INSERT_MESSAGE, {"event_id": envelope["event_id"],
                                      "event_type": event_type, "payload": envelope,
                                      "created_at": now, "attempts": 0})
    session.info["outbox_pending"] = True
    return envelope


def emit_many(session: Session, event_type: str, entity_name: str, entities: list[dict],
              now: dt.datetime) -> list[dict]:
    """`emit` for many entities at once (the same envelopes), recorded by one INSERT: for a
    billing run's chunk, hundreds of events cost one statement instead of an ORM object each."""
    envelopes = [make_envelope(entity_name, entity, now) for entity in entities]
    if envelopes:
        bulk.insert_rows(session, OutboxMessage.__table__, [
            {"event_id": envelope["event_id"], "event_type": event_type, "payload": envelope,
             "created_at": now, "attempts": 0} for envelope in envelopes])
        session.info["outbox_pending"] = True
    return envelopes


def event_exchange(service_name: str) -> Exchange:
    return Exchange(f"{service_name}.events", type="topic", durable=True,
                    delivery_mode=PERSISTENT, auto_delete=False)


@dataclass(frozen=True)
class Retention:
    outbox_days: float = 7.0
    processed_events_days: float = 30.0
    every_seconds: float = 600.0  # how often a relay prunes (every process does; cheap)
    batch: int = 5000

    @classmethod
    def from_config(cls, config: dict) -> Retention:
        from services.common import config as keys

        def number(key: str, default: float) -> float:
            value = config.get(key)
            return default if value in (None, "") else float(value)

        return cls(number(keys.OUTBOX_RETENTION_DAYS, cls.outbox_days),
                   number(keys.PROCESSED_EVENTS_RETENTION_DAYS, cls.processed_events_days),
                   number(keys.HOUSEKEEPING_SECONDS, cls.every_seconds))


def prune(engine: Engine, retention: Retention, now: dt.datetime | None = None) -> dict:
    """Delete published events and processed-event marks past their retention, `batch` rows
    per transaction (short locks; on PostgreSQL rows another process is deleting are skipped).
    Returns how many rows went from each table."""
    now = now or dt.datetime.now(dt.UTC)
    outbox, marks = OutboxMessage.__table__, ProcessedEvent.__table__
    jobs = {
        "outbox_messages": (outbox, outbox.c.published_at.is_not(None)
                            & (outbox.c.published_at < now - dt.timedelta(
                                days=retention.outbox_days)), [outbox.c.id]),
        "processed_events": (marks, marks.c.processed_at < now - dt.timedelta(
            days=retention.processed_events_days), [marks.c.consumer, marks.c.event_id]),
    }
    deleted = {}
    for name, (table, old, key) in jobs.items():
        deleted[name] = 0
        while True:
            with engine.begin() as conn:
                chosen = select(*key).where(old).limit(retention.batch)
                if engine.dialect.name == "postgresql":
                    chosen = chosen.with_for_update(skip_locked=True)
                if len(key) == 1:
                    done = conn.execute(delete(table).where(key[0].in_(chosen))).rowcount
                else:
                    done = conn.execute(delete(table).where(
                        tuple_(*key).in_(chosen))).rowcount
            deleted[name] += done
            if done < retention.batch:
                break
    if any(deleted.values()):
        log.info("housekeeping: deleted %s", deleted)
    return deleted


# The longest pause between failed relay rounds: events move again within seconds of the
# broker's return (a commit also wakes the relay at once).
RELAY_BACKOFF_MAX_SECONDS = 5.0


class Unconfirmed(Exception):
    """The broker refused (nack) or did not confirm a message in time."""


class OutboxRelay:
    """Publishes a service's outbox. A round takes up to `batch_size` unpublished rows in `id`
    order (locked `SKIP LOCKED` on PostgreSQL, so the relays of several instances share the work),
    publishes them all on one channel in confirm mode, waits until the broker has confirmed
    every one (pipelined: one round trip per batch, not per message), then marks the confirmed
    rows published with one UPDATE. A row is marked only after its confirm; a row the broker
    refused or did not confirm, or every row of a round whose connection failed, gets
    `attempts` + 1 and `last_error`, stays unpublished, and the round raises (the loop backs off).
    """

    def __init__(self, engine: Engine, amqp_uri: str, service_name: str,
                 poll_seconds: float = 1.0, batch_size: int = 500,
                 confirm_timeout: float = 30.0, retention: Retention | None = None) -> None:
        self.engine = engine
        self.amqp_uri = amqp_uri
        self.service_name = service_name
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.confirm_timeout = confirm_timeout
        self.retention = retention or Retention()
        self._next_prune = time.monotonic() + 60  # not during start-up
        self.exchange = event_exchange(service_name)
        self._connection: Connection | None = None
        self._channel: amqp.Channel | None = None
        self._next_tag = 1  # the broker's delivery tag of the next publish on the channel
        self._unconfirmed: set[int] = set()
        self._nacked: set[int] = set()
        self._signal = green.Signal()
        self._running = False
        self.failures = 0  # consecutive failed rounds
        self.published_total = 0  # for the metrics (portal_outbox_published_total)
        self.failed_total = 0

    def wake(self) -> None:
        self._signal.set()

    def stop(self) -> None:
        self._running = False
        self._signal.set()

    def close(self) -> None:
        """Drop the broker connection (the next round opens a new one)."""
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):  # it is being dropped anyway
                connection.release()

    # publishing ----------------------------------------------------------------------------

    def _connect(self) -> amqp.Channel:
        """The relay's channel, in confirm mode, kept from round to round."""
        if self._channel is None:
            connection = Connection(self.amqp_uri, connect_timeout=5)
            try:
                channel = connection.channel()
                channel.confirm_select()
                channel.events["basic_ack"].add(self._on_ack)
                channel.events["basic_nack"].add(self._on_nack)
                self.exchange(channel).declare()
            except BaseException:
                connection.release()
                raise
            self._connection, self._channel, self._next_tag = connection, channel, 1
        return self._channel

    def _on_ack(self, tag: int, multiple: bool) -> None:
        if multiple:
            self._unconfirmed = {t for t in self._unconfirmed if t > tag}
        else:
            self._unconfirmed.discard(tag)

    def _on_nack(self, tag: int, multiple: bool) -> None:
        refused = {t for t in self._unconfirmed if t <= tag} if multiple else {tag}
        self._nacked |= refused & self._unconfirmed
        self._unconfirmed -= refused

    def _publish_confirmed(self, messages: list) -> set[int]:
        """Publish `messages` (rows: id, event_type, payload as JSON text), then wait for the
        broker's confirms; the ids of the messages it confirmed (raises if the connection
        failed or the confirms did not all come within `confirm_timeout`)."""
        channel = self._connect()
        tags = {}
        self._unconfirmed, self._nacked = set(), set()
        for message in messages:
            tag, self._next_tag = self._next_tag, self._next_tag + 1
            tags[tag] = message.id
            self._unconfirmed.add(tag)
            # what kombu's Producer sends for a JSON body (without its per-message overhead)
            channel.basic_publish(
                amqp.Message(message.payload.encode(), content_type="application/json",
                             content_encoding="utf-8", application_headers={}, priority=0,
                             delivery_mode=PERSISTENT),
                exchange=self.exchange.name, routing_key=message.event_type)
        deadline = time.monotonic() + self.confirm_timeout
        while self._unconfirmed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise Unconfirmed(f"{len(self._unconfirmed)} message(s) not confirmed within "
                                  f"{self.confirm_timeout:.0f}s")
            try:
                self._connection.drain_events(timeout=remaining)
            except TimeoutError:
                continue
        return {message_id for tag, message_id in tags.items() if tag not in self._nacked}

    def _publish_with_one_reconnect(self, messages: list) -> set[int]:
        """A connection kept from an earlier round may have died meanwhile (a broker restart):
        then the batch is published once more on a fresh one. Nothing is marked unless
        confirmed, so a message published twice is only a duplicate, which consumers ignore."""
        kept = self._channel is not None
        try:
            return self._publish_confirmed(messages)
        except Unconfirmed:
            self.close()
            raise
        except Exception:
            self.close()
            if not kept:
                raise
        try:
            return self._publish_confirmed(messages)
        except Exception:
            self.close()
            raise

    def run_once(self) -> int:
        """Publish one batch. Returns how many were published; raises if the broker refused.

        Rows are locked while published (`SKIP LOCKED` on PostgreSQL), so relays of several
        instances share the work instead of publishing the same rows.
        """
        table = OutboxMessage.__table__
        with Session(self.engine) as session, session.begin():
            # ordered as the index (published_at, id) is, all NULL here: the same order as id
            query = (select(table.c.id, table.c.event_type,
                            cast(table.c.payload, Text).label("payload"))
                     .where(table.c.published_at.is_(None))
                     .order_by(table.c.published_at, table.c.id).limit(self.batch_size))
            if self.engine.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
                # Walk that index and stop after a batch. Left to itself, the planner, whose
                # statistics lag a burst of events, bitmap-scans every unpublished row and
                # sorts them all, for each batch (a hundred thousand rows: ~100 ms a batch).
                session.execute(text("SELECT set_config('enable_bitmapscan', 'off', true), "
                                     "set_config('enable_sort', 'off', true)"))
            messages = session.execute(query).all()
            if not messages:
                return 0
            ids = [m.id for m in messages]
            try:
                confirmed = self._publish_with_one_reconnect(messages)
            except Exception as exc:  # noqa: BLE001 - any broker failure: keep the rows
                self._record_failure(session, ids, f"{type(exc).__name__}: {exc}")
                session.commit()
                raise
            if confirmed:
                session.execute(update(table).where(table.c.id.in_(confirmed))
                                .values(published_at=dt.datetime.now(dt.UTC)))
            self.published_total += len(confirmed)
            refused = [i for i in ids if i not in confirmed]
            if refused:
                self._record_failure(session, refused, "Unconfirmed: the broker refused it")
                session.commit()
                raise Unconfirmed(f"the broker refused {len(refused)} message(s)")
        return len(confirmed)

    def _record_failure(self, session: Session, ids: list[int], error: str) -> None:
        table = OutboxMessage.__table__
        session.execute(update(table).where(table.c.id.in_(ids))
                        .values(attempts=table.c.attempts + 1, last_error=error[:2000]))
        log.warning("outbox %s: publish of %d message(s) failed: %s", self.service_name,
                    len(ids), error)

    def _housekeeping(self) -> None:
        if time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + self.retention.every_seconds
        try:
            prune(self.engine, self.retention)
        except Exception:  # noqa: BLE001 - a database outage: next time
            log.exception("outbox %s: housekeeping failed", self.service_name)

    def run_forever(self) -> None:
        self._running = True
        backoff = 0.0
        try:
            while self._running:
                wait = self.poll_seconds
                try:
                    published = self.run_once()
                    backoff = 0.0
                    self.failures = 0
                    if published >= self.batch_size:
                        wait = 0
                except Exception:  # noqa: BLE001 - the relay must outlive broker and DB outages
                    self.failures += 1
                    self.failed_total += 1
                    backoff = min(max(backoff * 2, 0.5), RELAY_BACKOFF_MAX_SECONDS)
                    wait = backoff
                    log.exception("outbox %s: relay round failed; retrying in %.1fs",
                                  self.service_name, wait)
                self._housekeeping()
                if wait:
                    self._signal.wait(wait)
        finally:
            self.close()
