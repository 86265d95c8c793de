"""RPC between services: requests with a deadline, replies without publisher confirms.

Every service declares its RPC methods with `rpc` from here (not nameko's): nameko publishes
each reply with a publisher confirm, a broker round trip that cost a tenth of a service's CPU per
call here (measured with py-spy). A reply does not need it: a reply lost with a crashing broker
ends in the caller's deadline (a 503), and every money-moving call is idempotent, so the client
retries safely. Requests keep their confirm: it is how a call to a service that never started
fails at once (`UnknownService`) instead of at its deadline. Events keep confirms (the outbox).

`BoundedRpcProxy("accounts")` is nameko's `RpcProxy` whose calls give up after
`RPC_TIMEOUT_SECONDS` with `ServiceUnavailable`, and report their latency to `observers` (every
process records them as metrics). For a view that needs several services, `start()` sends a call
without waiting, and `wait()` collects it within what is left of the view's deadline, so the
calls run in parallel.

Surviving the broker (a restart, a lost connection, a failover). Nothing here may kill the
service: nameko kills the whole container when a reply or an acknowledgement raises.
- A request that cannot be published (the broker is gone) is `ServiceUnavailable` (a 503 at
  the gateway), after one quick reconnect attempt instead of nameko's ~9 s of retries.
- A request lives only as long as its caller waits (`expiration` = the RPC deadline): one that
  waited in a queue through an outage is dropped by the broker, not run after its caller gave up.
- A reply that cannot be sent is dropped with a log line and counted
  (`portal_rpc_replies_dropped_total`); the caller's deadline ends the call and its retry, with
  the same Idempotency-Key, has one effect. An acknowledgement on a dead connection is dropped:
  the broker redelivers the message (or its TTL drops it).
- The queue consumer reconnects with backoff (kombu's `ConsumerMixin`).

Queues: a service's RPC queue `rpc-<service>` is a durable quorum queue (replicated on a
RabbitMQ cluster; see `quorum_queue`); reply queues are exclusive and transient, one per process.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from amqp.exceptions import ConnectionError as AmqpConnectionError
from kombu import Queue
from kombu.exceptions import OperationalError
from nameko.amqp.publish import Publisher
from nameko.constants import (
    AMQP_SSL_CONFIG_KEY,
    AMQP_URI_CONFIG_KEY,
    DEFAULT_SERIALIZER,
    LOGIN_METHOD_CONFIG_KEY,
    NON_PERSISTENT,
    SERIALIZER_CONFIG_KEY,
)
from nameko.exceptions import RemoteError, UnknownService
from nameko.messaging import QueueConsumer
from nameko.rpc import (
    RPC_QUEUE_TEMPLATE,
    RPC_REPLY_QUEUE_TEMPLATE,
    MethodProxy,
    ReplyListener,
    Responder,
    Rpc,
    RpcConsumer,
    RpcProxy,
    get_rpc_exchange,
)
from sqlalchemy import exc as sqlalchemy_exc

from services.common import config as keys
from services.common import errors, green

log = logging.getLogger(__name__)

# What a lost broker raises from a publish or an acknowledgement.
BROKER_ERRORS = (OperationalError, AmqpConnectionError, ConnectionError, TimeoutError)
# What a lost database raises (SQLAlchemy wraps the driver's errors): a transient outage.
DATABASE_UNAVAILABLE = (sqlalchemy_exc.OperationalError, sqlalchemy_exc.InterfaceError,
                        sqlalchemy_exc.DisconnectionError, sqlalchemy_exc.TimeoutError)
# One quick reconnect, then give up: a caller waits RPC_TIMEOUT_SECONDS at most, and a reply
# nobody can receive is not worth a worker held for nameko's default ~9 s of retries.
FAST_FAIL = {"max_retries": 1, "interval_start": 0.2, "interval_step": 0.3, "interval_max": 0.5}

# callables (service, method, outcome, seconds) told about every call
observers: list[Callable[[str, str, str, float], None]] = []


def _observe(service: str, method: str, outcome: str, seconds: float) -> None:
    for observer in observers:
        observer(service, method, outcome, seconds)


@dataclass
class Pending:
    service: str
    method: str
    reply: Any
    started: float

    def wait(self, until: float) -> Any:
        outcome = "ok"
        try:
            with green.deadline(max(0.0, until - time.monotonic())):
                return self.reply.result()
        except green.DeadlineExceeded:
            outcome = "timeout"
            raise errors.ServiceUnavailable(
                f"The {self.service} service did not answer in time.",
                details={"service": self.service}) from None
        except errors.ServiceError:
            outcome = "error"
            raise
        except RemoteError:
            outcome = "remote_error"
            raise
        finally:
            _observe(self.service, self.method, outcome, time.monotonic() - self.started)


class BoundedServiceProxy:
    def __init__(self, proxy, service: str, timeout: float) -> None:
        self._proxy = proxy
        self._service = service
        self.timeout = timeout

    def start(self, method: str, *args: Any, **kwargs: Any) -> Pending:
        started = time.monotonic()
        try:
            reply = getattr(self._proxy, method).call_async(*args, **kwargs)
        except UnknownService:
            _observe(self._service, method, "unavailable", 0.0)
            raise errors.ServiceUnavailable(f"The {self._service} service is not running.",
                                            details={"service": self._service}) from None
        except BROKER_ERRORS as exc:
            _observe(self._service, method, "unavailable", time.monotonic() - started)
            log.warning("call %s.%s not sent, the broker is unreachable: %s", self._service,
                        method, exc)
            raise errors.ServiceUnavailable(
                f"The {self._service} service cannot be reached right now.",
                details={"service": self._service}) from None
        return Pending(self._service, method, reply, started)

    def __getattr__(self, method: str):
        def call(*args: Any, **kwargs: Any) -> Any:
            pending = self.start(method, *args, **kwargs)
            return pending.wait(pending.started + self.timeout)
        return call


def quorum_queue(name: str, exchange, routing_key: str, **arguments: Any) -> Queue:
    """A durable quorum queue: replicated on every node of a RabbitMQ cluster (a majority
    keeps it through the loss of a node), messages always on disk. On one node it works the
    same. RabbitMQ refuses to redeclare an existing classic queue as quorum: see
    docs/deployment.md, "Migrating from classic queues"."""
    return Queue(name, exchange=exchange, routing_key=routing_key, durable=True,
                 queue_arguments={"x-queue-type": "quorum", **arguments})


RECONNECT_MAX_SECONDS = 2.0


class RobustQueueConsumer(QueueConsumer):
    """nameko's queue consumer (one broker connection per process for every consumer in it),
    reconnecting after a lost connection every 0.5 s growing to RECONNECT_MAX_SECONDS (kombu's
    default grows to 30 s: a broker back after 20 s was found up to 30 s later), and
    acknowledging safely. Every consumer here (RPC, replies, events) declares this one."""

    @contextmanager
    def establish_connection(self):
        with self.create_connection() as connection:
            connection.ensure_connection(self.on_connection_error, self.connect_max_retries,
                                         interval_start=0.5, interval_step=0.5,
                                         interval_max=RECONNECT_MAX_SECONDS)
            yield connection

    def ack_message(self, message):
        try:
            super().ack_message(message)
        except BROKER_ERRORS as exc:
            log.info("acknowledgement dropped (connection lost; the broker redelivers): %s", exc)

    def requeue_message(self, message):
        try:
            super().requeue_message(message)
        except BROKER_ERRORS as exc:
            log.info("requeue dropped (connection lost; the broker redelivers): %s", exc)


class FastFailPublisher(Publisher):
    """Gives up after one quick reconnect (see `FAST_FAIL`)."""

    retry_policy = FAST_FAIL
    transport_options = {**FAST_FAIL}


class FastFailMethodProxy(MethodProxy):
    publisher_cls = FastFailPublisher


class SafeReplyListener(ReplyListener):
    """nameko's reply listener with an exclusive reply queue (one per process, gone with its
    connection: never replicated) and an acknowledgement that a dead connection cannot turn
    into a crash."""

    queue_consumer = RobustQueueConsumer()

    def setup(self) -> None:
        super().setup()
        self.queue = Queue(
            RPC_REPLY_QUEUE_TEMPLATE.format(self.container.service_name, self.routing_key),
            exchange=get_rpc_exchange(self.container.config), routing_key=self.routing_key,
            exclusive=True, auto_delete=True)

    def handle_message(self, body, message):
        self.queue_consumer.ack_message(message)  # RobustQueueConsumer: safe on a dead link
        correlation_id = message.properties.get("correlation_id")
        client_event = self._reply_events.pop(correlation_id, None)
        if client_event is not None:
            client_event.send(body)


class BoundedRpcProxy(RpcProxy):
    rpc_reply_listener = SafeReplyListener()

    def __init__(self, target_service: str, **options: Any) -> None:
        # transient: a request is worthless after its deadline, and it may carry what must not
        # reach a disk (a card number on its way to the provider)
        options.setdefault("delivery_mode", NON_PERSISTENT)
        super().__init__(target_service, **options)

    def setup(self) -> None:
        super().setup()
        self.timeout = float(self.container.config.get(keys.RPC_TIMEOUT_SECONDS) or 5.0)
        # a request nobody took within the caller's deadline is dropped by the broker
        self.options.setdefault("expiration", self.timeout)

    def get_dependency(self, worker_ctx) -> BoundedServiceProxy:
        return BoundedServiceProxy(_FastFailServiceProxy(
            worker_ctx, self.target_service, self.rpc_reply_listener, **self.options),
            self.target_service, self.timeout)


class _FastFailServiceProxy:
    def __init__(self, worker_ctx, service_name: str, reply_listener, **options: Any) -> None:
        self.worker_ctx, self.service_name = worker_ctx, service_name
        self.reply_listener, self.options = reply_listener, options

    def __getattr__(self, name: str) -> FastFailMethodProxy:
        return FastFailMethodProxy(self.worker_ctx, self.service_name, name,
                                   self.reply_listener, **self.options)


class UnconfirmedPublisher(Publisher):
    use_confirms = False
    delivery_mode = NON_PERSISTENT
    retry_policy = FAST_FAIL
    transport_options = {**FAST_FAIL}


class UnconfirmedResponder(Responder):
    publisher_cls = UnconfirmedPublisher


# callables (service) told about every reply that could not be sent
dropped_reply_observers: list[Callable[[str], None]] = []


class UnconfirmedRpcConsumer(RpcConsumer):
    queue_consumer = RobustQueueConsumer()

    def setup(self) -> None:
        if self.queue is None:
            service = self.container.service_name
            self.queue = quorum_queue(RPC_QUEUE_TEMPLATE.format(service),
                                      get_rpc_exchange(self.container.config), f"{service}.*")
            self.queue_consumer.register_provider(self)
            self._registered = True

    def handle_result(self, message, result, exc_info):
        config = self.container.config
        if exc_info is not None and isinstance(exc_info[1], DATABASE_UNAVAILABLE):
            # the database went away (a restart, a failover): the caller gets a 503 to retry
            # (with its Idempotency-Key), not a 500 that reads like a bug
            log.warning("%s failed, the database is unreachable: %s",
                        message.delivery_info.get("routing_key"), exc_info[1])
            unavailable = errors.ServiceUnavailable(
                "The service is temporarily unavailable. Please try again in a moment.",
                code="DATABASE_UNAVAILABLE")
            exc_info = (type(unavailable), unavailable, exc_info[2])
        try:
            responder = UnconfirmedResponder(
                config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config),
                config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER), message,
                ssl=config.get(AMQP_SSL_CONFIG_KEY),
                login_method=config.get(LOGIN_METHOD_CONFIG_KEY))
            result, exc_info = responder.send_response(result, exc_info)
        except BROKER_ERRORS as exc:
            # the caller's deadline ends its call; its retry is idempotent
            log.warning("reply to %s dropped, the broker is unreachable: %s",
                        message.delivery_info.get("routing_key"), exc)
            for observer in dropped_reply_observers:
                observer(self.container.service_name)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class UnconfirmedRpc(Rpc):
    rpc_consumer = UnconfirmedRpcConsumer()


rpc = UnconfirmedRpc.decorator
