"""Everything eventlet-specific lives here, so the rest of the code never imports it.

eventlet is in maintenance mode; keeping its surface in one module keeps a later move to
threads or asyncio a change of one file.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import eventlet
import eventlet.tpool

T = TypeVar("T")


class DeadlineExceeded(Exception):
    """A bounded wait ran out of time."""


def run_blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run CPU-bound or blocking C code (argon2, PDF rendering) in a real OS thread.

    The eventlet hub keeps serving other green threads meanwhile, and the work may use the
    second core when the C code releases the GIL (argon2-cffi does).
    """
    return eventlet.tpool.execute(fn, *args, **kwargs)


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise `DeadlineExceeded` if the block does not finish within `seconds`."""
    timeout = eventlet.Timeout(seconds)
    try:
        yield
    except eventlet.Timeout as exc:
        if exc is not timeout:
            raise
        raise DeadlineExceeded(f"no answer within {seconds:.3f}s") from None
    finally:
        timeout.cancel()


def sleep(seconds: float) -> None:
    eventlet.sleep(seconds)


def spawn(fn: Callable[..., Any], *args: Any) -> Any:
    return eventlet.spawn(fn, *args)


class Signal:
    """A wake-up flag for a background loop: `set()` from anywhere, `wait(timeout)` in the loop."""

    def __init__(self) -> None:
        self._event = eventlet.event.Event()

    def set(self) -> None:
        if not self._event.ready():
            self._event.send(True)

    def wait(self, timeout: float) -> bool:
        with eventlet.Timeout(timeout, False):
            self._event.wait()
        fired = self._event.ready()
        if fired:
            self._event = eventlet.event.Event()
        return fired
