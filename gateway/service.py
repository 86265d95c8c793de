"""The gateway service: every HTTP route of the portal, one line each.

Read this file as the API's table of contents; the work is in `gateway/views/`, the route
mechanics in `gateway/http.py`, the contract's bodies in `gateway/schemas/`: one module per area,
as the views (`accounts_schemas.Account` is in `gateway/schemas/accounts.py`).
"""

from __future__ import annotations

import functools
import pathlib

from nameko.dependency_providers import Config
from nameko.events import BROADCAST, EventDispatcher
from nameko.web.handlers import http
from werkzeug.exceptions import MethodNotAllowed as WerkzeugMethodNotAllowed
from werkzeug.exceptions import NotFound as WerkzeugNotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from gateway import static_files
from gateway.auth import AuthCache
from gateway.errors import MethodNotAllowed, error_response, json_response
from gateway.http import ROUTES, SECURITY_HEADERS, api
from gateway.openapi import build_spec
from gateway.readcache import BILLING, NOTIFIER, TICKETS, ReadCacheProvider, customers_in
from gateway.schemas import accounts as accounts_schemas
from gateway.schemas import bills as bills_schemas
from gateway.schemas import branding as branding_schemas
from gateway.schemas import catalog as catalog_schemas
from gateway.schemas import common as common_schemas
from gateway.schemas import dashboard as dashboard_schemas
from gateway.schemas import governance as governance_schemas
from gateway.schemas import health as health_schemas
from gateway.schemas import households as households_schemas
from gateway.schemas import insights as insights_schemas
from gateway.schemas import notifications as notifications_schemas
from gateway.schemas import ops as ops_schemas
from gateway.schemas import privacy as privacy_schemas
from gateway.schemas import subscriptions as subscriptions_schemas
from gateway.schemas import support as support_schemas
from gateway.schemas import vouchers as vouchers_schemas
from gateway.schemas import wallet as wallet_schemas
from gateway.transport import TransportSecurity
from gateway.views import (
    accounts,
    bills,
    branding,
    catalog,
    dashboard,
    governance,
    health,
    households,
    insights,
    notifications,
    ops,
    privacy,
    subscriptions,
    support,
    vouchers,
    wallet,
)
from services.common import errors
from services.common.clock import ClockProvider
from services.common.contract import accounts as accounts_contract
from services.common.contract import billing as billing_contract
from services.common.contract import notifier as notifier_contract
from services.common.contract import tickets as tickets_contract
from services.common.contract import vouchers as vouchers_contract
from services.common.events import EventHandler
from services.common.ids import new_id
from services.common.observability import Observability
from services.common.rpc import FAST_FAIL, BoundedRpcProxy

# the gateway's cache evictions: one transient queue per process, acknowledged safely, never
# retried (an eviction that failed is covered by the cache's expiry)
event_handler = EventHandler.decorator

