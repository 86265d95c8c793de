"""Strong sign-in through the gateway, against the real accounts service on the real RabbitMQ
and PostgreSQL: two-step sign-in with an authenticator app and recovery codes, re-authentication
before sensitive changes, password resets that tell nothing, verified e-mail addresses, and
staff who must set up a second factor when the operator says so."""

import concurrent.futures
import json

import pytest
import sqlalchemy as sa

from services.accounts import mfa
from services.common.db import normalize_url
from tests.integration.test_gateway_accounts import ADMIN, PASSWORD, error_of, start_portal


@pytest.fixture
def portal(pg_url, rabbit_config, runner_factory):
    return start_portal(pg_url, rabbit_config, runner_factory)


def events_of(portal, event_type: str) -> list[dict]:
    """What accounts emitted of one kind, oldest first: what the notifier would e-mail."""
    engine = sa.create_engine(normalize_url(portal.accounts_db))
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT payload FROM outbox_messages WHERE event_type = :t "
                                    "ORDER BY id"), {"t": event_type}).scalars().all()
    engine.dispose()
    return [row if isinstance(row, dict) else json.loads(row) for row in rows]


def token_in(url: str) -> str:
    return url.rsplit("/", 1)[1]


def enrol(portal, token) -> tuple[str, list[str]]:
    """Turns the authenticator app on: (its secret, the recovery codes)."""
    setup = portal("POST", "/api/v1/me/mfa/totp", token)
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    assert setup.json()["otpauth_uri"].startswith("otpauth://totp/")
    wrong = portal("POST", "/api/v1/me/mfa/totp/confirm", token, json={"code": "000000"})
    assert wrong.status_code == 400 and error_of(wrong)["code"] == "MFA_CODE_INVALID"
    done = portal("POST", "/api/v1/me/mfa/totp/confirm", token,
                  json={"code": mfa.totp(secret, portal.clock().now())})
    assert done.status_code == 200, done.text
    codes = done.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    return secret, codes


def second_step(portal, email, password=PASSWORD):
    response = portal("POST", "/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["mfa_required"] is True and "token" not in body
    assert "Set-Cookie" not in response.headers
    return body


def test_two_step_sign_in_with_an_app_and_with_recovery_codes(portal):
    account, token = portal.customer()
    clock = portal.clock()
    secret, codes = enrol(portal, token)
    security = portal("GET", "/api/v1/me/security", token).json()
    assert security["totp"]["enabled"] and security["recovery_codes_left"] == 10

    challenge = second_step(portal, account["email"])
    assert challenge["methods"] == ["totp", "recovery_code"]
    clock.advance(seconds=60)  # the enrolment's code is spent; a new step has begun
    code = mfa.totp(secret, clock.now())
    signed_in = portal("POST", "/api/v1/auth/login/second-step",
                       json={"mfa_token": challenge["mfa_token"], "code": code})
    assert signed_in.status_code == 200, signed_in.text
    assert portal("GET", "/api/v1/me", signed_in.json()["token"]).status_code == 200
    # the challenge is used up, and the same code does not open another sign-in
    again = portal("POST", "/api/v1/auth/login/second-step",
                   json={"mfa_token": challenge["mfa_token"], "code": code})
    assert again.status_code == 401 and error_of(again)["code"] == "MFA_CHALLENGE_INVALID"
    replay = portal("POST", "/api/v1/auth/login/second-step",
                    json={"mfa_token": second_step(portal, account["email"])["mfa_token"],
                          "code": code})
    assert replay.status_code == 400 and error_of(replay)["code"] == "MFA_CODE_INVALID"

    # a recovery code signs in once
    by_code = portal("POST", "/api/v1/auth/login/second-step", json={
        "mfa_token": second_step(portal, account["email"])["mfa_token"],
        "recovery_code": codes[0].upper()})
    assert by_code.status_code == 200, by_code.text
    used = portal("POST", "/api/v1/auth/login/second-step", json={
        "mfa_token": second_step(portal, account["email"])["mfa_token"],
        "recovery_code": codes[0]})
    assert used.status_code == 400
    assert portal("GET", "/api/v1/me/security", token).json()["recovery_codes_left"] == 9

    # a challenge lasts five minutes
    late = second_step(portal, account["email"])
    clock.advance(minutes=6)
    expired = portal("POST", "/api/v1/auth/login/second-step",
                     json={"mfa_token": late["mfa_token"], "code": mfa.totp(secret, clock.now())})
    assert expired.status_code == 401 and error_of(expired)["code"] == "MFA_CHALLENGE_INVALID"


def test_wrong_codes_are_throttled_per_account_across_challenges(portal):
    account, token = portal.customer()
    secret, _ = enrol(portal, token)
    statuses = []
    for _ in range(6):
        challenge = second_step(portal, account["email"])
        statuses.append(portal("POST", "/api/v1/auth/login/second-step",
                               json={"mfa_token": challenge["mfa_token"],
                                     "code": "123456"}).status_code)
    assert statuses[:4] == [400] * 4 and statuses[-1] == 429, statuses
    # the right code is refused too while the account is blocked
    clock = portal.clock()
    blocked = portal("POST", "/api/v1/auth/login/second-step", json={
        "mfa_token": second_step(portal, account["email"])["mfa_token"],
        "code": mfa.totp(secret, clock.now())})
    assert blocked.status_code == 429


def test_one_code_signs_in_once_even_sent_twice_at_the_same_moment(portal):
    account, token = portal.customer()
    clock = portal.clock()
    secret, _ = enrol(portal, token)
    clock.advance(seconds=60)
    tokens = [second_step(portal, account["email"])["mfa_token"] for _ in range(6)]
    code = mfa.totp(secret, clock.now())
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda t: portal(
            "POST", "/api/v1/auth/login/second-step",
            json={"mfa_token": t, "code": code}).status_code, tokens))
    assert statuses.count(200) == 1 and set(statuses) - {200} <= {400, 429}, statuses


