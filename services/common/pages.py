"""One shape for every list a service answers, and one cursor scheme.

A page is `{"data": [...], "has_more": bool, "next_cursor": str | None}` (API.md); a list may
add its own totals beside them (an inbox's `unread_count`). `has_more` is true exactly when
rows were left out: a list that is not cut (a customer's cards) is answered `whole`.

The cursor is a keyset: a list is ordered by columns that end with a unique one, all in one
direction; the cursor holds the last row's values of those columns, as JSON in URL-safe base64
without padding (clients treat it as opaque). The next page is the rows after it in that order
(`(a, b) < (x, y)` newest first), read from the index where the previous page stopped: stable
while rows are added, and as fast on page 100 as on page 1.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, Integer, bindparam, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from services.common import errors

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
MAX_CURSOR = 200  # characters: a few values, never a whole row (the API says so too)
BAD_CURSOR = {"cursor": ["is not a valid cursor"]}


@dataclass(frozen=True)
class Order:
    """The columns a list is ordered by, the last one unique, all in one direction."""
    columns: Sequence[Any]
    descending: bool = True

    def clauses(self) -> list:
        return [c.desc() if self.descending else c.asc() for c in self.columns]


def check_limit(limit: Any, maximum: int = MAX_LIMIT) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= maximum:
        raise errors.InvalidArgument(fields={"limit": [f"must be from 1 to {maximum}"]})
    return limit


def _kind(column) -> type:
    kind = getattr(column.type, "impl", column.type)
    kind = kind if isinstance(kind, type) else type(kind)
    if issubclass(kind, DateTime):
        return dt.datetime
    if issubclass(kind, Integer):
        return int
    return str


def encode(values: Sequence[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, dt.datetime) else v for v in values]
    raw = json.dumps(plain, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: Any, order: Order) -> list:
    """The cursor's values, each of its column's kind; anything else is InvalidArgument."""
    if not isinstance(cursor, str) or not 0 < len(cursor) <= MAX_CURSOR:
        raise errors.InvalidArgument(fields=BAD_CURSOR)
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise errors.InvalidArgument(fields=BAD_CURSOR) from None
    if not isinstance(values, list) or len(values) != len(order.columns):
        raise errors.InvalidArgument(fields=BAD_CURSOR)
    out = []
    for value, column in zip(values, order.columns, strict=True):
        kind = _kind(column)
        try:
            if kind is dt.datetime:
                value = dt.datetime.fromisoformat(value)
                if value.tzinfo is None:
                    raise ValueError("naive")
            elif kind is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError("not an integer")
            elif kind is str and not isinstance(value, str):
                raise ValueError("not a string")
        except (TypeError, ValueError):
            raise errors.InvalidArgument(fields=BAD_CURSOR) from None
        out.append(value)
    return out


def _after(order: Order, values: list):
    mine = tuple_(*order.columns)
    theirs = tuple_(*[bindparam(None, v, type_=c.type)
                      for v, c in zip(values, order.columns, strict=True)])
    return mine < theirs if order.descending else mine > theirs


def keyset(session: Session, query: Select, order: Order, limit: Any, cursor: Any,
           dump: Callable[[Any], dict] | None = None,
           dump_all: Callable[[list], list] | None = None) -> dict:
    """One page of `query` (a select of ORM entities) in `order`, after `cursor`.
    `dump` shows one row, or `dump_all` the page's rows at once (a few queries per page)."""
    limit = check_limit(limit)
    if cursor is not None:
        query = query.where(_after(order, decode(cursor, order)))
    rows = list(session.scalars(query.order_by(*order.clauses()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    data = dump_all(rows) if dump_all else [dump(r) if dump else r for r in rows]
    return {"data": data, "has_more": more,
            "next_cursor": encode([getattr(rows[-1], c.key) for c in order.columns])
            if more else None}


def whole(items: list) -> dict:
    """A list answered in full (it is small by nature): nothing was left out."""
    return {"data": list(items), "has_more": False, "next_cursor": None}
