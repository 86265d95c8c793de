"""The event envelope and idempotent event handling.

Every event is `{"event_id", "occurred_at", "<entity>": {...}}` (STYLE.md, principle 5) and
leaves a service only through the outbox (`services.common.outbox.emit`). Consumers use
`event_handler` (redelivers on error instead of dropping) together with `@handles_once`, which
records the event id in `processed_events` in the same transaction as the handler's changes:
a second delivery of the same event finds the key taken and changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from nameko.events import SERVICE_POOL
from nameko.events import EventHandler as NamekoEventHandler
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.clock import isoformat
from services.common.correlation import correlation_id
from services.common.ids import new_id
from services.common.kernel_tables import ProcessedEvent
from services.common.rpc import RobustQueueConsumer, quorum_queue

log = logging.getLogger(__name__)


def make_envelope(entity_name: str, entity: dict, now: dt.datetime,
                  event_id: str | None = None) -> dict:
    """The envelope; inside a worker it also carries the work's `correlation_id` (the
    gateway's request id), so the consumers' log lines name the request that caused them."""
    envelope = {"event_id": event_id or new_id("evt"), "occurred_at": isoformat(now),
                entity_name: entity}
    current = correlation_id()
    if current:
        envelope["correlation_id"] = current
    return envelope


def claim_event(session: Session, consumer: str, event_id: str) -> bool:
    """Mark `event_id` as processed by `consumer` in the current transaction.

    False if it already was. On PostgreSQL a concurrent duplicate waits on the primary key until
    the first transaction ends, then sees it: one of two concurrent deliveries applies.
    """
    try:
        with session.begin_nested():
            session.add(ProcessedEvent(consumer=consumer, event_id=event_id,
                                       processed_at=dt.datetime.now(dt.UTC)))
        return True
    except IntegrityError:
        return False


def handles_once(fn: Callable[[Any, dict], Any]) -> Callable[[Any, dict], Any]:
    """Apply an event handler at most once per event id; the wrapper commits `self.db`.

    The wrapped handler does its work on `self.db` and must not commit: its changes and the
    processed-event mark commit together, or not at all.
    """
    consumer = fn.__qualname__

    @functools.wraps(fn)
    def wrapper(self, payload: dict) -> Any:
        session: Session = self.db
        event_id = payload.get("event_id") if isinstance(payload, dict) else None
        if not event_id:
            log.error("%s: event without event_id dropped: %r", consumer, payload)
            return None
        if not claim_event(session, consumer, event_id):
            session.rollback()
            log.info("%s: event %s already applied; skipped", consumer, event_id)
            return None
        result = fn(self, payload)
        session.commit()
        return result

    return wrapper


# Where events go that failed DELIVERY_LIMIT times (a handler that keeps raising on them): a
# fanout exchange and its quorum queue, declared by every service (`observability`). Operators
# are alerted when it holds anything; a message there is inspected and re-published by hand.
DEAD_LETTER_EXCHANGE = "portal.dead-letters"
DEAD_LETTER_QUEUE = "portal.dead-letters"
DELIVERY_LIMIT = 20
RETRY_MAX_SECONDS = 10.0
eventlet_sleep = time.sleep  # green under eventlet (monkey-patched); tests may replace it


class EventHandler(NamekoEventHandler):
    """nameko's event handler, with
    - a durable quorum queue per (service, handler) (SERVICE_POOL handlers: several processes
      of a service share it), whose messages go to the dead-letter queue after DELIVERY_LIMIT
      failed deliveries instead of looping forever; broadcast handlers (one transient queue per
      process, as the gateway's cache evictions) stay classic;
    - an acknowledgement that a lost connection cannot turn into a crash (the broker
      redelivers; handlers are idempotent on `event_id`)."""

    queue_consumer = RobustQueueConsumer()

    def setup(self) -> None:
        super().setup()
        if self.handler_type is SERVICE_POOL and self.reliable_delivery:
            self.queue = quorum_queue(
                self.queue.name, self.queue.exchange, self.event_type,
                **{"x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                   "x-delivery-limit": DELIVERY_LIMIT})

    def handle_message(self, body, message):
        """A redelivered event (its handler failed before) waits before it is handled again,
        0.5 s doubling to RETRY_MAX_SECONDS with each delivery, so a database that is down for
        a while does not burn through DELIVERY_LIMIT in a second: an event reaches the
        dead-letter queue only after ~2.5 minutes of failures. nameko runs this in a green
        thread of its own, before the worker (and its database session) exists."""
        deliveries = int((message.headers or {}).get("x-delivery-count") or 0)
        if deliveries:
            eventlet_sleep(min(0.5 * 2 ** (deliveries - 1), RETRY_MAX_SECONDS))
        super().handle_message(body, message)


def event_handler(source_service: str, event_type: str, **kwargs: Any):
    """The event handler every service uses: a handler that fails puts the event back on the
    queue (nameko's default drops it), up to DELIVERY_LIMIT times. Pair it with
    `@handles_once`."""
    kwargs.setdefault("requeue_on_error", True)
    return EventHandler.decorator(source_service, event_type, **kwargs)
