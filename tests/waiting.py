"""The one way every test tier waits for what the system does asynchronously: poll a fact
until it holds, within a deadline. No fixed sleep stands in for "the work happened"."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def eventually(check: Callable[[], T], timeout: float = 20.0, pause: float = 0.1,
               until: Callable[[T], Any] = bool,
               tolerate: tuple[type[BaseException], ...] = ()) -> T | Any:
    """`check()`'s first answer for which `until(answer)` holds (by default: a truthy one)
    within `timeout` seconds, else its last answer, for the caller's assertion to show. An
    exception of a `tolerate`d type counts as an answer that does not hold."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except tolerate as exc:
            value = exc
        done = not isinstance(value, BaseException) and until(value)
        if done or time.monotonic() > deadline:
            return value
        time.sleep(pause)
