"""The database kernel: one engine per service, a session per worker, schema migrations.

Migration scheme (documented in docs/architecture.md):
- Each service declares its SQLAlchemy metadata and an ordered list of `Migration`s; the kernel
  adds its own tables as component "kernel". The table `schema_versions` holds each component's
  version.
- A **fresh** database gets `create_all` of the current models and is stamped with the newest
  version (the models *are* the newest schema). An **existing** database gets every migration
  newer than its version, in order, inside one transaction, under a lock, so two instances that
  start together migrate once. Data is kept: migrations alter tables, they never recreate them.
- A database newer than the code refuses to start (no silent downgrade).
Migrations receive Alembic's `Operations`, so DDL is portable (and SQLite's batch mode works).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
import weakref
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from alembic.migration import MigrationContext
from alembic.operations import Operations
from nameko.extensions import DependencyProvider
from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    create_engine,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool, StaticPool

from services.common import config as keys
from services.common.kernel_tables import SchemaVersion, kernel_metadata

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    upgrade: Callable[[Operations, Connection], None]


@dataclass(frozen=True)
class Component:
    name: str
    metadata: MetaData
    migrations: Sequence[Migration] = field(default_factory=tuple)

    @property
    def latest(self) -> int:
        return max((m.version for m in self.migrations), default=1)


def add_columns(ops: Operations, conn: Connection, tables, column_of) -> None:
    """Add `column_of()` (a new Column each time) to each of `tables` that lacks it: a
    migration's usual step, safe on a table created (or rewound, in tests) with it already."""
    found = inspect(conn)
    for table in tables:
        column = column_of()
        if column.name not in {c["name"] for c in found.get_columns(table)}:
            ops.add_column(table, column)


def _index_processed_events(ops: Operations, conn: Connection) -> None:
    ops.create_index("ix_processed_events_at", "processed_events", ["processed_at"])


KERNEL = Component("kernel", kernel_metadata, (
    Migration(2, "processed_events.processed_at indexed for housekeeping",
              _index_processed_events),))


class SchemaTooNew(RuntimeError):
    pass


def normalize_url(url: str) -> str:
    """`postgresql://…` means psycopg2 here (greened by eventlet; SQLAlchemy 2.1's default
    driver for that scheme is psycopg 3, which blocks the eventlet hub)."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg2://" + url[len(scheme):]
    return url


def make_engine(url: str, pool_size: int = 10) -> Engine:
    """An engine tuned for its dialect.

    SQLite (the local default): one connection per process, so green threads queue for it
    instead of spinning in SQLite's busy handler (which would block the whole eventlet hub);
    WAL; every transaction `BEGIN IMMEDIATE` so a read-then-write never deadlocks another
    process. PostgreSQL: a pool sized to the worker count, with pre-ping.
    """
    if url.startswith("sqlite"):
        in_memory = url in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            url,
            poolclass=StaticPool if in_memory else QueuePool,
            connect_args={"check_same_thread": False, "timeout": 30},
            **({} if in_memory else {"pool_size": 1, "max_overflow": 0, "pool_timeout": 60}),
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
            cursor = dbapi_connection.cursor()
            for pragma in ("journal_mode=WAL", "foreign_keys=ON", "busy_timeout=30000",
                           "synchronous=NORMAL"):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    engine = create_engine(normalize_url(url), pool_size=pool_size, max_overflow=pool_size)
    _ping_when_idle(engine)
    return engine


PING_AFTER_IDLE_SECONDS = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it sat idle for a while.

    SQLAlchemy's `pool_pre_ping` pings on every checkout: a round trip per transaction, a
    twentieth of a top-up's CPU. A connection that was used a moment ago is alive; one that
    sat idle may have been cut (a database restart, a firewall's idle timeout). Such a
    connection fails the ping and is replaced before the caller sees it. A restart in the few
    seconds after a use still fails that connection's next statement; SQLAlchemy then drops
    every pooled connection made before it, so only the one call fails (503-style)."""

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, record, _proxy):
        now = time.monotonic()
        last = record.info.get("last_used", now)
        record.info["last_used"] = now
        if now - last < PING_AFTER_IDLE_SECONDS:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception as exc:  # noqa: BLE001 - any failure: the connection is gone
            raise DisconnectionError(f"an idle connection failed its ping: {exc}") from exc

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection, record):
        if record is not None:
            record.info["last_used"] = time.monotonic()


