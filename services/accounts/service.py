"""The accounts service: who a customer is and how they prove it.

RPC (all arguments and results are JSON; errors are `services.common.errors` kinds):
- register(data) → account                      sign-up; EMAIL_TAKEN, WEAK_PASSWORD
- login(email, password, client_ip, user_agent) → {token, csrf_token, expires_at, session_id,
  account}; INVALID_CREDENTIALS, RATE_LIMITED (details.retry_after)
  or, with a second factor, {mfa_required, mfa_token, methods, expires_at}: then
- login_second_step(mfa_token, code | recovery_code, client_ip, user_agent) → the session;
  MFA_CODE_INVALID (counted), MFA_CHALLENGE_INVALID
- authenticate(token) → {session, account}      every authenticated request; NOT_AUTHENTICATED
- security_overview(customer_id, session_id) → {totp, recovery_codes_left, passkeys, email,
  reauthenticated, staff_mfa_required} · require_recent_auth(customer_id, session_id)
  (REAUTH_REQUIRED) · reauthenticate(customer_id, session_id, password | code |
  recovery_code | passkey ceremony) → {reauthenticated_until}
- start_totp(customer_id, session_id) → {secret, otpauth_uri} · confirm_totp(…, code) →
  {recovery_codes} · disable_totp · regenerate_recovery_codes (mfa.py)
- list_passkeys(customer_id) · passkey_registration_options(customer_id, session_id) →
  {ceremony, options} · register_passkey(customer_id, session_id, ceremony, credential, name)
  · remove_passkey(customer_id, session_id, passkey_id) · passkey_options(mfa_token,
  customer_id) → {ceremony, options} · passkey_sign_in(ceremony, credential, mfa_token,
  client_ip, user_agent) → the session (passkey_flows.py); PASSKEY_INVALID,
  PASSKEYS_UNAVAILABLE
- invite_member(account_id, email, settings {share_wallet, monthly_limit}, session_id) ·
  household(account_id) → {members, invitations} · revoke_invitation · update_member ·
  remove_member (the holder; re-authenticated) · accept_invitation(person_id, token,
  client_ip) · memberships(person_id) · leave_household · act_in(person_id, session_id,
  account_id | None) (households.py); authenticate's session carries `acting`
- request_data_export(customer_id) → export {id, status, requested_at, ready_at, expires_at,
  size} · list_data_exports(customer_id) · data_export_archive(customer_id, export_id) →
  {filename, sha256, content (base64 zip)}; built by on_data_export_requested (privacy.py)
- deletion_status(customer_id) → {request, blockers, cooling_off_days} ·
  request_deletion(customer_id, session_id) (REAUTH_REQUIRED, ACCOUNT_DELETION_BLOCKED) ·
  cancel_deletion(customer_id); carried out by the housekeeping timer as a saga (privacy.py)
- request_password_reset(email, client_ip) → {status: accepted} (whatever the address) ·
  reset_password(token, new_password, client_ip) · verify_email(token, client_ip) → account ·
  resend_email_verification(customer_id) (recovery.py)
- logout(token)
- list_sessions(customer_id, current_session_id) → [session {id, current, method, created_at,
  last_seen_at, expires_at, client_ip, device {browser, os}}] (active, newest first) ·
  sign_out_session(customer_id, session_id, current_session_id) (SESSION_NOT_FOUND,
  SESSION_IS_CURRENT) · sign_out_other_sessions(customer_id, current_session_id) → {revoked}
- exchange_portal_link(token, client_ip, user_agent) → like login; PORTAL_LINK_INVALID
- get_account(customer_id) · update_profile(customer_id, changes, session_id) (a new email is
  pending until verified) · change_password(...)
- issue_portal_link(customer_id, issued_by) → {token, url, expires_at} · revoke_portal_link
- find_customers(query, limit, cursor) → page · set_role(customer_id, changes)
- team_members(teams) → {team: [{id, name, email, role}]} · set_team_members(team, member_ids)
  (ops teams: exactly these agent/admin accounts)
- recipients(after, limit, billing_type, tax_region) → customers in id order (broadcasts)
- known_customers(ids) → {known: [id]}: which of up to 50,000 ids are customers' (insights)
- authorize_money(actor, action, amount, currency, params, customer_id, idempotency_key) →
  {decision: allowed | approval_required, approval?}: staff money bounded per role (staff.py)
- list_approvals(status, limit, cursor) · get_approval(id) · decide_approval(id, decider,
  approve, note) · finish_approval(id, succeeded, result): maker-checker
- record_audit(entry) · audit_log(filters…, limit, cursor): the append-only audit trail
Events consumed: gateway staff_action (an audit entry of a staff action, stored once).
- health() → {"service", "database"}
Events: customer_registered, customer_updated, password_changed, portal_link_issued,
password_reset_requested, email_verification_requested (the notifier e-mails the links),
session_revoked (gateways evict the sessions from their cache); data_export_requested (its own
handler builds it), data_export_ready, account_deletion_scheduled, account_deletion_cancelled,
account_deletion_blocked (the notifier tells the customer), customer_deleted (the saga ended);
household_invitation (the notifier mails the link), household_changed (gateways evict).

Each entrypoint owns its transaction (`unit_of_work`) and commits; the modules flush. A flow
that verifies or hashes a password commits its read first, so no transaction is open while the
hash runs; a refused password or portal link keeps its failure count (`Refused`).
"""

