"""The outbox and idempotent handlers on the real RabbitMQ and PostgreSQL."""

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap

import pytest
from kombu import Connection, Queue
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.orm import Session

from services.accounts.service import AccountsService
from services.common.db import KERNEL, Database, make_engine, migrate
from services.common.events import event_handler, handles_once, make_envelope
from services.common.kernel_tables import OutboxMessage, ProcessedEvent
from services.common.outbox import OutboxRelay, emit, event_exchange

NOW = dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC)


def bound_queue(amqp_uri, service, routing_key):
    """A queue on `<service>.events`, declared before anything is published."""
    queue = Queue(f"test-{service}-{routing_key}", exchange=event_exchange(service),
                  routing_key=routing_key, durable=False, auto_delete=False)
    with Connection(amqp_uri) as conn:
        queue(conn.default_channel).declare()
    return queue


def drain(amqp_uri, queue, wait=1.0):
    bodies = []
    with Connection(amqp_uri) as conn:
        with conn.Consumer(queue, callbacks=[lambda body, msg: (bodies.append(body), msg.ack())]):
            try:
                while True:
                    conn.drain_events(timeout=wait)
            except TimeoutError:
                pass
    return bodies


def test_event_committed_while_the_broker_is_down_is_published_when_it_is_back(
        pg_url, rabbit_config):
    amqp_uri = rabbit_config["AMQP_URI"]
    engine = make_engine(pg_url)
    migrate(engine, [KERNEL])
    queue = bound_queue(amqp_uri, "demo", "thing_happened")
    with Session(engine) as session:
        envelope = emit(session, "thing_happened", "thing", {"id": "thg_1"}, NOW)
        session.commit()

    down = OutboxRelay(engine, "amqp://guest:guest@127.0.0.1:1/", "demo")
    with pytest.raises(Exception):  # noqa: B017 - any connection error
        down.run_once()
    with Session(engine) as session:
        row = session.scalar(select(OutboxMessage))
        assert row.published_at is None and row.attempts == 1 and row.last_error

    up = OutboxRelay(engine, amqp_uri, "demo")
    assert up.run_once() == 1
    assert up.run_once() == 0
    assert drain(amqp_uri, queue) == [envelope]
    engine.dispose()


KILLED_AFTER_COMMIT = textwrap.dedent("""
    import datetime as dt, os, signal
    from sqlalchemy.orm import Session
    from services.accounts import customers
    from services.accounts.models import Base
    from services.common.db import KERNEL, Component, make_engine, migrate
    engine = make_engine(os.environ["DB"])
    migrate(engine, [KERNEL, Component("accounts", Base.metadata)])
    with Session(engine) as session:
        customers.register(session, {"email": "killed@example.com", "password":
            "a long enough passphrase", "name": "K", "billing_type": "prepaid",
            "currency": "EUR"}, dt.datetime.now(dt.UTC))
        session.commit()  # the row and its event
    os.kill(os.getpid(), signal.SIGKILL)  # dies before any relay could publish
""")


class Listener:
    name = "listener"
    received: list = []

    @event_handler("accounts", "customer_registered")
    def on_registered(self, payload):
        Listener.received.append(payload)


def test_a_service_killed_between_commit_and_publish_loses_nothing(
        pg_url, rabbit_config, container_factory):
    done = subprocess.run([sys.executable, "-c", KILLED_AFTER_COMMIT], check=False,
                          env={**os.environ, "DB": pg_url}, capture_output=True, text=True)
    assert done.returncode == -9, done.stderr

    Listener.received = []
    listener = container_factory(Listener, rabbit_config)
    listener.start()
    config = {**rabbit_config, "DATABASE_URLS": {"accounts": pg_url}}
    accounts = container_factory(AccountsService, config)
    with entrypoint_waiter(listener, "on_registered", timeout=15):
        accounts.start()  # its relay finds the committed, unpublished event
    assert [p["customer"]["email"] for p in Listener.received] == ["killed@example.com"]


applied_metadata = MetaData()
applied = Table("applied", applied_metadata, Column("id", Integer, primary_key=True),
                Column("event_id", String(64)))


class Counter:
    name = "counter"
    db = Database(applied_metadata)
    fail_next = False

    @event_handler("demo", "thing_happened")
    @handles_once
    def on_thing(self, payload):
        self.db.execute(insert(applied).values(event_id=payload["event_id"]))
        if Counter.fail_next:
            Counter.fail_next = False
            raise RuntimeError("crash after the write, before the commit")


def test_an_event_delivered_twice_is_applied_once_and_a_failed_one_is_redelivered(
        pg_url, rabbit_config, container_factory):
    config = {**rabbit_config, "DATABASE_URLS": {"counter": pg_url}}
    container = container_factory(Counter, config)
    container.start()
    dispatch = event_dispatcher(rabbit_config)
    first = make_envelope("thing", {"id": "thg_1"}, NOW)
    for _ in range(2):
        with entrypoint_waiter(container, "on_thing", timeout=10):
            dispatch("demo", "thing_happened", first)

    second = make_envelope("thing", {"id": "thg_2"}, NOW)
    Counter.fail_next = True
    with entrypoint_waiter(container, "on_thing", timeout=10,
                           callback=lambda worker_ctx, result, exc_info: exc_info is None):
        dispatch("demo", "thing_happened", second)  # fails once, comes back, applies

    engine = make_engine(pg_url)
    with Session(engine) as session:
        events = session.scalars(select(applied.c.event_id).order_by(applied.c.id)).all()
        marks = session.scalar(select(func.count()).select_from(ProcessedEvent))
    assert events == [first["event_id"], second["event_id"]]
    assert marks == 2
    engine.dispose()


def test_envelopes_carry_id_time_and_entity():
    envelope = make_envelope("invoice", {"id": "inv_1"}, NOW)
    assert envelope["occurred_at"] == "2026-11-21T10:00:00Z"
    assert envelope["event_id"].startswith("evt_")
    assert json.loads(json.dumps(envelope))["invoice"] == {"id": "inv_1"}
