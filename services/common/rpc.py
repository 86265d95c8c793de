"""RPC between services: requests with a deadline, replies without publisher confirms.

Every service declares its RPC methods with `rpc` from here (not nameko's): nameko publishes
each reply with a publisher confirm, a broker round trip that cost a tenth of a service's CPU per
call here (measured with py-spy). A reply does not need it: a reply lost with a crashing broker
ends in the caller's deadline (a 503), and every money-moving call is idempotent, so the client
retries safely. Requests keep their confirm: it is how a call to a service that never started
fails at once (`UnknownService`) instead of at its deadline. Events keep confirms (the outbox).

`BoundedRpcProxy("accounts")` is nameko's `RpcProxy` whose calls give up after
`RPC_TIMEOUT_SECONDS` with `ServiceUnavailable`, and report their latency to `observers` (the
gateway records them as metrics). For a view that needs several services, `start()` sends a call
without waiting, and `wait()` collects it within what is left of the view's deadline, so the
calls run in parallel.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
from nameko.rpc import Responder, Rpc, RpcConsumer, RpcProxy, get_rpc_exchange

from services.common import config as keys
from services.common import errors, green

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
        return Pending(self._service, method, reply, started)

    def __getattr__(self, method: str):
        def call(*args: Any, **kwargs: Any) -> Any:
            pending = self.start(method, *args, **kwargs)
            return pending.wait(pending.started + self.timeout)
        return call


class BoundedRpcProxy(RpcProxy):
    def __init__(self, target_service: str, **options: Any) -> None:
        # transient: a request is worthless after its deadline, and it may carry what must not
        # reach a disk (a card number on its way to the provider)
        options.setdefault("delivery_mode", NON_PERSISTENT)
        super().__init__(target_service, **options)

    def setup(self) -> None:
        super().setup()
        self.timeout = float(self.container.config.get(keys.RPC_TIMEOUT_SECONDS) or 5.0)

    def get_dependency(self, worker_ctx) -> BoundedServiceProxy:
        return BoundedServiceProxy(super().get_dependency(worker_ctx), self.target_service,
                                   self.timeout)


class UnconfirmedPublisher(Publisher):
    use_confirms = False
    delivery_mode = NON_PERSISTENT


class UnconfirmedResponder(Responder):
    publisher_cls = UnconfirmedPublisher


class UnconfirmedRpcConsumer(RpcConsumer):
    def handle_result(self, message, result, exc_info):
        config = self.container.config
        responder = UnconfirmedResponder(
            config[AMQP_URI_CONFIG_KEY], get_rpc_exchange(config),
            config.get(SERIALIZER_CONFIG_KEY, DEFAULT_SERIALIZER), message,
            ssl=config.get(AMQP_SSL_CONFIG_KEY), login_method=config.get(LOGIN_METHOD_CONFIG_KEY))
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info


class UnconfirmedRpc(Rpc):
    rpc_consumer = UnconfirmedRpcConsumer()


rpc = UnconfirmedRpc.decorator
