"""Logins, sessions and portal links.

A session token has 256 bits of randomness and is stored only as its SHA-256, so a database
dump gives no usable tokens. A session ends at its absolute expiry, after an idle timeout, on
logout, or when the password changes (all other sessions). A portal link is a customer's single
active link: issuing a new one revokes the old one; it expires, can be revoked, and is exchanged
once for a session.

The functions flush, never commit: the entrypoint (service.py) owns the transaction. A login is
two steps so that no transaction is open while the password hash is verified: `start_login` (a
read), the caller's commit, then `finish_login`. A refusal whose failure count must be kept (a
wrong password, a portal link that is not valid) raises `Refused`: the entrypoint commits the
count and its audit entry, then raises the error.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.accounts import audit, events, households, mfa, passwords, throttle
from services.accounts.customers import by_email, get, normalize_email
from services.accounts.exceptions import (
    INVALID_CREDENTIALS,
    PORTAL_LINK_INVALID,
    SESSION_EXPIRED,
)
from services.accounts.models import AuthSession, Customer, PortalLink
from services.accounts.schemas import dump_account
from services.common import errors, outbox, permissions
from services.common.clock import isoformat
from services.common.db import Refused
from services.common.ids import new_id, new_secret_token

# last_seen_at is written at most this often, so authenticating is a read, not a write
TOUCH_INTERVAL = dt.timedelta(seconds=60)


@dataclass(frozen=True)
class SessionPolicy:
    ttl: dt.timedelta = dt.timedelta(hours=12)
    idle: dt.timedelta = dt.timedelta(minutes=30)
    portal_link_ttl: dt.timedelta = dt.timedelta(days=7)
    public_url: str = "http://127.0.0.1:8000"
    reauth: dt.timedelta = dt.timedelta(minutes=10)  # REAUTH_SECONDS (mfa.py)
    staff_mfa_required: bool = False  # STAFF_MFA_REQUIRED
    issuer: str = "Customer Portal"  # how authenticator apps name the account (BRAND_NAME)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(session: Session, customer: Customer, method: str, policy: SessionPolicy,
                 now: dt.datetime, client_ip: str | None, user_agent: str | None,
                 second_factor: str | None = None, scope: str | None = None) -> dict:
    token, csrf = new_secret_token(), new_secret_token()
    auth = AuthSession(
        id=new_id("ses"), token_hash=token_hash(token), csrf_hash=token_hash(csrf),
        customer_id=customer.id, method=method, second_factor=second_factor, scope=scope,
        created_at=now, last_seen_at=now,
        expires_at=now + policy.ttl, client_ip=(client_ip or "")[:64] or None,
        user_agent=(user_agent or "")[:300] or None)
    session.add(auth)
    audit.add(session, now, actor_id=customer.id, actor_role=customer.role, session_id=auth.id,
              client_ip=auth.client_ip, action=f"login.{method}",
              target=f"customer:{customer.id}", outcome="ok",
              details={"user_agent": auth.user_agent, "second_factor": second_factor,
                       "scope": scope})
    return {"token": token, "csrf_token": csrf, "expires_at": isoformat(auth.expires_at),
            "session_id": auth.id, "scope": scope, "account": dump_account(customer)}


@dataclass(frozen=True)
class LoginAttempt:
    """What a login read before its password is verified (`start_login`)."""

    who: str  # the email, normalized
    client_ip: str | None
    account_key: str
    pair_key: str | None
    limits: tuple[tuple[str, throttle.Limit], ...]  # the throttle keys that apply
    customer: Customer | None
    stored: str | None  # the account's password hash as read

    @property
    def keys(self) -> list[str]:
        return [key for key, _ in self.limits]


def start_login(session: Session, email: str, password: str, now: dt.datetime,
                client_ip: str | None = None) -> LoginAttempt:
    """A login's first step, a read: the throttle keys not blocked (RateLimited) and the
    account, if any (INVALID_CREDENTIALS if malformed). The caller ends the transaction here,
    so nothing is held (no lock of any kind) while `finish_login` verifies the hash."""
    if not isinstance(email, str) or not isinstance(password, str) or len(password) > 1024:
        raise errors.NotAuthenticated("Wrong email or password.", code=INVALID_CREDENTIALS)
    who = normalize_email(email)[:254]
    account_key = f"login:account:{who}"
    pair_key = f"login:pair:{who}:{client_ip}"[:300] if client_ip else None
    address_key = f"login:address:{client_ip}" if client_ip else None
    limits = tuple((key, limit) for key, limit in (
        (account_key, throttle.ACCOUNT_LIMIT), (pair_key, throttle.PAIR_LIMIT),
        (address_key, throttle.ADDRESS_LIMIT)) if key)
    attempt = LoginAttempt(who, client_ip, account_key, pair_key, limits, None, None)
    _refuse_if_blocked(session, attempt.keys, now)
    customer = by_email(session, email)
    return dataclasses.replace(attempt, customer=customer,
                               stored=customer.password_hash if customer else None)


def finish_login(session: Session, attempt: LoginAttempt, password: str, policy: SessionPolicy,
                 now: dt.datetime, user_agent: str | None = None) -> dict:
    """A session for the right password, verified first (before anything is read or written),
    or, for an account with a second factor, the second step to take (`mfa.SecondStep`). Staff
    without one, when the operator requires it (`policy.staff_mfa_required`), get a session that
    may only set one up. A wrong password (or an unknown email, answered the same) is counted
    on every key and audited: `Refused` with INVALID_CREDENTIALS, or RateLimited when a
    concurrent failure blocked a key first (this one is then refused, uncounted)."""
    customer, stored, client_ip = attempt.customer, attempt.stored, attempt.client_ip
    ok = passwords.verify_password(stored or passwords.dummy_hash(), password)
    if not (ok and customer):
        wait = 0.0
        for key, limit in attempt.limits:
            failure = throttle.record_failure(session, key, limit, now)
            wait = max(wait, 0.0 if failure.counted else failure.wait(now))
        audit.add(session, now, actor_id=customer.id if customer else None,
                  actor_role=customer.role if customer else None, client_ip=client_ip,
                  action="login.failed", target=f"customer:{customer.id}" if customer else
                  f"email:{attempt.who}", outcome="refused")
        if wait:  # a concurrent failure blocked the key first: this one is refused, uncounted
            raise Refused(errors.rate_limited(wait, "Too many failed logins. Try again later."))
        raise Refused(errors.NotAuthenticated("Wrong email or password.",
                                              code=INVALID_CREDENTIALS))

    upgraded = passwords.hash_password(password) if passwords.needs_rehash(stored) else None
    # blocked by a concurrent failure while verifying
    _refuse_if_blocked(session, attempt.keys, now)
    if upgraded:  # only if the password did not change meanwhile
        session.execute(update(Customer)
                        .where(Customer.id == customer.id, Customer.password_hash == stored)
                        .values(password_hash=upgraded)
                        .execution_options(synchronize_session=False))
    factors = mfa.methods(session, customer.id)
    if factors:  # the failure counts are cleared once the second step is done too
        return mfa.open_login_challenge(session, customer, factors, "password", now).dump()
    clear_login_failures(session, customer.email_normalized, client_ip)
    scope = (mfa.ENROLMENT_SCOPE if policy.staff_mfa_required
             and permissions.is_staff(customer.role) else None)
    return open_session(session, customer, "password", policy, now, client_ip, user_agent,
                        scope=scope)


def clear_login_failures(session: Session, who: str, client_ip: str | None) -> None:
    """A complete sign-in clears its account's and its (account, address) failure counts."""
    throttle.clear(session, f"login:account:{who}")
    if client_ip:
        throttle.clear(session, f"login:pair:{who}:{client_ip}"[:300])


