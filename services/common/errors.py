"""Typed errors that cross RPC intact.

A service raises one of these kinds with its own `code` (its `exceptions.py` lists the codes).
nameko serializes an exception as its class path and `args`; every kind below is registered in
nameko's exception registry, so the caller (the gateway) gets the same class back with the same
code, message and field errors, and maps it to an HTTP status in one table (`gateway/errors.py`).
Anything else that escapes a service arrives as `nameko.exceptions.RemoteError`: a bug, which the
gateway answers with a 500 that says nothing internal.

nameko stringifies non-string scalars in `args`, so `fields` and `details` are always dicts of
strings, lists and dicts, and readers convert numbers back (see `RateLimited.retry_after`).
"""

from __future__ import annotations

from typing import Any

from nameko.exceptions import registry


class ServiceError(Exception):
    """Base of every expected, typed failure. Args: message, code, fields, details."""

    default_code = "ERROR"
    default_message = "The request failed."

    def __init__(
        self,
        message: str | None = None,
        code: str | None = None,
        fields: dict[str, Any] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.code = code or self.default_code
        self.fields = dict(fields or {})
        self.details = dict(details or {})
        super().__init__(self.message, self.code, self.fields, self.details)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class InvalidArgument(ServiceError):
    default_code = "VALIDATION_FAILED"
    default_message = "Some fields are not valid."


class NotAuthenticated(ServiceError):
    default_code = "NOT_AUTHENTICATED"
    default_message = "You need to log in."


class PermissionDenied(ServiceError):
    default_code = "FORBIDDEN"
    default_message = "You are not allowed to do this."


class NotFound(ServiceError):
    default_code = "NOT_FOUND"
    default_message = "Not found."


class Conflict(ServiceError):
    default_code = "CONFLICT"
    default_message = "The request conflicts with the current state."


class PaymentDeclined(ServiceError):
    default_code = "PAYMENT_DECLINED"
    default_message = "The payment was declined."


class RateLimited(ServiceError):
    default_code = "RATE_LIMITED"
    default_message = "Too many attempts. Try again later."

    @property
    def retry_after(self) -> int:
        return max(1, int(float(self.details.get("retry_after", 1))))


class ServiceUnavailable(ServiceError):
    default_code = "SERVICE_UNAVAILABLE"
    default_message = "A backing service did not answer in time. Try again."


KINDS = (
    ServiceError,
    InvalidArgument,
    NotAuthenticated,
    PermissionDenied,
    NotFound,
    Conflict,
    PaymentDeclined,
    RateLimited,
    ServiceUnavailable,
)

for _kind in KINDS:
    registry[f"{_kind.__module__}.{_kind.__name__}"] = _kind


def rate_limited(retry_after: float, message: str | None = None) -> RateLimited:
    return RateLimited(message, details={"retry_after": str(int(max(1, retry_after)))})
