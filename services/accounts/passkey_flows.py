"""Passkeys kept and used: the accounts service's side of the WebAuthn ceremonies whose
cryptography is `passkeys.py`.

Each ceremony starts by storing its challenge server-side (a `Challenge` row: five minutes,
one attempt) under a random `ceremony` token the page sends back with the browser's answer.
The attempt uses the challenge up whatever its outcome; a refused sign-in is counted against
the client address (`throttle.PORTAL_LINK_LIMIT`) and audited.

- Registering needs a recent sign-in (mfa.require_recent, checked by the entrypoint).
- Signing in with a passkey needs no e-mail (discoverable credentials); a passkey verified by
  the device (PIN, fingerprint, face) is both factors, so no second step follows. As the second
  step of a password sign-in (`mfa_token`), only that account's passkeys may answer.
- Removing the last second factor of a staff account is refused when STAFF_MFA_REQUIRED.

Passkeys need PUBLIC_URL to be a host name (https, or http://localhost): on an IP address every
ceremony is PASSKEYS_UNAVAILABLE (the overview says `passkeys_available: false`).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from services.accounts import audit, mfa, passkeys, throttle
from services.accounts.customers import get
from services.accounts.exceptions import (
    MFA_REQUIRED_FOR_STAFF,
    PASSKEY_INVALID,
    PASSKEY_NOT_FOUND,
    PASSKEYS_UNAVAILABLE,
)
from services.accounts.models import Challenge, Customer, Passkey, TotpFactor
from services.common import errors, permissions
from services.common.clock import isoformat
from services.common.db import Refused
from services.common.ids import new_id, new_secret_token

MAX_PASSKEYS = 20


def relying_party(public_url: str, name: str) -> passkeys.RelyingParty | None:
    try:
        return passkeys.relying_party(public_url, name)
    except ValueError:
        return None


def _rp(public_url: str, name: str) -> passkeys.RelyingParty:
    found = relying_party(public_url, name)
    if found is None:
        raise errors.Conflict("Passkeys are not available here: the portal's address "
                              "(PUBLIC_URL) must be a host name served over https.",
                              code=PASSKEYS_UNAVAILABLE)
    return found


def dump(key: Passkey) -> dict:
    return {"id": key.id, "name": key.name, "created_at": isoformat(key.created_at),
            "last_used_at": isoformat(key.last_used_at)}


def listing(session: Session, customer_id: str) -> list[dict]:
    return [dump(k) for k in session.scalars(select(Passkey).where(
        Passkey.customer_id == customer_id).order_by(Passkey.created_at))]


def _open(session: Session, purpose: str, customer_id: str | None, challenge: str,
          now: dt.datetime, **data) -> str:
    ceremony = new_secret_token()
    session.add(Challenge(id=new_id("chl"), token_hash=mfa.token_hash(ceremony),
                          purpose=purpose, customer_id=customer_id,
                          data={"challenge": challenge, **data}, attempts=0, created_at=now,
                          expires_at=now + passkeys.CHALLENGE_TTL))
    return ceremony


def _claim(session: Session, ceremony: str, purpose: str, now: dt.datetime) -> Challenge | None:
    """The ceremony's challenge, used up now (one attempt), or None if there is none."""
    if not isinstance(ceremony, str) or not 20 <= len(ceremony) <= 200:
        return None
    found = session.scalar(select(Challenge).where(
        Challenge.token_hash == mfa.token_hash(ceremony), Challenge.purpose == purpose))
    if found is None or found.expires_at <= now or session.execute(
            update(Challenge).where(Challenge.id == found.id, Challenge.used_at.is_(None))
            .values(used_at=now)).rowcount != 1:
        return None
    return found


# registering ---------------------------------------------------------------------------------

def registration_options(session: Session, customer: Customer, public_url: str, name: str,
                         now: dt.datetime) -> dict:
    rp = _rp(public_url, name)
    existing = list(session.scalars(select(Passkey.credential_id).where(
        Passkey.customer_id == customer.id)))
    if len(existing) >= MAX_PASSKEYS:
        raise errors.Conflict(f"An account holds at most {MAX_PASSKEYS} passkeys.",
                              code=PASSKEY_INVALID)
    options, challenge = passkeys.registration_options(rp, customer.id, customer.email,
                                                       customer.name, existing)
    return {"ceremony": _open(session, "passkey_register", customer.id, challenge, now),
            "options": options}


