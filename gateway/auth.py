"""Who is calling: a bearer token, or the browser's session cookie plus a CSRF header.

Cookie-authenticated writes must carry `X-CSRF-Token` equal to the token login returned (the
session keeps only its hash). Bearer calls need no CSRF token: browsers never attach them on
their own. Access levels: "public", "visitor" (anyone; a logged-in caller is known to the view),
"session" (any logged-in account), "ops" (any staff role),
"admin", or a permission (`tickets.work`, `wallet.adjust`…: the staff roles that hold it, from
services/common/permissions.py's one table).

Authentications are cached for `AUTH_CACHE_SECONDS` (default 5; 0 turns it off), so most
requests cost no RPC for auth. Logout and password change evict at once in the gateway that
handled them, and every gateway evicts when accounts' `session_revoked`, `password_changed` or
`customer_updated` event arrives (milliseconds later). A session's own expiry is never extended.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from dataclasses import dataclass

from nameko.extensions import DependencyProvider
from werkzeug.wrappers import Request

from services.common import config as keys
from services.common import errors, permissions

SESSION_COOKIE = "portal_session"
CSRF_COOKIE = "portal_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Principal:
    """Who is calling. `account` is the account they act on: their own, or (a household
    member who switched to it) the holder's, with the holder's billing facts and the person's
    own language; `person` is always their own."""

    account: dict
    session_id: str
    token: str
    scope: str | None = None  # "mfa_enrolment": staff who must set up a second factor first
    person: dict | None = None
    acting: dict | None = None  # {account_id, holder_name, share_wallet, monthly_limit, ...}

    @property
    def customer_id(self) -> str:
        """The account acted on (a household member's: the holder's)."""
        return self.account["id"]

    @property
    def person_id(self) -> str:
        """The signed-in person's own account, whatever they act on."""
        return (self.person or self.account)["id"]

    @property
    def member(self) -> dict | None:
        """A household member acting on the holder's account: `{id, monthly_limit}` for
        billing, which counts their purchases against the limit; None otherwise."""
        if self.acting is None:
            return None
        return {"id": self.person_id, "monthly_limit": self.acting.get("monthly_limit")}

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


def token_key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionCache:
    """token hash → (deadline, authenticate() result), bounded, evictable by customer."""

    def __init__(self, seconds: float, max_entries: int = 20_000) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, dict]] = OrderedDict()

    def get(self, key: str) -> dict | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] <= time.monotonic():
            self._entries.pop(key, None)
            return None
        return entry[1]

    def put(self, key: str, result: dict) -> None:
        if self.seconds <= 0:
            return
        self._entries[key] = (time.monotonic() + self.seconds, result)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def evict(self, key: str) -> None:
        self._entries.pop(key, None)

    def evict_customer(self, customer_id: str) -> None:
        for key in [k for k, (_, r) in self._entries.items()
                    if r["account"]["id"] == customer_id]:
            self._entries.pop(key, None)

    def evict_sessions(self, session_ids: list[str]) -> None:
        wanted = set(session_ids)
        for key in [k for k, (_, r) in self._entries.items() if r["session"]["id"] in wanted]:
            self._entries.pop(key, None)


class AuthCache(DependencyProvider):
    """One `SessionCache` per gateway process."""

    def setup(self) -> None:
        value = self.container.config.get(keys.AUTH_CACHE_SECONDS)
        self.cache = SessionCache(float(5 if value in (None, "") else value))

    def get_dependency(self, worker_ctx) -> SessionCache:
        return self.cache


def authenticate(accounts, request: Request, access: str,
                 cache: SessionCache | None = None) -> Principal:
    """Who is calling, allowed `access` (`identify`, then `require`)."""
    principal = identify(accounts, request, cache)
    require(principal, access)
    return principal


