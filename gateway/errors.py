"""One table: error kind → HTTP status. Every error leaves as
`{"error": {"code", "message", "fields"}}`; a 500 says nothing internal."""

from __future__ import annotations

import json
import logging

from werkzeug.wrappers import Response

from services.common import errors
from services.common.rpc import BROKER_ERRORS

log = logging.getLogger(__name__)


class PayloadTooLarge(errors.ServiceError):
    default_code = "PAYLOAD_TOO_LARGE"
    default_message = "The request body is too large."


class MethodNotAllowed(errors.ServiceError):
    """405; `details["allow"]`: the methods the path serves (the `Allow` header)."""

    default_code = "METHOD_NOT_ALLOWED"
    default_message = "This method is not allowed here."


STATUS = {
    errors.InvalidArgument: 400,
    errors.NotAuthenticated: 401,
    errors.PaymentDeclined: 402,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    MethodNotAllowed: 405,
    errors.Conflict: 409,
    PayloadTooLarge: 413,
    errors.RateLimited: 429,
    errors.ServiceUnavailable: 503,
}


def status_of(exc: errors.ServiceError) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 500


def json_response(payload, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(payload, separators=(",", ":")), status=status,
                    headers=headers, mimetype="application/json")


def error_response(exc: BaseException, request_id: str) -> Response:
    if isinstance(exc, BROKER_ERRORS):  # the broker went away under a view: retry later
        log.warning("request %s: the broker is unreachable: %s", request_id, exc)
        exc = errors.ServiceUnavailable("The service is temporarily unavailable. Please try "
                                        "again in a moment.")
    if isinstance(exc, errors.ServiceError):
        status = status_of(exc)
        if status != 500:
            body = {"code": exc.code, "message": exc.message, "fields": exc.fields}
            if isinstance(exc, errors.PaymentDeclined) and "decline_code" in exc.details:
                body["decline_code"] = exc.details["decline_code"]
            if isinstance(exc.details.get("params"), dict) and exc.details["params"]:
                # what the message is made of, for saying it in another language by its code
                body["params"] = {str(k): str(v) for k, v in exc.details["params"].items()}
            headers = {}
            if isinstance(exc, errors.RateLimited):
                headers["Retry-After"] = str(exc.retry_after)
            if isinstance(exc, MethodNotAllowed):
                headers["Allow"] = ", ".join(exc.details.get("allow", ()))
            return json_response({"error": body}, status, headers)
    log.error("request %s failed", request_id, exc_info=exc)
    return json_response({"error": {
        "code": "INTERNAL_ERROR",
        "message": f"Something went wrong on our side. Reference: {request_id}.",
        "fields": {}}}, 500)
