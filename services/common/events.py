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
from collections.abc import Callable
from typing import Any

from nameko.events import event_handler as nameko_event_handler
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common.clock import isoformat
from services.common.ids import new_id
from services.common.kernel_tables import ProcessedEvent

log = logging.getLogger(__name__)


def make_envelope(entity_name: str, entity: dict, now: dt.datetime,
                  event_id: str | None = None) -> dict:
    return {"event_id": event_id or new_id("evt"), "occurred_at": isoformat(now),
            entity_name: entity}


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


def event_handler(source_service: str, event_type: str, **kwargs: Any):
    """nameko's event handler, but a handler that fails puts the event back on the queue
    (nameko's default drops it). Pair it with `@handles_once`."""
    kwargs.setdefault("requeue_on_error", True)
    return nameko_event_handler(source_service, event_type, **kwargs)
