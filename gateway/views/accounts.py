"""Sign-up, login and logout, the portal link exchange, the customer's own profile."""

from __future__ import annotations

import datetime as dt

from gateway.auth import CSRF_COOKIE, SESSION_COOKIE, token_key
from gateway.http import Call, Reply
from gateway.transport import cookies_secure


def _session_cookies(result: dict, secure: bool) -> list[dict]:
    expires = dt.datetime.fromisoformat(result["expires_at"].replace("Z", "+00:00"))
    common = {"expires": expires, "secure": secure, "samesite": "Lax", "path": "/"}
    return [{"key": SESSION_COOKIE, "value": result["token"], "httponly": True, **common},
            # readable by the portal's script, which echoes it in X-CSRF-Token
            {"key": CSRF_COOKIE, "value": result["csrf_token"], "httponly": False, **common}]


def _cleared_cookies(secure: bool) -> list[dict]:
    return [{"key": name, "value": "", "expires": 0, "secure": secure, "samesite": "Lax",
             "path": "/", "httponly": name == SESSION_COOKIE}
            for name in (SESSION_COOKIE, CSRF_COOKIE)]


def signup(gw, call: Call) -> Reply:
    return Reply(gw.accounts.register(call.body, call.client_ip), status=201)


def login(gw, call: Call) -> Reply:
    result = gw.accounts.login(call.body["email"], call.body["password"], call.client_ip,
                               call.request.headers.get("User-Agent"))
    return Reply(result, cookies=_session_cookies(result, _secure(gw)))


def exchange_portal_link(gw, call: Call) -> Reply:
    result = gw.accounts.exchange_portal_link(call.path["token"], call.client_ip,
                                              call.request.headers.get("User-Agent"))
    return Reply(result, cookies=_session_cookies(result, _secure(gw)))


def logout(gw, call: Call) -> Reply:
    gw.accounts.logout(call.principal.token)
    gw.sessions.evict(token_key(call.principal.token))
    return Reply({"status": "logged_out"}, cookies=_cleared_cookies(_secure(gw)))


def me(gw, call: Call) -> dict:
    return call.principal.account  # authenticate() already fetched it: no second RPC


def update_me(gw, call: Call) -> dict:
    account = gw.accounts.update_profile(call.principal.customer_id, call.body)
    gw.sessions.evict_customer(call.principal.customer_id)
    return account


def change_password(gw, call: Call) -> dict:
    gw.accounts.change_password(call.principal.customer_id, call.principal.session_id,
                                call.body["current_password"], call.body["new_password"])
    gw.sessions.evict_customer(call.principal.customer_id)
    return {"status": "changed"}


def _secure(gw) -> bool:
    """Secure cookies whenever customers use https (PUBLIC_URL), unless COOKIE_SECURE says."""
    return cookies_secure(gw.config)


def my_sessions(gw, call: Call) -> dict:
    """The customer's active sign-ins, the current one marked (a handful: one page)."""
    rows = gw.accounts.list_sessions(call.principal.customer_id, call.principal.session_id)
    return {"data": rows, "has_more": False, "next_cursor": None}


def sign_out_session(gw, call: Call) -> Reply:
    gw.accounts.sign_out_session(call.principal.customer_id, call.path["session_id"],
                                 call.principal.session_id)
    gw.sessions.evict_sessions([call.path["session_id"]])  # the broadcast does the others
    return Reply(None, status=204)


def sign_out_others(gw, call: Call) -> dict:
    result = gw.accounts.sign_out_other_sessions(call.principal.customer_id,
                                                 call.principal.session_id)
    gw.sessions.evict_customer(call.principal.customer_id)
    return result