def passkey_sign_in(session: Session, customer: Customer, mfa_token: str | None,
                    policy: SessionPolicy, now: dt.datetime, client_ip: str | None = None,
                    user_agent: str | None = None) -> dict:
    """The session for an account whose passkey was verified (passkey_flows.verify_sign_in):
    on its own (a passkey is both factors), or as the second step of `mfa_token`'s sign-in."""
    method = "passkey"
    if mfa_token:
        challenge = mfa.login_challenge(session, mfa_token, now)
        if challenge.customer_id != customer.id:
            raise errors.NotAuthenticated("This sign-in has expired. Sign in again.",
                                          code=mfa.MFA_CHALLENGE_INVALID)
        mfa.use_challenge(session, challenge, now)
        method = challenge.data.get("method") or "password"
    clear_login_failures(session, customer.email_normalized, client_ip)
    return open_session(session, customer, method, policy, now, client_ip, user_agent,
                        second_factor="passkey")


def finish_second_step(session: Session, token: str, code: str | None,
                       recovery_code: str | None, policy: SessionPolicy, now: dt.datetime,
                       client_ip: str | None = None, user_agent: str | None = None) -> dict:
    """The session for a sign-in's second step: an authenticator code or a recovery code
    against the `login` challenge (five tries; wrong codes also count per account:
    `Refused`). MFA_CHALLENGE_INVALID once used, expired or out of tries."""
    challenge = mfa.login_challenge(session, token, now)
    customer = get(session, challenge.customer_id)
    used = mfa.prove(session, customer.id, code, recovery_code, now, challenge)
    mfa.use_challenge(session, challenge, now)
    clear_login_failures(session, customer.email_normalized, client_ip)
    return open_session(session, customer, challenge.data.get("method") or "password", policy,
                        now, client_ip, user_agent, second_factor=used)


