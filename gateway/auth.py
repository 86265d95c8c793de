"""Who is calling: a bearer token, or the browser's session cookie plus a CSRF header.

Cookie-authenticated writes must carry `X-CSRF-Token` equal to the token login returned (the
session keeps only its hash). Bearer calls need no CSRF token: browsers never attach them on
their own. Access levels: "public", "session" (any logged-in account), "ops" (agent or admin),
"admin".
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from werkzeug.wrappers import Request

from services.common import errors

SESSION_COOKIE = "portal_session"
CSRF_COOKIE = "portal_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
OPS_ROLES = frozenset({"agent", "admin"})


@dataclass(frozen=True)
class Principal:
    account: dict
    session_id: str
    token: str

    @property
    def customer_id(self) -> str:
        return self.account["id"]

    @property
    def role(self) -> str:
        return self.account["role"]


def credentials(request: Request) -> tuple[str | None, bool]:
    """(token, from_cookie)."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.NotAuthenticated("Use 'Authorization: Bearer <token>'.",
                                          code="INVALID_AUTHORIZATION_HEADER")
        return token.strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


def authenticate(accounts, request: Request, access: str) -> Principal:
    token, from_cookie = credentials(request)
    if not token:
        raise errors.NotAuthenticated()
    result = accounts.authenticate(token)
    session, account = result["session"], result["account"]
    if from_cookie and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        expected = session.get("csrf_hash", "")
        if not sent or not hmac.compare_digest(
                hashlib.sha256(sent.encode("utf-8")).hexdigest(), expected):
            raise errors.PermissionDenied("Missing or wrong CSRF token.", code="CSRF_FAILED")
    if access == "ops" and account["role"] not in OPS_ROLES:
        raise errors.PermissionDenied("This needs an agent or admin account.")
    if access == "admin" and account["role"] != "admin":
        raise errors.PermissionDenied("This needs an admin account.")
    return Principal(account=account, session_id=session["id"], token=token)