from __future__ import annotations

import base64
import datetime as dt
import logging

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from sqlalchemy import text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.accounts import (
    audit,
    customers,
    devices,
    households,
    mfa,
    passkey_flows,
    passwords,
    privacy,
    recovery,
    sessions,
    staff,
)
from services.accounts.events import CUSTOMER_UPDATED, DATA_EXPORT_REQUESTED
from services.accounts.exceptions import REAUTH_REQUIRED
from services.accounts.models import MIGRATIONS, AuthSession, Base
from services.accounts.schemas import dump_account
from services.common import config as keys
from services.common import errors, permissions
from services.common.clock import ClockProvider
from services.common.db import Database, find_database, is_unique_violation, unit_of_work
from services.common.events import event_handler, handles_once
from services.common.observability import Observability
from services.common.rpc import BoundedRpcProxy, rpc
from services.common.timers import timer

log = logging.getLogger(__name__)
EXPECTED = (errors.ServiceError,)


def session_policy(config: dict) -> sessions.SessionPolicy:
    default = sessions.SessionPolicy()
    seconds = dt.timedelta(seconds=1)
    return sessions.SessionPolicy(
        ttl=float(config.get(keys.SESSION_TTL_SECONDS) or default.ttl.total_seconds()) * seconds,
        idle=float(config.get(keys.SESSION_IDLE_SECONDS) or default.idle.total_seconds())
        * seconds,
        portal_link_ttl=float(config.get(keys.PORTAL_LINK_TTL_SECONDS)
                              or default.portal_link_ttl.total_seconds()) * seconds,
        public_url=config.get(keys.PUBLIC_URL) or default.public_url,
        reauth=float(config.get(keys.REAUTH_SECONDS) or default.reauth.total_seconds())
        * seconds,
        staff_mfa_required=keys.as_bool(config.get(keys.STAFF_MFA_REQUIRED) or False),
        issuer=str(config.get(keys.BRAND_NAME) or "").strip() or default.issuer)


def admin_settings(config: dict) -> tuple[str, str] | None:
    """ADMIN_EMAIL and ADMIN_PASSWORD, checked before anything starts: both or neither (the
    admin account is made once; the settings may be removed afterwards); the password meets the
    password policy; outside DEMO_MODE it is not one published with the code. Raises
    `InsecureConfiguration` naming the setting."""
    email = str(config.get(keys.ADMIN_EMAIL) or "").strip()
    password = "" if config.get(keys.ADMIN_PASSWORD) is None else str(config[keys.ADMIN_PASSWORD])
    if not email and not password:
        return None
    if not password:
        raise keys.refuse(keys.ADMIN_PASSWORD, "is not set but ADMIN_EMAIL is",
                          "Set ADMIN_PASSWORD to the first admin's password (a passphrase), or "
                          "unset ADMIN_EMAIL.")
    if not email:
        raise keys.refuse(keys.ADMIN_EMAIL, "is not set but ADMIN_PASSWORD is",
                          "Set ADMIN_EMAIL to the first admin's e-mail address, or unset "
                          "ADMIN_PASSWORD.")
    advice = "Set ADMIN_PASSWORD to a passphrase of your own (not the demo admin's)."
    if not keys.demo_mode(config) and keys.known_default(password):
        raise keys.refuse(keys.ADMIN_PASSWORD, "is a password published with the code (the "
                          "demo admin's)", advice)
    problems = passwords.policy_problems(password, email)
    if problems:
        raise keys.refuse(keys.ADMIN_PASSWORD, "; ".join(problems), advice)
    return email, password


