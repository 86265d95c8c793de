"""Checks of the arguments every insights RPC shares (the gateway validated the HTTP body; a
service still refuses what it cannot store)."""

from __future__ import annotations

from services.common import errors

MAX_ID = 40


def customer_id(value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_ID:
        raise errors.InvalidArgument(fields={"customer_id": [
            f"must be an id of 1 to {MAX_ID} characters"]})
    return value


def strict_bool(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise errors.InvalidArgument(fields={field: ["must be true or false"]})
    return value
