"""Links sent by e-mail: password resets and e-mail verification.

- **Password reset**: asking answers the same whatever the address (registered or not, sent or
  throttled), so it never tells whether an account exists. A registered address gets a link
  (one hour, single use; asking again replaces it) at most `RESETS_PER_HOUR` times an hour.
  Following it sets a new password, ends every session and every other link; a second factor
  is still asked at the next sign-in. Wrong links are counted per client address.
- **E-mail verification**: an address is used for sign-in and receipts only once a link sent
  to it was followed. A new account's address gets one (the account works meanwhile: it signed
  up with it); a changed address is *pending* until verified: the account keeps its old
  address until then, and the old address is told of the change.

The functions flush, never commit; a refusal that must keep its count raises `Refused`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.accounts import audit, events, passwords, throttle
from services.accounts.customers import by_email, get, normalize_email
from services.accounts.exceptions import (
    EMAIL_TAKEN,
    EMAIL_VERIFICATION_INVALID,
    PASSWORD_RESET_INVALID,
    WEAK_PASSWORD,
)
from services.accounts.mfa import token_hash
from services.accounts.models import AuthSession, Challenge, Customer
from services.common import errors, outbox
from services.common.clock import isoformat
from services.common.db import Refused
from services.common.ids import new_id, new_secret_token

RESET_TTL = dt.timedelta(hours=1)
VERIFY_TTL = dt.timedelta(days=2)
RESETS_PER_HOUR = 3  # links mailed to one address an hour; more asks are answered, not sent
VERIFICATIONS_PER_HOUR = 5
LINK_LIMIT = throttle.PORTAL_LINK_LIMIT  # wrong links per client address
REQUEST_LIMIT = throttle.SIGNUP_LIMIT  # reset requests per client address


def _link(public_url: str, route: str, token: str) -> str:
    return f"{public_url.rstrip('/')}/#/{route}/{token}"


def _recent(session: Session, customer_id: str, purpose: str, now: dt.datetime) -> int:
    return session.scalar(select(func.count()).select_from(Challenge).where(
        Challenge.customer_id == customer_id, Challenge.purpose == purpose,
        Challenge.created_at > now - dt.timedelta(hours=1))) or 0


def _retire(session: Session, customer_id: str, purpose: str, now: dt.datetime) -> None:
    session.execute(update(Challenge).where(
        Challenge.customer_id == customer_id, Challenge.purpose == purpose,
        Challenge.used_at.is_(None)).values(used_at=now))


def _refuse_if_address_blocked(session: Session, key: str | None, now: dt.datetime) -> None:
    wait = throttle.blocked_for(session, [key], now) if key else 0
    if wait > 0:
        raise errors.rate_limited(wait)


# password reset -------------------------------------------------------------------------------

def request_reset(session: Session, email: str, client_ip: str | None, public_url: str,
                  now: dt.datetime) -> dict:
    """The same answer for every address. Per client address the requests are counted (a
    block is a 429 for everyone from there, registered or not, so it tells nothing)."""
    key = f"reset:address:{client_ip}" if client_ip else None
    _refuse_if_address_blocked(session, key, now)
    if key:
        throttle.record_failure(session, key, REQUEST_LIMIT, now)
    customer = by_email(session, email) if isinstance(email, str) and len(email) <= 254 \
        else None
    if customer is not None and _recent(session, customer.id, "password_reset",
                                        now) < RESETS_PER_HOUR:
        _retire(session, customer.id, "password_reset", now)
        token = new_secret_token()
        session.add(Challenge(id=new_id("chl"), token_hash=token_hash(token),
                              purpose="password_reset", customer_id=customer.id, data={},
                              attempts=0, created_at=now, expires_at=now + RESET_TTL))
        outbox.emit(session, events.PASSWORD_RESET_REQUESTED, "customer", {
            "customer_id": customer.id, "email": customer.email, "language": customer.language,
            "url": _link(public_url, "reset-password", token),
            "expires_at": isoformat(now + RESET_TTL)}, now)
        audit.add(session, now, actor_id=customer.id, actor_role=customer.role,
                  client_ip=client_ip, action="password.reset_requested",
                  target=f"customer:{customer.id}", outcome="ok")
    return {"status": "accepted"}


def _valid(session: Session, token: str, purpose: str, now: dt.datetime) -> Challenge | None:
    if not isinstance(token, str) or not 20 <= len(token) <= 200:
        return None
    found = session.scalar(select(Challenge).where(Challenge.token_hash == token_hash(token),
                                                   Challenge.purpose == purpose))
    if found is None or found.used_at is not None or found.expires_at <= now:
        return None
    return found


def refuse_if_links_blocked(session: Session, client_ip: str | None, now: dt.datetime) -> None:
    """RateLimited while the address is blocked for following links that were not valid (a
    reset, a verification, a household invitation: one count for all)."""
    _refuse_if_address_blocked(session, f"link:address:{client_ip}" if client_ip else None, now)


def refuse_link(session: Session, client_ip: str | None, now: dt.datetime,
                error: errors.ServiceError) -> None:
    """Refuses a link that is not valid with `error`, counted against the address (`Refused`,
    so the count is kept)."""
    if client_ip:
        throttle.record_failure(session, f"link:address:{client_ip}", LINK_LIMIT, now)
        raise Refused(error)
    raise error


def start_reset(session: Session, token: str, new_password: str, client_ip: str | None,
                now: dt.datetime) -> tuple[str, str]:
    """A reset's first step, a read: the link valid (else counted: `Refused`
    PASSWORD_RESET_INVALID), the new password meeting the policy. Answers (customer id, the
    stored hash) for `finish_reset`; the caller commits before hashing."""
    refuse_if_links_blocked(session, client_ip, now)
    found = _valid(session, token, "password_reset", now)
    if found is None:
        refuse_link(session, client_ip, now, errors.InvalidArgument(
            "This link to reset your password is not valid any more. Ask for a new one.",
            code=PASSWORD_RESET_INVALID))
    customer = get(session, found.customer_id)
    problems = passwords.policy_problems(new_password, customer.email) if isinstance(
        new_password, str) else ["must be a string"]
    if problems:
        raise errors.InvalidArgument("Choose a stronger password.", code=WEAK_PASSWORD,
                                     fields={"new_password": problems})
    return found.id, customer.id


def finish_reset(session: Session, challenge_id: str, customer_id: str, new_hash: str,
                 now: dt.datetime, client_ip: str | None = None) -> list[str]:
    """Uses the link (once, even when two race), sets the password, ends every session and
    other link. Answers the ended sessions (the gateways evict them)."""
    if session.execute(update(Challenge).where(Challenge.id == challenge_id,
                                               Challenge.used_at.is_(None),
                                               Challenge.expires_at > now)
                       .values(used_at=now)).rowcount != 1:
        raise errors.InvalidArgument("This link to reset your password is not valid any more. "
                                     "Ask for a new one.", code=PASSWORD_RESET_INVALID)
    customer = get(session, customer_id)
    customer.password_hash, customer.password_changed_at, customer.updated_at = (
        new_hash, now, now)
    _retire(session, customer_id, "password_reset", now)
    ended = list(session.scalars(select(AuthSession.id).where(
        AuthSession.customer_id == customer_id, AuthSession.revoked_at.is_(None))))
    session.execute(update(AuthSession).where(AuthSession.id.in_(ended))
                    .values(revoked_at=now, revoked_reason="password_reset"))
    if ended:  # the gateways evict them from their caches
        outbox.emit(session, events.SESSION_REVOKED, "customer",
                    {"id": customer_id, "session_ids": ended}, now)
    outbox.emit(session, events.PASSWORD_CHANGED, "customer",
                {"id": customer_id, "email": customer.email, "language": customer.language},
                now)
    audit.add(session, now, actor_id=customer_id, actor_role=customer.role, client_ip=client_ip,
              action="password.reset", target=f"customer:{customer_id}", outcome="ok",
              details={"sessions_ended": len(ended)})
    throttle.clear(session, f"password-check:{customer_id}")
    return ended


# e-mail verification -------------------------------------------------------------------------

def send_verification(session: Session, customer: Customer, email: str, public_url: str,
                      now: dt.datetime) -> dict:
    """A link to `email` (the account's, or a new one it asked for); the earlier one retired.
    At most VERIFICATIONS_PER_HOUR an hour (RateLimited)."""
    if _recent(session, customer.id, "email", now) >= VERIFICATIONS_PER_HOUR:
        raise errors.rate_limited(3600, "Too many verification e-mails. Try again later.")
    _retire(session, customer.id, "email", now)
    token = new_secret_token()
    change = normalize_email(email) != customer.email_normalized
    session.add(Challenge(id=new_id("chl"), token_hash=token_hash(token), purpose="email",
                          customer_id=customer.id, data={"email": email.strip()}, attempts=0,
                          created_at=now, expires_at=now + VERIFY_TTL))
    outbox.emit(session, events.EMAIL_VERIFICATION_REQUESTED, "customer", {
        "customer_id": customer.id, "email": email.strip(), "language": customer.language,
        "change": change, "previous_email": customer.email if change else None,
        "url": _link(public_url, "verify-email", token),
        "expires_at": isoformat(now + VERIFY_TTL)}, now)
    return {"pending_email": email.strip(), "expires_at": isoformat(now + VERIFY_TTL)}


def request_change(session: Session, customer: Customer, new_email: str, public_url: str,
                   now: dt.datetime) -> dict:
    """An address change waits for its verification; taken addresses are refused now (and
    again when it is verified)."""
    taken = by_email(session, new_email)
    if taken is not None and taken.id != customer.id:
        raise errors.Conflict("An account with this email already exists.", code=EMAIL_TAKEN,
                              fields={"email": ["is already registered"]})
    audit.add(session, now, actor_id=customer.id, actor_role=customer.role,
              action="email.change_requested", target=f"customer:{customer.id}",
              outcome="pending")
    return send_verification(session, customer, new_email, public_url, now)


def pending(session: Session, customer_id: str, now: dt.datetime) -> dict | None:
    """The address waiting for its verification, if any."""
    found = session.scalar(select(Challenge).where(
        Challenge.customer_id == customer_id, Challenge.purpose == "email",
        Challenge.used_at.is_(None), Challenge.expires_at > now)
        .order_by(Challenge.created_at.desc()).limit(1))
    return None if found is None else {"email": found.data.get("email"),
                                       "expires_at": isoformat(found.expires_at)}


def verify(session: Session, token: str, client_ip: str | None, now: dt.datetime) -> Customer:
    """Follows a verification link (once): the address becomes the account's, verified.
    EMAIL_VERIFICATION_INVALID (counted), EMAIL_TAKEN when another account took it since."""
    refuse_if_links_blocked(session, client_ip, now)
    found = _valid(session, token, "email", now)
    if found is None or session.execute(
            update(Challenge).where(Challenge.id == found.id, Challenge.used_at.is_(None))
            .values(used_at=now)).rowcount != 1:
        refuse_link(session, client_ip, now, errors.InvalidArgument(
            "This verification link is not valid any more.", code=EMAIL_VERIFICATION_INVALID))
    customer = get(session, found.customer_id)
    email = found.data["email"]
    if normalize_email(email) != customer.email_normalized:
        taken = by_email(session, email)
        if taken is not None:
            raise errors.Conflict("An account with this email already exists.",
                                  code=EMAIL_TAKEN, fields={"email": ["is already registered"]})
        audit.add(session, now, actor_id=customer.id, actor_role=customer.role,
                  action="email.changed", target=f"customer:{customer.id}", outcome="ok")
        customer.email, customer.email_normalized = email, normalize_email(email)
    customer.email_verified_at = customer.updated_at = now
    return customer