class Refused(Exception):  # noqa: N818 - it carries the error; it is not one itself
    """A refusal whose writes must outlive it (a failure counted against a throttle, its audit
    entry). A module raises it (it never commits); `unit_of_work` commits what was written,
    then raises `error`, the typed error the caller sees."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


@contextlib.contextmanager
def unit_of_work(session: Session, keep: tuple[type[BaseException], ...] = ()
                 ) -> Iterator[Session]:
    """An entrypoint's transaction, the one way every service ends its work: committed when
    the block ends, rolled back if it raises. `Refused` commits, then raises its error; an
    exception of a `keep` type commits what was flushed before it goes on (a refusal that
    counted a wrong guess). The modules inside flush; they never commit."""
    try:
        yield session
    except Refused as refused:
        session.commit()
        raise refused.error from None
    except keep:
        session.commit()
        raise
    except BaseException:
        session.rollback()
        raise
    session.commit()


def snapshot(session: Session) -> None:
    """Read what follows in this session from one snapshot: a view built by several queries
    (an invoice and its collection steps) never mixes before and after a concurrent commit.
    Ends the session's open transaction; PostgreSQL gets REPEATABLE READ for the next one
    (SQLite's transactions are serializable already)."""
    session.rollback()
    if session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def dialect_insert(session: Session, table):
    """`INSERT` with `ON CONFLICT` (`.on_conflict_do_nothing()`, `…_do_update()`) for this
    session's dialect: PostgreSQL in production, SQLite embedded."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


class Prepared:
    """A statement built once per dialect, executed with bound values (`bindparam`s, or the
    columns of an INSERT). Building a statement and its cache key on every call costs more
    than running it, on the paths that run most (a top-up runs a dozen statements).

    `build(insert)` receives the dialect's `insert` (for `ON CONFLICT`)."""

    def __init__(self, build: Callable) -> None:
        self.build = build
        self.built: dict[str, Any] = {}

    def __call__(self, session: Session):
        name = session.get_bind().dialect.name
        if name not in self.built:
            module = postgresql if name == "postgresql" else sqlite
            self.built[name] = self.build(module.insert)
        return self.built[name]

    def run(self, session: Session, **values):
        return session.execute(self(session), values)


def is_unique_violation(exc: IntegrityError) -> bool:
    """True when a unique key refused the write (the "exactly once" guard did its job), as
    opposed to a broken foreign key or NOT NULL, which are bugs."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "pgcode", None) == "23505":
        return True
    return "UNIQUE constraint failed" in str(orig)


def _lock_schema(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(b"schema")})


def migrate(engine: Engine, components: Sequence[Component],
            now: dt.datetime | None = None) -> None:
    now = now or dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        _lock_schema(conn)
        SchemaVersion.__table__.create(conn, checkfirst=True)
        for comp in components:
            current = conn.execute(
                select(SchemaVersion.version).where(SchemaVersion.component == comp.name)
            ).scalar()
            if current is None:
                comp.metadata.create_all(conn, checkfirst=True)
                conn.execute(SchemaVersion.__table__.insert().values(
                    component=comp.name, version=comp.latest, applied_at=now))
                log.info("schema %s created at version %s", comp.name, comp.latest)
                continue
            if current > comp.latest:
                raise SchemaTooNew(
                    f"database schema {comp.name} is at version {current}, this code knows "
                    f"up to {comp.latest}: deploy the newer code")
            pending = sorted((m for m in comp.migrations if m.version > current),
                             key=lambda m: m.version)
            if not pending:
                continue
            ops = Operations(MigrationContext.configure(conn))
            for m in pending:
                log.info("schema %s: migration %s (%s)", comp.name, m.version, m.description)
                m.upgrade(ops, conn)
            conn.execute(SchemaVersion.__table__.update()
                         .where(SchemaVersion.component == comp.name)
                         .values(version=pending[-1].version, applied_at=now))


class Database(DependencyProvider):
    """Injects a SQLAlchemy `Session` per worker; rolled back and closed at teardown.

    Handlers commit explicitly when their work is done. The provider also runs the service's
    outbox relay, since it owns the engine that the outbox lives in.
    """

    def __init__(self, metadata: MetaData, migrations: Sequence[Migration] = ()) -> None:
        self.metadata = metadata
        self.migrations = tuple(migrations)
        self.sessions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def setup(self) -> None:
        from services.common.outbox import OutboxRelay, Retention  # outbox imports this module

        config = self.container.config
        service = self.container.service_name
        self.url = keys.database_url(config, service)
        self.engine = make_engine(self.url, int(config.get(keys.DB_POOL_SIZE) or 10))
        migrate(self.engine, [KERNEL, Component(service, self.metadata, self.migrations)])
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.relay = OutboxRelay(
            self.engine, config[keys.AMQP_URI], service,
            poll_seconds=float(config.get(keys.OUTBOX_POLL_SECONDS) or 1.0),
            retention=Retention.from_config(config))
        event.listen(self.sessionmaker, "after_commit", self._after_commit)

    def _after_commit(self, session: Session) -> None:
        if session.info.pop("outbox_pending", False):
            self.relay.wake()

    def start(self) -> None:
        self.container.spawn_managed_thread(self.relay.run_forever)

    def stop(self) -> None:
        self.relay.stop()
        self.engine.dispose()

    def kill(self) -> None:
        self.relay.stop()

    def get_dependency(self, worker_ctx) -> Session:
        session = self.sessionmaker()
        self.sessions[worker_ctx] = session
        return session

    def worker_teardown(self, worker_ctx) -> None:
        session = self.sessions.pop(worker_ctx, None)
        if session is not None:
            session.rollback()
            session.close()

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session outside any worker (start-up tasks, timers); committed by the caller."""
        session = self.sessionmaker()
        try:
            yield session
        finally:
            session.rollback()
            session.close()


def find_database(container) -> Database:
    for ext in container.dependencies:
        if isinstance(ext, Database):
            return ext
    raise LookupError(f"service {container.service_name} declares no Database")