def _refuse_if_blocked(session: Session, keys: list[str], now: dt.datetime) -> None:
    wait = throttle.blocked_for(session, keys, now)
    if wait > 0:
        raise errors.rate_limited(wait, "Too many failed logins. Try again later.")


def authenticate(session: Session, token: str, policy: SessionPolicy, now: dt.datetime) -> dict:
    """The session and account behind a bearer token, or NotAuthenticated."""
    if not isinstance(token, str) or not 20 <= len(token) <= 200:
        raise errors.NotAuthenticated()
    auth = session.scalar(select(AuthSession).where(AuthSession.token_hash == token_hash(token)))
    if auth is None or auth.revoked_at is not None:
        raise errors.NotAuthenticated()
    if now >= auth.expires_at or now - auth.last_seen_at >= policy.idle:
        raise errors.NotAuthenticated("Your session has expired. Log in again.",
                                      code=SESSION_EXPIRED)
    customer = get(session, auth.customer_id)
    result = {"session": {"id": auth.id, "method": auth.method, "csrf_hash": auth.csrf_hash,
                          "expires_at": isoformat(auth.expires_at), "scope": auth.scope,
                          "acting": households.acting(session, auth)},
              "account": dump_account(customer)}
    if now - auth.last_seen_at >= TOUCH_INTERVAL:
        auth.last_seen_at = now
    return result


def logout(session: Session, token: str, now: dt.datetime) -> None:
    auth = session.scalar(select(AuthSession).where(
        AuthSession.token_hash == token_hash(token))) if isinstance(token, str) else None
    if auth is None or auth.revoked_at is not None:
        return
    auth.revoked_at, auth.revoked_reason = now, "logout"
    outbox.emit(session, events.SESSION_REVOKED, "customer", {"id": auth.customer_id,
                                                              "session_ids": [auth.id]}, now)


