"""A virtual WebAuthn authenticator in Chromium, through the DevTools protocol, for Playwright's
sync API: passkeys in browser tests with no device and no prompt.

    authenticator = VirtualAuthenticator.add(page)
    ...  # the page calls navigator.credentials.create() / .get(): it answers at once
    authenticator.credentials()   # what it holds (WebAuthn.getCredentials)
    authenticator.remove()

It is a platform authenticator (CTAP2, transport "internal") with discoverable credentials
and user verification, that says the user is present and verified. It serves the page it was
added for (its browser context's target); pages opened later need their own.

Only a secure context gets navigator.credentials: https, or http://localhost — never an IP
address such as http://127.0.0.1, whose RP ID is refused (see services/accounts/passkeys.py).
Binary values in CDP (credentialId, userHandle, privateKey) are plain base64, not base64url.
"""

from __future__ import annotations

import base64


class VirtualAuthenticator:
    def __init__(self, cdp, authenticator_id: str):
        self.cdp = cdp
        self.id = authenticator_id

    @classmethod
    def add(cls, page, *, user_verified: bool = True, resident_key: bool = True,
            transport: str = "internal") -> VirtualAuthenticator:
        cdp = page.context.new_cdp_session(page)
        cdp.send("WebAuthn.enable", {"enableUI": False})
        added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
            "protocol": "ctap2",
            "transport": transport,
            "hasResidentKey": resident_key,
            "hasUserVerification": True,
            "isUserVerified": user_verified,
            "automaticPresenceSimulation": True,
        }})
        return cls(cdp, added["authenticatorId"])

    def credentials(self) -> list[dict]:
        """Each credential: credentialId, rpId, userHandle (base64), isResidentCredential,
        signCount, privateKey (base64 PKCS#8)."""
        answer = self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})
        return answer["credentials"]

    def credential_ids(self) -> list[str]:
        """The credential ids as base64url without padding, as passkeys.py stores them."""
        return [base64.urlsafe_b64encode(base64.b64decode(c["credentialId"]))
                .rstrip(b"=").decode("ascii") for c in self.credentials()]

    def set_user_verified(self, verified: bool) -> None:
        self.cdp.send("WebAuthn.setUserVerified",
                      {"authenticatorId": self.id, "isUserVerified": verified})

    def clear(self) -> None:
        """Forgets every credential (the customer lost the device)."""
        self.cdp.send("WebAuthn.clearCredentials", {"authenticatorId": self.id})

    def remove(self) -> None:
        self.cdp.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": self.id})
        self.cdp.send("WebAuthn.disable")
        self.cdp.detach()


def add_virtual_authenticator(page, **options) -> VirtualAuthenticator:
    """`VirtualAuthenticator.add(page, ...)`."""
    return VirtualAuthenticator.add(page, **options)
