"""Passkeys (WebAuthn, issue 18 "strong sign-in"): the ceremonies' options and their
verification, as pure functions over py_webauthn (`webauthn` on PyPI). No database, no nameko:
the accounts service stores what these return and hands it back.

The relying party is where the portal is published, PUBLIC_URL (`relying_party`): its host name
is the RP ID and its origin the only origin a browser may answer from. Browsers offer passkeys
only to a secure context under a host name: `https://portal.example.com` in production, or
`http://localhost:8000` (also `http://*.localhost`) on a developer's machine. An IP address is
never an RP ID (WebAuthn requires a valid domain; Chromium throws SecurityError), so
`http://127.0.0.1:8000` cannot have passkeys: `relying_party` refuses it, and plain http to
any other host, with a ValueError naming PUBLIC_URL.

Registration (a signed-in customer adds a passkey):
  1. `registration_options(rp, customer_id, email, name, [ids of their passkeys])` → the options
     for `navigator.credentials.create({publicKey: ...})` (base64url strings where the browser
     wants ArrayBuffers) and the challenge.
  2. `verify_registration(rp, credential_json, challenge)` → what to store for the passkey:
     credential_id, public_key, sign_count, transports, aaguid, backed_up, user_verified.
Sign-in:
  1. `authentication_options(rp, None)` (discoverable credentials: no email asked) or with the
     ids of one account's passkeys → options for `navigator.credentials.get(...)`, challenge.
  2. `credential_id_of(credential_json)` finds the stored passkey (and so the account;
     `user_handle_of` is the account id the passkey was registered with, when the browser sends
     it), then `verify_authentication(rp, credential_json, challenge, public_key, sign_count,
     expected_user_handle=<that account's id>)` → the new sign count to store.

Challenges are the caller's to keep: store each server-side (never in the page, never in a
cookie the client could replay), bound to the session or sign-in attempt it was issued to, for
at most CHALLENGE_TTL, and delete it when a response is verified *or refused*: a challenge is
good for one attempt only. An absent or expired challenge must be a refusal, never ""
(these functions refuse an empty expected challenge too).

The library checks the challenge, origin, RP ID hash, user presence, the attestation, the
signature and the sign count. It does not check `crossOrigin` (a ceremony from an iframe on
another site), nor the user handle against the account: this module does both.
"""

from __future__ import annotations

import binascii
import datetime as dt
import ipaddress
import json
import urllib.parse
from dataclasses import dataclass

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

# How long the browser lets the customer take (a hint), and so how long a challenge may live.
CEREMONY_TIMEOUT = dt.timedelta(minutes=5)
CHALLENGE_TTL = CEREMONY_TIMEOUT
MAX_USER_HANDLE_BYTES = 64  # WebAuthn's limit on user.id

# Errors from malformed input that the library lets through (base64, CBOR, COSE key parsing).
_MALFORMED = (WebAuthnException, ValueError, TypeError, KeyError, IndexError, OverflowError)


class PasskeyInvalid(ValueError):
    """A passkey response that is refused; str(exc) is a short reason (for logs, not users)."""


@dataclass(frozen=True)
class RelyingParty:
    id: str  # the RP ID: a host name, no scheme or port
    name: str  # shown by some authenticators when a passkey is made
    origins: tuple[str, ...]  # where ceremonies may happen, e.g. ("https://portal.example.com",)


_DEFAULT_PORTS = {"https": 443, "http": 80}


def relying_party(public_url: str, name: str) -> RelyingParty:
    """The relying party for the portal published at `public_url` (PUBLIC_URL).

    RP ID: its host name (lower case, IDNA-encoded); origin: scheme://host[:port], the default
    port left out as browsers do. Raises ValueError, naming PUBLIC_URL, when passkeys cannot work
    there: an IP address (WebAuthn refuses them as RP ID: use a host name such as localhost), or
    plain http to anything but localhost (not a secure context: browsers offer no passkeys)."""
    if not name or not str(name).strip():
        raise ValueError("the relying party needs a name (the portal's name)")
    parsed = urllib.parse.urlsplit(str(public_url or "").strip())
    scheme = parsed.scheme.lower()
    try:
        host, port = parsed.hostname, parsed.port
    except ValueError as exc:  # a port that is no number
        raise ValueError(f"PUBLIC_URL {public_url!r} is not a valid URL: {exc}") from exc
    if scheme not in _DEFAULT_PORTS or not host:
        raise ValueError(f"PUBLIC_URL {public_url!r} must be an http(s) URL with a host name "
                         "for passkeys, e.g. https://portal.example.com")
    host = host.rstrip(".")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise ValueError(
            f"PUBLIC_URL {public_url!r} is an IP address: passkeys (WebAuthn) need a host name "
            "as relying party ID, such as http://localhost:<port> on this machine or "
            "https://portal.example.com")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ValueError(f"PUBLIC_URL {public_url!r}: host name not valid ({exc})") from exc
    local = host == "localhost" or host.endswith(".localhost")
    if scheme == "http" and not local:
        raise ValueError(
            f"PUBLIC_URL {public_url!r} is plain http: browsers offer passkeys only over https "
            "(or on http://localhost)")
    origin = f"{scheme}://{host}"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        origin += f":{port}"
    return RelyingParty(id=host, name=str(name).strip(), origins=(origin,))


