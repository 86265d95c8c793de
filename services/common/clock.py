"""Time as a dependency: every service asks a `Clock` for "now", so tests can move time.

`SystemClock` is the real one. `TestClock` is set and advanced by in-process tests.
`OffsetFileClock` lets tests move the time of *running processes* (end-to-end tests): it adds
the number of seconds written in a file to the real time. It is only used when the config key
`TEST_CLOCK_OFFSET_FILE` is set, and says so loudly in the log.
"""

from __future__ import annotations

import datetime as dt
import logging
import os

from nameko.extensions import DependencyProvider

from services.common import config as keys

log = logging.getLogger(__name__)
UTC = dt.UTC


class Clock:
    def now(self) -> dt.datetime:  # pragma: no cover - interface
        raise NotImplementedError

    def today(self) -> dt.date:
        return self.now().date()


class SystemClock(Clock):
    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC)


class TestClock(Clock):
    """A clock that stands still until told to move."""

    __test__ = False  # not a pytest test class

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
        if self._now.tzinfo is None:
            raise ValueError("TestClock needs an aware datetime")

    def now(self) -> dt.datetime:
        return self._now

    def set(self, when: dt.datetime) -> None:
        self._now = when

    def advance(self, **delta: float) -> dt.datetime:
        self._now += dt.timedelta(**delta)
        return self._now


class OffsetFileClock(Clock):
    """Real time plus an offset in seconds read from a file (re-read when the file changes)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._mtime: float | None = None
        self._offset = 0.0

    def _read_offset(self) -> float:
        try:
            mtime = os.stat(self.path).st_mtime
        except FileNotFoundError:
            return 0.0
        if mtime != self._mtime:
            with open(self.path, encoding="utf-8") as fh:
                text = fh.read().strip()
            self._offset = float(text or 0)
            self._mtime = mtime
        return self._offset

    def now(self) -> dt.datetime:
        return dt.datetime.now(UTC) + dt.timedelta(seconds=self._read_offset())


def clock_from_config(config: dict) -> Clock:
    path = config.get(keys.TEST_CLOCK_OFFSET_FILE)
    if path:
        log.warning("TEST CLOCK IN USE: time is shifted by the seconds in %s", path)
        return OffsetFileClock(path)
    return SystemClock()


class ClockProvider(DependencyProvider):
    """Injects the service's `Clock`. Tests replace `.clock` with a `TestClock`."""

    clock: Clock

    def setup(self) -> None:
        self.clock = clock_from_config(self.container.config)

    def get_dependency(self, worker_ctx) -> Clock:
        return self.clock


def isoformat(value: dt.datetime | None) -> str | None:
    """ISO 8601 UTC with a `Z`, seconds precision: the API's time format."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
