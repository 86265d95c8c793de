"""Passkeys (services/accounts/passkeys.py) against a software authenticator with real keys,
CBOR and signatures (tests/webauthn_soft.py): nothing of the library is mocked."""

import json

import pytest

from services.accounts import passkeys
from services.accounts.passkeys import PasskeyInvalid
from tests.webauthn_soft import AuthenticatorRefused, SoftAuthenticator, b64url, tamper, unb64url

ORIGIN = "https://portal.example.com"


@pytest.fixture
def rp():
    return passkeys.relying_party(ORIGIN + "/", "Example Portal")


@pytest.fixture
def device():
    return SoftAuthenticator(origin=ORIGIN)


def register(rp, device, user_id="cus_1", **lie):
    options, challenge = passkeys.registration_options(
        rp, user_id, "ann@example.com", "Ann Smith", [])
    return passkeys.verify_registration(rp, device.register(options, **lie), challenge)


def sign_in(rp, device, stored, allow=None, **lie):
    options, challenge = passkeys.authentication_options(rp, allow)
    assertion = device.authenticate(options, **lie)
    return passkeys.verify_authentication(rp, assertion, challenge, stored["public_key"],
                                          stored["sign_count"])


# -- the relying party -----------------------------------------------------------------------

def test_relying_party_is_the_public_urls_host_and_origin():
    rp = passkeys.relying_party("https://Portal.Example.com/portal/", "Portal")
    assert rp == passkeys.RelyingParty("portal.example.com", "Portal",
                                       ("https://portal.example.com",))
    assert passkeys.relying_party("https://portal.example.com:443", "P").origins == (
        "https://portal.example.com",)
    assert passkeys.relying_party("https://portal.example.com:8443", "P").origins == (
        "https://portal.example.com:8443",)
    local = passkeys.relying_party("http://localhost:8000", "P")
    assert (local.id, local.origins) == ("localhost", ("http://localhost:8000",))
    assert passkeys.relying_party("http://portal.localhost:8000", "P").id == "portal.localhost"
    assert passkeys.relying_party("https://bücher.example", "P").id == "xn--bcher-kva.example"


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "https://10.0.0.5", "http://[::1]:8000"])
def test_an_ip_address_cannot_be_a_relying_party(url):
    with pytest.raises(ValueError, match="PUBLIC_URL.*IP address.*localhost"):
        passkeys.relying_party(url, "Portal")


@pytest.mark.parametrize("url", ["http://portal.example.com", "ftp://portal.example.com", "",
                                 "portal.example.com", "https://portal.example.com:x"])
def test_no_passkeys_without_a_secure_context_or_a_host(url):
    with pytest.raises(ValueError, match="PUBLIC_URL"):
        passkeys.relying_party(url, "Portal")


# -- options ---------------------------------------------------------------------------------

def test_registration_options_prefer_a_discoverable_verified_passkey_and_exclude_the_known(rp):
    options, challenge = passkeys.registration_options(
        rp, "cus_1", "ann@example.com", "Ann Smith", [b"\x01\x02", "AwQ"])
    json.dumps(options)  # JSON-ready
    assert options["rp"] == {"id": "portal.example.com", "name": "Example Portal"}
    assert options["user"] == {"id": b64url(b"cus_1"), "name": "ann@example.com",
                               "displayName": "Ann Smith"}
    assert options["challenge"] == challenge and len(unb64url(challenge)) >= 16
    assert options["authenticatorSelection"] == {"residentKey": "preferred",
                                                 "requireResidentKey": False,
                                                 "userVerification": "preferred"}
    assert options["attestation"] == "none"
    assert -7 in [p["alg"] for p in options["pubKeyCredParams"]]
    assert [c["id"] for c in options["excludeCredentials"]] == ["AQI", "AwQ"]
    assert options["timeout"] == 300_000
    assert passkeys.registration_options(rp, "cus_1", "a", "A", [])[1] != challenge


def test_authentication_options_without_ids_let_any_passkey_of_the_site_answer(rp):
    options, challenge = passkeys.authentication_options(rp, None)
    assert options == {"challenge": challenge, "timeout": 300_000, "rpId": "portal.example.com",
                       "allowCredentials": [], "userVerification": "preferred"}
    options, _ = passkeys.authentication_options(rp, [b"\x01\x02"])
    assert options["allowCredentials"] == [{"id": "AQI", "type": "public-key"}]


