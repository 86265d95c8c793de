"""The gateway's per-customer read cache: the dashboard's parts, as their services answered.

What is kept: per customer and part (`billing`, `tickets`, `notifier`), the last complete
answer of the part's RPC, for at most `DASHBOARD_CACHE_SECONDS` (default 30; 0 turns the cache
off). A part that was late or failing is never stored.

What evicts (each gateway process has its own cache):
- the events of the services that own the parts, broadcast to every gateway
  (`gateway/service.py`: billing's wallet, subscription, invoice and credit-note events,
  tickets' ticket events, the notifier's `inbox_changed`): milliseconds after the commit;
- the gateway's own writes (`gateway/http.py`, `after_write`): every write evicts the caller's
  parts, and those of a customer it names (an ops route's `customer_id`, in the path or the
  answer), before its answer leaves: the writer's next view reads the write, whichever service
  it touched;
- the time limit, the safety net for what sends no event (see docs/architecture.md).

A fill cannot leave a stale entry behind an eviction: `begin()` reads a counter of evictions
before the RPCs go out, and `put()` stores an answer only if no eviction of that customer's part
happened since. An eviction's mark is kept while it can matter (bounded: when one is dropped,
every fill that began before it is refused). Everything runs on the gateway's one OS thread
(green threads switch only on I/O, and nothing here does I/O), so no lock is needed.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from nameko.extensions import DependencyProvider

from services.common import config as keys

BILLING, TICKETS, NOTIFIER = "billing", "tickets", "notifier"
PARTS = (BILLING, TICKETS, NOTIFIER)
DEFAULT_SECONDS = 30.0
MAX_ENTRIES = 30_000  # (customer, part) answers: 10,000 customers' dashboards
MAX_MARKS = 30_000  # remembered evictions (a fill older than the oldest forgotten one is refused)


class ReadCache:
    def __init__(self, seconds: float = DEFAULT_SECONDS, max_entries: int = MAX_ENTRIES,
                 max_marks: int = MAX_MARKS, clock=time.monotonic) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self.max_marks = max_marks
        self.clock = clock
        # (customer, part) → (deadline, args, answer), least recently stored first
        self._entries: OrderedDict[tuple[str, str], tuple[float, tuple, Any]] = OrderedDict()
        self._tick = 0  # evictions so far
        self._marks: OrderedDict[tuple[str, str], int] = OrderedDict()  # key → its last tick
        self._floor = 0  # a fill that began before this tick is refused

    @property
    def enabled(self) -> bool:
        return self.seconds > 0

    def begin(self) -> int:
        """The token of a fill: take it before the RPCs whose answers `put()` will store."""
        return self._tick

    def get(self, customer_id: str, part: str, args: tuple = ()) -> Any | None:
        """The stored answer, if it is fresh and was asked with the same `args`."""
        entry = self._entries.get((customer_id, part))
        if entry is None:
            return None
        deadline, stored_args, answer = entry
        if deadline <= self.clock() or stored_args != args:
            return None
        return answer

    def put(self, customer_id: str, part: str, answer: Any, token: int,
            args: tuple = ()) -> bool:
        """Store `answer` unless the cache is off or the part was evicted since `token`."""
        key = (customer_id, part)
        if not self.enabled or token < self._floor or self._marks.get(key, -1) > token:
            return False
        self._entries[key] = (self.clock() + self.seconds, args, answer)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return True

    def evict(self, customer_id: str, parts: Iterable[str] = PARTS) -> None:
        self._tick += 1
        for part in parts:
            key = (customer_id, part)
            self._entries.pop(key, None)
            self._marks[key] = self._tick
            self._marks.move_to_end(key)
        while len(self._marks) > self.max_marks:
            _, tick = self._marks.popitem(last=False)
            self._floor = max(self._floor, tick)

    def evict_many(self, customer_ids: Iterable[str], parts: Iterable[str] = PARTS) -> None:
        parts = tuple(parts)
        for customer_id in customer_ids:
            self.evict(customer_id, parts)

    def clear(self) -> None:
        """Everyone's parts; fills under way are refused too."""
        self._tick += 1
        self._floor = self._tick
        self._entries.clear()
        self._marks.clear()

    def __len__(self) -> int:
        return len(self._entries)


def customers_in(payload: dict) -> list[str]:
    """The customers an event is about: its entity's `customer_id` or `customer_ids`."""
    for value in payload.values():
        if isinstance(value, dict):
            if isinstance(value.get("customer_ids"), list):
                return [c for c in value["customer_ids"] if isinstance(c, str)]
            if isinstance(value.get("customer_id"), str):
                return [value["customer_id"]]
    return []


class ReadCacheProvider(DependencyProvider):
    """One `ReadCache` per gateway process."""

    def setup(self) -> None:
        value = self.container.config.get(keys.DASHBOARD_CACHE_SECONDS)
        self.cache = ReadCache(float(DEFAULT_SECONDS if value in (None, "") else value))

    def get_dependency(self, worker_ctx) -> ReadCache:
        return self.cache


def after_write(cache: ReadCache | None, principal, path: dict, result: Any) -> None:
    """What a write through this gateway evicts before its answer leaves: the caller's parts,
    and those of a customer the write names (a `customer_id` in its path or its answer, as ops
    routes have). Every other gateway hears of the change by the owning service's event."""
    if cache is None:
        return
    named = {principal.customer_id, path.get("customer_id")}
    body = getattr(result, "body", result)  # a view's dict, or the body of its `Reply`
    if isinstance(body, dict):
        named.add(body.get("customer_id"))
    cache.evict_many(sorted(c for c in named if isinstance(c, str)))
