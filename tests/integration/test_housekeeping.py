"""Housekeeping of the kernel's tables, on PostgreSQL and on the SQLite default: published events
past their retention and old processed-event marks are deleted in batches; an unpublished event
never is, however old; the index it needs is there for a database made before it existed."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, insert, inspect, select, text

from services.common.db import KERNEL, make_engine, migrate
from services.common.kernel_tables import OutboxMessage, ProcessedEvent
from services.common.outbox import Retention, prune

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request, new_pg_url, tmp_path):
    url = new_pg_url() if request.param == "postgresql" else f"sqlite:///{tmp_path}/k.db"
    engine = make_engine(url)
    migrate(engine, [KERNEL])
    yield engine
    engine.dispose()


def add_events(engine, rows: list[tuple[int, dt.datetime | None]]) -> None:
    """rows: (how old in days, published_at or None)"""
    with engine.begin() as conn:
        for n, (age, published) in enumerate(rows):
            conn.execute(insert(OutboxMessage.__table__).values(
                event_id=f"evt_{n}_{age}_{published is not None}", event_type="x", payload={},
                created_at=NOW - dt.timedelta(days=age), published_at=published, attempts=0))


def count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar()


def test_published_events_and_marks_past_retention_go_unpublished_ones_stay(engine):
    old, recent = NOW - dt.timedelta(days=9), NOW - dt.timedelta(days=1)
    add_events(engine, [(10, old)] * 12 + [(2, recent)] * 3 + [(400, None)] * 2)
    with engine.begin() as conn:
        for n in range(7):
            conn.execute(insert(ProcessedEvent.__table__).values(
                consumer="c", event_id=f"old_{n}", processed_at=NOW - dt.timedelta(days=31)))
        conn.execute(insert(ProcessedEvent.__table__).values(
            consumer="c", event_id="recent", processed_at=NOW - dt.timedelta(days=29)))

    deleted = prune(engine, Retention(outbox_days=7, processed_events_days=30, batch=5), NOW)

    assert deleted == {"outbox_messages": 12, "processed_events": 7}  # in batches of 5
    table = OutboxMessage.__table__
    assert count(engine, table, table.c.published_at.is_(None)) == 2  # a year old, kept
    assert count(engine, table, table.c.published_at.is_not(None)) == 3
    marks = ProcessedEvent.__table__
    with engine.connect() as conn:
        assert conn.execute(select(marks.c.event_id)).scalars().all() == ["recent"]
    assert prune(engine, Retention(), NOW) == {"outbox_messages": 0, "processed_events": 0}


def test_an_existing_database_gets_the_index_housekeeping_needs(new_pg_url):
    engine = make_engine(new_pg_url())
    migrate(engine, [KERNEL])
    with engine.begin() as conn:  # as a database made before the index existed
        conn.execute(text("DROP INDEX ix_processed_events_at"))
        conn.execute(text("UPDATE schema_versions SET version = 1 WHERE component = 'kernel'"))
    migrate(engine, [KERNEL])
    indexes = {i["name"] for i in inspect(engine).get_indexes("processed_events")}
    assert "ix_processed_events_at" in indexes
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version FROM schema_versions WHERE component = "
                                 "'kernel'")).scalar() == 2
    engine.dispose()
