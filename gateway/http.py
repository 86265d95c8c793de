"""The one way a route is declared: `@api(method, path, ...)` on a gateway method.

It registers nameko's HTTP entrypoint and wraps the method with what every route needs, in
order: a request id, authentication (`access`), the JSON body and query loaded by marshmallow
schemas (unknown fields refused), the view, the response dumped by its schema, errors mapped by
`gateway.errors`, security headers and metrics. The same declarations generate the OpenAPI
document (`gateway/openapi.py`), so the document is what the code validates with.
"""

from __future__ import annotations

import functools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema
from nameko.web.handlers import http
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from gateway import audit, auth, metrics, readcache
from gateway.errors import PayloadTooLarge, error_response, json_response
from gateway.transport import client_ip
from services.common import correlation, errors
from services.common.ids import new_id
from services.common.schemas import load_or_raise

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32  # our deepest body is 4 levels; the JSON parser itself recurses
# a `\u` escape of a UTF-16 surrogate or of NUL: the only ways a JSON text can carry a string
# that is not valid UTF-8 text (or that PostgreSQL refuses); only then is the body walked
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F]|0000)")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
API_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-store"}


@dataclass
class Route:
    method: str
    path: str  # werkzeug rule, e.g. /api/v1/ops/customers/<string:customer_id>
    access: str
    body: type[Schema] | None
    query: type[Schema] | None
    response: type[Schema] | None
    status: int
    summary: str
    tag: str
    name: str = ""
    in_schema: bool = True
    idempotency: str | None = None  # "required" (moves money) or "accepted"; see api()
    also: dict[int, type[Schema]] = field(default_factory=dict)  # other success statuses

    def schema_for(self, status: int | None) -> Schema | None:
        """The response schema of a success status (`response`, or one of `also`)."""
        if status in self.also:
            return self.also_schemas[status]
        return self.response_schema

    @functools.cached_property
    def also_schemas(self) -> dict[int, Schema]:
        return {code: schema() for code, schema in self.also.items()}

    # one schema instance per route and purpose: building a schema deep-copies its fields,
    # which cost an eighth of the gateway's CPU when done per request (py-spy)
    @functools.cached_property
    def body_schema(self) -> Schema | None:
        return self.body() if self.body else None

    @functools.cached_property
    def query_schema(self) -> Schema | None:
        return self.query() if self.query else None

    @functools.cached_property
    def response_schema(self) -> Schema | None:
        return self.response() if self.response else None


ROUTES: list[Route] = []


@dataclass
class Call:
    """What a view gets: the request, who is calling, the loaded body and query."""

    request: Request
    request_id: str
    client_ip: str | None
    principal: auth.Principal | None = None
    body: dict = field(default_factory=dict)
    query: dict = field(default_factory=dict)
    path: dict = field(default_factory=dict)
    audit: dict = field(default_factory=dict)  # a view's details for the audit entry


@dataclass
class Reply:
    """A view's answer when it needs more than a body: a status, cookies, headers."""

    body: Any
    status: int | None = None
    cookies: list[dict] = field(default_factory=list)
    headers: dict = field(default_factory=dict)


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def read_json(request: Request) -> dict:
    request.max_content_length = MAX_BODY_BYTES
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise PayloadTooLarge(f"The body must be at most {MAX_BODY_BYTES} bytes.") from None
    if not raw.strip():
        return {}
    if request.mimetype != "application/json":
        raise errors.InvalidArgument("Send the body as JSON.", code="UNSUPPORTED_CONTENT_TYPE",
                                     fields={"content_type": ["must be application/json"]})
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.InvalidArgument("The body is not valid JSON.", code="MALFORMED_JSON",
                                     fields={"body": [str(exc)[:200]]}) from None
    except RecursionError:  # the parser recurses per level: a deep body is refused, not a 500
        raise _too_deep() from None
    if not isinstance(data, dict):
        raise errors.InvalidArgument("The body must be a JSON object.", code="MALFORMED_JSON",
                                     fields={"body": ["must be a JSON object"]})
    _check_strings_and_depth(data, suspect=_SUSPECT_ESCAPE.search(raw) is not None)
    return data


def _refuse_nul(path_args: dict, query: dict) -> None:
    """A `%00` in the path or the query is never one of our ids or words (and PostgreSQL
    refuses NUL in text): 400, not a database error."""
    for where, values in (("path", path_args), ("query", query)):
        for name, value in values.items():
            if isinstance(value, str) and "\x00" in value:
                raise errors.InvalidArgument(
                    f"The {where} has a NUL character.",
                    fields={name: ["must not contain NUL (%00)"]})


def _too_deep() -> errors.InvalidArgument:
    return errors.InvalidArgument("The body is nested too deeply.", code="MALFORMED_JSON",
                                  fields={"body": [f"must be nested at most {MAX_JSON_DEPTH} "
                                                   "levels deep"]})


def _check_strings_and_depth(data: dict, suspect: bool) -> None:
    """Refuse bodies nested deeper than MAX_JSON_DEPTH (schemas, the idempotency fingerprint and
    the RPC encoder recurse too) and, when the raw text had such an escape, strings with a lone
    UTF-16 surrogate or NUL: neither can be stored or sent on as UTF-8 text. Iterative: a walk
    must not recurse either."""
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise _too_deep()
        if isinstance(value, dict):
            if suspect:
                for key in value:
                    _check_text(key)
            items = value.values()
        elif isinstance(value, list):
            items = value
        else:
            if suspect and isinstance(value, str):
                _check_text(value)
            continue
        stack.extend((item, depth + 1) for item in items
                     if isinstance(item, dict | list) or (suspect and isinstance(item, str)))


