"""Tables the kernel adds to every service's own database.

They live in their own metadata so each service's schema stays its own; `Database` creates and
migrates them next to the service's tables (component name "kernel").
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.sqltypes import AutoId, UtcDateTime


class KernelBase(DeclarativeBase):
    pass


kernel_metadata = KernelBase.metadata


class SchemaVersion(KernelBase):
    """One row per schema component (the kernel, the service): the version it is at."""

    __tablename__ = "schema_versions"
    component: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    applied_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class OutboxMessage(KernelBase):
    """An event written in the same transaction as the change it describes.

    The relay publishes unpublished rows in `id` order with publisher confirms, then sets
    `published_at`. `event_id` is unique: the envelope's id, which consumers de-duplicate on.
    """

    __tablename__ = "outbox_messages"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    published_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_outbox_unpublished", "published_at", "id"),)


class ProcessedEvent(KernelBase):
    """Which consumer has applied which event: the primary key makes a handler apply it once."""

    __tablename__ = "processed_events"
    consumer: Mapped[str] = mapped_column(String(150), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    # housekeeping deletes by age (services.common.outbox.prune)
    __table_args__ = (Index("ix_processed_events_at", "processed_at"),)


class IdempotencyRecord(KernelBase):
    """The first outcome of a money-moving call, replayed for the same (scope, key)."""

    __tablename__ = "idempotency_records"
    scope: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    completed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    response: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[dict | None] = mapped_column(JSON)
