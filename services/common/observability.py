"""What an operator sees of a service process: health, metrics and log lines that name their
request. Every service (and the gateway) declares it: `observe = Observability()`.

- **Health** (`HEALTH_PORT`; off when empty or 0), one server per process: `GET /health/live`
  answers 200 while the process runs its event loop (a liveness probe: never restart a process
  for a broker outage); `GET /health/ready` answers 200 when the process consumes from the
  broker and its database answers, else 503 with what is wrong per service (a readiness
  probe); `GET /metrics` is the Prometheus text. The gateway also serves its own `/ready` and
  `/metrics` on its HTTP port.
- **Metrics** (one registry per process, `REGISTRY`):
  `portal_entrypoint_duration_seconds{service, entrypoint, kind=rpc|event|timer|http, outcome}`,
  `portal_timer_runs_total{service, timer, outcome}`,
  `portal_rpc_duration_seconds{service (the callee), method, outcome}` (calls this process made),
  `portal_rpc_replies_dropped_total{service}`, and read when scraped:
  `portal_outbox_backlog{service}`, `portal_outbox_oldest_age_seconds{service}`,
  `portal_outbox_published_total{service}`, `portal_outbox_failures_total{service}`,
  `portal_broker_connected{service}`, `portal_broker_consumers{service}`.
- **Correlation**: each worker takes the correlation id it was given (RPC context data, an
  event's envelope) or makes one, and holds it for the log lines (`ContextFilter`) and the
  calls and events it makes (`services.common.correlation`). `LOG_FORMAT=json` writes one JSON
  object per line (`JsonFormatter`).
- **The dead-letter queue** (`services.common.events.DEAD_LETTER_QUEUE`) is declared at start,
  retried in the background until the broker answers.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import weakref
from typing import Any

import eventlet
import eventlet.wsgi
from kombu import Connection, Exchange, Queue
from nameko.events import EventHandler
from nameko.extensions import DependencyProvider
from nameko.messaging import QueueConsumer
from nameko.rpc import Rpc
from nameko.timer import Timer
from nameko.web.handlers import HttpRequestHandler
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import func, select, text

from services.common import config as keys
from services.common import correlation, rpc
from services.common.events import DEAD_LETTER_EXCHANGE, DEAD_LETTER_QUEUE
from services.common.ids import new_id
from services.common.kernel_tables import OutboxMessage

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

ENTRYPOINT_SECONDS = Histogram(
    "portal_entrypoint_duration_seconds", "Work done by a service: RPC methods, event "
    "handlers, timers and HTTP routes", ["service", "entrypoint", "kind", "outcome"],
    buckets=BUCKETS, registry=REGISTRY)
TIMER_RUNS = Counter("portal_timer_runs_total", "Timer rounds run",
                     ["service", "timer", "outcome"], registry=REGISTRY)
RPC_SECONDS = Histogram("portal_rpc_duration_seconds", "RPC round trips made by this process",
                        ["service", "method", "outcome"], buckets=BUCKETS, registry=REGISTRY)
REPLIES_DROPPED = Counter("portal_rpc_replies_dropped_total",
                          "RPC replies that could not be sent (the broker was unreachable)",
                          ["service"], registry=REGISTRY)

rpc.observers.append(lambda service, method, outcome, seconds:
                     RPC_SECONDS.labels(service, method, outcome).observe(seconds))
rpc.dropped_reply_observers.append(lambda service: REPLIES_DROPPED.labels(service).inc())

HEALTH_PORT = "HEALTH_PORT"
HEALTH_HOST = "HEALTH_HOST"
DB_CHECK_SECONDS = 2.0


def kind_of(entrypoint) -> str:
    if isinstance(entrypoint, Rpc):
        return "rpc"
    if isinstance(entrypoint, EventHandler):
        return "event"
    if isinstance(entrypoint, Timer):
        return "timer"
    if isinstance(entrypoint, HttpRequestHandler):
        return "http"
    return "other"


class Observability(DependencyProvider):
    """See the module's doc. Injects nothing a service needs to call."""

    providers: weakref.WeakSet = weakref.WeakSet()  # every live one (the scrape collector)

    def __init__(self) -> None:
        self.started: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    # lifecycle -------------------------------------------------------------------------------

    def setup(self) -> None:
        self.service = self.container.service_name
        config = self.container.config
        self.port = int(config.get(HEALTH_PORT) or 0)
        self.host = config.get(HEALTH_HOST) or "0.0.0.0"  # noqa: S104 - a probe port
        self.amqp_uri = config[keys.AMQP_URI]
        self.dead_letters_declared = False
        ContextFilter.process_service = self.service
        Observability.providers.add(self)

    def start(self) -> None:
        if self.port:
            _HealthServer.serve(self.host, self.port)
        self.container.spawn_managed_thread(self._declare_dead_letters,
                                            identifier="dead-letter-declaration")

    def stop(self) -> None:
        Observability.providers.discard(self)
        if self.port and not any(p.port for p in Observability.providers):
            _HealthServer.close()

    kill = stop

    # workers ---------------------------------------------------------------------------------

    def worker_setup(self, worker_ctx) -> None:
        try:
            given = worker_ctx.context_data.get(correlation.KEY)
            kind = kind_of(worker_ctx.entrypoint)
            if not given and kind == "event" and worker_ctx.args \
                    and isinstance(worker_ctx.args[0], dict):
                given = worker_ctx.args[0].get(correlation.KEY)
            if not given:
                given = new_id("req" if kind == "http" else kind[:3])
            worker_ctx.data[correlation.KEY] = given  # sent on with RPC calls made from here
            correlation.enter(given, self.service)
            self.started[worker_ctx] = time.perf_counter()
        except Exception:  # noqa: BLE001 - observing must never stop the work
            log.exception("observability: worker set-up failed")

    def worker_result(self, worker_ctx, result=None, exc_info=None) -> None:
        try:
            started = self.started.pop(worker_ctx, None)
            if started is None:
                return
            entrypoint = worker_ctx.entrypoint
            kind = kind_of(entrypoint)
            outcome = "ok" if exc_info is None else "error"
            if kind == "rpc" and exc_info is not None \
                    and isinstance(exc_info[1], tuple(entrypoint.expected_exceptions or ())):
                outcome = "ok"  # a refusal the caller expects (not found, invalid…) is no fault
            name = entrypoint.method_name
            ENTRYPOINT_SECONDS.labels(self.service, name, kind, outcome).observe(
                time.perf_counter() - started)
            if kind == "timer":
                TIMER_RUNS.labels(self.service, name, outcome).inc()
        except Exception:  # noqa: BLE001 - observing must never stop the work
            log.exception("observability: worker result failed")

    def worker_teardown(self, worker_ctx) -> None:
        correlation.enter(None, None)

    # health ----------------------------------------------------------------------------------

    def broker_state(self) -> tuple[bool, int]:
        """(every queue consumer of this process has an open channel, how many consumers)."""
        consumers = [consumer for ext in self.container.extensions
                     if isinstance(ext, QueueConsumer)
                     for consumer in list(getattr(ext, "_consumers", {}).values())]
        open_ = [c for c in consumers
                 if c.channel is not None and getattr(c.channel, "is_open", False)
                 and getattr(c.channel, "connection", None) is not None]
        return bool(consumers) and len(open_) == len(consumers), len(open_)

    def database(self):
        from services.common.db import Database  # db imports the outbox, which imports events

        for ext in self.container.dependencies:
            if isinstance(ext, Database):
                return ext
        return None

    def readiness(self) -> tuple[bool, dict]:
        checks: dict[str, str] = {}
        connected, _ = self.broker_state()
        checks["broker"] = "ok" if connected else "not consuming (reconnecting to the broker)"
        db = self.database()
        if db is not None:
            try:
                with eventlet.Timeout(DB_CHECK_SECONDS), db.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
                checks["database"] = "ok"
            except (Exception, eventlet.Timeout) as exc:  # noqa: BLE001 - any failure: not ready
                checks["database"] = f"unreachable: {type(exc).__name__}"
        return all(value == "ok" for value in checks.values()), checks

    # the dead-letter queue ---------------------------------------------------------------------

    def _declare_dead_letters(self) -> None:
        backoff = 0.5
        while not self.dead_letters_declared:
            try:
                exchange = Exchange(DEAD_LETTER_EXCHANGE, type="fanout", durable=True)
                queue = Queue(DEAD_LETTER_QUEUE, exchange=exchange, routing_key="#",
                              durable=True, queue_arguments={"x-queue-type": "quorum"})
                with Connection(self.amqp_uri, connect_timeout=5) as connection:
                    queue(connection.default_channel).declare()
                self.dead_letters_declared = True
            except Exception as exc:  # noqa: BLE001 - the broker may be down: retry
                log.warning("dead-letter queue not declared yet (%s); retrying in %.1fs",
                            exc, backoff)
                eventlet.sleep(backoff)
                backoff = min(backoff * 2, 30.0)