def issue_portal_link(session: Session, customer_id: str, issued_by: str | None,
                      policy: SessionPolicy, now: dt.datetime) -> dict:
    """A new single-use link for the customer (the previous one revoked), sent to the address
    on file by the notifier (`portal_link_issued`). Whoever asked for it (an agent) learns
    where it went and when it expires, never the link itself: a session it opens has the
    customer's full rights."""
    customer = get(session, customer_id)
    if customer.role != "customer":  # a link must never open a staff session
        raise errors.PermissionDenied("Portal links are for customer accounts only.",
                                      code="PORTAL_LINK_NOT_ALLOWED")
    session.execute(update(PortalLink)
                    .where(PortalLink.customer_id == customer.id, PortalLink.revoked_at.is_(None),
                           PortalLink.used_at.is_(None))
                    .values(revoked_at=now))
    token = new_secret_token()
    link = PortalLink(id=new_id("pl"), token_hash=token_hash(token), customer_id=customer.id,
                      issued_by=issued_by, created_at=now, expires_at=now + policy.portal_link_ttl)
    session.add(link)
    outbox.emit(session, events.PORTAL_LINK_ISSUED, "portal_link", {
        "id": link.id, "customer_id": customer.id, "expires_at": isoformat(link.expires_at),
        "url": f"{policy.public_url.rstrip('/')}/#/portal-link/{token}"}, now)
    audit.add(session, now, actor_id=issued_by, action="portal_link.issued",
              target=f"customer:{customer.id}", outcome="ok",
              details={"link": link.id, "expires_at": isoformat(link.expires_at)})
    return {"id": link.id, "expires_at": isoformat(link.expires_at),
            "sent_to": mask_email(customer.email)}


def mask_email(email: str) -> str:
    """`a…n@example.com`: enough for an agent to tell the customer where to look."""
    local, _, domain = email.partition("@")
    shown = local[0] + "…" + local[-1] if len(local) > 2 else local[:1] + "…"
    return f"{shown}@{domain}"


def revoke_portal_links(session: Session, customer_id: str, now: dt.datetime) -> int:
    get(session, customer_id)
    result = session.execute(update(PortalLink)
                             .where(PortalLink.customer_id == customer_id,
                                    PortalLink.revoked_at.is_(None), PortalLink.used_at.is_(None))
                             .values(revoked_at=now))
    return result.rowcount


def exchange_portal_link(session: Session, token: str, policy: SessionPolicy, now: dt.datetime,
                         client_ip: str | None = None, user_agent: str | None = None) -> dict:
    """A session for a valid link, which is used up. One that is not valid (unknown, used,
    revoked, expired) is counted against the client address: `Refused` with
    PORTAL_LINK_INVALID. A link of an account promoted to staff since is PORTAL_LINK_INVALID
    too (the caller rolls back: the link stays unused)."""
    address_key = f"portal-link:address:{client_ip}" if client_ip else None
    if address_key:
        wait = throttle.blocked_for(session, [address_key], now)
        if wait > 0:
            raise errors.rate_limited(wait)
    valid = isinstance(token, str) and 20 <= len(token) <= 200
    link = session.scalar(select(PortalLink).where(
        PortalLink.token_hash == token_hash(token))) if valid else None
    # single use: the UPDATE succeeds for exactly one caller, even when two race
    claimed = link is not None and session.execute(
        update(PortalLink)
        .where(PortalLink.id == link.id, PortalLink.used_at.is_(None),
               PortalLink.revoked_at.is_(None), PortalLink.expires_at > now)
        .values(used_at=now)).rowcount == 1
    if not claimed:  # nothing was written; the failure is counted and kept
        invalid = errors.NotAuthenticated("This portal link is not valid any more.",
                                          code=PORTAL_LINK_INVALID)
        if address_key:
            throttle.record_failure(session, address_key, throttle.PORTAL_LINK_LIMIT, now)
            raise Refused(invalid)
        raise invalid
    customer = get(session, link.customer_id)
    if customer.role != "customer":  # promoted to staff after the link was issued
        raise errors.NotAuthenticated("This portal link is not valid any more.",
                                      code=PORTAL_LINK_INVALID)
    factors = mfa.methods(session, customer.id)
    if factors:  # a link stands in for the password, not for the second factor
        return mfa.open_login_challenge(session, customer, factors, "portal_link", now).dump()
    return open_session(session, customer, "portal_link", policy, now, client_ip, user_agent)