def _check_text(text: str) -> None:
    if "\x00" in text or not _encodable(text):
        raise errors.InvalidArgument(
            "The body has a string that is not valid text.", code="MALFORMED_JSON",
            fields={"body": ["strings must be Unicode text: no lone UTF-16 surrogate "
                             "(\\ud800-\\udfff) and no NUL (\\u0000)"]})


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def finish(response: Response, route_name: str, method: str, started: float,
           request_id: str, headers: dict) -> Response:
    for name, value in headers.items():
        response.headers.setdefault(name, value)
    response.headers["X-Request-Id"] = request_id
    metrics.observe_request(route_name, method, response.status_code,
                            time.perf_counter() - started)
    return response


IDEMPOTENCY_KEY_REQUIRED = "IDEMPOTENCY_KEY_REQUIRED"


def api(method: str, path: str, *, access: str = "session", body: type[Schema] | None = None,
        query: type[Schema] | None = None, response: type[Schema] | None = None,
        status: int = 200, summary: str = "", tag: str = "", in_schema: bool = True,
        idempotency: str | None = None, also: dict[int, type[Schema]] | None = None):
    """Declare a route. `idempotency="required"`: the request moves money, and without an
    `Idempotency-Key` header it is refused (400 IDEMPOTENCY_KEY_REQUIRED) before the view runs;
    `"accepted"`: the view honours a key when one is sent. Both are in the OpenAPI document.
    `also`: other success statuses a view may answer (`Reply(status=…)`), with their schema."""
    assert idempotency in (None, "required", "accepted"), idempotency

    def decorator(view):
        route = Route(method, path, access, body, query, response, status, summary, tag,
                      view.__name__, in_schema, idempotency, dict(also or {}))
        ROUTES.append(route)

        @functools.wraps(view)
        def handler(self, request: Request, **path_args: str) -> Response:
            started = time.perf_counter()
            # the correlation id this request's calls and events carry (services' log lines)
            request_id = correlation.correlation_id() or new_id("req")
            call = None
            try:
                if method != "GET" and request.headers.get("Sec-Fetch-Site") == "cross-site":
                    raise errors.PermissionDenied("Cross-site requests are refused.",
                                                  code="CROSS_SITE_REQUEST")
                call = Call(request=request, request_id=request_id,
                            client_ip=client_ip(request, self.config), path=path_args)
                if access == "visitor":
                    call.principal = auth.identify_if_any(self.accounts, request, self.sessions)
                elif access != "public":
                    call.principal = auth.identify(self.accounts, request, self.sessions)
                    auth.require(call.principal, access)  # a refusal is audited too
                    auth.require_scope(call.principal, method, request.path)
                    auth.require_member(call.principal, method, request.path)
                if route.idempotency == "required" and idempotency_key(call) is None:
                    raise errors.InvalidArgument(
                        "This request moves money: send an Idempotency-Key header (1 to 255 "
                        "characters, new for each distinct request) so a retry has one effect.",
                        code=IDEMPOTENCY_KEY_REQUIRED,
                        fields={"Idempotency-Key": ["is required"]})
                if route.body_schema is not None:
                    call.body = load_or_raise(route.body_schema, read_json(request))
                if route.query_schema is not None:
                    call.query = load_or_raise(route.query_schema, request.args.to_dict())
                _refuse_nul(path_args, call.query)
                result = None
                try:
                    result = view(self, call)
                finally:
                    if method not in auth.SAFE_METHODS and call.principal is not None:
                        # read your own writes: the next view of what this write named is asked
                        # afresh (also after a failure: a timed-out write may have happened)
                        readcache.after_write(getattr(self, "views", None), call.principal,
                                              call.path, result)
                out = result if isinstance(result, Response) else _render(route, result)
            except Exception as exc:  # noqa: BLE001 - every failure becomes an error body
                out = error_response(exc, request_id)
            if call is not None:
                audit.record(self, route, call, out)  # staff writes, whatever their outcome
            return finish(out, route.name, method, started, request_id, API_HEADERS)

        return http(method, path)(handler)

    return decorator


def _render(route: Route, result: Any) -> Response:
    reply = result if isinstance(result, Reply) else Reply(result)
    payload = reply.body
    schema = route.schema_for(reply.status)
    if schema is not None and payload is not None:
        payload = schema.dump(payload)
    response = json_response(payload, reply.status or route.status, reply.headers)
    if payload is None:
        response = Response(status=reply.status or 204)
    for cookie in reply.cookies:
        response.set_cookie(**cookie)
    return response


def idempotency_key(call: Call) -> str | None:
    """The client's `Idempotency-Key` header (1–255 printable ASCII characters), if it sent
    one."""
    key = call.request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not _KEY.fullmatch(key):
        raise errors.InvalidArgument("The Idempotency-Key header is not valid.", fields={
            "Idempotency-Key": ["must be 1 to 255 printable ASCII characters"]})
    return key


_KEY = re.compile(r"[\x20-\x7e]+")