class _HealthServer:
    """One per process, whatever the number of service containers in it (one in a deployment,
    all of them in the integration tests): /health/ready is ready when every one is."""

    socket = None
    thread = None

    @classmethod
    def serve(cls, host: str, port: int) -> None:
        if cls.socket is None:
            cls.socket = eventlet.listen((host, port))
            cls.thread = eventlet.spawn(cls._serve, cls.socket)

    @classmethod
    def close(cls) -> None:
        """The server's green thread is stopped before its socket is closed: closed under its
        accept(), the thread would wait on a file descriptor number the OS hands out again,
        and eventlet refuses the next reader of that number (a database connection, a pipe:
        "Second simultaneous read")."""
        sock, cls.socket = cls.socket, None
        thread, cls.thread = cls.thread, None
        if thread is not None:
            thread.kill()
        if sock is not None:
            sock.close()

    @staticmethod
    def _serve(sock) -> None:
        try:
            eventlet.wsgi.server(sock, _health_app, log_output=False)
        except Exception:  # noqa: BLE001 - the socket closed at stop
            log.debug("health server stopped", exc_info=True)


def _health_app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    ctype = "application/json"
    if path == "/health/live":
        status, body = "200 OK", b'{"status":"ok"}'
    elif path == "/health/ready":
        services = {}
        for provider in list(Observability.providers):
            ready, checks = provider.readiness()
            services[provider.service] = checks
        ready = bool(services) and all(value == "ok" for checks in services.values()
                                       for value in checks.values())
        status = "200 OK" if ready else "503 Service Unavailable"
        body = json.dumps({"ready": ready, "services": services}).encode()
    elif path == "/metrics":
        (body, ctype), status = exposition(), "200 OK"
    else:
        status, body = "404 Not Found", b'{"error":"not found"}'
    start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]


