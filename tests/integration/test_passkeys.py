"""Passkeys through the gateway, against the real accounts service on the real RabbitMQ and
PostgreSQL: a software authenticator (tests/webauthn_soft.py: real keys, CBOR and signatures)
plays the browser. Registering needs a recent sign-in; a passkey signs in without an e-mail
and without a second step, or is the second step of a password sign-in; answers are used once,
and a replayed or forged one is refused and counted."""

import concurrent.futures

import pytest

from tests.integration.test_gateway_accounts import error_of, start_portal
from tests.integration.test_strong_sign_in import second_step
from tests.webauthn_soft import SoftAuthenticator, tamper

ORIGIN = "https://portal.example"  # start_portal's PUBLIC_URL


@pytest.fixture
def portal(pg_url, rabbit_config, runner_factory):
    return start_portal(pg_url, rabbit_config, runner_factory)


def add_passkey(portal, token, device, name="My phone"):
    started = portal("POST", "/api/v1/me/passkeys/options", token)
    assert started.status_code == 200, started.text
    options = started.json()["options"]
    assert options["rp"]["id"] == "portal.example"
    made = portal("POST", "/api/v1/me/passkeys", token, json={
        "ceremony": started.json()["ceremony"], "credential": device.register(options),
        "name": name})
    assert made.status_code == 201, made.text
    return made.json()


def sign_in_with(portal, device, mfa_token=None, **lie):
    body = {"mfa_token": mfa_token} if mfa_token else {}
    started = portal("POST", "/api/v1/auth/passkey/options", json=body)
    assert started.status_code == 200, started.text
    return portal("POST", "/api/v1/auth/passkey", json={
        "ceremony": started.json()["ceremony"], **body,
        "credential": device.authenticate(started.json()["options"], **lie)})


def test_a_passkey_is_added_and_signs_in_without_an_email_or_second_step(portal):
    account, token = portal.customer()
    device = SoftAuthenticator(origin=ORIGIN)
    added = add_passkey(portal, token, device)
    assert added["name"] == "My phone"
    assert [k["id"] for k in portal("GET", "/api/v1/me/passkeys", token).json()["data"]] == [
        added["id"]]
    security = portal("GET", "/api/v1/me/security", token).json()
    assert security["passkeys"] == 1 and security["passkeys_available"] is True

    signed_in = sign_in_with(portal, device)
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["account"]["id"] == account["id"]
    sessions = portal("GET", "/api/v1/me/sessions", signed_in.json()["token"]).json()["data"]
    assert [s["method"] for s in sessions if s["current"]] == ["passkey"]
    # a password sign-in now asks for the passkey (or a code) as its second step
    challenge = second_step(portal, account["email"])
    assert challenge["methods"] == ["passkey"]
    second = sign_in_with(portal, device, mfa_token=challenge["mfa_token"])
    assert second.status_code == 200, second.text


def test_forged_replayed_and_foreign_answers_are_refused(portal):
    account, token = portal.customer()
    device = SoftAuthenticator(origin=ORIGIN)
    add_passkey(portal, token, device)
    phished = sign_in_with(portal, device, origin="https://portal.example.evil")
    assert phished.status_code == 401 and error_of(phished)["code"] == "PASSKEY_INVALID"
    started = portal("POST", "/api/v1/auth/passkey/options", json={}).json()
    answer = device.authenticate(started["options"])
    forged = {**answer, "response": {**answer["response"],
                                     "signature": tamper(answer["response"]["signature"])}}
    assert portal("POST", "/api/v1/auth/passkey", json={
        "ceremony": started["ceremony"], "credential": forged}).status_code == 401
    # the ceremony was used by that attempt: the genuine answer to it is refused too
    assert portal("POST", "/api/v1/auth/passkey", json={
        "ceremony": started["ceremony"], "credential": answer}).status_code == 401
    assert sign_in_with(portal, device).status_code == 200  # the stored counter moves on
    cloned = sign_in_with(portal, device, sign_count=1)  # a copy with an older counter
    assert cloned.status_code == 401
    # another account's sign-in cannot be finished with this passkey
    other, other_token = portal.customer()
    add_passkey(portal, other_token, SoftAuthenticator(origin=ORIGIN))
    other_step = second_step(portal, other["email"])
    foreign = sign_in_with(portal, device, mfa_token=other_step["mfa_token"],
                           credential_id=next(iter(device.credentials)))
    assert foreign.status_code == 401 and error_of(foreign)["code"] == "PASSKEY_INVALID"


def test_one_answer_signs_in_once_even_sent_twice_at_the_same_moment(portal):
    _, token = portal.customer()
    device = SoftAuthenticator(origin=ORIGIN)
    add_passkey(portal, token, device)
    started = portal("POST", "/api/v1/auth/passkey/options", json={}).json()
    body = {"ceremony": started["ceremony"],
            "credential": device.authenticate(started["options"])}
    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        statuses = list(pool.map(lambda _: portal("POST", "/api/v1/auth/passkey",
                                                  json=body).status_code, range(5)))
    assert sorted(statuses) == [200, 401, 401, 401, 401], statuses


def test_adding_and_removing_need_a_recent_sign_in_and_a_passkey_re_authenticates(portal):
    _, token = portal.customer()
    device = SoftAuthenticator(origin=ORIGIN)
    added = add_passkey(portal, token, device)
    portal.clock().advance(minutes=11)
    refused = portal("POST", "/api/v1/me/passkeys/options", token)
    assert refused.status_code == 403 and error_of(refused)["code"] == "REAUTH_REQUIRED"
    assert portal("DELETE", f"/api/v1/me/passkeys/{added['id']}", token).status_code == 403
    options = portal("POST", "/api/v1/me/reauthenticate/passkey-options", token).json()
    proved = portal("POST", "/api/v1/me/reauthenticate", token, json={
        "ceremony": options["ceremony"],
        "credential": device.authenticate(options["options"])})
    assert proved.status_code == 200, proved.text
    other, other_token = portal.customer()
    assert portal("DELETE", f"/api/v1/me/passkeys/{added['id']}",
                  other_token).status_code == 404  # not theirs
    assert portal("DELETE", f"/api/v1/me/passkeys/{added['id']}", token).status_code == 204
    assert portal("GET", "/api/v1/me/passkeys", token).json()["data"] == []
    assert sign_in_with(portal, device).status_code == 401  # removed: it signs in no more