def register(session: Session, customer: Customer, ceremony: str, credential: dict,
             label: str | None, public_url: str, name: str, now: dt.datetime) -> dict:
    rp = _rp(public_url, name)
    found = _claim(session, ceremony, "passkey_register", now)
    if found is None or found.customer_id != customer.id:
        raise Refused(_invalid("Start adding the passkey again."))
    try:
        made = passkeys.verify_registration(rp, credential, found.data["challenge"])
    except passkeys.PasskeyInvalid as refused:
        audit.add(session, now, actor_id=customer.id, actor_role=customer.role,
                  action="passkey.register_failed", target=f"customer:{customer.id}",
                  outcome="refused", details={"reason": str(refused)})
        raise Refused(_invalid("The passkey could not be checked. Try again.")) from None
    if session.scalar(select(Passkey).where(Passkey.credential_id == made["credential_id"])):
        raise errors.Conflict("This passkey is already registered.", code=PASSKEY_INVALID)
    key = Passkey(id=new_id("pk"), customer_id=customer.id,
                  credential_id=made["credential_id"], public_key=made["public_key"],
                  sign_count=made["sign_count"], transports=made.get("transports") or None,
                  name=(label or "").strip()[:100] or _default_label(made), created_at=now)
    session.add(key)
    audit.add(session, now, actor_id=customer.id, actor_role=customer.role,
              action="passkey.registered", target=f"customer:{customer.id}", outcome="ok",
              details={"passkey": key.id})
    return {**dump(key), "synced": bool(made.get("backed_up"))}


def _default_label(made: dict) -> str:
    return "Synced passkey" if made.get("backed_up") else "Passkey"


def remove(session: Session, customer: Customer, passkey_id: str, staff_required: bool,
           now: dt.datetime) -> None:
    key = session.get(Passkey, passkey_id) if isinstance(passkey_id, str) else None
    if key is None or key.customer_id != customer.id:
        raise errors.NotFound("No such passkey.", code=PASSKEY_NOT_FOUND)
    others = session.scalar(select(func.count()).select_from(Passkey).where(
        Passkey.customer_id == customer.id, Passkey.id != key.id)) or 0
    totp = session.scalar(select(func.count()).select_from(TotpFactor).where(
        TotpFactor.customer_id == customer.id, TotpFactor.confirmed_at.is_not(None))) or 0
    if staff_required and permissions.is_staff(customer.role) and not (others or totp):
        raise errors.Conflict("Staff accounts must keep a second factor: add another first.",
                              code=MFA_REQUIRED_FOR_STAFF)
    session.execute(delete(Passkey).where(Passkey.id == key.id))
    audit.add(session, now, actor_id=customer.id, actor_role=customer.role,
              action="passkey.removed", target=f"customer:{customer.id}", outcome="ok",
              details={"passkey": key.id})


# signing in ----------------------------------------------------------------------------------

def sign_in_options(session: Session, public_url: str, name: str, now: dt.datetime,
                    mfa_token: str | None = None, customer_id: str | None = None) -> dict:
    """Options for a passkey sign-in: any passkey of the portal, or only one account's: the
    second step of a password sign-in (`mfa_token`), or a re-authentication (`customer_id`)."""
    rp = _rp(public_url, name)
    allowed = None
    if mfa_token:
        customer_id = mfa.login_challenge(session, mfa_token, now).customer_id
    if customer_id:
        allowed = list(session.scalars(select(Passkey.credential_id).where(
            Passkey.customer_id == customer_id)))
        if not allowed:
            raise errors.Conflict("There is no passkey on this account.", code=PASSKEY_NOT_FOUND)
    options, challenge = passkeys.authentication_options(rp, allowed)
    return {"ceremony": _open(session, "passkey_login", customer_id, challenge, now),
            "options": options}


def _address_key(client_ip: str | None) -> str | None:
    return f"passkey:address:{client_ip}" if client_ip else None


def verify_sign_in(session: Session, ceremony: str, credential: dict, public_url: str,
                   name: str, now: dt.datetime, client_ip: str | None = None) -> Customer:
    """The account whose passkey answered the ceremony, its counter moved on. A refusal is
    counted against the address and audited (`Refused` PASSKEY_INVALID)."""
    rp = _rp(public_url, name)
    key = _address_key(client_ip)
    wait = throttle.blocked_for(session, [key], now) if key else 0
    if wait > 0:
        raise errors.rate_limited(wait)
    found = _claim(session, ceremony, "passkey_login", now)
    stored = None
    try:
        credential_id = passkeys.credential_id_of(credential)
        stored = session.scalar(select(Passkey).where(Passkey.credential_id == credential_id))
        if found is None or stored is None or (
                found.customer_id is not None and stored.customer_id != found.customer_id):
            raise passkeys.PasskeyInvalid("unknown ceremony or passkey")
        count = passkeys.verify_authentication(
            rp, credential, found.data["challenge"], stored.public_key, stored.sign_count,
            expected_user_handle=stored.customer_id)
    except passkeys.PasskeyInvalid as refused:
        if key:
            throttle.record_failure(session, key, throttle.PORTAL_LINK_LIMIT, now)
        audit.add(session, now, actor_id=stored.customer_id if stored else None,
                  client_ip=client_ip, action="login.passkey_failed",
                  target=f"customer:{stored.customer_id}" if stored else None,
                  outcome="refused", details={"reason": str(refused)})
        raise Refused(errors.NotAuthenticated("The passkey could not be checked. Try again.",
                                              code=PASSKEY_INVALID)) from None
    stored.sign_count, stored.last_used_at = count, now
    return get(session, stored.customer_id)


def _invalid(message: str) -> errors.ServiceError:
    return errors.InvalidArgument(message, code=PASSKEY_INVALID)
