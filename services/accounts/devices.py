"""A customer's own sign-ins: the active sessions with the device each came from, signing one
out, and signing out everywhere else (issue 18, "strong sign-in").

A session is active while it is not revoked, not past its absolute expiry and not idle past the
policy's timeout (as `sessions.authenticate` decides). The device is read from the User-Agent the
login sent: a browser and an operating system by name, or None, never the raw header (it is
shown to the customer as "Chrome on Linux"). Revoking emits `session_revoked`, so every gateway
drops the session from its cache at once.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts import audit, events
from services.accounts.exceptions import SESSION_IS_CURRENT, SESSION_NOT_FOUND
from services.accounts.models import AuthSession
from services.common import errors, outbox
from services.common.clock import isoformat

# order matters: Edge and Opera say "Chrome" too, Chrome says "Safari", Android says "Linux"
BROWSERS = (("Edge", r"Edg(?:e|A|iOS)?/(\d+)"), ("Opera", r"OPR/(\d+)"),
            ("Samsung Internet", r"SamsungBrowser/(\d+)"), ("Firefox", r"(?:Firefox|FxiOS)/(\d+)"),
            ("Chrome", r"(?:Chrome|CriOS)/(\d+)"), ("Safari", r"Version/(\d+)[.\d]* .*Safari/"),
            ("curl", r"curl/(\d+)"))
SYSTEMS = (("Android", r"Android"), ("iOS", r"iPhone|iPad|iPod"), ("Windows", r"Windows NT"),
           ("macOS", r"Mac OS X|Macintosh"), ("ChromeOS", r"CrOS"), ("Linux", r"Linux"))


def device(user_agent: str | None) -> dict:
    """`{"browser": "Chrome 156" | None, "os": "Linux" | None}` from a User-Agent header."""
    text = user_agent or ""
    browser = next((f"{name} {m.group(1)}" for name, pattern in BROWSERS
                    if (m := re.search(pattern, text))), None)
    system = next((name for name, pattern in SYSTEMS if re.search(pattern, text)), None)
    return {"browser": browser, "os": system}


def _active(customer_id: str, now: dt.datetime, idle: dt.timedelta):
    return select(AuthSession).where(
        AuthSession.customer_id == customer_id, AuthSession.revoked_at.is_(None),
        AuthSession.expires_at > now, AuthSession.last_seen_at > now - idle)


def dump(auth: AuthSession, current_id: str | None) -> dict:
    return {"id": auth.id, "current": auth.id == current_id, "method": auth.method,
            "created_at": isoformat(auth.created_at),
            "last_seen_at": isoformat(auth.last_seen_at),
            "expires_at": isoformat(auth.expires_at), "client_ip": auth.client_ip,
            "device": device(auth.user_agent)}


def active(session: Session, customer_id: str, current_id: str | None, now: dt.datetime,
           idle: dt.timedelta) -> list[dict]:
    """The customer's active sessions, newest first (a customer has a handful: whole)."""
    rows = session.scalars(_active(customer_id, now, idle)
                           .order_by(AuthSession.created_at.desc(), AuthSession.id.desc()))
    return [dump(auth, current_id) for auth in rows]


def _revoke(session: Session, customer_id: str, current_id: str | None, found: list,
            now: dt.datetime) -> int:
    for auth in found:
        auth.revoked_at, auth.revoked_reason = now, "signed_out_by_customer"
    if found:
        outbox.emit(session, events.SESSION_REVOKED, "customer",
                    {"id": customer_id, "session_ids": [a.id for a in found]}, now)
        audit.add(session, now, actor_id=customer_id, session_id=current_id,
                  action="sessions.signed_out", target=f"customer:{customer_id}", outcome="ok",
                  details={"sessions": len(found)})
    session.flush()
    return len(found)


def sign_out(session: Session, customer_id: str, session_id: object, current_id: str | None,
             now: dt.datetime, idle: dt.timedelta) -> None:
    """End one of the customer's other sessions. Another customer's, an ended one or an
    unknown id is NotFound alike; the current one is refused (that is logging out)."""
    if session_id == current_id:
        raise errors.Conflict("This is the session you are using: log out instead.",
                              code=SESSION_IS_CURRENT)
    auth = session.scalar(_active(customer_id, now, idle).where(
        AuthSession.id == session_id)) if isinstance(session_id, str) else None
    if auth is None:
        raise errors.NotFound("No such active session.", code=SESSION_NOT_FOUND)
    _revoke(session, customer_id, current_id, [auth], now)


def sign_out_others(session: Session, customer_id: str, current_id: str | None,
                    now: dt.datetime, idle: dt.timedelta) -> dict:
    """End every active session of the customer but the current one: `{"revoked": n}`."""
    others = [auth for auth in session.scalars(_active(customer_id, now, idle))
              if auth.id != current_id]
    return {"revoked": _revoke(session, customer_id, current_id, others, now)}