def ensure_admin(session: Session, email: str, password: str, now: dt.datetime) -> bool:
    """The admin account from configuration, made if it does not exist (True if made). An
    account that signed up with the address first is promoted only if it holds the password,
    verified with no transaction open; else RuntimeError."""
    existing = customers.by_email(session, email)
    if existing is None:
        try:
            customers.register_admin(session, email, password, now)
            session.commit()
        except errors.Conflict:  # another instance created it at the same moment
            session.rollback()
            return False
        return True
    if existing.role != "admin":
        stored = existing.password_hash
        session.commit()  # no transaction open while the hash is verified
        customers.promote_to_admin(existing, stored, email, password)
        session.commit()
    return False


class AdminBootstrap(DependencyProvider):
    """At start, creates the admin account from ADMIN_EMAIL / ADMIN_PASSWORD when both are set;
    refuses to start with only one of them, a weak one, or (outside DEMO_MODE) the demo
    admin's published password."""

    def setup(self) -> None:
        self.settings = admin_settings(self.container.config)

    def start(self) -> None:
        if self.settings is None:
            return
        email, password = self.settings
        with find_database(self.container).session() as session:
            if ensure_admin(session, email, password, dt.datetime.now(dt.UTC)):
                log.info("admin account %s created", email)


class StaffLimits(DependencyProvider):
    """STAFF_LIMITS, read (and a bad value refused, naming the setting) when the service
    starts."""

    def setup(self) -> None:
        try:
            self.limits = permissions.limits_from_config(
                self.container.config.get(keys.STAFF_LIMITS))
        except ValueError as bad:
            raise ValueError(f"Refusing to start: {bad}. E.g. STAFF_LIMITS='{{agent: "
                             "{per_action: 5000, per_day: 20000}}' (minor units).") from None

    def get_dependency(self, worker_ctx) -> dict[str, permissions.Bound]:
        return self.limits


