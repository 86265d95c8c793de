"""A software WebAuthn authenticator and client for tests: real keys (EC P-256, ES256), real
CBOR, real signatures, so passkey registration and sign-in can be driven without a browser.

    authenticator = SoftAuthenticator(origin="http://localhost:8000")
    credential = authenticator.register(creation_options)       # options dict from the server
    assertion = authenticator.authenticate(request_options)     # next sign-in

`register` and `authenticate` take the options as the server sent them (JSON, binary values
base64url) and return the PublicKeyCredential's JSON, as a browser's `credential.toJSON()` does.
Keyword arguments make a response lie (another origin, RP ID, challenge, sign count, type) so
tests can show the server refuses it; `tamper` flips a byte of a base64url field.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

# authenticatorData flags
UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def tamper(b64: str, index: int = -1) -> str:
    """The base64url value with one byte flipped (the last by default)."""
    data = bytearray(unb64url(b64))
    data[index] ^= 0x01
    return b64url(bytes(data))


class AuthenticatorRefused(Exception):
    """What a browser reports as InvalidStateError / NotAllowedError."""


@dataclass
class SoftCredential:
    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0

    def cose_public_key(self) -> bytes:
        numbers = self.private_key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1,  # kty EC2, alg ES256, crv P-256
                            -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")}, canonical=True)


@dataclass
class SoftAuthenticator:
    """A platform authenticator with discoverable credentials. `counting=False` behaves like
    synced passkeys that always report sign count 0."""

    origin: str
    user_verified: bool = True
    backed_up: bool = False
    counting: bool = True
    aaguid: bytes = bytes(16)
    credentials: dict[bytes, SoftCredential] = field(default_factory=dict)

    # -- registration -------------------------------------------------------------------------

    def register(self, options: dict, *, origin: str | None = None, rp_id: str | None = None,
                 challenge: str | None = None, client_type: str = "webauthn.create") -> dict:
        options = options.get("publicKey", options)
        rp_id = rp_id or options["rp"].get("id") or _host(self.origin)
        excluded = {unb64url(c["id"]) for c in options.get("excludeCredentials") or ()}
        if any(cid in excluded and c.rp_id == rp_id for cid, c in self.credentials.items()):
            raise AuthenticatorRefused("InvalidStateError: already registered on this device")
        if not any(p.get("alg") == -7 for p in options.get("pubKeyCredParams") or ()):
            raise AuthenticatorRefused("NotSupportedError: ES256 not offered")
        credential = SoftCredential(
            credential_id=secrets.token_bytes(32),
            private_key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=rp_id,
            user_handle=unb64url(options["user"]["id"]),
        )
        self.credentials[credential.credential_id] = credential
        client_data = self._client_data(
            client_type, options["challenge"] if challenge is None else challenge, origin)
        attested = (self.aaguid + struct.pack(">H", len(credential.credential_id))
                    + credential.credential_id + credential.cose_public_key())
        auth_data = self._auth_data(rp_id, credential.sign_count, AT) + attested
        attestation_object = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        cid = b64url(credential.credential_id)
        return {
            "id": cid,
            "rawId": cid,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation_object),
                "transports": ["internal", "hybrid"],
            },
        }

    # -- sign-in ------------------------------------------------------------------------------

    def authenticate(self, options: dict, *, credential_id: bytes | str | None = None,
                     origin: str | None = None, rp_id: str | None = None,
                     challenge: str | None = None, sign_count: int | None = None,
                     client_type: str = "webauthn.get", user_handle: bool = True) -> dict:
        """Signs an assertion. The credential: `credential_id`, else the first of
        allowCredentials this authenticator has, else (discoverable) the first for the RP ID.
        `sign_count` forces the counter sent (a replay or a clone)."""
        options = options.get("publicKey", options)
        rp_id_asked = options.get("rpId") or _host(self.origin)
        credential = self._pick(rp_id_asked, options.get("allowCredentials") or [],
                                credential_id)
        if sign_count is None:
            if self.counting:
                credential.sign_count += 1
            sign_count = credential.sign_count if self.counting else 0
        client_data = self._client_data(
            client_type, options["challenge"] if challenge is None else challenge, origin)
        auth_data = self._auth_data(rp_id or credential.rp_id, sign_count, 0)
        signature = credential.private_key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        cid = b64url(credential.credential_id)
        return {
            "id": cid,
            "rawId": cid,
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(credential.user_handle) if user_handle else None,
            },
        }

    def _pick(self, rp_id: str, allowed: list[dict],
              credential_id: bytes | str | None) -> SoftCredential:
        if credential_id is not None:
            cid = credential_id if isinstance(credential_id, bytes) else unb64url(credential_id)
            return self.credentials[cid]
        mine = [c for c in self.credentials.values() if c.rp_id == rp_id]
        if allowed:
            ids = {unb64url(a["id"]) for a in allowed}
            mine = [c for c in mine if c.credential_id in ids]
        if not mine:
            raise AuthenticatorRefused("NotAllowedError: no passkey for this site on this device")
        return mine[0]

    # -- pieces -------------------------------------------------------------------------------

    def _client_data(self, client_type: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": client_type, "challenge": challenge,
                           "origin": origin or self.origin, "crossOrigin": False},
                          separators=(",", ":")).encode("utf-8")

    def _auth_data(self, rp_id: str, sign_count: int, extra_flags: int) -> bytes:
        flags = UP | extra_flags
        if self.user_verified:
            flags |= UV
        if self.backed_up:
            flags |= BE | BS
        return (hashlib.sha256(rp_id.encode("utf-8")).digest() + bytes([flags])
                + struct.pack(">I", sign_count))


def _host(origin: str) -> str:
    return origin.split("://", 1)[-1].split(":", 1)[0].split("/", 1)[0]