def test_sensitive_changes_need_a_recent_sign_in_or_re_authentication(portal):
    account, token = portal.customer()
    clock = portal.clock()
    clock.advance(minutes=11)  # the sign-in is no longer recent (REAUTH_SECONDS: 10 minutes)
    refused = portal("POST", "/api/v1/me/mfa/totp", token)
    assert refused.status_code == 403 and error_of(refused)["code"] == "REAUTH_REQUIRED"
    no_password = portal("PATCH", "/api/v1/me", token, json={"email": "x@example.com"})
    assert no_password.status_code == 400
    assert "current_password" in error_of(no_password)["fields"]
    assert portal("GET", "/api/v1/me/security", token).json()["reauthenticated"] is False

    wrong = portal("POST", "/api/v1/me/reauthenticate", token, json={"password": "not it"})
    assert wrong.status_code == 400 and error_of(wrong)["code"] == "INVALID_CREDENTIALS"
    ok = portal("POST", "/api/v1/me/reauthenticate", token, json={"password": PASSWORD})
    assert ok.status_code == 200, ok.text
    assert portal("GET", "/api/v1/me/security", token).json()["reauthenticated"] is True
    secret, codes = enrol(portal, token)
    # later, a code re-authenticates too; turning the app off needs it
    clock.advance(minutes=11)
    assert portal("DELETE", "/api/v1/me/mfa/totp", token).status_code == 403
    by_code = portal("POST", "/api/v1/me/reauthenticate", token,
                     json={"code": mfa.totp(secret, clock.now())})
    assert by_code.status_code == 200, by_code.text
    assert portal("DELETE", "/api/v1/me/mfa/totp", token).status_code == 204
    assert portal.login(account["email"])["account"]["id"] == account["id"]  # one step again