def test_the_user_handle_is_at_most_64_bytes(rp):
    with pytest.raises(ValueError):
        passkeys.registration_options(rp, "x" * 65, "a", "A", [])
    with pytest.raises(ValueError):
        passkeys.registration_options(rp, "", "a", "A", [])


# -- registration and sign-in ----------------------------------------------------------------

def test_a_passkey_registers_and_signs_in(rp, device):
    stored = register(rp, device)
    [credential] = device.credentials.values()
    assert stored == {"credential_id": b64url(credential.credential_id),
                      "public_key": b64url(credential.cose_public_key()),
                      "sign_count": 0, "transports": ["internal", "hybrid"],
                      "aaguid": "00000000-0000-0000-0000-000000000000",
                      "backed_up": False, "user_verified": True}
    options, challenge = passkeys.authentication_options(rp, None)
    assertion = device.authenticate(options)
    assert passkeys.credential_id_of(assertion) == stored["credential_id"]
    assert passkeys.credential_id_of(json.dumps(assertion)) == stored["credential_id"]
    assert passkeys.user_handle_of(assertion) == "cus_1"
    count = passkeys.verify_authentication(rp, json.dumps(assertion), challenge,
                                           stored["public_key"], stored["sign_count"],
                                           expected_user_handle="cus_1")
    assert count == 1
    stored["sign_count"] = count
    assert sign_in(rp, device, stored, allow=[stored["credential_id"]]) == 2


def test_a_synced_passkey_that_never_counts_signs_in_again_and_again(rp):
    device = SoftAuthenticator(origin=ORIGIN, counting=False, backed_up=True)
    stored = register(rp, device)
    assert stored["backed_up"] is True
    assert sign_in(rp, device, stored) == 0
    assert sign_in(rp, device, stored) == 0


def test_the_same_device_is_not_registered_twice(rp, device):
    stored = register(rp, device)
    options, _ = passkeys.registration_options(rp, "cus_1", "a", "A", [stored["credential_id"]])
    with pytest.raises(AuthenticatorRefused):
        device.register(options)


@pytest.mark.parametrize("lie, reason", [
    ({"challenge": b64url(b"another challenge, from another session")}, "wrong challenge"),
    ({"origin": "https://portal.example.com.evil.example"}, "wrong origin"),
    ({"origin": "http://portal.example.com"}, "wrong origin"),
    ({"rp_id": "evil.example"}, "RP ID"),
    ({"client_type": "webauthn.get"}, "not a webauthn.create"),
])
def test_a_registration_that_lies_is_refused(rp, device, lie, reason):
    with pytest.raises(PasskeyInvalid, match=reason):
        register(rp, device, **lie)


@pytest.mark.parametrize("lie, reason", [
    ({"challenge": b64url(b"another challenge, from another session")}, "wrong challenge"),
    ({"origin": "https://evil.example"}, "wrong origin"),
    ({"rp_id": "evil.example"}, "RP ID"),
    ({"client_type": "webauthn.create"}, "not a webauthn.get"),
])
def test_a_sign_in_that_lies_is_refused(rp, device, lie, reason):
    stored = register(rp, device)
    with pytest.raises(PasskeyInvalid, match=reason):
        sign_in(rp, device, stored, **lie)


def test_a_replayed_or_cloned_sign_count_is_refused(rp, device):
    stored = register(rp, device)
    options, challenge = passkeys.authentication_options(rp, None)
    assertion = device.authenticate(options)
    stored["sign_count"] = passkeys.verify_authentication(
        rp, assertion, challenge, stored["public_key"], stored["sign_count"])
    # the same response again (had the caller kept its challenge): the count did not move
    with pytest.raises(PasskeyInvalid, match="sign count"):
        passkeys.verify_authentication(rp, assertion, challenge, stored["public_key"],
                                       stored["sign_count"])
    stored["sign_count"] = sign_in(rp, device, stored)  # 2
    for count in (2, 1, 0):  # a clone behind the original: equal, lower, or back to 0
        with pytest.raises(PasskeyInvalid, match="sign count"):
            sign_in(rp, device, stored, sign_count=count)