class AccountsService:
    name = "accounts"
    observability = Observability()  # health, metrics, correlation ids

    db = Database(Base.metadata, MIGRATIONS)
    clock = ClockProvider()
    config = Config()
    admin = AdminBootstrap()
    staff_limits = StaffLimits()  # money staff may create unapproved, per role
    # the services that hold customer data (privacy.py: exports and deletions)
    notifier = BoundedRpcProxy("notifier")
    billing = BoundedRpcProxy("billing")
    vouchers = BoundedRpcProxy("vouchers")
    tickets = BoundedRpcProxy("tickets")
    insights = BoundedRpcProxy("insights")

    @property
    def policy(self) -> sessions.SessionPolicy:
        return session_policy(self.config)

    @rpc(expected_exceptions=EXPECTED)
    def register(self, data, client_ip=None):
        per_hour, now = int(self.config.get(keys.SIGNUP_LIMIT_PER_HOUR) or 0), self.clock.now()
        with unit_of_work(self.db):
            signup = customers.check_signup(self.db, client_ip, per_hour, now)
            self.db.commit()  # the read ends: no transaction open while the password is hashed
            account = customers.register(self.db, data, now, signup=signup,
                                         default_tax_region=self.config.get(
                                             keys.DEFAULT_TAX_REGION) or None)
            recovery.send_verification(self.db, customers.get(self.db, account["id"]),
                                       account["email"], self.policy.public_url, now)
            return account

    @rpc(expected_exceptions=EXPECTED)
    def login(self, email, password, client_ip=None, user_agent=None):
        now = self.clock.now()
        with unit_of_work(self.db):
            attempt = sessions.start_login(self.db, email, password, now, client_ip)
            self.db.commit()  # the read ends: nothing is held while the hash is verified
            return sessions.finish_login(self.db, attempt, password, self.policy, now,
                                         user_agent)

    @rpc(expected_exceptions=EXPECTED)
    def authenticate(self, token):
        with unit_of_work(self.db):  # writes last_seen_at at most once a minute
            return sessions.authenticate(self.db, token, self.policy, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def logout(self, token):
        with unit_of_work(self.db):
            sessions.logout(self.db, token, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def list_sessions(self, customer_id, current_session_id=None):
        return devices.active(self.db, customer_id, current_session_id, self.clock.now(),
                              self.policy.idle)

    @rpc(expected_exceptions=EXPECTED)
    def sign_out_session(self, customer_id, session_id, current_session_id=None):
        with unit_of_work(self.db):
            devices.sign_out(self.db, customer_id, session_id, current_session_id,
                             self.clock.now(), self.policy.idle)

    @rpc(expected_exceptions=EXPECTED)
    def sign_out_other_sessions(self, customer_id, current_session_id=None):
        with unit_of_work(self.db):
            return devices.sign_out_others(self.db, customer_id, current_session_id,
                                           self.clock.now(), self.policy.idle)

    @rpc(expected_exceptions=EXPECTED)
    def exchange_portal_link(self, token, client_ip=None, user_agent=None):
        with unit_of_work(self.db):
            return sessions.exchange_portal_link(self.db, token, self.policy, self.clock.now(),
                                                 client_ip, user_agent)

    @rpc(expected_exceptions=EXPECTED)
    def get_account(self, customer_id):
        return dump_account(customers.get(self.db, customer_id))

    @rpc(expected_exceptions=EXPECTED)
    def update_profile(self, customer_id, changes, session_id=None):
        now, policy = self.clock.now(), self.policy
        with unit_of_work(self.db):
            pending = customers.start_profile_update(self.db, customer_id, changes, now)
            proven = pending.new_email is not None and self._recent(customer_id, session_id,
                                                                    now)
            self.db.commit()  # the read ends: no transaction open while the hash is verified
            account = customers.update_profile(self.db, pending, now, proven)
            if pending.new_email is not None:
                recovery.request_change(self.db, pending.customer, pending.new_email,
                                        policy.public_url, now)
            return {**account, "pending_email": (recovery.pending(self.db, customer_id, now)
                                                 or {}).get("email")}

    def _recent(self, customer_id: str, session_id: str | None, now: dt.datetime) -> bool:
        auth = self.db.get(AuthSession, session_id) if session_id else None
        return (auth is not None and auth.customer_id == customer_id
                and mfa.recent(auth, now, self.policy.reauth))

    # strong sign-in: the second step, re-authentication, links by e-mail ------------------

    @rpc(expected_exceptions=EXPECTED)
    def login_second_step(self, mfa_token, code=None, recovery_code=None, client_ip=None,
                          user_agent=None):
        with unit_of_work(self.db):
            return sessions.finish_second_step(self.db, mfa_token, code, recovery_code,
                                               self.policy, self.clock.now(), client_ip,
                                               user_agent)

    @rpc(expected_exceptions=EXPECTED)
    def security_overview(self, customer_id, session_id=None):
        now = self.clock.now()
        customer = customers.get(self.db, customer_id)
        proved = self._recent(customer_id, session_id, now)
        return {**mfa.status(self.db, customer_id),
                "email": {"address": customer.email,
                          "verified": customer.email_verified_at is not None,
                          "pending": recovery.pending(self.db, customer_id, now)},
                "reauthenticated": proved,
                "passkeys_available": passkey_flows.relying_party(
                    self.policy.public_url, self.policy.issuer) is not None,
                "staff_mfa_required": self.policy.staff_mfa_required
                and customer.role != "customer"}

    @rpc(expected_exceptions=EXPECTED)
    def require_recent_auth(self, customer_id, session_id):
        mfa.require_recent(self.db, customer_id, session_id, self.clock.now(),
                           self.policy.reauth)
        return {"ok": True}

    @rpc(expected_exceptions=EXPECTED)
    def reauthenticate(self, customer_id, session_id, password=None, code=None,
                       recovery_code=None, ceremony=None, credential=None):
        """Proves who the person is again, by one of: the password, an authenticator code, a
        recovery code, a passkey (a ceremony from passkey_options(customer_id=…)). Each wrong
        one is counted (the same limits as elsewhere)."""
        now, window, policy = self.clock.now(), self.policy.reauth, self.policy
        with unit_of_work(self.db):
            if ceremony:
                proved = passkey_flows.verify_sign_in(self.db, ceremony, credential,
                                                      policy.public_url, policy.issuer, now)
                if proved.id != customer_id:
                    raise errors.PermissionDenied("That passkey is not this account's.",
                                                  code=REAUTH_REQUIRED)
            elif code or recovery_code:
                mfa.prove(self.db, customer_id, code, recovery_code, now)
            else:
                pending = customers.start_password_change(self.db, customer_id, now)
                self.db.commit()  # nothing is held while the hash is verified
                customers.check_password(self.db, pending, password, now)
            return mfa.mark_reauthenticated(self.db, customer_id, session_id, now, window)

    @rpc(expected_exceptions=EXPECTED)
    def start_totp(self, customer_id, session_id):
        now = self.clock.now()
        with unit_of_work(self.db):
            self._require_recent(customer_id, session_id, now)
            return mfa.start_totp(self.db, customers.get(self.db, customer_id),
                                  self.policy.issuer, now)

    @rpc(expected_exceptions=EXPECTED)
    def confirm_totp(self, customer_id, session_id, code):
        now = self.clock.now()
        with unit_of_work(self.db):
            return mfa.confirm_totp(self.db, customers.get(self.db, customer_id), code,
                                    session_id, now)

    @rpc(expected_exceptions=EXPECTED)
    def disable_totp(self, customer_id, session_id):
        now = self.clock.now()
        with unit_of_work(self.db):
            self._require_recent(customer_id, session_id, now)
            mfa.disable_totp(self.db, customers.get(self.db, customer_id),
                             self.policy.staff_mfa_required, session_id, now)

    @rpc(expected_exceptions=EXPECTED)
    def regenerate_recovery_codes(self, customer_id, session_id):
        now = self.clock.now()
        with unit_of_work(self.db):
            self._require_recent(customer_id, session_id, now)
            return mfa.regenerate_recovery_codes(self.db, customers.get(self.db, customer_id),
                                                 session_id, now)

    def _require_recent(self, customer_id: str, session_id: str | None,
                        now: dt.datetime) -> None:
        mfa.require_recent(self.db, customer_id, session_id, now, self.policy.reauth)

    # passkeys (passkey_flows.py) --------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def list_passkeys(self, customer_id):
        return passkey_flows.listing(self.db, customer_id)

    @rpc(expected_exceptions=EXPECTED)
    def passkey_registration_options(self, customer_id, session_id):
        now, policy = self.clock.now(), self.policy
        with unit_of_work(self.db):
            self._require_recent(customer_id, session_id, now)
            return passkey_flows.registration_options(
                self.db, customers.get(self.db, customer_id), policy.public_url, policy.issuer,
                now)

    @rpc(expected_exceptions=EXPECTED)
    def register_passkey(self, customer_id, session_id, ceremony, credential, name=None):
        now, policy = self.clock.now(), self.policy
        with unit_of_work(self.db):
            made = passkey_flows.register(self.db, customers.get(self.db, customer_id),
                                          ceremony, credential, name, policy.public_url,
                                          policy.issuer, now)
            if session_id:  # a staff session limited to enrolling gets its full rights
                self.db.execute(update(AuthSession).where(
                    AuthSession.id == session_id, AuthSession.customer_id == customer_id,
                    AuthSession.scope.is_not(None)).values(scope=None))
            return made

    @rpc(expected_exceptions=EXPECTED)
    def remove_passkey(self, customer_id, session_id, passkey_id):
        now = self.clock.now()
        with unit_of_work(self.db):
            self._require_recent(customer_id, session_id, now)
            passkey_flows.remove(self.db, customers.get(self.db, customer_id), passkey_id,
                                 self.policy.staff_mfa_required, now)

    @rpc(expected_exceptions=EXPECTED)
    def passkey_options(self, mfa_token=None, customer_id=None):
        """A passkey sign-in's options: any of the portal's passkeys, or one account's (the
        second step of `mfa_token`, or re-authenticating `customer_id`)."""
        now, policy = self.clock.now(), self.policy
        with unit_of_work(self.db):
            return passkey_flows.sign_in_options(self.db, policy.public_url, policy.issuer, now,
                                                 mfa_token, customer_id)

    @rpc(expected_exceptions=EXPECTED)
    def passkey_sign_in(self, ceremony, credential, mfa_token=None, client_ip=None,
                        user_agent=None):
        now, policy = self.clock.now(), self.policy
        with unit_of_work(self.db):
            customer = passkey_flows.verify_sign_in(self.db, ceremony, credential,
                                                    policy.public_url, policy.issuer, now,
                                                    client_ip)
            return sessions.passkey_sign_in(self.db, customer, mfa_token, policy, now,
                                            client_ip, user_agent)

    # households (households.py) -------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def invite_member(self, account_id, email, settings=None, session_id=None):
        now = self.clock.now()
        with unit_of_work(self.db):
            self._require_recent(account_id, session_id, now)
            return households.invite(self.db, account_id, email, settings,
                                     self.policy.public_url, now)

    @rpc(expected_exceptions=EXPECTED)
    def household(self, account_id):
        return households.household(self.db, account_id, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def revoke_invitation(self, account_id, invitation_id):
        with unit_of_work(self.db):
            households.revoke_invitation(self.db, account_id, invitation_id, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def update_member(self, account_id, member_id, changes, session_id=None):
        now = self.clock.now()
        with unit_of_work(self.db):
            self._require_recent(account_id, session_id, now)
            return households.update_member(self.db, account_id, member_id, changes, now)

    @rpc(expected_exceptions=EXPECTED)
    def remove_member(self, account_id, member_id, session_id=None):
        now = self.clock.now()
        with unit_of_work(self.db):
            self._require_recent(account_id, session_id, now)
            households.remove_member(self.db, account_id, member_id, now, by=account_id)

    @rpc(expected_exceptions=EXPECTED)
    def accept_invitation(self, person_id, token, client_ip=None):
        with unit_of_work(self.db):
            return households.accept(self.db, person_id, token, client_ip, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def memberships(self, person_id):
        return households.memberships(self.db, person_id)

    @rpc(expected_exceptions=EXPECTED)
    def leave_household(self, person_id, account_id):
        with unit_of_work(self.db):
            households.remove_member(self.db, account_id, person_id, self.clock.now(),
                                     by=person_id)

    @rpc(expected_exceptions=EXPECTED)
    def act_in(self, person_id, session_id, account_id=None):
        with unit_of_work(self.db):
            return households.act_in(self.db, person_id, session_id, account_id,
                                     self.clock.now())

    # privacy: download my data, delete my account (privacy.py) ------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def request_data_export(self, customer_id):
        with unit_of_work(self.db):
            return privacy.request_export(self.db, customer_id, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def list_data_exports(self, customer_id):
        return privacy.exports(self.db, customer_id)

    @rpc(expected_exceptions=EXPECTED)
    def data_export_archive(self, customer_id, export_id):
        return privacy.archive(self.db, customer_id, export_id, self.clock.now())

    @event_handler("accounts", DATA_EXPORT_REQUESTED)
    def on_data_export_requested(self, payload):
        """Builds the archive, asking every service with no transaction open; one that does
        not answer fails this delivery, and the event comes again later."""
        export_id = payload["data_export"]["id"]
        with unit_of_work(self.db):
            export = privacy.pending_export(self.db, export_id)
            if export is None:
                return  # built already (a redelivery), or gone with the account
            customer_id = export.customer_id
            parts = {"accounts": privacy.own_part(self.db, customer_id)}
        for name in privacy.SERVICES:
            parts[name] = getattr(self, name).export_customer(customer_id)
        files = {}
        for document in parts["billing"].get("files", []):
            fetched = (self.billing.invoice_pdf(customer_id, document["invoice_id"])
                       if document.get("kind") == "invoice_pdf"
                       else self.billing.receipt_pdf(customer_id, document["payment_id"]))
            files[document["name"]] = base64.b64decode(fetched["content"])
        now = self.clock.now()
        content = privacy.build_archive(privacy.Gathered(parts, files), self.policy.issuer, now)
        with unit_of_work(self.db):
            privacy.finish_export(self.db, export_id, content, self.policy.public_url, now)

    @property
    def _cooling_off(self) -> dt.timedelta:
        days = self.config.get(keys.ACCOUNT_DELETION_COOLING_OFF_DAYS)
        return dt.timedelta(days=float(14 if days in (None, "") else days))

    @rpc(expected_exceptions=EXPECTED)
    def deletion_status(self, customer_id):
        """The open deletion, if any, and what would block one now (billing's answer)."""
        blockers = self.billing.deletion_blockers(customer_id)["blockers"]
        request = privacy.open_request(self.db, customer_id)
        return {"request": privacy.dump_deletion(request), "blockers": blockers,
                "cooling_off_days": self._cooling_off.days}

    @rpc(expected_exceptions=EXPECTED)
    def request_deletion(self, customer_id, session_id):
        now = self.clock.now()
        self._require_recent(customer_id, session_id, now)
        self.db.commit()  # nothing is held while billing answers
        blockers = self.billing.deletion_blockers(customer_id)["blockers"]
        try:
            with unit_of_work(self.db):
                return privacy.request_deletion(self.db, customer_id, blockers,
                                                self._cooling_off, now)
        except IntegrityError as exc:  # a concurrent twin made it first: answer that one
            if not is_unique_violation(exc):
                raise
            return privacy.dump_deletion(privacy.open_request(self.db, customer_id))

    @rpc(expected_exceptions=EXPECTED)
    def cancel_deletion(self, customer_id):
        with unit_of_work(self.db):
            return privacy.cancel_deletion(self.db, customer_id, self.clock.now())

    @timer(keys.ACCOUNTS_TIMER_SECONDS, 30.0)
    def housekeeping(self):
        """Deletions due (each step committed as it completes: see privacy.py) and expired
        exports. Every instance runs it; a deletion is claimed by one at a time."""
        now = self.clock.now()
        with unit_of_work(self.db):
            privacy.expire_exports(self.db, now)
        finished = 0
        while True:
            with unit_of_work(self.db):
                request_id = privacy.claim_due(self.db, now)
            if request_id is None:
                return finished
            finished += self._carry_out(request_id)

    def _carry_out(self, request_id: str) -> int:
        """The remaining steps of one deletion, in order; a failing step is recorded and
        tried again later (1 if it finished)."""
        while True:
            now = self.clock.now()
            request = self.db.get(privacy.DeletionRequest, request_id, populate_existing=True)
            step, cid = privacy.next_step(request), request.customer_id
            self.db.commit()
            if step is None:
                return 1
            try:
                with unit_of_work(self.db):
                    if step == "check":
                        blockers = self.billing.deletion_blockers(cid)["blockers"]
                        if blockers:
                            privacy.blocked(self.db, request_id, blockers, now)
                            return 0
                    elif step == "lock_out":
                        privacy.lock_out(self.db, request_id, now)
                    elif step == "accounts":
                        privacy.forget_account(self.db, request_id, now)
                    else:
                        getattr(self, step).forget_customer(cid, request.pseudonym,
                                                            request.personal)
                    privacy.step_done(self.db, request_id, step, now)
            except Exception as exc:  # noqa: BLE001 - recorded; the next round tries again
                log.warning("deletion %s: step %s failed: %s", request_id, step, exc)
                with unit_of_work(self.db):
                    privacy.step_failed(self.db, request_id, step, str(exc), now)
                return 0
            if step == "accounts":
                return 1

    @rpc(expected_exceptions=EXPECTED)
    def request_password_reset(self, email, client_ip=None):
        with unit_of_work(self.db):
            return recovery.request_reset(self.db, email, client_ip, self.policy.public_url,
                                          self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def reset_password(self, token, new_password, client_ip=None):
        now = self.clock.now()
        with unit_of_work(self.db):
            challenge_id, customer_id = recovery.start_reset(self.db, token, new_password,
                                                             client_ip, now)
            self.db.commit()  # nothing is held while the new password is hashed
            new_hash = passwords.hash_password(new_password)
            ended = recovery.finish_reset(self.db, challenge_id, customer_id, new_hash, now,
                                          client_ip)
            return {"status": "changed", "sessions_ended": len(ended),
                    "customer_id": customer_id}

    @rpc(expected_exceptions=EXPECTED)
    def verify_email(self, token, client_ip=None):
        now = self.clock.now()
        with unit_of_work(self.db):
            customer = recovery.verify(self.db, token, client_ip, now)
            return customers.save(self.db, customer, CUSTOMER_UPDATED, now)

    @rpc(expected_exceptions=EXPECTED)
    def resend_email_verification(self, customer_id):
        now = self.clock.now()
        with unit_of_work(self.db):
            customer = customers.get(self.db, customer_id)
            waiting = recovery.pending(self.db, customer_id, now)
            if waiting is None and customer.email_verified_at is not None:
                return {"pending_email": None, "expires_at": None}
            return recovery.send_verification(
                self.db, customer, waiting["email"] if waiting else customer.email,
                self.policy.public_url, now)

    @rpc(expected_exceptions=EXPECTED)
    def change_password(self, customer_id, session_id, current_password, new_password):
        now = self.clock.now()
        with unit_of_work(self.db):
            pending = customers.start_password_change(self.db, customer_id, now)
            self.db.commit()  # the read ends: nothing is held while the hashes are computed
            customers.change_password(self.db, pending, session_id, current_password,
                                      new_password, now)

    @rpc(expected_exceptions=EXPECTED)
    def issue_portal_link(self, customer_id, issued_by=None):
        with unit_of_work(self.db):
            return sessions.issue_portal_link(self.db, customer_id, issued_by, self.policy,
                                              self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def revoke_portal_link(self, customer_id):
        with unit_of_work(self.db):
            return {"revoked": sessions.revoke_portal_links(self.db, customer_id,
                                                            self.clock.now())}

    @rpc(expected_exceptions=EXPECTED)
    def find_customers(self, query=None, limit=20, cursor=None):
        return customers.find(self.db, query, limit, cursor)

    @rpc(expected_exceptions=EXPECTED)
    def recipients(self, after=None, limit=500, billing_type=None, tax_region=None):
        return customers.recipients(self.db, after, limit, billing_type, tax_region)

    @rpc(expected_exceptions=EXPECTED)
    def known_customers(self, ids):
        return {"known": customers.known(self.db, ids)}

    @rpc(expected_exceptions=EXPECTED)
    def team_members(self, teams):
        return customers.team_members(self.db, list(teams or []))

    @rpc(expected_exceptions=EXPECTED)
    def set_team_members(self, team, member_ids):
        with unit_of_work(self.db):
            return customers.set_team_members(self.db, team, member_ids, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def set_role(self, customer_id, changes):
        with unit_of_work(self.db):
            return customers.set_role(self.db, customer_id, changes, self.clock.now())

    # staff governance ----------------------------------------------------------------------

    @rpc(expected_exceptions=EXPECTED)
    def authorize_money(self, actor, action, amount, currency, params=None, customer_id=None,
                        idempotency_key=None):
        now = self.clock.now()
        while True:
            try:
                with unit_of_work(self.db):
                    return staff.authorize_money(self.db, self.staff_limits, actor, action,
                                                 amount, currency, params, customer_id,
                                                 idempotency_key, now)
            except IntegrityError as exc:  # rolled back by unit_of_work
                if not is_unique_violation(exc):
                    raise
                # the same key concurrently: its decision stands, ours is undone; asked
                # again, the key answers it

    @rpc(expected_exceptions=EXPECTED)
    def list_approvals(self, status=None, limit=50, cursor=None):
        return staff.page(self.db, status, limit, cursor)

    @rpc(expected_exceptions=EXPECTED)
    def get_approval(self, approval_id):
        return staff.get(self.db, approval_id)

    @rpc(expected_exceptions=EXPECTED)
    def decide_approval(self, approval_id, decider, approve, note=None):
        with unit_of_work(self.db):
            return staff.decide(self.db, approval_id, decider, bool(approve), note,
                                self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def finish_approval(self, approval_id, succeeded, result=None):
        with unit_of_work(self.db):
            return staff.finish(self.db, approval_id, bool(succeeded), result,
                                self.clock.now())

    @event_handler("gateway", "staff_action")
    @handles_once
    def on_staff_action(self, payload):
        """A staff action the gateway answered (gateway/audit.py): one entry per event, at
        the time it happened. A malformed one is logged and dropped (redelivery cannot fix
        it)."""
        try:
            values = audit.load(payload["entry"])
        except errors.InvalidArgument as bad:
            log.error("audit entry refused (%s): %r", bad.fields, payload)
            return
        audit.add(self.db, audit.when(payload.get("occurred_at")) or self.clock.now(),
                  **values)  # committed by @handles_once, with the event's mark

    @rpc(expected_exceptions=EXPECTED)
    def record_audit(self, entry):
        with unit_of_work(self.db):
            return audit.record(self.db, entry, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def audit_log(self, actor_id=None, action=None, target=None, since=None, until=None,
                  limit=50, cursor=None):
        return audit.page(self.db, actor_id, action, target, since, until, limit, cursor)

    @rpc
    def health(self):
        self.db.execute(text("SELECT 1"))
        return {"service": self.name, "database": "ok"}
