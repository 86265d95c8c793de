"""The correlation id of the work in progress: the gateway's request id (`X-Request-Id`),
carried to other services in RPC headers (nameko's context data) and in event envelopes, so
every log line caused by one request can be found by one id. A timer's round gets its own.

Held in a context variable: each green thread (nameko worker) has its own.
"""

from __future__ import annotations

import contextvars

KEY = "correlation_id"  # the key in nameko's context data and in an event's envelope

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar(KEY, default=None)
_service: contextvars.ContextVar[str | None] = contextvars.ContextVar("service", default=None)


def correlation_id() -> str | None:
    return _current.get()


def service() -> str | None:
    return _service.get()


def enter(correlation: str | None, service_name: str | None) -> None:
    """Called when a worker starts (by `observability.Observability`)."""
    _current.set(correlation)
    _service.set(service_name)