def identify(accounts, request: Request, cache: SessionCache | None = None) -> Principal:
    """Who is calling (401 if nobody; 403 for a cookie write without its CSRF token)."""
    token, from_cookie = credentials(request)
    if not token:
        raise errors.NotAuthenticated()
    key = token_key(token)
    result = cache.get(key) if cache else None
    if result is None:
        result = accounts.authenticate(token)
        if cache:
            cache.put(key, result)
    session, account = result["session"], result["account"]
    if from_cookie and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        expected = session.get("csrf_hash", "")
        if not sent or not hmac.compare_digest(
                hashlib.sha256(sent.encode("utf-8")).hexdigest(), expected):
            raise errors.PermissionDenied("Missing or wrong CSRF token.", code="CSRF_FAILED")
    acting, person = session.get("acting"), account
    if acting:
        account = {**person, "id": acting["account_id"], "billing_type": acting["billing_type"],
                   "currency": acting["currency"], "tax_region": acting.get("tax_region")}
    return Principal(account=account, session_id=session["id"], token=token,
                     scope=session.get("scope"), person=person, acting=acting)


def identify_if_any(accounts, request: Request, cache: SessionCache | None = None
                    ) -> Principal | None:
    """Who is calling, or None for a visitor (no credentials, or ones no longer valid)."""
    if not credentials(request)[0]:
        return None
    try:
        return identify(accounts, request, cache)
    except errors.NotAuthenticated:
        return None


# what a session limited to setting up a second factor may reach (STAFF_MFA_REQUIRED)
ENROLMENT_PATHS = ("/api/v1/me/mfa/", "/api/v1/me/passkeys", "/api/v1/me/security",
                   "/api/v1/me/reauthenticate", "/api/v1/auth/logout")


def require_scope(principal: Principal, method: str, path: str) -> None:
    """403 MFA_ENROLMENT_REQUIRED for a limited session outside what it may do."""
    if principal.scope is None:
        return
    if (method == "GET" and path == "/api/v1/me") or path.startswith(ENROLMENT_PATHS):
        return
    raise errors.PermissionDenied("Set up two-step sign-in first: your operator requires it "
                                  "for staff accounts.", code="MFA_ENROLMENT_REQUIRED")


# what a household member acting on the holder's account may reach (households.py): their
# own sign-in and privacy (person-level), the subscriptions they use, the wallet if shared
PERSON_PATHS = ("/api/v1/me/password", "/api/v1/me/sessions", "/api/v1/me/security",
                "/api/v1/me/mfa/", "/api/v1/me/passkeys", "/api/v1/me/reauthenticate",
                "/api/v1/me/email/", "/api/v1/me/households", "/api/v1/me/acting",
                "/api/v1/me/consents", "/api/v1/me/data-exports", "/api/v1/me/deletion",
                "/api/v1/auth/logout")
MEMBER_PATHS = ("/api/v1/subscriptions",)
SHARED_WALLET = {("GET", "/api/v1/wallet"), ("POST", "/api/v1/wallet/top-ups"),
                 ("POST", "/api/v1/vouchers/redeem")}


def require_member(principal: Principal, method: str, path: str) -> None:
    """403 MEMBER_NOT_ALLOWED for a household member's session outside what a member may do
    (nothing to check for anyone acting on their own account)."""
    if principal.acting is None:
        return
    if path == "/api/v1/me" or path.startswith(PERSON_PATHS + MEMBER_PATHS):
        return
    if principal.acting.get("share_wallet") and (method, path) in SHARED_WALLET:
        return
    raise errors.PermissionDenied("As a member of this household you cannot do this here. "
                                  "Switch to your own account for it.",
                                  code="MEMBER_NOT_ALLOWED")


def require(principal: Principal, access: str) -> None:
    """403 unless the principal's role allows `access` (a level or a permission)."""
    role = principal.account["role"]
    if access == "ops" and not permissions.is_staff(role):
        raise errors.PermissionDenied("This needs a staff account.")
    if access == "admin" and role != "admin":
        raise errors.PermissionDenied("This needs an admin account.")
    if "." in access and not permissions.allows(role, access):
        raise errors.PermissionDenied("Your role does not allow this.",
                                      details={"permission": access})