STATIC_DIR = pathlib.Path(__file__).with_name("static")
PAGE_HEADERS = {**SECURITY_HEADERS, "Content-Security-Policy": (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")}


class GatewayService:
    name = "gateway"

    config = Config()
    observability = Observability()  # metrics registry, correlation ids (= request ids)
    sessions = AuthCache()
    views = ReadCacheProvider()  # the dashboard's parts per customer
    transport = TransportSecurity()  # HSTS on every answer when PUBLIC_URL is https
    # staff actions, stored by accounts (gateway/audit.py)
    audit_events = EventDispatcher(retry_policy=FAST_FAIL)
    accounts = BoundedRpcProxy("accounts")
    catalog = BoundedRpcProxy("catalog")
    billing = BoundedRpcProxy("billing")
    vouchers = BoundedRpcProxy("vouchers")
    notifier = BoundedRpcProxy("notifier")
    tickets = BoundedRpcProxy("tickets")
    insights = BoundedRpcProxy("insights")
    clock = ClockProvider()  # what "this month" is for the insights' default range

    def backends(self) -> dict:
        """The services /ready checks: every service the gateway talks to."""
        return {"accounts": self.accounts, "catalog": self.catalog, "billing": self.billing,
                "vouchers": self.vouchers, "notifier": self.notifier, "tickets": self.tickets,
                "insights": self.insights}

    # a revoked session or a changed account leaves every gateway's auth cache at once
    @event_handler("accounts", "session_revoked", handler_type=BROADCAST,
                   reliable_delivery=False)
    def on_session_revoked(self, payload):
        self.sessions.evict_sessions(payload["customer"]["session_ids"])

    @event_handler("accounts", "password_changed", handler_type=BROADCAST,
                   reliable_delivery=False)
    def on_password_changed(self, payload):
        self.sessions.evict_customer(payload["customer"]["id"])

    @event_handler("accounts", "household_changed", handler_type=BROADCAST,
                   reliable_delivery=False)
    def on_household_changed(self, payload):
        """A member added, changed or removed: what their sessions may do changed."""
        for customer_id in payload["customer"]["customer_ids"]:
            self.sessions.evict_customer(customer_id)

    @event_handler("accounts", "customer_updated", handler_type=BROADCAST,
                   reliable_delivery=False)
    def on_customer_updated(self, payload):
        self.sessions.evict_customer(payload["customer"]["id"])
        self.views.evict(payload["customer"]["id"])

    # a change in a dashboard part leaves every gateway's read cache (gateway/readcache.py)
    @event_handler("billing", "wallet_credited", handler_type=BROADCAST, reliable_delivery=False)
    @event_handler("billing", "wallet_debited", handler_type=BROADCAST, reliable_delivery=False)
    @event_handler("billing", "subscription_activated", handler_type=BROADCAST,
                   reliable_delivery=False)
    @event_handler("billing", "subscription_changed", handler_type=BROADCAST,
                   reliable_delivery=False)
    @event_handler("billing", "subscription_paused", handler_type=BROADCAST,
                   reliable_delivery=False)
    @event_handler("billing", "subscription_resumed", handler_type=BROADCAST,
                   reliable_delivery=False)
    @event_handler("billing", "subscription_suspended", handler_type=BROADCAST,
                   reliable_delivery=False)
    @event_handler("billing", "subscription_renewed", handler_type=BROADCAST,
                   reliable_delivery=False)
    @event_handler("billing", "subscription_cancelled", handler_type=BROADCAST,
                   reliable_delivery=False)
    @event_handler("billing", "invoice_issued", handler_type=BROADCAST, reliable_delivery=False)
    @event_handler("billing", "invoice_paid", handler_type=BROADCAST, reliable_delivery=False)
    @event_handler("billing", "invoice_overdue", handler_type=BROADCAST, reliable_delivery=False)
    @event_handler("billing", "credit_note_issued", handler_type=BROADCAST,
                   reliable_delivery=False)
    def on_billing_changed(self, payload):
        self.views.evict_many(customers_in(payload), (BILLING,))

    @event_handler("tickets", "ticket_opened", handler_type=BROADCAST, reliable_delivery=False)
    @event_handler("tickets", "ticket_routed", handler_type=BROADCAST, reliable_delivery=False)
    @event_handler("tickets", "ticket_updated", handler_type=BROADCAST, reliable_delivery=False)
    @event_handler("tickets", "ticket_resolved", handler_type=BROADCAST, reliable_delivery=False)
    @event_handler("tickets", "ticket_closed", handler_type=BROADCAST, reliable_delivery=False)
    def on_tickets_changed(self, payload):
        self.views.evict_many(customers_in(payload), (TICKETS,))

    @event_handler("notifier", "inbox_changed", handler_type=BROADCAST, reliable_delivery=False)
    def on_inbox_changed(self, payload):
        self.views.evict_many(customers_in(payload), (NOTIFIER,))

    # accounts and sessions
    @api("POST", "/api/v1/accounts", access="public", body=accounts_contract.SignUp,
         response=accounts_schemas.Account, status=201, tag="accounts", summary="Sign up")
    def signup(self, call):
        return accounts.signup(self, call)

    @api("POST", "/api/v1/auth/login", access="public", body=accounts_schemas.Login,
         response=accounts_schemas.Session, also={202: accounts_schemas.SecondStep},
         tag="accounts",
         summary="Log in: a bearer token and a session cookie, or (202) the second step")
    def login(self, call):
        return accounts.login(self, call)

    @api("POST", "/api/v1/auth/login/second-step", access="public",
         body=accounts_schemas.SecondStepIn, response=accounts_schemas.Session, tag="accounts",
         summary="A sign-in's second step: an authenticator code or a recovery code")
    def login_second_step(self, call):
        return accounts.login_second_step(self, call)

    @api("POST", "/api/v1/auth/passkey/options", access="public",
         body=accounts_schemas.PasskeyOptionsIn, response=accounts_schemas.PasskeyCeremony,
         tag="accounts", summary="Options to sign in with a passkey (no e-mail needed)")
    def passkey_sign_in_options(self, call):
        return accounts.passkey_sign_in_options(self, call)

    @api("POST", "/api/v1/auth/passkey", access="public", body=accounts_schemas.PasskeySignIn,
         response=accounts_schemas.Session, tag="accounts",
         summary="Sign in with a passkey, or take a sign-in's second step with one")
    def passkey_sign_in(self, call):
        return accounts.passkey_sign_in(self, call)

    @api("POST", "/api/v1/auth/password-reset", access="public",
         body=accounts_schemas.PasswordResetRequest, response=accounts_schemas.Accepted,
         status=202, tag="accounts",
         summary="Ask for a password reset link (the same answer for every address)")
    def request_password_reset(self, call):
        return accounts.request_password_reset(self, call)

    @api("POST", "/api/v1/auth/password-reset/confirm", access="public",
         body=accounts_schemas.PasswordReset, response=accounts_schemas.PasswordResetDone,
         tag="accounts", summary="Set a new password with the link's token; every session ends")
    def reset_password(self, call):
        return accounts.reset_password(self, call)

    @api("POST", "/api/v1/auth/verify-email", access="public",
         body=accounts_schemas.EmailVerification, response=accounts_schemas.Account,
         tag="accounts", summary="Follow a verification link: the address becomes the account's")
    def verify_email(self, call):
        return accounts.verify_email(self, call)

    @api("POST", "/api/v1/auth/logout", response=common_schemas.Status, tag="accounts",
         summary="Log out")
    def logout(self, call):
        return accounts.logout(self, call)

    @api("POST", "/api/v1/auth/portal-link/<string:token>", access="public",
         response=accounts_schemas.Session, also={202: accounts_schemas.SecondStep},
         tag="accounts",
         summary="Exchange a portal link for a session (once)")
    def exchange_portal_link(self, call):
        return accounts.exchange_portal_link(self, call)

    @api("GET", "/api/v1/me", response=accounts_schemas.Account, tag="accounts",
         summary="My account")
    def me(self, call):
        return accounts.me(self, call)

    @api("PATCH", "/api/v1/me", body=accounts_contract.ProfileChange,
         response=accounts_schemas.Account, tag="accounts",
         summary="Change profile and contact details (email change needs the password)")
    def update_me(self, call):
        return accounts.update_me(self, call)

    @api("POST", "/api/v1/me/password", body=accounts_schemas.PasswordChange,
         response=common_schemas.Status, tag="accounts",
         summary="Change password; other sessions are revoked")
    def change_password(self, call):
        return accounts.change_password(self, call)

    @api("GET", "/api/v1/me/security", response=accounts_schemas.SecurityOverview,
         tag="accounts", summary="My sign-in security: two-step, passkeys, e-mail address")
    def security(self, call):
        return accounts.security(self, call)

    @api("POST", "/api/v1/me/email/verification", response=accounts_schemas.PendingEmail,
         status=202, tag="accounts", summary="Send the verification link again")
    def resend_email_verification(self, call):
        return accounts.resend_email_verification(self, call)

    @api("POST", "/api/v1/me/reauthenticate", body=accounts_schemas.Reauthenticate,
         response=accounts_schemas.Reauthenticated, tag="accounts",
         summary="Confirm it is me (password or code) before a sensitive change")
    def reauthenticate(self, call):
        return accounts.reauthenticate(self, call)

    @api("POST", "/api/v1/me/reauthenticate/passkey-options",
         response=accounts_schemas.PasskeyCeremony, tag="accounts",
         summary="Options to re-authenticate with one of my passkeys")
    def reauthenticate_passkey_options(self, call):
        return accounts.reauthenticate_passkey_options(self, call)

    @api("GET", "/api/v1/me/passkeys", response=accounts_schemas.PasskeyList, tag="accounts",
         summary="My passkeys")
    def passkeys(self, call):
        return accounts.passkeys(self, call)

    @api("POST", "/api/v1/me/passkeys/options", response=accounts_schemas.PasskeyCeremony,
         tag="accounts", summary="Options to add a passkey (needs a recent sign-in)")
    def passkey_registration_options(self, call):
        return accounts.passkey_registration_options(self, call)

    @api("POST", "/api/v1/me/passkeys", body=accounts_schemas.PasskeyIn,
         response=accounts_schemas.PasskeyOut, status=201, tag="accounts",
         summary="Add a passkey: the browser's answer to the options")
    def register_passkey(self, call):
        return accounts.register_passkey(self, call)

    @api("DELETE", "/api/v1/me/passkeys/<string:passkey_id>", status=204, tag="accounts",
         summary="Remove a passkey (needs a recent sign-in)")
    def remove_passkey(self, call):
        return accounts.remove_passkey(self, call)

    @api("POST", "/api/v1/me/mfa/totp", response=accounts_schemas.TotpSetup, tag="accounts",
         summary="Start setting up an authenticator app (needs a recent sign-in)")
    def start_totp(self, call):
        return accounts.start_totp(self, call)

    @api("POST", "/api/v1/me/mfa/totp/confirm", body=accounts_schemas.TotpConfirm,
         response=accounts_schemas.RecoveryCodes, tag="accounts",
         summary="Turn two-step sign-in on with a first code; answers the recovery codes")
    def confirm_totp(self, call):
        return accounts.confirm_totp(self, call)

    @api("DELETE", "/api/v1/me/mfa/totp", status=204, tag="accounts",
         summary="Turn the authenticator app off (needs a recent sign-in)")
    def disable_totp(self, call):
        return accounts.disable_totp(self, call)

    @api("POST", "/api/v1/me/mfa/recovery-codes", response=accounts_schemas.RecoveryCodes,
         tag="accounts", summary="New recovery codes; the old ones stop working")
    def regenerate_recovery_codes(self, call):
        return accounts.regenerate_recovery_codes(self, call)

    # households (services/accounts/households.py)
    @api("GET", "/api/v1/household", response=households_schemas.Household, tag="households",
         summary="My household: members and open invitations (the holder)")
    def household(self, call):
        return households.household(self, call)

    @api("POST", "/api/v1/household/invitations", body=households_schemas.InvitationIn,
         response=households_schemas.Invitation, status=201, tag="households",
         summary="Invite a member by e-mail (needs a recent sign-in)")
    def invite_member(self, call):
        return households.invite(self, call)

    @api("DELETE", "/api/v1/household/invitations/<string:invitation_id>", status=204,
         tag="households", summary="Withdraw an invitation")
    def revoke_invitation(self, call):
        return households.revoke_invitation(self, call)

    @api("PATCH", "/api/v1/household/members/<string:member_id>",
         body=households_schemas.MemberChange, response=households_schemas.Member,
         tag="households", summary="Change a member's sharing and monthly limit")
    def update_member(self, call):
        return households.update_member(self, call)

    @api("DELETE", "/api/v1/household/members/<string:member_id>", status=204,
         tag="households", summary="Remove a member (needs a recent sign-in)")
    def remove_member(self, call):
        return households.remove_member(self, call)

    @api("POST", "/api/v1/me/households/join", body=households_schemas.JoinIn,
         response=households_schemas.Membership, status=201, tag="households",
         summary="Join a household with an invitation sent to my address")
    def join_household(self, call):
        return households.join(self, call)

    @api("GET", "/api/v1/me/households", response=households_schemas.MembershipList,
         tag="households", summary="The households I belong to")
    def my_households(self, call):
        return households.memberships(self, call)

    @api("DELETE", "/api/v1/me/households/<string:account_id>", status=204, tag="households",
         summary="Leave a household")
    def leave_household(self, call):
        return households.leave(self, call)

    @api("PUT", "/api/v1/me/acting", body=households_schemas.ActingIn,
         response=households_schemas.Acting, tag="households",
         summary="Switch to a household's account, or back to mine (null)")
    def act_in(self, call):
        return households.act_in(self, call)

    # privacy: consents (docs/privacy.md)
    @api("GET", "/api/v1/me/consents", response=privacy_schemas.ConsentList, tag="privacy",
         summary="What I agreed to: promotions, recommendations from my viewing")
    def consents(self, call):
        return privacy.consents(self, call)

    @api("PUT", "/api/v1/me/consents/<string:purpose>", body=privacy_schemas.ConsentIn,
         response=privacy_schemas.Consent, tag="privacy",
         summary="Give or withdraw a consent (recorded with when and how)")
    def set_consent(self, call):
        return privacy.set_consent(self, call)

    @api("POST", "/api/v1/me/data-exports", response=privacy_schemas.DataExport, status=202,
         tag="privacy", summary="Download my data: start an archive (ready within minutes)")
    def request_export(self, call):
        return privacy.request_export(self, call)

    @api("GET", "/api/v1/me/data-exports", response=privacy_schemas.DataExportList,
         tag="privacy", summary="My data exports")
    def exports(self, call):
        return privacy.exports(self, call)

    @api("GET", "/api/v1/me/data-exports/<string:export_id>/download", tag="privacy",
         summary="The archive (zip: JSON per service, bills and receipts as PDF)")
    def download_export(self, call):
        return privacy.download_export(self, call)

    @api("GET", "/api/v1/me/deletion", response=privacy_schemas.DeletionStatus, tag="privacy",
         summary="Deleting my account: the open request and what stops one now")
    def deletion(self, call):
        return privacy.deletion(self, call)

    @api("POST", "/api/v1/me/deletion", response=privacy_schemas.Deletion, status=202,
         tag="privacy", summary="Delete my account after the cooling-off (needs a recent sign-in)")
    def request_deletion(self, call):
        return privacy.request_deletion(self, call)

    @api("DELETE", "/api/v1/me/deletion", response=privacy_schemas.Deletion, tag="privacy",
         summary="Cancel the deletion of my account during the cooling-off")
    def cancel_deletion(self, call):
        return privacy.cancel_deletion(self, call)

    @api("GET", "/api/v1/me/sessions", response=accounts_schemas.ActiveSessionList,
         tag="accounts", summary="My active sign-ins and the devices they came from")
    def my_sessions(self, call):
        return accounts.my_sessions(self, call)

    @api("DELETE", "/api/v1/me/sessions/<string:session_id>", status=204, tag="accounts",
         summary="Sign out one of my other sessions")
    def sign_out_session(self, call):
        return accounts.sign_out_session(self, call)

    @api("POST", "/api/v1/me/sessions/sign-out-others", response=accounts_schemas.SignedOut,
         tag="accounts", summary="Sign out everywhere else")
    def sign_out_others(self, call):
        return accounts.sign_out_others(self, call)

    # cards
    @api("GET", "/api/v1/me/payment-methods", response=wallet_schemas.PaymentMethodList,
         tag="payments", summary="My cards (brand, last four, expiry; never the number)")
    def payment_methods(self, call):
        return wallet.payment_methods(self, call)

    @api("POST", "/api/v1/me/payment-methods", body=billing_contract.CardIn,
         response=wallet_schemas.PaymentMethod, status=201, tag="payments",
         summary="Add a card: tokenized at once; the number and CVC are never stored")
    def add_payment_method(self, call):
        return wallet.add_payment_method(self, call)

    @api("DELETE", "/api/v1/me/payment-methods/<string:payment_method_id>", status=204,
         tag="payments", summary="Remove a card")
    def remove_payment_method(self, call):
        return wallet.remove_payment_method(self, call)

    @api("POST", "/api/v1/me/payment-methods/<string:payment_method_id>/default",
         response=wallet_schemas.PaymentMethod, tag="payments", summary="Make a card the default")
    def default_payment_method(self, call):
        return wallet.default_payment_method(self, call)

    # the prepaid wallet
    @api("GET", "/api/v1/wallet", response=wallet_schemas.WalletOut, tag="wallet",
         summary="Balance and low-balance flag (prepaid accounts; 409 NOT_PREPAID otherwise)")
    def wallet(self, call):
        return wallet.wallet(self, call)

    @api("PATCH", "/api/v1/wallet", body=billing_contract.WalletSettings,
         response=wallet_schemas.WalletOut, tag="wallet", summary="Set the low-balance threshold")
    def wallet_settings(self, call):
        return wallet.wallet_settings(self, call)

    @api("GET", "/api/v1/wallet/transactions", query=common_schemas.PageQuery,
         response=wallet_schemas.WalletTransactionList, tag="wallet",
         summary="The ledger, newest first, each entry with the balance after it")
    def wallet_transactions(self, call):
        return wallet.transactions(self, call)

    @api("POST", "/api/v1/wallet/top-ups", body=wallet_schemas.TopUpIn,
         response=wallet_schemas.TopUpOut, status=201, tag="wallet", idempotency="required",
         summary="Top up by card (or by a voucher code); Idempotency-Key required; 402 when "
                 "declined")
    def top_up(self, call):
        return wallet.top_up(self, call)

    # bills (postpaid)
    @api("GET", "/api/v1/invoices", query=common_schemas.PageQuery,
         response=bills_schemas.InvoiceList, tag="bills",
         summary="My invoices, newest first (postpaid accounts; 409 NOT_POSTPAID otherwise)")
    def invoices(self, call):
        return bills.invoices(self, call)

    @api("GET", "/api/v1/invoices/<string:invoice_id>", response=bills_schemas.InvoiceOut,
         tag="bills", summary="One invoice: number, dates, lines, discounts, taxes, totals")
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

    @api("POST", "/api/v1/invoices/<string:invoice_id>/pay", body=billing_contract.PayIn,
         response=bills_schemas.InvoicePaid, status=201, tag="bills", idempotency="required",
         summary="Pay an invoice by card (the default if none is named); Idempotency-Key "
                 "required; 402 with the decline code when declined")
    def pay_invoice(self, call):
        return bills.pay(self, call)

    @api("GET", "/api/v1/payments", query=common_schemas.PageQuery,
         response=bills_schemas.PaymentList, tag="bills",
         summary="My payments: invoice payments and wallet top-ups, newest first")
    def payments(self, call):
        return bills.payments(self, call)

    @api("GET", "/api/v1/autopay", response=bills_schemas.Autopay, tag="bills",
         summary="Whether new invoices are paid automatically on issue, and with which card")
    def autopay(self, call):
        return bills.autopay(self, call)

    @api("PUT", "/api/v1/autopay", body=billing_contract.AutopayIn, response=bills_schemas.Autopay,
         tag="bills",
         summary="Turn autopay on (with a card of mine, or the default card: null) or off; "
                 "409 NO_PAYMENT_METHOD without a card")
    def set_autopay(self, call):
        return bills.set_autopay(self, call)

    # vouchers
    @api("POST", "/api/v1/vouchers/redeem", body=billing_contract.RedeemIn,
         response=wallet_schemas.TopUpOut, status=201, tag="vouchers",
         summary="Redeem a voucher code into the wallet (once); wrong codes are "
                 "throttled per account and address (429 with Retry-After)")
    def redeem_voucher(self, call):
        return vouchers.redeem(self, call)

    @api("GET", "/api/v1/vouchers/offers", response=vouchers_schemas.VoucherOfferList,
         tag="vouchers", summary="Online vouchers on sale")
    def voucher_offers(self, call):
        return vouchers.offers(self, call)

    @api("POST", "/api/v1/vouchers/purchases", body=billing_contract.PurchaseIn,
         response=vouchers_schemas.Purchase, status=201, tag="vouchers", idempotency="required",
         summary="Buy an online voucher by card: its code (shown once) and the payment; "
                 "Idempotency-Key required; 402 when declined")
    def buy_voucher(self, call):
        return vouchers.purchase(self, call)

    @api("GET", "/api/v1/vouchers/redemptions", query=common_schemas.PageQuery,
         response=vouchers_schemas.RedemptionList, tag="vouchers",
         summary="Vouchers I redeemed, newest first")
    def voucher_redemptions(self, call):
        return vouchers.redemptions(self, call)

    # notifications
    @api("GET", "/api/v1/notifications", query=notifications_schemas.InboxQuery,
         response=notifications_schemas.Inbox, tag="notifications",
         summary="My inbox, newest first, with the unread count")
    def notifications(self, call):
        return notifications.inbox(self, call)

    @api("POST", "/api/v1/notifications/<string:notification_id>/read",
         response=notifications_schemas.NotificationRead, tag="notifications",
         summary="Mark one as read")
    def notification_read(self, call):
        return notifications.read(self, call)

    @api("POST", "/api/v1/notifications/read-all", response=notifications_schemas.UnreadCount,
         tag="notifications", summary="Mark all as read")
    def notifications_read_all(self, call):
        return notifications.read_all(self, call)

    @api("GET", "/api/v1/me/notification-preferences", response=notifications_schemas.Preferences,
         tag="notifications", summary="Per topic: portal inbox and e-mail on or off")
    def notification_preferences(self, call):
        return notifications.preferences(self, call)

    @api("PUT", "/api/v1/me/notification-preferences", body=notifier_contract.PreferencesIn,
         response=notifications_schemas.Preferences, tag="notifications",
         summary="Opt in or out per topic and channel (account security and service notices "
                 "always reach the inbox: 409 PREFERENCE_LOCKED)")
    def set_notification_preferences(self, call):
        return notifications.set_preferences(self, call)

    # support
    @api("GET", "/api/v1/ticket-categories", response=support_schemas.TicketCategoryList,
         tag="support", summary="What a ticket can be about, with the priority each gets")
    def ticket_categories(self, call):
        return support.categories(self, call)

    @api("GET", "/api/v1/faq", query=support_schemas.FaqQuery, response=support_schemas.FaqList,
         tag="support", summary="FAQ entries in my language (else English); q matches every word")
    def faq(self, call):
        return support.faq(self, call)

    @api("GET", "/api/v1/tickets", query=support_schemas.TicketQuery,
         response=support_schemas.TicketList, tag="support",
         summary="My tickets, newest first (status=open, closed or one status)")
    def list_tickets(self, call):
        return support.tickets(self, call)

    @api("POST", "/api/v1/tickets", body=tickets_contract.TicketIn, response=support_schemas.Ticket,
         status=201, tag="support", idempotency="accepted",
         summary="Raise a ticket: prioritized and routed to a team at once; Idempotency-Key "
                 "honoured")
    def open_ticket(self, call):
        return support.open_ticket(self, call)

    @api("GET", "/api/v1/tickets/<string:ticket_id>", response=support_schemas.Ticket,
         tag="support", summary="One of my tickets: status, team and history")
    def ticket(self, call):
        return support.ticket(self, call)

    @api("POST", "/api/v1/tickets/<string:ticket_id>/comments", body=tickets_contract.CommentIn,
         response=support_schemas.HistoryEntry, status=201, tag="support",
         summary="Comment on my ticket (reopens a resolved one within the reopen window; "
                 "409 TICKET_CLOSED after it)")
    def comment_ticket(self, call):
        return support.comment(self, call)

    # operations: tickets
    @api("GET", "/api/v1/ops/tickets", access="tickets.work", query=support_schemas.QueueQuery,
         response=support_schemas.OpsTicketList, tag="ops",
         summary="A team's queue, most urgent first (priority, then oldest); status=open: not "
                 "resolved or closed")
    def ops_tickets(self, call):
        return support.ops_queue(self, call)

    @api("GET", "/api/v1/ops/tickets/<string:ticket_id>", access="tickets.work",
         response=support_schemas.OpsTicket,
         tag="ops", summary="A ticket with its customer's context, escalation and "
                            "whole history")
    def ops_ticket(self, call):
        return support.ops_ticket(self, call)

    @api("POST", "/api/v1/ops/tickets/<string:ticket_id>/acknowledge", access="tickets.work",
         response=support_schemas.OpsTicket, tag="ops",
         summary="Acknowledge: stops the escalation (a repeat changes nothing)")
    def ops_acknowledge_ticket(self, call):
        return support.ops_acknowledge(self, call)

    @api("POST", "/api/v1/ops/tickets/<string:ticket_id>/assign", access="tickets.work",
         body=tickets_contract.AssignIn, response=support_schemas.OpsTicket, tag="ops",
         summary="Assign to an agent (null: unassign)")
    def ops_assign_ticket(self, call):
        return support.ops_assign(self, call)

    @api("PATCH", "/api/v1/ops/tickets/<string:ticket_id>", access="tickets.work",
         body=tickets_contract.TicketChange,
         response=support_schemas.OpsTicket, tag="ops",
         summary="Change status or priority; 409 INVALID_STATUS_CHANGE if the status machine "
                 "does not allow it")
    def ops_update_ticket(self, call):
        return support.ops_update(self, call)

    @api("POST", "/api/v1/ops/tickets/<string:ticket_id>/comments", access="tickets.work",
         body=tickets_contract.OpsCommentIn, response=support_schemas.OpsHistoryEntry, status=201,
         tag="ops", summary="Reply to the customer, or (internal) a note the customer never sees")
    def ops_comment_ticket(self, call):
        return support.ops_comment(self, call)

    @api("POST", "/api/v1/ops/tickets/<string:ticket_id>/resolve", access="tickets.work",
         body=tickets_contract.ResolveIn, response=support_schemas.OpsTicket, tag="ops",
         summary="Resolve with a resolution text (the customer is told)")
    def ops_resolve_ticket(self, call):
        return support.ops_resolve(self, call)

    # operations: ticket categories
    @api("GET", "/api/v1/ops/ticket-categories", access="ops", query=support_schemas.CategoryQuery,
         response=support_schemas.TicketCategoryList, tag="ops",
         summary="Ticket categories (inactive=true: with retired ones)")
    def ops_ticket_categories(self, call):
        return support.ops_categories(self, call)

    @api("POST", "/api/v1/ops/ticket-categories", access="support.configure",
         body=tickets_contract.CategoryIn, response=support_schemas.TicketCategory, status=201,
         tag="ops", summary="Add a ticket category (urgency × impact give its tickets' priority)")
    def ops_create_ticket_category(self, call):
        return support.ops_create_category(self, call)

    @api("PUT", "/api/v1/ops/ticket-categories/<string:code>", access="support.configure",
         body=tickets_contract.CategoryReplace, response=support_schemas.TicketCategory, tag="ops",
         summary="Change a ticket category (active=false retires it); the code stays")
    def ops_replace_ticket_category(self, call):
        return support.ops_replace_category(self, call)

    # operations: teams
    @api("GET", "/api/v1/ops/teams", access="ops", response=support_schemas.TeamList, tag="ops",
         summary="Teams with their members and alert channels")
    def ops_teams(self, call):
        return support.ops_teams(self, call)

    @api("POST", "/api/v1/ops/teams", access="support.configure", body=tickets_contract.TeamIn,
         response=support_schemas.Team, status=201, tag="ops",
         summary="Create a team with its members (agent or admin accounts) and alert channels, "
                 "whole or not at all (webhook secrets are in this answer only)")
    def ops_create_team(self, call):
        return support.ops_create_team(self, call)

    @api("GET", "/api/v1/ops/teams/<string:team>", access="ops", response=support_schemas.Team,
         tag="ops", summary="A team with its members and alert channels")
    def ops_team(self, call):
        return support.ops_team(self, call)

    @api("PATCH", "/api/v1/ops/teams/<string:team>", access="support.configure",
         body=tickets_contract.TeamChange, response=support_schemas.Team, tag="ops",
         summary="Change a team's description or lead, set exactly its members, or replace "
                 "its channels")
    def ops_update_team(self, call):
        return support.ops_update_team(self, call)

    @api("DELETE", "/api/v1/ops/teams/<string:team>", access="support.configure", status=204,
         tag="ops", summary="Delete a team no rule, default route or open ticket uses "
                            "(409 TEAM_IN_USE); its members and channels go with it")
    def ops_delete_team(self, call):
        return support.ops_delete_team(self, call)

    # operations: routing rules (the fixed paths first: `default` and `test` are no rule ids)
    @api("GET", "/api/v1/ops/routing-rules", access="ops", response=support_schemas.RoutingRuleList,
         tag="ops", summary="The routing rules in order, and the default route")
    def ops_routing_rules(self, call):
        return support.ops_rules(self, call)

    @api("PUT", "/api/v1/ops/routing-rules/default", access="support.configure",
         body=tickets_contract.DefaultRouteIn,
         response=support_schemas.DefaultRoute, tag="ops",
         summary="Where tickets no rule matches go")
    def ops_set_default_route(self, call):
        return support.ops_set_default_route(self, call)

    @api("POST", "/api/v1/ops/routing-rules/test", access="ops", body=tickets_contract.RouteTestIn,
         response=support_schemas.RouteTestOut, tag="ops",
         summary="Which team, priority and escalation policy a ticket with these attributes "
                 "would get (nothing is changed)")
    def ops_test_route(self, call):
        return support.ops_test_route(self, call)

    @api("POST", "/api/v1/ops/routing-rules", access="support.configure",
         body=tickets_contract.RuleIn, response=support_schemas.RoutingRule, status=201, tag="ops",
         summary="Add a routing rule")
    def ops_create_routing_rule(self, call):
        return support.ops_create_rule(self, call)

    @api("PUT", "/api/v1/ops/routing-rules/<string:rule_id>", access="support.configure",
         body=tickets_contract.RuleIn,
         response=support_schemas.RoutingRule, tag="ops", summary="Replace a routing rule")
    def ops_replace_routing_rule(self, call):
        return support.ops_replace_rule(self, call)

    @api("DELETE", "/api/v1/ops/routing-rules/<string:rule_id>", access="support.configure",
         status=204,
         tag="ops", summary="Delete a routing rule")
    def ops_delete_routing_rule(self, call):
        return support.ops_delete_rule(self, call)

    # operations: escalation policies
    @api("GET", "/api/v1/ops/escalation-policies", access="ops",
         response=support_schemas.EscalationPolicyList, tag="ops", summary="Escalation policies")
    def ops_escalation_policies(self, call):
        return support.ops_policies(self, call)

    @api("POST", "/api/v1/ops/escalation-policies", access="support.configure",
         body=tickets_contract.EscalationPolicyIn,
         response=support_schemas.EscalationPolicy, status=201, tag="ops",
         summary="Add an escalation policy: steps (delay, target), repeated `repeat` times")
    def ops_create_escalation_policy(self, call):
        return support.ops_create_policy(self, call)

    @api("PUT", "/api/v1/ops/escalation-policies/<string:policy_id>", access="support.configure",
         body=tickets_contract.EscalationPolicyIn, response=support_schemas.EscalationPolicy,
         tag="ops", summary="Replace an escalation policy")
    def ops_replace_escalation_policy(self, call):
        return support.ops_replace_policy(self, call)

    @api("DELETE", "/api/v1/ops/escalation-policies/<string:policy_id>", access="support.configure",
         status=204, tag="ops", summary="Delete an escalation policy")
    def ops_delete_escalation_policy(self, call):
        return support.ops_delete_policy(self, call)

    # operations: incidents
    @api("GET", "/api/v1/ops/incidents", access="ops", query=support_schemas.IncidentQuery,
         response=support_schemas.IncidentList, tag="ops",
         summary="Incidents (status=open|resolved)")
    def ops_incidents(self, call):
        return support.ops_incidents(self, call)

    @api("GET", "/api/v1/ops/incidents/<string:incident_id>", access="ops",
         response=support_schemas.Incident, tag="ops", summary="An incident with its tickets")
    def ops_incident(self, call):
        return support.ops_incident(self, call)

    @api("POST", "/api/v1/ops/incidents/<string:incident_id>/acknowledge", access="incidents.work",
         response=support_schemas.Incident, tag="ops", summary="Acknowledge an incident")
    def ops_acknowledge_incident(self, call):
        return support.ops_acknowledge_incident(self, call)

    @api("POST", "/api/v1/ops/incidents/<string:incident_id>/resolve", access="incidents.work",
         body=tickets_contract.IncidentResolveIn, response=support_schemas.Incident, tag="ops",
         idempotency="required",
         summary="Resolve an incident and its tickets, optionally crediting each affected "
                 "customer once; a repeat answers the same incident; Idempotency-Key required "
                 "(it can move money)")
    def ops_resolve_incident(self, call):
        return support.ops_resolve_incident(self, call)

    @api("GET", "/api/v1/ops/incident-rules", access="ops",
         response=support_schemas.IncidentRuleList, tag="ops",
         summary="Which tickets group into incidents")
    def ops_incident_rules(self, call):
        return support.ops_incident_rules(self, call)

    @api("POST", "/api/v1/ops/incident-rules", access="support.configure",
         body=tickets_contract.IncidentRuleIn, response=support_schemas.IncidentRule, status=201,
         tag="ops", summary="Add an incident rule: matchers, grouping, window")
    def ops_create_incident_rule(self, call):
        return support.ops_create_incident_rule(self, call)

    @api("DELETE", "/api/v1/ops/incident-rules/<string:rule_id>", access="support.configure",
         status=204,
         tag="ops", summary="Delete an incident rule")
    def ops_delete_incident_rule(self, call):
        return support.ops_delete_incident_rule(self, call)

    # operations: silences
    @api("GET", "/api/v1/ops/silences", access="ops", query=support_schemas.SilenceQuery,
         response=support_schemas.SilenceList, tag="ops",
         summary="Silences (active=true: in force)")
    def ops_silences(self, call):
        return support.ops_silences(self, call)

    @api("POST", "/api/v1/ops/silences", access="support.configure",
         body=tickets_contract.SilenceIn, response=support_schemas.Silence,
         status=201, tag="ops",
         summary="Mute a team's or a rule's alerts for a time window, with a reason")
    def ops_create_silence(self, call):
        return support.ops_create_silence(self, call)

    @api("DELETE", "/api/v1/ops/silences/<string:silence_id>", access="support.configure",
         response=support_schemas.Silence, tag="ops",
         summary="End a silence now: the expired silence")
    def ops_expire_silence(self, call):
        return support.ops_expire_silence(self, call)

    # operations: the FAQ
    @api("GET", "/api/v1/ops/faq", access="ops", response=support_schemas.FaqList, tag="ops",
         summary="Every FAQ entry, by category and language")
    def ops_faq(self, call):
        return support.ops_faq(self, call)

    @api("POST", "/api/v1/ops/faq", access="support.configure", body=tickets_contract.FaqIn,
         response=support_schemas.FaqEntry, status=201, tag="ops", summary="Add an FAQ entry")
    def ops_create_faq(self, call):
        return support.ops_create_faq(self, call)

    @api("PUT", "/api/v1/ops/faq/<string:entry_id>", access="support.configure",
         body=tickets_contract.FaqIn, response=support_schemas.FaqEntry, tag="ops",
         summary="Replace an FAQ entry")
    def ops_replace_faq(self, call):
        return support.ops_replace_faq(self, call)

    @api("DELETE", "/api/v1/ops/faq/<string:entry_id>", access="support.configure", status=204,
         tag="ops", summary="Delete an FAQ entry")
    def ops_delete_faq(self, call):
        return support.ops_delete_faq(self, call)

    # operations: canned replies
    @api("GET", "/api/v1/ops/canned-replies", access="tickets.work",
         query=support_schemas.CannedReplyQuery, response=support_schemas.CannedReplyList,
         tag="ops", summary="Canned replies by title; category= gives that category's and "
                            "those for any category, language= one language's")
    def ops_canned_replies(self, call):
        return support.ops_canned_replies(self, call)

    @api("POST", "/api/v1/ops/canned-replies", access="support.configure",
         body=tickets_contract.CannedReplyIn, response=support_schemas.CannedReply, status=201,
         tag="ops", summary="Add a canned reply for a category (or any) and a language")
    def ops_create_canned_reply(self, call):
        return support.ops_create_canned_reply(self, call)

    @api("PATCH", "/api/v1/ops/canned-replies/<string:reply_id>", access="support.configure",
         body=tickets_contract.CannedReplyChange, response=support_schemas.CannedReply,
         tag="ops", summary="Change a canned reply (the fields given)")
    def ops_update_canned_reply(self, call):
        return support.ops_update_canned_reply(self, call)

    @api("DELETE", "/api/v1/ops/canned-replies/<string:reply_id>", access="support.configure",
         status=204, tag="ops", summary="Delete a canned reply")
    def ops_delete_canned_reply(self, call):
        return support.ops_delete_canned_reply(self, call)

    # operations
    @api("GET", "/api/v1/ops/teams/<string:team>/channels", access="ops",
         response=notifications_schemas.ChannelList, tag="ops", summary="A team's alert channels")
    def ops_team_channels(self, call):
        return notifications.ops_channels(self, call)

    @api("POST", "/api/v1/ops/teams/<string:team>/channels", access="channels.manage",
         body=notifier_contract.ChannelIn,
         response=notifications_schemas.ChannelOut, status=201, tag="ops",
         summary="Add an alert channel: webhook (signed; the secret is in this answer only), "
                 "email, or bus (the alerts exchange, routing key <team>.<severity>)")
    def ops_create_team_channel(self, call):
        return notifications.ops_create_channel(self, call)

    @api("DELETE", "/api/v1/ops/channels/<string:channel_id>", access="channels.manage", tag="ops",
         status=204, summary="Remove an alert channel")
    def ops_delete_channel(self, call):
        return notifications.ops_delete_channel(self, call)

    @api("POST", "/api/v1/ops/teams/<string:team>/alerts", access="alerts.raise",
         body=notifications_schemas.AlertIn, response=notifications_schemas.AlertOut, status=201,
         tag="ops", summary="Raise an alert to the team's channels (one page per dedup_key)")
    def ops_raise_alert(self, call):
        return notifications.ops_raise_alert(self, call)

    @api("POST", "/api/v1/ops/broadcasts", access="broadcasts.send",
         body=notifier_contract.BroadcastIn, response=notifications_schemas.BroadcastOut,
         status=202, tag="ops",
         summary="Send a promotion or a maintenance notice to all customers or a segment, now "
                 "or at send_at (sent in batches; promotions respect opt-outs)")
    def ops_broadcast(self, call):
        return notifications.ops_broadcast(self, call)

    @api("GET", "/api/v1/ops/broadcasts", access="ops", query=common_schemas.PageQuery,
         response=notifications_schemas.BroadcastList, tag="ops",
         summary="Recent broadcasts and their progress")
    def ops_broadcasts(self, call):
        return notifications.ops_broadcasts(self, call)

    @api("GET", "/api/v1/ops/broadcasts/<string:broadcast_id>", access="ops",
         response=notifications_schemas.BroadcastOut, tag="ops",
         summary="One broadcast and its progress")
    def ops_broadcast_status(self, call):
        return notifications.ops_broadcast_status(self, call)

    @api("GET", "/api/v1/ops/deliveries", access="deliveries.manage",
         query=notifications_schemas.DeliveryQuery, response=notifications_schemas.DeliveryList,
         tag="ops",
         summary="Notification deliveries (status=failing or dead for the ones to look at)")
    def ops_deliveries(self, call):
        return notifications.ops_deliveries(self, call)

    @api("POST", "/api/v1/ops/deliveries/<string:delivery_id>/retry", access="deliveries.manage",
         response=notifications_schemas.DeliveryOut, tag="ops",
         summary="Send a failed delivery again now")
    def ops_retry_delivery(self, call):
        return notifications.ops_retry_delivery(self, call)

    @api("POST", "/api/v1/ops/voucher-batches", access="vouchers.issue",
         body=vouchers_contract.VoucherBatchIn, response=vouchers_schemas.VoucherBatch, status=202,
         tag="ops", idempotency="required",
         summary="Create a print batch (up to 1,000,000); its vouchers are generated in the "
                 "background (status created → active); Idempotency-Key required")
    def ops_create_voucher_batch(self, call):
        return vouchers.ops_create_batch(self, call)

    @api("GET", "/api/v1/ops/voucher-batches", access="vouchers.read",
         query=common_schemas.PageQuery, response=vouchers_schemas.VoucherBatchList, tag="ops",
         summary="Voucher batches, newest first")
    def ops_voucher_batches(self, call):
        return vouchers.ops_batches(self, call)

    @api("GET", "/api/v1/ops/voucher-batches/<string:batch_id>", access="vouchers.read",
         response=vouchers_schemas.VoucherBatch, tag="ops",
         summary="A voucher batch and its progress")
    def ops_voucher_batch(self, call):
        return vouchers.ops_batch(self, call)

    @api("GET", "/api/v1/ops/voucher-batches/<string:batch_id>/export.csv", access="vouchers.issue",
         tag="ops", summary="The print batch for the print house (CSV: serial,code,value,"
                            "currency,valid_until), streamed; every export is recorded")
    def ops_export_voucher_batch(self, call):
        return vouchers.ops_export(self, call)

    @api("POST", "/api/v1/ops/voucher-batches/<string:batch_id>/void", access="vouchers.void",
         body=vouchers_contract.VoidIn, response=vouchers_schemas.VoucherBatch, tag="ops",
         summary="Void a batch: none of its unredeemed vouchers can be redeemed")
    def ops_void_voucher_batch(self, call):
        return vouchers.ops_void_batch(self, call)

    @api("GET", "/api/v1/ops/vouchers/<string:serial>", access="vouchers.read",
         response=vouchers_schemas.VoucherOut,
         tag="ops", summary="One voucher by its serial: state, batch, who redeemed it (never "
                            "its code)")
    def ops_voucher(self, call):
        return vouchers.ops_voucher(self, call)

    @api("POST", "/api/v1/ops/vouchers/<string:serial>/void", access="vouchers.void",
         body=vouchers_contract.VoidIn, response=vouchers_schemas.VoidedVoucher, tag="ops",
         summary="Void one voucher by its serial")
    def ops_void_voucher(self, call):
        return vouchers.ops_void_voucher(self, call)

    @api("GET", "/api/v1/ops/voucher-throttles", access="vouchers.read",
         query=common_schemas.PageQuery, response=vouchers_schemas.ThrottleEventList,
         tag="ops", summary="Accounts and addresses blocked for guessing voucher codes, "
                            "newest first")
    def ops_voucher_throttles(self, call):
        return vouchers.ops_throttles(self, call)

    @api("POST", "/api/v1/ops/voucher-offers", access="vouchers.issue",
         body=vouchers_contract.VoucherOfferIn, response=vouchers_schemas.VoucherOffer, status=201,
         tag="ops", summary="Put an online voucher on sale")
    def ops_create_voucher_offer(self, call):
        return vouchers.ops_create_offer(self, call)

    @api("DELETE", "/api/v1/ops/voucher-offers/<string:code>", access="vouchers.issue",
         response=vouchers_schemas.VoucherOffer, tag="ops",
         summary="Take an online voucher off sale")
    def ops_retire_voucher_offer(self, call):
        return vouchers.ops_retire_offer(self, call)

    @api("GET", "/api/v1/ops/customers/<string:customer_id>/invoices", access="billing.read",
         query=common_schemas.PageQuery, response=bills_schemas.InvoiceList, tag="ops",
         summary="A postpaid customer's invoices, newest first")
    def ops_customer_invoices(self, call):
        return bills.ops_customer_invoices(self, call)

    @api("GET", "/api/v1/ops/customers/<string:customer_id>/subscriptions", access="billing.read",
         response=subscriptions_schemas.SubscriptionList, tag="ops",
         summary="A customer's subscriptions (the support desk's customer panel)")
    def ops_customer_subscriptions(self, call):
        return support.ops_customer_subscriptions(self, call)

    @api("GET", "/api/v1/ops/customers/<string:customer_id>/wallet/transactions",
         access="billing.read", query=common_schemas.PageQuery,
         response=wallet_schemas.WalletTransactionList, tag="ops",
         summary="A prepaid customer's wallet ledger, newest first (409 NOT_PREPAID for a "
                 "postpaid account)")
    def ops_customer_wallet_transactions(self, call):
        return support.ops_customer_wallet_transactions(self, call)

    @api("GET", "/api/v1/ops/customers/<string:customer_id>/payments", access="billing.read",
         query=common_schemas.PageQuery, response=bills_schemas.PaymentList, tag="ops",
         summary="A customer's card payments (invoice payments and top-ups), newest first")
    def ops_customer_payments(self, call):
        return support.ops_customer_payments(self, call)

    @api("GET", "/api/v1/ops/customers/<string:customer_id>/billing-profile", access="billing.read",
         response=bills_schemas.BillingProfile, tag="ops",
         summary="A postpaid account's payment terms and autopay")
    def ops_billing_profile(self, call):
        return bills.ops_billing_profile(self, call)

    @api("PUT", "/api/v1/ops/customers/<string:customer_id>/billing-profile",
         access="billing.manage",
         body=billing_contract.BillingProfileIn, response=bills_schemas.BillingProfile, tag="ops",
         summary="Set an account's payment terms (days from issue to due date; null: the "
                 "default) for invoices issued from now on")
    def ops_set_payment_terms(self, call):
        return bills.ops_set_payment_terms(self, call)

    @api("POST", "/api/v1/ops/invoices/<string:invoice_id>/credit-notes",
         access="credit_notes.issue", body=billing_contract.CreditNoteIn,
         response=bills_schemas.CreditNoteOut, status=201, tag="ops", idempotency="required",
         also={202: governance_schemas.Approval},
         summary="Correct a finalized invoice by a credit note (lowers what is due, or credits "
                 "the next invoice if it was paid); Idempotency-Key required. Above the maker's "
                 "bounds: 202 with the approval it waits for")
    def ops_credit_note(self, call):
        return governance.credit_note(self, call)

    @api("POST", "/api/v1/ops/billing-runs", access="billing.manage",
         body=bills_schemas.BillingRunIn, response=bills_schemas.BillingRunOut, status=202,
         tag="ops",
         summary="Start the billing run for a date (default today); a repeat starts nothing new")
    def ops_start_billing_run(self, call):
        return bills.ops_start_run(self, call)

    @api("GET", "/api/v1/ops/billing-runs", access="billing.read",
         query=common_schemas.PageQuery, response=bills_schemas.BillingRunList, tag="ops",
         summary="Recent billing runs")
    def ops_billing_runs(self, call):
        return bills.ops_runs(self, call)

    @api("GET", "/api/v1/ops/billing-runs/<string:run_id>", access="billing.read",
         response=bills_schemas.BillingRunOut, tag="ops",
         summary="A billing run's status and progress")
    def ops_billing_run(self, call):
        return bills.ops_run(self, call)

    @api("POST", "/api/v1/ops/customers/<string:customer_id>/wallet/adjustments",
         access="wallet.adjust", body=billing_contract.AdjustmentIn,
         response=wallet_schemas.AdjustmentOut, status=201, tag="ops", idempotency="required",
         also={202: governance_schemas.Approval},
         summary="Post a wallet adjustment with a reason; Idempotency-Key required. A credit "
                 "above the maker's bounds (per action, per day: STAFF_LIMITS) is not posted "
                 "but answered 202 with the approval it waits for")
    def ops_wallet_adjustment(self, call):
        return governance.adjust_wallet(self, call)

    # staff governance: approvals (maker-checker) and the audit log --------------------------
    @api("GET", "/api/v1/ops/approvals", access="approvals.read",
         query=governance_schemas.ApprovalQuery, response=governance_schemas.ApprovalList,
         tag="ops",
         summary="Money actions above their maker's bounds, waiting for a second person "
                 "(newest first; filter by status)")
    def ops_approvals(self, call):
        return governance.approvals(self, call)

    @api("GET", "/api/v1/ops/approvals/<string:approval_id>", access="approvals.read",
         response=governance_schemas.Approval, tag="ops", summary="One approval")
    def ops_approval(self, call):
        return governance.approval(self, call)

    @api("POST", "/api/v1/ops/approvals/<string:approval_id>/approve", access="approvals.decide",
         body=governance_schemas.DecisionIn, response=governance_schemas.Approval, tag="ops",
         summary="Approve and run it (never by who asked); again after a 503 runs it once")
    def ops_approve(self, call):
        return governance.approve(self, call)

    @api("POST", "/api/v1/ops/approvals/<string:approval_id>/reject", access="approvals.decide",
         body=governance_schemas.DecisionIn, response=governance_schemas.Approval, tag="ops",
         summary="Reject it: nothing runs")
    def ops_reject(self, call):
        return governance.reject(self, call)

    @api("GET", "/api/v1/ops/audit-log", access="audit.read", query=governance_schemas.AuditQuery,
         response=governance_schemas.AuditList, tag="ops",
         summary="The audit trail, newest first: staff actions and customer security events")
    def ops_audit_log(self, call):
        return governance.audit_log(self, call)

    @api("GET", "/api/v1/ops/ledger/verify", access="ledger.verify",
         response=wallet_schemas.LedgerReport, tag="ops",
         summary="Check every wallet's balance against its ledger")
    def ops_verify_ledger(self, call):
        return wallet.ops_verify_ledger(self, call)

    @api("GET", "/api/v1/ops/customers", access="customers.read", query=ops_schemas.CustomerQuery,
         response=ops_schemas.CustomerPage, tag="ops",
         summary="Find customers by email, name or id")
    def ops_find_customers(self, call):
        return ops.find_customers(self, call)

    @api("GET", "/api/v1/ops/customers/<string:customer_id>", access="customers.read",
         response=accounts_schemas.Account,
         tag="ops", summary="View an account as support sees it")
    def ops_get_customer(self, call):
        return ops.get_customer(self, call)

    @api("PATCH", "/api/v1/ops/customers/<string:customer_id>", access="customers.roles",
         body=accounts_contract.RoleChange, response=accounts_schemas.Account, tag="ops",
         summary="Set an account's role and team membership (admin)")
    def ops_set_role(self, call):
        return ops.set_role(self, call)

    @api("POST", "/api/v1/ops/customers/<string:customer_id>/portal-link",
         access="customers.portal_link",
         response=ops_schemas.PortalLink, status=201, tag="ops",
         summary="Send the customer a portal link by e-mail to the address on file (revokes "
                 "the previous one); staff see where it went and until when, never the link")
    def ops_issue_portal_link(self, call):
        return ops.issue_portal_link(self, call)

    @api("DELETE", "/api/v1/ops/customers/<string:customer_id>/portal-link",
         access="customers.portal_link",
         response=ops_schemas.Revoked, tag="ops", summary="Revoke the customer's portal link")
    def ops_revoke_portal_link(self, call):
        return ops.revoke_portal_link(self, call)

    # the main page
    @api("GET", "/api/v1/dashboard", response=dashboard_schemas.Dashboard, tag="portal",
         summary="The main page: account, services, and (as they exist) wallet or bills, "
                 "tickets, notifications; a part whose service is down is marked unavailable. "
                 "Parts are served from the gateway's cache, evicted by every change; "
                 "`Cache-Control: no-cache` asks each part afresh")
    def dashboard(self, call):
        return dashboard.dashboard(self, call)

    # insights: spending, the budget, recommendations, viewing (docs/insights.md); not cached
    @api("GET", "/api/v1/insights/spending", query=insights_schemas.SpendingQuery,
         response=insights_schemas.Spending, tag="insights",
         summary="What I was charged per month, by kind, in my currency (and, prepaid, what I "
                 "put in the wallet); default: the last six months, this one included")
    def insights_spending(self, call):
        return insights.spending(self, call)

    @api("GET", "/api/v1/insights/budget", response=insights_schemas.Budget, tag="insights",
         summary="My monthly budget, this month so far and projected, and where that stands")
    def insights_budget(self, call):
        return insights.budget(self, call)

    @api("PUT", "/api/v1/insights/budget", body=insights_schemas.BudgetIn,
         response=insights_schemas.Budget, tag="insights",
         summary="Set my monthly budget (in my account's currency); I am told at 80 % and "
                 "100 %, once a month")
    def insights_set_budget(self, call):
        return insights.set_budget(self, call)

    @api("DELETE", "/api/v1/insights/budget", status=204, tag="insights",
         summary="Remove my budget")
    def insights_clear_budget(self, call):
        return insights.clear_budget(self, call)

    @api("GET", "/api/v1/insights/recommendations",
         response=insights_schemas.RecommendationList, tag="insights",
         summary="Changes that would save me money or give me more of what I watch, each with "
                 "its monthly effect and why, in my language")
    def insights_recommendations(self, call):
        return insights.recommendations(self, call)

    @api("POST", "/api/v1/insights/recommendations/<string:recommendation_id>/dismiss",
         status=204, tag="insights",
         summary="Not interested: this recommendation is not shown again")
    def insights_dismiss_recommendation(self, call):
        return insights.dismiss_recommendation(self, call)

    @api("GET", "/api/v1/insights/viewing", query=insights_schemas.ViewingQuery,
         response=insights_schemas.Viewing, tag="insights",
         summary="What the TV platform reported I watched (minutes per channel), and whether "
                 "recommendations may use it")
    def insights_viewing(self, call):
        return insights.viewing(self, call)

    @api("PUT", "/api/v1/insights/viewing", body=insights_schemas.ViewingUseIn,
         response=insights_schemas.Viewing, tag="insights",
         summary="Let recommendations use my viewing, or not")
    def insights_set_viewing(self, call):
        return insights.set_viewing_use(self, call)

    @api("GET", "/api/v1/ops/insights", access="insights.read",
         query=insights_schemas.OpsInsightsQuery, response=insights_schemas.OpsInsights,
         tag="ops",
         summary="The business over the last months: subscribers by package, churn and its "
                 "reasons, revenue per account, wallet float, overdue, tickets by category "
                 "and time to resolve (admin)")
    def ops_insights(self, call):
        return insights.ops_insights(self, call)

    @api("GET", "/api/v1/ops/insights/recommendation-kinds", access="insights.read",
         response=insights_schemas.RecommendationKinds, tag="ops",
         summary="Which kinds of recommendation customers are shown (admin)")
    def ops_recommendation_kinds(self, call):
        return insights.recommendation_kinds(self, call)

    @api("PUT", "/api/v1/ops/insights/recommendation-kinds", access="insights.configure",
         body=insights_schemas.RecommendationKindsIn,
         response=insights_schemas.RecommendationKinds, tag="ops",
         summary="Switch kinds of recommendation on or off (the kinds named; admin)")
    def ops_set_recommendation_kinds(self, call):
        return insights.set_recommendation_kinds(self, call)

    # catalog
    @api("GET", "/api/v1/catalog/packages", access="visitor",
         response=catalog_schemas.PackageList, tag="catalog",
         summary="Base packages with prices (net, tax, gross), channels and included devices")
    def catalog_packages(self, call):
        return catalog.packages(self, call)

    @api("GET", "/api/v1/catalog/addons", access="visitor", query=catalog_schemas.AddonQuery,
         response=catalog_schemas.AddonList, tag="catalog",
         summary="Add-ons (channel bundles) and the packages that allow them")
    def catalog_addons(self, call):
        return catalog.addons(self, call)

    @api("GET", "/api/v1/catalog/devices", access="visitor",
         response=catalog_schemas.DeviceList, tag="catalog",
         summary="Set-top boxes and routers: sale price or monthly rental")
    def catalog_devices(self, call):
        return catalog.devices(self, call)

    # subscriptions
    @api("GET", "/api/v1/subscriptions", response=subscriptions_schemas.SubscriptionList,
         tag="subscriptions", summary="My subscriptions")
    def subscriptions(self, call):
        return subscriptions.list_(self, call)

    @api("POST", "/api/v1/subscriptions", body=billing_contract.Subscribe,
         response=subscriptions_schemas.SubscriptionCreated, status=201, tag="subscriptions",
         idempotency="accepted",
         summary="Subscribe to a package (with add-ons and devices); Idempotency-Key honoured")
    def subscribe(self, call):
        return subscriptions.subscribe(self, call)

    @api("GET", "/api/v1/subscriptions/<string:subscription_id>",
         response=subscriptions_schemas.Subscription, tag="subscriptions",
         summary="One subscription")
    def subscription(self, call):
        return subscriptions.get(self, call)

    @api("GET", "/api/v1/subscriptions/<string:subscription_id>/package-options",
         response=subscriptions_schemas.PackageOptions, tag="subscriptions",
         summary="The packages a change could go to: prices, what the rules allow and why not")
    def subscription_package_options(self, call):
        return subscriptions.package_options(self, call)

    @api("POST", "/api/v1/subscriptions/<string:subscription_id>/change",
         body=billing_contract.Change, response=subscriptions_schemas.Preview,
         tag="subscriptions", idempotency="accepted",
         summary="Upgrade or downgrade; with preview: the proration lines, nothing changed")
    def change_subscription(self, call):
        return subscriptions.change(self, call)

    @api("POST", "/api/v1/subscriptions/<string:subscription_id>/addons",
         body=billing_contract.AddAddon, response=subscriptions_schemas.Preview,
         tag="subscriptions", idempotency="accepted", summary="Add a channel bundle (prorated)")
    def add_addon(self, call):
        return subscriptions.add_addon(self, call)

    @api("DELETE", "/api/v1/subscriptions/<string:subscription_id>/addons/<string:code>",
         query=subscriptions_schemas.RemoveAddonQuery, response=subscriptions_schemas.Preview,
         tag="subscriptions", idempotency="accepted",
         summary="Remove a channel bundle (the unused part is credited)")
    def remove_addon(self, call):
        return subscriptions.remove_addon(self, call)

    @api("POST", "/api/v1/subscriptions/<string:subscription_id>/pause",
         body=billing_contract.Pause, response=subscriptions_schemas.Subscription,
         tag="subscriptions", idempotency="accepted", summary="Pause, optionally until a date")
    def pause_subscription(self, call):
        return subscriptions.pause(self, call)

    @api("POST", "/api/v1/subscriptions/<string:subscription_id>/resume",
         response=subscriptions_schemas.Subscription, tag="subscriptions", idempotency="accepted",
         summary="Resume a paused subscription")
    def resume_subscription(self, call):
        return subscriptions.resume(self, call)

    @api("POST", "/api/v1/subscriptions/<string:subscription_id>/cancel",
         body=billing_contract.Cancel, response=subscriptions_schemas.Preview,
         tag="subscriptions", idempotency="accepted",
         summary="Cancel with a reason, now (unused part credited) or at period end")
    def cancel_subscription(self, call):
        return subscriptions.cancel(self, call)

    # operations: catalog and devices
    @api("GET", "/api/v1/ops/catalog/<string:kind>", access="catalog.read", tag="ops",
         summary="List a catalog kind: packages, addons, devices, tax_rates, promotions")
    def ops_catalog_list(self, call):
        return catalog.ops_list(self, call)

    @api("POST", "/api/v1/ops/catalog/<string:kind>", access="catalog.manage",
         body=catalog_schemas.CatalogEntry, status=201, tag="ops",
         summary="Create a catalog entry (fully validated)")
    def ops_catalog_create(self, call):
        return catalog.ops_create(self, call)

    @api("GET", "/api/v1/ops/catalog/<string:kind>/<string:code>", access="catalog.read", tag="ops",
         summary="One catalog entry")
    def ops_catalog_get(self, call):
        return catalog.ops_get(self, call)

    @api("PATCH", "/api/v1/ops/catalog/<string:kind>/<string:code>", access="catalog.manage",
         body=catalog_schemas.CatalogEntry, tag="ops",
         summary="Change a catalog entry; running subscriptions keep their prices until renewal")
    def ops_catalog_update(self, call):
        return catalog.ops_update(self, call)

    @api("DELETE", "/api/v1/ops/catalog/<string:kind>/<string:code>", access="catalog.manage",
         tag="ops",
         summary="Retire a catalog entry (never deleted: subscriptions refer to it)")
    def ops_catalog_retire(self, call):
        return catalog.ops_retire(self, call)

    @api("POST", "/api/v1/ops/devices/<string:device_id>/serial", access="devices.manage",
         body=billing_contract.SerialChange, response=subscriptions_schemas.DeviceSerial,
         tag="ops", summary="Record a device's (replacement) serial number")
    def ops_replace_device(self, call):
        return subscriptions.ops_replace_device(self, call)

    # the operator's face (BRAND_* settings)
    @api("GET", "/api/v1/branding", access="public", response=branding_schemas.Branding,
         tag="portal", summary="The portal's name, logo and colours, as the operator configured "
                               "them (cacheable for 5 minutes)")
    def branding(self, call):
        return branding.show(self, call)

    @api("GET", "/api/v1/branding/logo", access="public", tag="portal",
         summary="The operator's logo (SVG, PNG or WebP); 404 when none is configured")
    def branding_logo(self, call):
        return branding.logo(self, call)

    # health and the API's own description
    @api("GET", "/health", access="public", response=common_schemas.Status, tag="health",
         summary="The gateway process is up")
    def health(self, call):
        return {"status": "ok"}

    @api("GET", "/ready", access="public", response=health_schemas.Readiness, tag="health",
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

    @http("GET,POST,PUT,PATCH,DELETE,OPTIONS,TRACE", "/<path:path>")
    def not_found(self, request: Request, path: str) -> Response:
        try:
            _api_map().bind("").match("/" + path, method=request.method)
            exc: errors.ServiceError = errors.NotFound("No such endpoint.")
        except WerkzeugMethodNotAllowed as refused:  # a known path: say what it serves
            exc = MethodNotAllowed(details={"allow": sorted(refused.valid_methods or ())})
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
    """The portal front end: the build in gateway/static/dist, or else the sources (a developer's
    fallback, said in the log); caching and compression rules in gateway/static_files.py."""
    try:
        response = static_files.serve(request, path, STATIC_DIR)
    except WerkzeugNotFound:
        return error_response(errors.NotFound("No such file."), new_id("req"))
    for name, value in PAGE_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
