"""A small in-memory world for one service's rules: its own tables on SQLite in memory, created
and stamped as the service's `Database` provider does it (kernel tables and the outbox too), an
explicit TestClock, and the events its functions recorded, read back from the outbox in order.

The rules are called as plain functions with `world.session` and `world.now()`; nothing runs
nameko. (billing keeps its own world, with the real catalog in process: billing_world.py.)
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.clock import TestClock
from services.common.db import KERNEL, Component, make_engine, migrate
from services.common.kernel_tables import OutboxMessage


class World:
    def __init__(self, name: str, metadata, migrations=(), *,
                 start: dt.datetime) -> None:
        self.clock = TestClock(start)
        self.engine = make_engine("sqlite://")
        migrate(self.engine, [KERNEL, Component(name, metadata, migrations)])
        self.session = Session(self.engine, expire_on_commit=False)

    def now(self) -> dt.datetime:
        return self.clock.now()

    def advance(self, **delta: float) -> dt.datetime:
        return self.clock.advance(**delta)

    def events(self, event_type: str | None = None) -> list[tuple[str, dict]]:
        """(type, envelope) of every event recorded so far (committed or not), in order."""
        query = select(OutboxMessage.event_type, OutboxMessage.payload).order_by(
            OutboxMessage.id)
        if event_type is not None:
            query = query.where(OutboxMessage.event_type == event_type)
        return [(kind, payload) for kind, payload in self.session.execute(query)]

    def close(self) -> None:
        self.session.close()
        self.engine.dispose()
