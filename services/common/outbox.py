"""The transactional outbox: events are rows committed with the change, then published.

`emit()` adds the event to the caller's session; it leaves the service only if that transaction
commits. `OutboxRelay` (run by the `Database` provider in every service process) publishes
unpublished rows in order to the service's topic exchange `<service>.events` (nameko's event
exchange, so `@event_handler("<service>", "<event_type>")` receives them) with publisher
confirms, and marks them published. If the broker is down the rows wait and the relay backs off;
if the process dies after the commit, the next relay to run publishes them. A message may be
published twice (crash between confirm and mark): consumers are idempotent on `event_id`.
"""

from __future__ import annotations

import datetime as dt
import logging

from kombu import Exchange
from nameko.amqp.publish import Publisher
from nameko.constants import PERSISTENT
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from services.common import green
from services.common.events import make_envelope
from services.common.kernel_tables import OutboxMessage

log = logging.getLogger(__name__)


def emit(session: Session, event_type: str, entity_name: str, entity: dict,
         now: dt.datetime) -> dict:
    """Record `event_type` with payload `{event_id, occurred_at, <entity_name>: entity}`."""
    envelope = make_envelope(entity_name, entity, now)
    session.add(OutboxMessage(event_id=envelope["event_id"], event_type=event_type,
                              payload=envelope, created_at=now, attempts=0))
    session.info["outbox_pending"] = True
    return envelope


def event_exchange(service_name: str) -> Exchange:
    return Exchange(f"{service_name}.events", type="topic", durable=True,
                    delivery_mode=PERSISTENT, auto_delete=False)


class OutboxRelay:
    def __init__(self, engine: Engine, amqp_uri: str, service_name: str,
                 poll_seconds: float = 1.0, batch_size: int = 100) -> None:
        self.engine = engine
        self.service_name = service_name
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.exchange = event_exchange(service_name)
        self.publisher = Publisher(
            amqp_uri, use_confirms=True, declare=[self.exchange], retry=True,
            retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.5,
                          "interval_max": 1})
        self._signal = green.Signal()
        self._running = False
        self.failures = 0

    def wake(self) -> None:
        self._signal.set()

    def stop(self) -> None:
        self._running = False
        self._signal.set()

    def run_once(self) -> int:
        """Publish one batch. Returns how many were published; raises if the broker refused.

        Rows are locked while published (`SKIP LOCKED` on PostgreSQL), so relays of several
        instances share the work instead of publishing the same rows.
        """
        published = 0
        with Session(self.engine) as session, session.begin():
            query = (select(OutboxMessage).where(OutboxMessage.published_at.is_(None))
                     .order_by(OutboxMessage.id).limit(self.batch_size))
            if self.engine.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            for message in session.scalars(query):
                try:
                    self.publisher.publish(message.payload, exchange=self.exchange,
                                           routing_key=message.event_type)
                except Exception as exc:  # noqa: BLE001 - any broker failure: keep the row
                    message.attempts += 1
                    message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    log.warning("outbox %s: publish of %s failed: %s", self.service_name,
                                message.event_id, message.last_error)
                    session.commit()
                    raise
                message.published_at = dt.datetime.now(dt.UTC)
                published += 1
        return published

    def run_forever(self) -> None:
        self._running = True
        backoff = 0.0
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
                backoff = min(max(backoff * 2, 0.5), 30.0)
                wait = backoff
                log.exception("outbox %s: relay round failed; retrying in %.1fs",
                              self.service_name, wait)
            if wait:
                self._signal.wait(wait)
