"""The gateway service: every HTTP route of the portal, one line each.

Read this file as the API's table of contents; the work is in `gateway/views/`, the route
mechanics in `gateway/http.py`, the contract's bodies in `gateway/schemas.py`.
"""

from __future__ import annotations

import functools
import pathlib

from nameko.dependency_providers import Config
from nameko.web.handlers import http
from werkzeug.exceptions import MethodNotAllowed as WerkzeugMethodNotAllowed
from werkzeug.exceptions import NotFound as WerkzeugNotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Request, Response

from gateway import metrics
from gateway import schemas as s
from gateway.errors import MethodNotAllowed, error_response, json_response
from gateway.http import ROUTES, SECURITY_HEADERS, api
from gateway.openapi import build_spec
from gateway.views import accounts, health, ops
from services.common import errors
from services.common.ids import new_id
from services.common.rpc import BoundedRpcProxy, observers

observers.append(metrics.observe_rpc)

STATIC_DIR = pathlib.Path(__file__).with_name("static")
PAGE_HEADERS = {**SECURITY_HEADERS, "Content-Security-Policy": (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")}


class GatewayService:
    name = "gateway"

    config = Config()
    accounts = BoundedRpcProxy("accounts")

    def backends(self) -> dict:
        """The services /ready checks: every service the gateway talks to."""
        return {"accounts": self.accounts}

    # accounts and sessions
    @api("POST", "/api/v1/accounts", access="public", body=s.SignUp, response=s.Account,
         status=201, tag="accounts", summary="Sign up")
    def signup(self, call):
        return accounts.signup(self, call)

    @api("POST", "/api/v1/auth/login", access="public", body=s.Login, response=s.Session,
         tag="accounts", summary="Log in: a bearer token, and a session cookie for the portal")
    def login(self, call):
        return accounts.login(self, call)

    @api("POST", "/api/v1/auth/logout", response=s.Status, tag="accounts", summary="Log out")
    def logout(self, call):
        return accounts.logout(self, call)

    @api("POST", "/api/v1/auth/portal-link/<string:token>", access="public", response=s.Session,
         tag="accounts", summary="Exchange a portal link for a session (once)")
    def exchange_portal_link(self, call):
        return accounts.exchange_portal_link(self, call)

    @api("GET", "/api/v1/me", response=s.Account, tag="accounts", summary="My account")
    def me(self, call):
        return accounts.me(self, call)

    @api("PATCH", "/api/v1/me", body=s.ProfileChange, response=s.Account, tag="accounts",
         summary="Change profile and contact details (email change needs the password)")
    def update_me(self, call):
        return accounts.update_me(self, call)

    @api("POST", "/api/v1/me/password", body=s.PasswordChange, response=s.Status,
         tag="accounts", summary="Change password; other sessions are revoked")
    def change_password(self, call):
        return accounts.change_password(self, call)

    # operations
    @api("GET", "/api/v1/ops/customers", access="ops", query=s.CustomerQuery,
         response=s.CustomerPage, tag="ops", summary="Find customers by email, name or id")
    def ops_find_customers(self, call):
        return ops.find_customers(self, call)

    @api("GET", "/api/v1/ops/customers/<string:customer_id>", access="ops", response=s.Account,
         tag="ops", summary="View an account as support sees it")
    def ops_get_customer(self, call):
        return ops.get_customer(self, call)

    @api("PATCH", "/api/v1/ops/customers/<string:customer_id>", access="admin",
         body=s.RoleChange, response=s.Account, tag="ops",
         summary="Set an account's role and team membership (admin)")
    def ops_set_role(self, call):
        return ops.set_role(self, call)

    @api("POST", "/api/v1/ops/customers/<string:customer_id>/portal-link", access="ops",
         response=s.PortalLink, status=201, tag="ops",
         summary="Issue the customer's portal link (revokes the previous one)")
    def ops_issue_portal_link(self, call):
        return ops.issue_portal_link(self, call)

    @api("DELETE", "/api/v1/ops/customers/<string:customer_id>/portal-link", access="ops",
         response=s.Revoked, tag="ops", summary="Revoke the customer's portal link")
    def ops_revoke_portal_link(self, call):
        return ops.revoke_portal_link(self, call)

    # health and the API's own description
    @api("GET", "/health", access="public", response=s.Status, tag="health",
         summary="The gateway process is up")
    def health(self, call):
        return {"status": "ok"}

    @api("GET", "/ready", access="public", response=s.Readiness, tag="health",
         summary="The broker and every service answer")
    def ready(self, call):
        return health.ready(self, call)

    @api("GET", "/metrics", access="public", tag="health", summary="Prometheus metrics")
    def metrics(self, call):
        return health.prometheus(self, call)

    @api("GET", "/api/v1/openapi.json", access="public", tag="health",
         summary="This API's OpenAPI 3 document")
    def openapi(self, call):
        return json_response(openapi_document())

    # the portal front end (static files) and JSON answers for unknown paths
    @http("GET", "/")
    def portal(self, request: Request) -> Response:
        return _static(request, "index.html")

    @http("GET", "/static/<path:path>")
    def static(self, request: Request, path: str) -> Response:
        return _static(request, path)

    @http("GET,POST,PUT,PATCH,DELETE", "/<path:path>")
    def not_found(self, request: Request, path: str) -> Response:
        try:
            _api_map().bind("").match("/" + path, method=request.method)
            exc: errors.ServiceError = errors.NotFound("No such endpoint.")
        except WerkzeugMethodNotAllowed:
            exc = MethodNotAllowed()
        except WerkzeugNotFound:
            exc = errors.NotFound("No such endpoint.")
        return error_response(exc, new_id("req"))


@functools.cache
def openapi_document() -> dict:
    return build_spec()


@functools.cache
def _api_map() -> Map:
    return Map([Rule(r.path, methods=[r.method]) for r in ROUTES])


def _static(request: Request, path: str) -> Response:
    try:
        response = send_from_directory(STATIC_DIR, path, request.environ, max_age=0)
    except WerkzeugNotFound:
        return error_response(errors.NotFound("No such file."), new_id("req"))
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
