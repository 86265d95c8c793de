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


def _signed_in(gw, result: dict) -> Reply:
    """A session (200, with its cookies), or the second step still to take (202, none)."""
    if result.get("mfa_required"):
        return Reply(result, status=202)
    return Reply(result, cookies=_session_cookies(result, _secure(gw)))


def login(gw, call: Call) -> Reply:
    return _signed_in(gw, gw.accounts.login(call.body["email"], call.body["password"],
                                            call.client_ip,
                                            call.request.headers.get("User-Agent")))


def login_second_step(gw, call: Call) -> Reply:
    return _signed_in(gw, gw.accounts.login_second_step(
        call.body["mfa_token"], call.body.get("code"), call.body.get("recovery_code"),
        call.client_ip, call.request.headers.get("User-Agent")))


def exchange_portal_link(gw, call: Call) -> Reply:
    return _signed_in(gw, gw.accounts.exchange_portal_link(
        call.path["token"], call.client_ip, call.request.headers.get("User-Agent")))


def request_password_reset(gw, call: Call) -> Reply:
    return Reply(gw.accounts.request_password_reset(call.body["email"], call.client_ip),
                 status=202)


def reset_password(gw, call: Call) -> dict:
    done = gw.accounts.reset_password(call.body["token"], call.body["new_password"],
                                      call.client_ip)
    gw.sessions.evict_customer(done["customer_id"])  # the others evict on session_revoked
    return done  # the answer's schema leaves the customer id out


def verify_email(gw, call: Call) -> dict:
    account = gw.accounts.verify_email(call.body["token"], call.client_ip)
    gw.sessions.evict_customer(account["id"])
    return account


def resend_email_verification(gw, call: Call) -> Reply:
    return Reply(gw.accounts.resend_email_verification(call.principal.person_id),
                 status=202)


def security(gw, call: Call) -> dict:
    return gw.accounts.security_overview(call.principal.person_id, call.principal.session_id)


def reauthenticate(gw, call: Call) -> dict:
    return gw.accounts.reauthenticate(call.principal.person_id, call.principal.session_id,
                                      call.body.get("password"), call.body.get("code"),
                                      call.body.get("recovery_code"), call.body.get("ceremony"),
                                      call.body.get("credential"))


def reauthenticate_passkey_options(gw, call: Call) -> dict:
    return gw.accounts.passkey_options(None, call.principal.person_id)


def passkeys(gw, call: Call) -> dict:
    return {"data": gw.accounts.list_passkeys(call.principal.person_id), "has_more": False,
            "next_cursor": None}  # at most passkey_flows.MAX_PASSKEYS: one page


def passkey_registration_options(gw, call: Call) -> dict:
    return gw.accounts.passkey_registration_options(call.principal.person_id,
                                                    call.principal.session_id)


def register_passkey(gw, call: Call) -> Reply:
    made = gw.accounts.register_passkey(call.principal.person_id, call.principal.session_id,
                                        call.body["ceremony"], call.body["credential"],
                                        call.body.get("name"))
    gw.sessions.evict_sessions([call.principal.session_id])  # its scope may have widened
    return Reply(made, status=201)


def remove_passkey(gw, call: Call) -> Reply:
    gw.accounts.remove_passkey(call.principal.person_id, call.principal.session_id,
                               call.path["passkey_id"])
    return Reply(None, status=204)


def passkey_sign_in_options(gw, call: Call) -> dict:
    return gw.accounts.passkey_options(call.body.get("mfa_token"), None)


def passkey_sign_in(gw, call: Call) -> Reply:
    return _signed_in(gw, gw.accounts.passkey_sign_in(
        call.body["ceremony"], call.body["credential"], call.body.get("mfa_token"),
        call.client_ip, call.request.headers.get("User-Agent")))


def start_totp(gw, call: Call) -> dict:
    return gw.accounts.start_totp(call.principal.person_id, call.principal.session_id)


def confirm_totp(gw, call: Call) -> dict:
    result = gw.accounts.confirm_totp(call.principal.person_id, call.principal.session_id,
                                      call.body["code"])
    gw.sessions.evict_sessions([call.principal.session_id])  # its scope may have widened
    return result


def disable_totp(gw, call: Call) -> Reply:
    gw.accounts.disable_totp(call.principal.person_id, call.principal.session_id)
    return Reply(None, status=204)


def regenerate_recovery_codes(gw, call: Call) -> dict:
    return gw.accounts.regenerate_recovery_codes(call.principal.person_id,
                                                 call.principal.session_id)


def logout(gw, call: Call) -> Reply:
    gw.accounts.logout(call.principal.token)
    gw.sessions.evict(token_key(call.principal.token))
    return Reply({"status": "logged_out"}, cookies=_cleared_cookies(_secure(gw)))


def me(gw, call: Call) -> dict:
    # authenticate() already fetched it: no second RPC; always the person's own account, with
    # the household account they act on, if any
    return {**(call.principal.person or call.principal.account),
            "acting": call.principal.acting}


def update_me(gw, call: Call) -> dict:
    account = gw.accounts.update_profile(call.principal.person_id, call.body,
                                         call.principal.session_id)
    gw.sessions.evict_customer(call.principal.person_id)
    return account


def change_password(gw, call: Call) -> dict:
    gw.accounts.change_password(call.principal.person_id, call.principal.session_id,
                                call.body["current_password"], call.body["new_password"])
    gw.sessions.evict_customer(call.principal.person_id)
    return {"status": "changed"}


def _secure(gw) -> bool:
    """Secure cookies whenever customers use https (PUBLIC_URL), unless COOKIE_SECURE says."""
    return cookies_secure(gw.config)


def my_sessions(gw, call: Call) -> dict:
    """The customer's active sign-ins, the current one marked (a handful: one page)."""
    rows = gw.accounts.list_sessions(call.principal.person_id, call.principal.session_id)
    return {"data": rows, "has_more": False, "next_cursor": None}


def sign_out_session(gw, call: Call) -> Reply:
    gw.accounts.sign_out_session(call.principal.person_id, call.path["session_id"],
                                 call.principal.session_id)
    gw.sessions.evict_sessions([call.path["session_id"]])  # the broadcast does the others
    return Reply(None, status=204)


def sign_out_others(gw, call: Call) -> dict:
    result = gw.accounts.sign_out_other_sessions(call.principal.person_id,
                                                 call.principal.session_id)
    gw.sessions.evict_customer(call.principal.person_id)
    return result