def test_a_tampered_signature_authenticator_data_or_client_data_is_refused(rp, device):
    stored = register(rp, device)

    def more_client_data(b64):  # still valid, same challenge and origin, but not what was signed
        return b64url(json.dumps({**json.loads(unb64url(b64)), "extra": 1}).encode())

    for field, change in (("signature", tamper),
                          ("authenticatorData", lambda b64: tamper(b64, index=33)),  # flags
                          ("clientDataJSON", more_client_data)):
        options, challenge = passkeys.authentication_options(rp, None)
        assertion = device.authenticate(options)
        assertion["response"][field] = change(assertion["response"][field])
        with pytest.raises(PasskeyInvalid, match="signature"):
            passkeys.verify_authentication(rp, assertion, challenge, stored["public_key"],
                                           stored["sign_count"])


def test_another_passkeys_key_does_not_verify(rp, device):
    mine = register(rp, device)
    other = register(rp, SoftAuthenticator(origin=ORIGIN), user_id="cus_2")
    options, challenge = passkeys.authentication_options(rp, None)
    assertion = device.authenticate(options)
    with pytest.raises(PasskeyInvalid, match="signature"):
        passkeys.verify_authentication(rp, assertion, challenge, other["public_key"], 0)
    with pytest.raises(PasskeyInvalid, match="another account"):
        passkeys.verify_authentication(rp, assertion, challenge, mine["public_key"], 0,
                                       expected_user_handle="cus_2")


def test_no_stored_challenge_is_a_refusal_never_a_wildcard(rp, device):
    options, _ = passkeys.registration_options(rp, "cus_1", "a", "A", [])
    credential = device.register(options, challenge="")
    for missing in ("", None):
        with pytest.raises(PasskeyInvalid, match="no challenge"):
            passkeys.verify_registration(rp, credential, missing)


def test_a_cross_origin_frame_is_refused(rp, device):
    options, challenge = passkeys.registration_options(rp, "cus_1", "a", "A", [])
    credential = device.register(options)
    client_data = json.loads(unb64url(credential["response"]["clientDataJSON"]))
    client_data["crossOrigin"] = True
    credential["response"]["clientDataJSON"] = b64url(json.dumps(client_data).encode())
    with pytest.raises(PasskeyInvalid, match="cross-origin"):
        passkeys.verify_registration(rp, credential, challenge)


@pytest.mark.parametrize("garbage", [
    "not json", "[]", {}, {"id": "AA", "rawId": "AA", "type": "public-key", "response": {}},
    {"id": "AA", "rawId": "AA", "type": "public-key",
     "response": {"clientDataJSON": "!!!", "attestationObject": "AA"}},
])
def test_malformed_responses_are_refused_not_crashed_on(rp, garbage):
    with pytest.raises(PasskeyInvalid):
        passkeys.verify_registration(rp, garbage, b64url(b"challenge"))
    with pytest.raises(PasskeyInvalid):
        passkeys.verify_authentication(rp, garbage, b64url(b"challenge"), b64url(b"key"), 0)


def test_a_malformed_attestation_object_or_key_is_refused(rp, device):
    options, challenge = passkeys.registration_options(rp, "cus_1", "a", "A", [])
    credential = device.register(options)
    credential["response"]["attestationObject"] = b64url(b"\xa1\x01\x02")
    with pytest.raises(PasskeyInvalid):
        passkeys.verify_registration(rp, credential, challenge)
    stored = register(rp, device)
    options, challenge = passkeys.authentication_options(rp, None)
    assertion = device.authenticate(options, credential_id=stored["credential_id"])
    broken_keys = (b64url(b"\xa0"), b64url(b"\x01"), b64url(b"\x04"), "",
                   tamper(stored["public_key"], 5))
    for key in broken_keys:
        with pytest.raises(PasskeyInvalid):
            passkeys.verify_authentication(rp, assertion, challenge, key, 0)


def test_credential_id_and_user_handle_helpers(device, rp):
    assert passkeys.credential_id_of({"id": "AQI=", "rawId": "AQI="}) == "AQI"
    assert passkeys.user_handle_of({"response": {"userHandle": None}}) is None
    assert passkeys.user_handle_of({"response": {}}) is None
    assert passkeys.user_handle_of({"response": {"userHandle": b64url("cus_ä".encode())}}) == (
        "cus_ä")
    for bad in ({}, {"id": ""}, {"id": 5}, "nope", []):
        with pytest.raises(PasskeyInvalid):
            passkeys.credential_id_of(bad)
    with pytest.raises(PasskeyInvalid):
        passkeys.user_handle_of({"response": {"userHandle": b64url(b"\xff\xfe")}})
