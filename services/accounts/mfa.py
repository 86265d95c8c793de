"""Two-step sign-in and re-authentication.

- **Authenticator apps** (TOTP, RFC 6238: HMAC-SHA1, 30-second steps, 6 digits). Enrolling
  makes a pending secret that a first code confirms; a code is accepted one step either side
  of now (clocks drift) and never twice (`last_step`).
- **Recovery codes**: ten single-use codes, shown once when two-step sign-in is turned on (or
  made anew); only their SHA-256 is kept (each has 50 random bits, so a hash is enough).
- **The second step of a sign-in**: a correct password of an account with a second factor
  opens no session; it answers a `login` challenge (five minutes, five tries) that a code, a
  recovery code or a passkey then exchanges for the session. Wrong codes are also counted per
  account (`throttle.CHECK_LIMIT`), so a new challenge does not mean new guesses.
- **Re-authentication**: sensitive changes (the e-mail address, two-step settings, passkeys, a
  new card, deleting the account) need the person to have proved who they are in this session
  within `REAUTH_SECONDS` (a sign-in with the password, or `reauthenticate`). A portal link's
  session has not: it must re-authenticate first.
- **Staff** must have a second factor when the operator sets STAFF_MFA_REQUIRED: until then
  their session's scope is `mfa_enrolment` (the gateway lets it do only that).

Functions flush, never commit: the entrypoint (service.py) owns the transaction. A refusal
whose count must be kept raises `Refused`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from services.accounts import audit, throttle
from services.accounts.exceptions import (
    MFA_ALREADY_ENABLED,
    MFA_CHALLENGE_INVALID,
    MFA_CODE_INVALID,
    MFA_NOT_ENABLED,
    MFA_REQUIRED_FOR_STAFF,
    REAUTH_REQUIRED,
)
from services.accounts.models import (
    AuthSession,
    Challenge,
    Customer,
    Passkey,
    RecoveryCode,
    TotpFactor,
)
from services.common import errors, permissions
from services.common.clock import isoformat
from services.common.db import Refused
from services.common.ids import new_id, new_secret_token

STEP_SECONDS = 30
DIGITS = 6
DRIFT_STEPS = 1
RECOVERY_CODES = 10
LOGIN_CHALLENGE_TTL = dt.timedelta(minutes=5)
LOGIN_CHALLENGE_TRIES = 5
REAUTH_WINDOW = dt.timedelta(minutes=10)  # REAUTH_SECONDS
ENROLMENT_SCOPE = "mfa_enrolment"
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


# TOTP (RFC 4226 / RFC 6238) -------------------------------------------------------------------

def new_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def hotp(secret: str, counter: int, digits: int = DIGITS) -> str:
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    number = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(number % 10 ** digits).zfill(digits)


def step_at(now: dt.datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def totp(secret: str, now: dt.datetime) -> str:
    return hotp(secret, step_at(now))


def matching_step(secret: str, code: str, now: dt.datetime, after: int = 0) -> int | None:
    """The time step (now ± DRIFT_STEPS, later than `after`) whose code is `code`, or None."""
    code = "".join(str(code or "").split())
    if len(code) != DIGITS or not code.isdigit():
        return None
    current = step_at(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if step > after and hmac.compare_digest(hotp(secret, step), code):
            return step
    return None


def provisioning_uri(secret: str, account_name: str, issuer: str) -> str:
    """The `otpauth://` URI an authenticator app reads from a QR code."""
    label = quote(f"{issuer}:{account_name}")
    return f"otpauth://totp/{label}?" + urlencode(
        {"secret": secret, "issuer": issuer, "algorithm": "SHA1", "digits": DIGITS,
         "period": STEP_SECONDS})


# recovery codes -----------------------------------------------------------------------------

def new_recovery_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def code_hash(code: str) -> str:
    normal = "".join(ch for ch in str(code or "").lower() if ch.isalnum())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def _issue_recovery_codes(session: Session, customer_id: str, now: dt.datetime) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.customer_id == customer_id))
    codes = [new_recovery_code() for _ in range(RECOVERY_CODES)]
    session.add_all(RecoveryCode(code_hash=code_hash(code), customer_id=customer_id,
                                 created_at=now) for code in codes)
    return codes


def _use_recovery_code(session: Session, customer_id: str, code: str, now: dt.datetime) -> bool:
    return session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.code_hash == code_hash(code), RecoveryCode.customer_id == customer_id,
               RecoveryCode.used_at.is_(None))
        .values(used_at=now)).rowcount == 1


# the customer's factors -------------------------------------------------------------------------

def confirmed_totp(session: Session, customer_id: str) -> TotpFactor | None:
    factor = session.get(TotpFactor, customer_id)
    return factor if factor is not None and factor.confirmed_at is not None else None


def methods(session: Session, customer_id: str) -> list[str]:
    """The second factors the customer can use now: `totp`, `recovery_code`, `passkey`."""
    found = []
    if confirmed_totp(session, customer_id) is not None:
        found.append("totp")
        if session.scalar(select(func.count()).select_from(RecoveryCode).where(
                RecoveryCode.customer_id == customer_id, RecoveryCode.used_at.is_(None))):
            found.append("recovery_code")
    if session.scalar(select(func.count()).select_from(Passkey).where(
            Passkey.customer_id == customer_id)):
        found.append("passkey")
    return found


def status(session: Session, customer_id: str) -> dict:
    factor = session.get(TotpFactor, customer_id)
    left = session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.customer_id == customer_id, RecoveryCode.used_at.is_(None))) or 0
    return {"totp": {"enabled": bool(factor and factor.confirmed_at),
                     "enabled_at": isoformat(factor.confirmed_at) if factor else None},
            "recovery_codes_left": left if factor and factor.confirmed_at else 0,
            "passkeys": session.scalar(select(func.count()).select_from(Passkey).where(
                Passkey.customer_id == customer_id)) or 0}


def start_totp(session: Session, customer: Customer, issuer: str, now: dt.datetime) -> dict:
    """A new pending secret (replacing an unconfirmed one): what the app is set up with."""
    factor = session.get(TotpFactor, customer.id)
    if factor is not None and factor.confirmed_at is not None:
        raise errors.Conflict("Two-step sign-in with an authenticator app is already on.",
                              code=MFA_ALREADY_ENABLED)
    secret = new_secret()
    if factor is None:
        session.add(TotpFactor(customer_id=customer.id, secret=secret, created_at=now,
                               last_step=0))
    else:
        factor.secret, factor.created_at, factor.last_step = secret, now, 0
    return {"secret": secret, "otpauth_uri": provisioning_uri(secret, customer.email, issuer),
            "digits": DIGITS, "period": STEP_SECONDS}


def confirm_totp(session: Session, customer: Customer, code: str, session_id: str | None,
                 now: dt.datetime) -> dict:
    """Turns the pending secret on with a first code; answers the recovery codes (shown once).
    A staff session limited to enrolling gets its full rights."""
    factor = session.get(TotpFactor, customer.id)
    if factor is None or factor.confirmed_at is not None:
        raise errors.Conflict("Start setting up the authenticator app first.",
                              code=MFA_NOT_ENABLED if factor is None else MFA_ALREADY_ENABLED)
    step = matching_step(factor.secret, code, now)
    if step is None:
        _count_wrong_code(session, customer.id, now)
    factor.confirmed_at, factor.last_step = now, step
    codes = _issue_recovery_codes(session, customer.id, now)
    if session_id:
        session.execute(update(AuthSession).where(
            AuthSession.id == session_id, AuthSession.customer_id == customer.id)
            .values(scope=None, second_factor="totp", reauthenticated_at=now))
    audit.add(session, now, actor_id=customer.id, actor_role=customer.role,
              session_id=session_id, action="mfa.totp_enabled", target=f"customer:{customer.id}",
              outcome="ok")
    return {"recovery_codes": codes}


def disable_totp(session: Session, customer: Customer, staff_required: bool,
                 session_id: str | None, now: dt.datetime) -> None:
    if confirmed_totp(session, customer.id) is None:
        raise errors.Conflict("Two-step sign-in is not on.", code=MFA_NOT_ENABLED)
    if staff_required and permissions.is_staff(customer.role) and not session.scalar(
            select(func.count()).select_from(Passkey).where(Passkey.customer_id == customer.id)):
        raise errors.Conflict("Staff accounts must keep a second factor: add a passkey first.",
                              code=MFA_REQUIRED_FOR_STAFF)
    session.execute(delete(TotpFactor).where(TotpFactor.customer_id == customer.id))
    session.execute(delete(RecoveryCode).where(RecoveryCode.customer_id == customer.id))
    audit.add(session, now, actor_id=customer.id, actor_role=customer.role,
              session_id=session_id, action="mfa.totp_disabled",
              target=f"customer:{customer.id}", outcome="ok")


def regenerate_recovery_codes(session: Session, customer: Customer, session_id: str | None,
                              now: dt.datetime) -> dict:
    if confirmed_totp(session, customer.id) is None:
        raise errors.Conflict("Two-step sign-in is not on.", code=MFA_NOT_ENABLED)
    codes = _issue_recovery_codes(session, customer.id, now)
    audit.add(session, now, actor_id=customer.id, actor_role=customer.role,
              session_id=session_id, action="mfa.recovery_codes_renewed",
              target=f"customer:{customer.id}", outcome="ok")
    return {"recovery_codes": codes}


# proving a second factor ------------------------------------------------------------------------

def _check_key(customer_id: str) -> str:
    return f"mfa-check:{customer_id}"


def refuse_if_blocked(session: Session, customer_id: str, now: dt.datetime) -> None:
    wait = throttle.blocked_for(session, [_check_key(customer_id)], now)
    if wait > 0:
        raise errors.rate_limited(wait, "Too many wrong codes. Try again later.")


def _count_wrong_code(session: Session, customer_id: str, now: dt.datetime,
                      challenge: Challenge | None = None) -> None:
    """Count a wrong code on the account (and the challenge), audit it, refuse: `Refused`."""
    if challenge is not None:
        challenge.attempts += 1
    failure = throttle.record_failure(session, _check_key(customer_id), throttle.CHECK_LIMIT, now)
    audit.add(session, now, actor_id=customer_id, action="mfa.code_failed",
              target=f"customer:{customer_id}", outcome="refused")
    if not failure.counted:
        raise Refused(errors.rate_limited(failure.wait(now), "Too many wrong codes. Try again "
                                                             "later."))
    raise Refused(errors.InvalidArgument("The code is wrong or was already used.",
                                         code=MFA_CODE_INVALID, fields={"code": ["is wrong"]}))


def prove(session: Session, customer_id: str, code: str | None, recovery_code: str | None,
          now: dt.datetime, challenge: Challenge | None = None) -> str:
    """Checks an authenticator code or a recovery code (each used once); answers which was
    used. A wrong one is counted (`Refused`)."""
    refuse_if_blocked(session, customer_id, now)
    factor = confirmed_totp(session, customer_id)
    if factor is None:
        raise errors.Conflict("Two-step sign-in is not on.", code=MFA_NOT_ENABLED)
    if recovery_code:
        if _use_recovery_code(session, customer_id, recovery_code, now):
            audit.add(session, now, actor_id=customer_id, action="mfa.recovery_code_used",
                      target=f"customer:{customer_id}", outcome="ok")
            return "recovery_code"
        _count_wrong_code(session, customer_id, now, challenge)
    step = matching_step(factor.secret, code or "", now, after=factor.last_step)
    # the step is taken once, even by two requests at the same moment
    if step is None or session.execute(
            update(TotpFactor).where(TotpFactor.customer_id == customer_id,
                                     TotpFactor.last_step < step)
            .values(last_step=step)).rowcount != 1:
        _count_wrong_code(session, customer_id, now, challenge)
    throttle.clear(session, _check_key(customer_id))
    return "totp"


# the second step of a sign-in ------------------------------------------------------------------

def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SecondStep:
    """What a sign-in answers instead of a session when a second factor is needed."""

    token: str
    methods: list[str]
    expires_at: dt.datetime

    def dump(self) -> dict:
        return {"mfa_required": True, "mfa_token": self.token, "methods": self.methods,
                "expires_at": isoformat(self.expires_at)}


def open_login_challenge(session: Session, customer: Customer, found: list[str], method: str,
                         now: dt.datetime) -> SecondStep:
    token = new_secret_token()
    session.add(Challenge(id=new_id("chl"), token_hash=token_hash(token), purpose="login",
                          customer_id=customer.id, data={"method": method}, attempts=0,
                          created_at=now, expires_at=now + LOGIN_CHALLENGE_TTL))
    audit.add(session, now, actor_id=customer.id, actor_role=customer.role,
              action="login.second_step", target=f"customer:{customer.id}", outcome="pending")
    return SecondStep(token, found, now + LOGIN_CHALLENGE_TTL)


def login_challenge(session: Session, token: str, now: dt.datetime) -> Challenge:
    """The unused, unexpired `login` challenge for the token (MFA_CHALLENGE_INVALID)."""
    found = session.scalar(select(Challenge).where(
        Challenge.token_hash == token_hash(token), Challenge.purpose == "login")) if isinstance(
        token, str) and 20 <= len(token) <= 200 else None
    if (found is None or found.used_at is not None or found.expires_at <= now
            or found.attempts >= LOGIN_CHALLENGE_TRIES):
        raise errors.NotAuthenticated("This sign-in has expired. Sign in again.",
                                      code=MFA_CHALLENGE_INVALID)
    return found


def use_challenge(session: Session, challenge: Challenge, now: dt.datetime) -> None:
    """Marks it used: exactly one caller succeeds, even when two race."""
    if session.execute(update(Challenge).where(Challenge.id == challenge.id,
                                               Challenge.used_at.is_(None))
                       .values(used_at=now)).rowcount != 1:
        raise errors.NotAuthenticated("This sign-in has expired. Sign in again.",
                                      code=MFA_CHALLENGE_INVALID)


# re-authentication ----------------------------------------------------------------------------

def recent(auth: AuthSession, now: dt.datetime, window: dt.timedelta) -> bool:
    """Whether the person proved who they are in this session within `window`: a sign-in with
    a password or a passkey, or a re-authentication (a portal link's sign-in is not one)."""
    proved = auth.reauthenticated_at
    if proved is None and auth.method in ("password", "passkey"):
        proved = auth.created_at
    return proved is not None and now - proved < window


def require_recent(session: Session, customer_id: str, session_id: str | None,
                   now: dt.datetime, window: dt.timedelta) -> None:
    """403 REAUTH_REQUIRED unless `recent` (the overview says which ways are open)."""
    auth = session.get(AuthSession, session_id) if session_id else None
    if auth is not None and auth.customer_id == customer_id and recent(auth, now, window):
        return
    raise errors.PermissionDenied("Confirm it is you first: enter your password again.",
                                  code=REAUTH_REQUIRED)


def mark_reauthenticated(session: Session, customer_id: str, session_id: str,
                         now: dt.datetime, window: dt.timedelta) -> dict:
    session.execute(update(AuthSession).where(AuthSession.id == session_id,
                                              AuthSession.customer_id == customer_id)
                    .values(reauthenticated_at=now))
    audit.add(session, now, actor_id=customer_id, session_id=session_id,
              action="session.reauthenticated", target=f"customer:{customer_id}", outcome="ok")
    return {"reauthenticated_until": isoformat(now + window)}
