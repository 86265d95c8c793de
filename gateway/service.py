"""The gateway service: every HTTP route of the portal, one line each.

Read this file as the API's table of contents; the work is in `gateway/views/`, the route
mechanics in `gateway/http.py`, the contract's bodies in `gateway/schemas.py`.
"""

from __future__ import annotations

import functools
import pathlib

from nameko.dependency_providers import Config
from nameko.events import BROADCAST, event_handler
from nameko.web.handlers import http
from werkzeug.exceptions import MethodNotAllowed as WerkzeugMethodNotAllowed
from werkzeug.exceptions import NotFound as WerkzeugNotFound
from werkzeug.routing import Map, Rule
from werkzeug.utils import send_from_directory
from werkzeug.wrappers import Request, Response

from gateway import metrics
from gateway import schemas as s
from gateway.auth import AuthCache
from gateway.errors import MethodNotAllowed, error_response, json_response
from gateway.http import ROUTES, SECURITY_HEADERS, api
from gateway.openapi import build_spec
from gateway.views import (
    accounts,
    bills,
    catalog,
    dashboard,
    health,
    ops,
    subscriptions,
    wallet,
)
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
    sessions = AuthCache()
    accounts = BoundedRpcProxy("accounts")
    catalog = BoundedRpcProxy("catalog")
    billing = BoundedRpcProxy("billing")

    def backends(self) -> dict:
        """The services /ready checks: every service the gateway talks to."""
        return {"accounts": self.accounts, "catalog": self.catalog, "billing": self.billing}

    # a revoked session or a changed account leaves every gateway's auth cache at once
    @event_handler("accounts", "session_revoked", handler_type=BROADCAST,
                   reliable_delivery=False)
    def on_session_revoked(self, payload):
        self.sessions.evict_sessions(payload["customer"]["session_ids"])

    @event_handler("accounts", "password_changed", handler_type=BROADCAST,
                   reliable_delivery=False)
    def on_password_changed(self, payload):
        self.sessions.evict_customer(payload["customer"]["id"])

    @event_handler("accounts", "customer_updated", handler_type=BROADCAST,
                   reliable_delivery=False)
    def on_customer_updated(self, payload):
        self.sessions.evict_customer(payload["customer"]["id"])

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

    # cards
    @api("GET", "/api/v1/me/payment-methods", response=s.PaymentMethodList, tag="payments",
         summary="My cards (brand, last four, expiry; never the number)")
    def payment_methods(self, call):
        return wallet.payment_methods(self, call)

    @api("POST", "/api/v1/me/payment-methods", body=s.CardIn, response=s.PaymentMethod,
         status=201, tag="payments",
         summary="Add a card: tokenized at once; the number and CVC are never stored")
    def add_payment_method(self, call):
        return wallet.add_payment_method(self, call)

    @api("DELETE", "/api/v1/me/payment-methods/<string:payment_method_id>", status=204,
         tag="payments", summary="Remove a card")
    def remove_payment_method(self, call):
        return wallet.remove_payment_method(self, call)

    @api("POST", "/api/v1/me/payment-methods/<string:payment_method_id>/default",
         response=s.PaymentMethod, tag="payments", summary="Make a card the default")
    def default_payment_method(self, call):
        return wallet.default_payment_method(self, call)

    # the prepaid wallet
    @api("GET", "/api/v1/wallet", response=s.WalletOut, tag="wallet",
         summary="Balance and low-balance flag (prepaid accounts; 409 NOT_PREPAID otherwise)")
    def wallet(self, call):
        return wallet.wallet(self, call)

    @api("PATCH", "/api/v1/wallet", body=s.WalletSettings, response=s.WalletOut, tag="wallet",
         summary="Set the low-balance threshold")
    def wallet_settings(self, call):
        return wallet.wallet_settings(self, call)

    @api("GET", "/api/v1/wallet/transactions", query=s.PageQuery,
         response=s.WalletTransactionList, tag="wallet",
         summary="The ledger, newest first, each entry with the balance after it")
    def wallet_transactions(self, call):
        return wallet.transactions(self, call)

    @api("POST", "/api/v1/wallet/top-ups", body=s.TopUpIn, response=s.TopUpOut, status=201,
         tag="wallet", summary="Top up by card; Idempotency-Key honoured; 402 when declined")
    def top_up(self, call):
        return wallet.top_up(self, call)

    # bills (postpaid)
    @api("GET", "/api/v1/invoices", query=s.InvoiceQuery, response=s.InvoiceList, tag="bills",
         summary="My invoices, newest first (postpaid accounts; 409 NOT_POSTPAID otherwise)")
    def invoices(self, call):
        return bills.invoices(self, call)

    @api("GET", "/api/v1/invoices/<string:invoice_id>", response=s.InvoiceOut, tag="bills",
         summary="One invoice: number, dates, lines, discounts, taxes, totals")
    def invoice(self, call):
        return bills.invoice(self, call)

    @api("GET", "/api/v1/invoices/<string:invoice_id>/pdf", tag="bills",
         summary="The invoice as a PDF document")
    def invoice_pdf(self, call):
        return bills.invoice_pdf(self, call)

    @api("GET", "/api/v1/payments/<string:payment_id>/receipt", tag="bills",
         summary="A payment's receipt as a PDF document")
    def payment_receipt(self, call):
        return bills.receipt(self, call)

    @api("POST", "/api/v1/invoices/<string:invoice_id>/pay", body=s.PayIn,
         response=s.InvoicePaid, status=201, tag="bills",
         summary="Pay an invoice by card (the default if none is named); Idempotency-Key "
                 "honoured; 402 with the decline code when declined")
    def pay_invoice(self, call):
        return bills.pay(self, call)

    @api("GET", "/api/v1/payments", response=s.PaymentList, tag="bills",
         summary="My payments: invoice payments and wallet top-ups, newest first")
    def payments(self, call):
        return bills.payments(self, call)

    # operations
    @api("POST", "/api/v1/ops/billing-runs", access="ops", body=s.BillingRunIn,
         response=s.BillingRunOut, status=202, tag="ops",
         summary="Start the billing run for a date (default today); a repeat starts nothing new")
    def ops_start_billing_run(self, call):
        return bills.ops_start_run(self, call)

    @api("GET", "/api/v1/ops/billing-runs", access="ops", response=s.BillingRunList, tag="ops",
         summary="Recent billing runs")
    def ops_billing_runs(self, call):
        return bills.ops_runs(self, call)

    @api("GET", "/api/v1/ops/billing-runs/<string:run_id>", access="ops",
         response=s.BillingRunOut, tag="ops", summary="A billing run's status and progress")
    def ops_billing_run(self, call):
        return bills.ops_run(self, call)

    @api("POST", "/api/v1/ops/customers/<string:customer_id>/wallet/adjustments", access="ops",
         body=s.AdjustmentIn, response=s.AdjustmentOut, status=201, tag="ops",
         summary="Post a wallet adjustment with a reason")
    def ops_wallet_adjustment(self, call):
        return wallet.ops_adjust(self, call)

    @api("GET", "/api/v1/ops/ledger/verify", access="ops", response=s.LedgerReport, tag="ops",
         summary="Check every wallet's balance against its ledger")
    def ops_verify_ledger(self, call):
        return wallet.ops_verify_ledger(self, call)

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

    # the main page
    @api("GET", "/api/v1/dashboard", response=s.Dashboard, tag="portal",
         summary="The main page: account, services, and (as they exist) wallet or bills, "
                 "tickets, notifications; a part whose service is down is marked unavailable")
    def dashboard(self, call):
        return dashboard.dashboard(self, call)

    # catalog
    @api("GET", "/api/v1/catalog/packages", response=s.PackageList, tag="catalog",
         summary="Base packages with prices, channels and included devices")
    def catalog_packages(self, call):
        return catalog.packages(self, call)

    @api("GET", "/api/v1/catalog/addons", query=s.AddonQuery, response=s.AddonList,
         tag="catalog", summary="Add-ons (channel bundles) and the packages that allow them")
    def catalog_addons(self, call):
        return catalog.addons(self, call)

    @api("GET", "/api/v1/catalog/devices", response=s.DeviceList, tag="catalog",
         summary="Set-top boxes and routers: sale price or monthly rental")
    def catalog_devices(self, call):
        return catalog.devices(self, call)

    # subscriptions
    @api("GET", "/api/v1/subscriptions", response=s.SubscriptionList, tag="subscriptions",
         summary="My subscriptions")
    def subscriptions(self, call):
        return subscriptions.list_(self, call)

    @api("POST", "/api/v1/subscriptions", body=s.Subscribe, response=s.SubscriptionCreated,
         status=201, tag="subscriptions",
         summary="Subscribe to a package (with add-ons and devices); Idempotency-Key honoured")
    def subscribe(self, call):
        return subscriptions.subscribe(self, call)

    @api("GET", "/api/v1/subscriptions/<string:subscription_id>", response=s.Subscription,
         tag="subscriptions", summary="One subscription")
    def subscription(self, call):
        return subscriptions.get(self, call)

    @api("POST", "/api/v1/subscriptions/<string:subscription_id>/change", body=s.Change,
         response=s.Preview, tag="subscriptions",
         summary="Upgrade or downgrade; with preview: the proration lines, nothing changed")
    def change_subscription(self, call):
        return subscriptions.change(self, call)

    @api("POST", "/api/v1/subscriptions/<string:subscription_id>/addons", body=s.AddAddon,
         response=s.Preview, tag="subscriptions", summary="Add a channel bundle (prorated)")
    def add_addon(self, call):
        return subscriptions.add_addon(self, call)

    @api("DELETE", "/api/v1/subscriptions/<string:subscription_id>/addons/<string:code>",
         query=s.RemoveAddonQuery, response=s.Preview, tag="subscriptions",
         summary="Remove a channel bundle (the unused part is credited)")
    def remove_addon(self, call):
        return subscriptions.remove_addon(self, call)

    @api("POST", "/api/v1/subscriptions/<string:subscription_id>/pause", body=s.Pause,
         response=s.Subscription, tag="subscriptions", summary="Pause, optionally until a date")
    def pause_subscription(self, call):
        return subscriptions.pause(self, call)

    @api("POST", "/api/v1/subscriptions/<string:subscription_id>/resume",
         response=s.Subscription, tag="subscriptions", summary="Resume a paused subscription")
    def resume_subscription(self, call):
        return subscriptions.resume(self, call)

    @api("POST", "/api/v1/subscriptions/<string:subscription_id>/cancel", body=s.Cancel,
         response=s.Preview, tag="subscriptions",
         summary="Cancel with a reason, now (unused part credited) or at period end")
    def cancel_subscription(self, call):
        return subscriptions.cancel(self, call)

    # operations: catalog and devices
    @api("GET", "/api/v1/ops/catalog/<string:kind>", access="ops", tag="ops",
         summary="List a catalog kind: packages, addons, devices, tax_rates, promotions")
    def ops_catalog_list(self, call):
        return catalog.ops_list(self, call)

    @api("POST", "/api/v1/ops/catalog/<string:kind>", access="ops", body=s.CatalogEntry,
         status=201, tag="ops", summary="Create a catalog entry (fully validated)")
    def ops_catalog_create(self, call):
        return catalog.ops_create(self, call)

    @api("GET", "/api/v1/ops/catalog/<string:kind>/<string:code>", access="ops", tag="ops",
         summary="One catalog entry")
    def ops_catalog_get(self, call):
        return catalog.ops_get(self, call)

    @api("PATCH", "/api/v1/ops/catalog/<string:kind>/<string:code>", access="ops",
         body=s.CatalogEntry, tag="ops",
         summary="Change a catalog entry; running subscriptions keep their prices until renewal")
    def ops_catalog_update(self, call):
        return catalog.ops_update(self, call)

    @api("DELETE", "/api/v1/ops/catalog/<string:kind>/<string:code>", access="ops", tag="ops",
         summary="Retire a catalog entry (never deleted: subscriptions refer to it)")
    def ops_catalog_retire(self, call):
        return catalog.ops_retire(self, call)

    @api("POST", "/api/v1/ops/devices/<string:device_id>/serial", access="ops",
         body=s.SerialChange, response=s.DeviceSerial, tag="ops",
         summary="Record a device's (replacement) serial number")
    def ops_replace_device(self, call):
        return subscriptions.ops_replace_device(self, call)

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