class _ScrapeCollector:
    """Read at each scrape, for every service container in this process."""

    def collect(self):
        backlog = GaugeMetricFamily("portal_outbox_backlog", "Events not yet published",
                                    labels=["service"])
        age = GaugeMetricFamily("portal_outbox_oldest_age_seconds",
                                "Age of the oldest event not yet published (0: none)",
                                labels=["service"])
        published = CounterMetricFamily("portal_outbox_published",
                                        "Events published by this process's relay",
                                        labels=["service"])
        failures = CounterMetricFamily("portal_outbox_failures",
                                       "Failed relay rounds of this process", labels=["service"])
        connected = GaugeMetricFamily("portal_broker_connected",
                                      "1 while every consumer of the process is connected",
                                      labels=["service"])
        consumers = GaugeMetricFamily("portal_broker_consumers",
                                      "Consumers this process has open", labels=["service"])
        for provider in list(Observability.providers):
            service = provider.service
            try:
                is_connected, count = provider.broker_state()
            except Exception:  # noqa: BLE001, S112 - a container that is stopping
                continue
            connected.add_metric([service], 1 if is_connected else 0)
            consumers.add_metric([service], count)
            db = provider.database()
            if db is None:
                continue
            published.add_metric([service], db.relay.published_total)
            failures.add_metric([service], db.relay.failed_total)
            try:
                with eventlet.Timeout(DB_CHECK_SECONDS), db.engine.connect() as conn:
                    count, oldest = conn.execute(
                        select(func.count(), func.min(OutboxMessage.created_at))
                        .where(OutboxMessage.published_at.is_(None))).one()
            except (Exception, eventlet.Timeout):  # noqa: BLE001, S112 - the database is down
                continue
            backlog.add_metric([service], count)
            age.add_metric([service], _age(oldest))
        yield from (backlog, age, published, failures, connected, consumers)


def _age(oldest: Any) -> float:
    if oldest is None:
        return 0.0
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    return max(0.0, (dt.datetime.now(dt.UTC) - oldest).total_seconds())


REGISTRY.register(_ScrapeCollector())


def exposition() -> tuple[bytes, str]:
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


class ContextFilter(logging.Filter):
    """Adds `service` and `correlation_id` to every record (for the formats in
    deploy/config.yaml)."""

    process_service = "-"

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = correlation.service() or self.process_service
        record.correlation_id = correlation.correlation_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, service, correlation_id, message and,
    for an exception, its traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                     timespec="milliseconds"),
                 "level": record.levelname, "logger": record.name,
                 "service": getattr(record, "service", None),
                 "correlation_id": getattr(record, "correlation_id", None),
                 "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