def _id_bytes(value: bytes | str) -> bytes:
    """A credential id as stored (base64url) or as bytes."""
    return value if isinstance(value, bytes) else base64url_to_bytes(value)


def _descriptors(ids: list[bytes | str] | None) -> list[PublicKeyCredentialDescriptor]:
    return [PublicKeyCredentialDescriptor(id=_id_bytes(i)) for i in ids or ()]


def _options_dict(options) -> dict:
    return json.loads(options_to_json(options))


def registration_options(rp: RelyingParty, user_id: str, user_name: str, display_name: str,
                         existing_credential_ids: list[bytes]) -> tuple[dict, str]:
    """PublicKeyCredentialCreationOptions for `navigator.credentials.create`, as a JSON-ready
    dict (binary values base64url), and its challenge (base64url) for the caller to store.

    `user_id` is the account's opaque id (it comes back as the user handle: not the email);
    `user_name` the name the customer knows the account by (the email); `display_name` their
    name. Resident key (discoverable passkey) and user verification preferred, no attestation;
    ES256, EdDSA and RS256 accepted. The customer's passkeys (`existing_credential_ids`, bytes or
    the stored base64url) are excluded, so one authenticator is not registered twice."""
    handle = str(user_id).encode("utf-8")
    if not handle or len(handle) > MAX_USER_HANDLE_BYTES:
        raise ValueError(f"user_id must be 1 to {MAX_USER_HANDLE_BYTES} bytes")
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=handle,
        user_name=user_name,
        user_display_name=display_name or user_name,
        timeout=int(CEREMONY_TIMEOUT.total_seconds() * 1000),
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(existing_credential_ids),
    )
    return _options_dict(options), bytes_to_base64url(options.challenge)


def authentication_options(rp: RelyingParty,
                           allow_credential_ids: list[bytes] | None) -> tuple[dict, str]:
    """PublicKeyCredentialRequestOptions for `navigator.credentials.get`, JSON-ready, and its
    challenge (base64url) for the caller to store. With no ids (None or []), any passkey of this
    RP on the device may answer (discoverable credentials: no email needed first); with ids
    (bytes or stored base64url), only those. User verification preferred."""
    options = generate_authentication_options(
        rp_id=rp.id,
        timeout=int(CEREMONY_TIMEOUT.total_seconds() * 1000),
        allow_credentials=_descriptors(allow_credential_ids),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return _options_dict(options), bytes_to_base64url(options.challenge)


def _expected(challenge: str) -> bytes:
    try:
        expected = base64url_to_bytes(challenge) if isinstance(challenge, str) else b""
    except (ValueError, binascii.Error):
        expected = b""
    if not expected:
        raise PasskeyInvalid("no challenge was issued (or it expired)")
    return expected


def _check_client_data(client_data_json: bytes, kind: str, expected: bytes,
                       rp: RelyingParty) -> None:
    """Type, challenge, origin and crossOrigin, with reasons that quote nothing the client sent
    (the library checks the first three again, and not crossOrigin)."""
    try:
        client_data = parse_client_data_json(client_data_json)
    except _MALFORMED as exc:
        raise PasskeyInvalid("clientDataJSON is malformed") from exc
    if client_data.type != kind:
        raise PasskeyInvalid(f"not a {kind} response")
    if client_data.challenge != expected:
        raise PasskeyInvalid("wrong challenge")
    if client_data.origin not in rp.origins:
        raise PasskeyInvalid("wrong origin")
    if client_data.cross_origin:
        raise PasskeyInvalid("made in a cross-origin frame")


def verify_registration(rp: RelyingParty, credential: dict | str, expected_challenge: str,
                        *, require_user_verification: bool = False) -> dict:
    """Verifies the browser's answer to `registration_options` (the PublicKeyCredential's JSON,
    as `credential.toJSON()` makes it) against the stored challenge. Returns what to store:
    {credential_id (base64url), public_key (base64url COSE key), sign_count, transports (list of
    str, for allowCredentials hints), aaguid (the authenticator model, a UUID string; all zeros
    without attestation), backed_up (a synced passkey), user_verified}. Raises PasskeyInvalid.

    The caller also refuses a credential_id that is already stored (for any account)."""
    expected = _expected(expected_challenge)
    try:
        parsed = parse_registration_credential_json(credential)
        _check_client_data(parsed.response.client_data_json, "webauthn.create", expected, rp)
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=expected,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            require_user_verification=require_user_verification,
        )
    except PasskeyInvalid:
        raise
    except _MALFORMED as exc:
        raise PasskeyInvalid(_reason(exc)) from exc
    transports = [t.value for t in parsed.response.transports or ()]
    return {
        "credential_id": bytes_to_base64url(verified.credential_id),
        "public_key": bytes_to_base64url(verified.credential_public_key),
        "sign_count": verified.sign_count,
        "transports": transports,
        "aaguid": verified.aaguid,
        "backed_up": bool(verified.credential_backed_up),
        "user_verified": bool(verified.user_verified),
    }