def test_a_password_reset_tells_nothing_and_works_once(portal):
    account, token = portal.customer()
    before = len(events_of(portal, "password_reset_requested"))
    known = portal("POST", "/api/v1/auth/password-reset", json={"email": account["email"]})
    unknown = portal("POST", "/api/v1/auth/password-reset",
                     json={"email": "nobody-" + account["email"]})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json()) == (
        202, {"status": "accepted"})
    sent = events_of(portal, "password_reset_requested")[before:]
    assert [e["customer"]["customer_id"] for e in sent] == [account["id"]]
    link = token_in(sent[0]["customer"]["url"])

    weak = portal("POST", "/api/v1/auth/password-reset/confirm",
                  json={"token": link, "new_password": "password1"})
    assert weak.status_code == 400 and "new_password" in error_of(weak)["fields"]
    done = portal("POST", "/api/v1/auth/password-reset/confirm",
                  json={"token": link, "new_password": "a brand new passphrase"})
    assert done.status_code == 200 and done.json()["sessions_ended"] == 1, done.text
    assert portal("GET", "/api/v1/me", token).status_code == 401  # every session ended
    assert portal.login(account["email"], "a brand new passphrase")
    twice = portal("POST", "/api/v1/auth/password-reset/confirm",
                   json={"token": link, "new_password": "yet another passphrase"})
    assert twice.status_code == 400 and error_of(twice)["code"] == "PASSWORD_RESET_INVALID"

    # asked again and again: answered the same, mailed three times an hour at most
    for _ in range(5):
        assert portal("POST", "/api/v1/auth/password-reset",
                      json={"email": account["email"]}).status_code == 202
    assert len(events_of(portal, "password_reset_requested")[before:]) == 3


def test_a_new_address_is_used_only_once_verified(portal):
    account, token = portal.customer()
    sent = [e for e in events_of(portal, "email_verification_requested")
            if e["customer"]["customer_id"] == account["id"]]
    assert len(sent) == 1 and sent[0]["customer"]["change"] is False
    assert portal("GET", "/api/v1/me", token).json()["email_verified"] is False
    verified = portal("POST", "/api/v1/auth/verify-email",
                      json={"token": token_in(sent[0]["customer"]["url"])})
    assert verified.status_code == 200 and verified.json()["email_verified"] is True

    new = f"new-{account['id']}@example.com"
    changed = portal("PATCH", "/api/v1/me", token, json={"email": new})  # a recent sign-in
    assert changed.status_code == 200, changed.text
    assert (changed.json()["email"], changed.json()["pending_email"]) == (account["email"], new)
    refused = portal("POST", "/api/v1/auth/login", json={"email": new, "password": PASSWORD})
    assert refused.status_code == 401  # not the account's address yet
    change = [e for e in events_of(portal, "email_verification_requested")
              if e["customer"]["customer_id"] == account["id"]][-1]["customer"]
    assert (change["email"], change["change"], change["previous_email"]) == (
        new, True, account["email"])
    bad = portal("POST", "/api/v1/auth/verify-email", json={"token": "x" * 43})
    assert bad.status_code == 400 and error_of(bad)["code"] == "EMAIL_VERIFICATION_INVALID"
    done = portal("POST", "/api/v1/auth/verify-email", json={"token": token_in(change["url"])})
    assert done.status_code == 200 and done.json()["email"] == new
    assert portal.login(new)["account"]["id"] == account["id"]
    old = portal("POST", "/api/v1/auth/login",
                 json={"email": account["email"], "password": PASSWORD})
    assert old.status_code == 401


@pytest.fixture
def strict_portal(pg_url, rabbit_config, runner_factory):
    """The operator requires staff to use a second factor."""
    return start_portal(pg_url, rabbit_config, runner_factory, STAFF_MFA_REQUIRED=True)


def test_staff_must_set_up_a_second_factor_when_the_operator_requires_it(strict_portal):
    portal = strict_portal
    admin = portal.login(*ADMIN)
    assert admin["scope"] == "mfa_enrolment"
    token = admin["token"]
    held = portal("GET", "/api/v1/ops/customers", token)
    assert held.status_code == 403 and error_of(held)["code"] == "MFA_ENROLMENT_REQUIRED"
    assert portal("GET", "/api/v1/me", token).status_code == 200
    assert portal("GET", "/api/v1/me/security", token).json()["staff_mfa_required"] is True
    secret, _ = enrol(portal, token)
    assert portal("GET", "/api/v1/ops/customers", token).status_code == 200  # full rights now
    portal.clock().advance(seconds=60)
    assert portal("DELETE", "/api/v1/me/mfa/totp", token).status_code == 409  # must keep one
    customer, customer_token = portal.customer()  # customers are not asked
    assert portal("GET", "/api/v1/me/security", customer_token).json()[
        "staff_mfa_required"] is False
    assert portal.login(customer["email"])["scope"] is None
    second = second_step(portal, *ADMIN)
    assert portal("POST", "/api/v1/auth/login/second-step", json={
        "mfa_token": second["mfa_token"],
        "code": mfa.totp(secret, portal.clock().now())}).status_code == 200