def verify_authentication(rp: RelyingParty, credential: dict | str, expected_challenge: str,
                          public_key: str, sign_count: int, *,
                          expected_user_handle: str | None = None,
                          require_user_verification: bool = False) -> int:
    """Verifies the browser's answer to `authentication_options` with the stored passkey found
    by `credential_id_of` (its `public_key` and `sign_count` as stored). Returns the new sign
    count, to store. Raises PasskeyInvalid: wrong challenge, origin or RP ID, user not present,
    a bad signature, or a sign count not above the stored one (a cloned authenticator or a
    replay; passkeys that never count, and always say 0, are accepted while the stored count
    is 0 too). With `expected_user_handle` (the account id the passkey belongs to), a response
    whose user handle names another account is refused too."""
    expected = _expected(expected_challenge)
    try:
        parsed = parse_authentication_credential_json(credential)
        _check_client_data(parsed.response.client_data_json, "webauthn.get", expected, rp)
        handle = parsed.response.user_handle
        if (expected_user_handle is not None and handle
                and handle != str(expected_user_handle).encode("utf-8")):
            raise PasskeyInvalid("the passkey's user handle is another account's")
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=expected,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            credential_public_key=base64url_to_bytes(public_key),
            credential_current_sign_count=int(sign_count),
            require_user_verification=require_user_verification,
        )
    except PasskeyInvalid:
        raise
    except _MALFORMED as exc:
        raise PasskeyInvalid(_reason(exc)) from exc
    return verified.new_sign_count


def _reason(exc: Exception) -> str:
    if isinstance(exc, WebAuthnException) and str(exc):
        return str(exc)[:200]
    return "malformed response"


def _credential_object(credential: dict | str) -> dict:
    if isinstance(credential, str):
        try:
            credential = json.loads(credential)
        except ValueError as exc:
            raise PasskeyInvalid("credential is not JSON") from exc
    if not isinstance(credential, dict):
        raise PasskeyInvalid("credential is not a JSON object")
    return credential


def credential_id_of(credential: dict | str) -> str:
    """The credential id (base64url, as `verify_registration` returned it for storing) of a
    browser's response: which stored passkey is being used. Raises PasskeyInvalid."""
    obj = _credential_object(credential)
    raw = obj.get("rawId", obj.get("id"))
    if not isinstance(raw, str) or not raw:
        raise PasskeyInvalid("credential has no id")
    try:
        raw_bytes = base64url_to_bytes(raw)
    except (ValueError, binascii.Error) as exc:
        raise PasskeyInvalid("credential id is not base64url") from exc
    if not raw_bytes:
        raise PasskeyInvalid("credential has no id")
    return bytes_to_base64url(raw_bytes)


def user_handle_of(credential: dict | str) -> str | None:
    """The user handle in a sign-in response: the `user_id` the passkey was registered with (the
    account id), or None when the browser sent none (it may, for non-discoverable credentials).
    Raises PasskeyInvalid when it is there but malformed."""
    response = _credential_object(credential).get("response")
    handle = response.get("userHandle") if isinstance(response, dict) else None
    if handle is None or handle == "":
        return None
    if not isinstance(handle, str):
        raise PasskeyInvalid("userHandle is not a string")
    try:
        return base64url_to_bytes(handle).decode("utf-8") or None
    except (ValueError, binascii.Error) as exc:  # UnicodeDecodeError is a ValueError
        raise PasskeyInvalid("userHandle is malformed") from exc
