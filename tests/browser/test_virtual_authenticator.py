"""Passkeys in a real Chromium with a virtual authenticator (tests/browser/virtual_authenticator.py)
against services/accounts/passkeys.py: a little server of its own, on http://localhost:<port>
(a secure context, as WebAuthn needs), hands out registration and sign-in options, and
verifies what navigator.credentials.create() and .get() answer. Self-contained: the portal
stack is not started (only the `pw_browser` fixture of conftest.py is used).

    flock /tmp/heavy.lock .venv/bin/python -m pytest tests/browser/test_virtual_authenticator.py \
        -p no:nameko --confcutdir=tests/browser -q
"""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from services.accounts import passkeys
from tests.browser.virtual_authenticator import VirtualAuthenticator

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Passkeys</title></head>
<body><main><h1>Passkeys</h1></main>
<script>
const fromB64url = s => Uint8Array.from(
  atob(s.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - s.length % 4) % 4)),
  c => c.charCodeAt(0)).buffer;
const toB64url = buf => btoa(String.fromCharCode(...new Uint8Array(buf)))
  .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");

async function post(path, body) {
  const answer = await fetch(path, {method: "POST", body: JSON.stringify(body || {}),
                                    headers: {"Content-Type": "application/json"}});
  return answer.json();
}

// The options' binary values arrive base64url (JSON); the browser wants ArrayBuffers.
function creationOptions(o) {
  return {...o, challenge: fromB64url(o.challenge), user: {...o.user, id: fromB64url(o.user.id)},
          excludeCredentials: (o.excludeCredentials || []).map(
            c => ({...c, id: fromB64url(c.id)}))};
}
function requestOptions(o) {
  return {...o, challenge: fromB64url(o.challenge),
          allowCredentials: (o.allowCredentials || []).map(c => ({...c, id: fromB64url(c.id)}))};
}
// ... and the answer goes back as JSON, binary values base64url (as credential.toJSON() does).
function credentialJSON(c) {
  const r = c.response, out = {id: c.id, rawId: toB64url(c.rawId), type: c.type,
                               authenticatorAttachment: c.authenticatorAttachment,
                               clientExtensionResults: c.getClientExtensionResults(),
                               response: {clientDataJSON: toB64url(r.clientDataJSON)}};
  if (r.attestationObject) {
    out.response.attestationObject = toB64url(r.attestationObject);
    out.response.transports = r.getTransports();
  } else {
    out.response.authenticatorData = toB64url(r.authenticatorData);
    out.response.signature = toB64url(r.signature);
    out.response.userHandle = r.userHandle ? toB64url(r.userHandle) : null;
  }
  return out;
}

async function ceremony(kind, native) {
  try {
    const options = await post(`/${kind}/options`);
    let credential;
    if (kind === "register") {
      const publicKey = native ? PublicKeyCredential.parseCreationOptionsFromJSON(options)
                               : creationOptions(options);
      credential = await navigator.credentials.create({publicKey});
    } else {
      const publicKey = native ? PublicKeyCredential.parseRequestOptionsFromJSON(options)
                               : requestOptions(options);
      credential = await navigator.credentials.get({publicKey});
    }
    window.lastAnswer = native ? credential.toJSON() : credentialJSON(credential);
    return await post(`/${kind}`, window.lastAnswer);
  } catch (e) {
    return {ok: false, browser_error: e.name, message: e.message};
  }
}
const register = native => ceremony("register", native);
const signIn = native => ceremony("signin", native);
</script></body></html>
"""


class Portal:
    """The server side: one account, its passkeys, one pending challenge per ceremony (taken on
    use, as the accounts service must)."""

    def __init__(self, public_url: str):
        self.rp = passkeys.relying_party(public_url, "Test portal")
        self.account_id = "cus_test_1"
        self.passkeys: dict[str, dict] = {}
        self.challenges: dict[str, str] = {}
        self.lock = threading.Lock()

    def answer(self, path: str, body: dict) -> tuple[int, dict]:
        with self.lock:
            if path == "/register/options":
                options, self.challenges["register"] = passkeys.registration_options(
                    self.rp, self.account_id, "ann@example.com", "Ann Smith",
                    list(self.passkeys))
                return 200, options
            if path == "/signin/options":
                options, self.challenges["signin"] = passkeys.authentication_options(
                    self.rp, None)
                return 200, options
            challenge = self.challenges.pop(path.strip("/"), "")  # single-use
            try:
                if path == "/register":
                    stored = passkeys.verify_registration(self.rp, body, challenge)
                    self.passkeys[stored["credential_id"]] = stored
                    return 200, {"ok": True, **stored}
                if path == "/signin":
                    stored = self.passkeys.get(passkeys.credential_id_of(body))
                    if stored is None:
                        return 400, {"ok": False, "reason": "unknown passkey"}
                    stored["sign_count"] = passkeys.verify_authentication(
                        self.rp, body, challenge, stored["public_key"], stored["sign_count"],
                        expected_user_handle=self.account_id)
                    return 200, {"ok": True, "account": passkeys.user_handle_of(body),
                                 "sign_count": stored["sign_count"]}
            except passkeys.PasskeyInvalid as exc:
                return 400, {"ok": False, "reason": str(exc)}
            return 404, {"ok": False, "reason": "no such path"}


def serve(portal_for_port):
    """A local http.server on 127.0.0.1; `portal_for_port(port)` makes its Portal."""
    state = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self._send(200, PAGE.encode(), "text/html; charset=utf-8")

        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            status, answer = state["portal"].answer(self.path, body)
            self._send(status, json.dumps(answer).encode(), "application/json")

        def _send(self, status, payload, content_type):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["portal"] = portal_for_port(server.server_address[1])
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, state["portal"]


@pytest.fixture
def server():
    servers = []

    def _serve(portal_for_port):
        server, portal = serve(portal_for_port)
        servers.append(server)
        return server.server_address[1], portal

    yield _serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def page(pw_browser):
    context = pw_browser.new_context(locale="en-US")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("native", [False, True], ids=["by-hand-json", "native-json"])
def test_a_passkey_registers_and_signs_in_through_a_virtual_authenticator(
        server, page, native):
    port, portal = server(lambda port: Portal(f"http://localhost:{port}"))
    authenticator = VirtualAuthenticator.add(page)
    try:
        page.goto(f"http://localhost:{port}/")
        assert page.evaluate("window.isSecureContext")

        registered = page.evaluate("native => register(native)", native)
        assert registered["ok"], registered
        assert registered["transports"] == ["internal"]
        assert registered["user_verified"] is True
        [held] = authenticator.credentials()
        assert held["rpId"] == "localhost" and held["isResidentCredential"]
        assert authenticator.credential_ids() == [registered["credential_id"]]

        # discoverable: no allowCredentials, no email; the passkey says whose it is
        # (Chromium's virtual authenticator counts the registration too)
        count = registered["sign_count"]
        first = page.evaluate("native => signIn(native)", native)
        assert first == {"ok": True, "account": "cus_test_1", "sign_count": count + 1}, first
        second = page.evaluate("native => signIn(native)", native)
        assert second["ok"] and second["sign_count"] == count + 2
        assert authenticator.credentials()[0]["signCount"] == count + 2

        # the same answer again: its challenge was used up
        replayed = page.evaluate("post('/signin', window.lastAnswer)")
        assert replayed == {"ok": False, "reason": "no challenge was issued (or it expired)"}

        # this authenticator already holds a passkey of the account: excluded
        again = page.evaluate("native => register(native)", native)
        assert again["browser_error"] == "InvalidStateError", again
        assert len(authenticator.credentials()) == 1
    finally:
        authenticator.remove()


def test_a_passkey_made_for_another_origin_is_refused(server, page):
    """The page is on localhost:<port>, the server expects another port: same RP ID (ports are
    not part of it), so the browser makes the passkey, and the server refuses the origin."""
    port, _ = server(lambda port: Portal(f"http://localhost:{port + 1}"))
    authenticator = VirtualAuthenticator.add(page)
    try:
        page.goto(f"http://localhost:{port}/")
        refused = page.evaluate("register(false)")
        assert refused == {"ok": False, "reason": "wrong origin"}, refused
    finally:
        authenticator.remove()


@pytest.mark.parametrize("rp_id", ["127.0.0.1", "localhost"])
def test_an_ip_address_origin_cannot_use_passkeys(server, page, rp_id):
    """Why relying_party refuses PUBLIC_URL=http://127.0.0.1:…: Chromium refuses the ceremony
    there, whether the RP ID is the IP address or localhost."""
    port, _ = server(lambda port: Portal(f"http://localhost:{port}"))
    with pytest.raises(ValueError, match="IP address"):
        passkeys.relying_party(f"http://127.0.0.1:{port}", "Test portal")
    authenticator = VirtualAuthenticator.add(page)
    try:
        page.goto(f"http://127.0.0.1:{port}/")
        assert page.evaluate("window.isSecureContext")  # a secure context, all the same
        error = page.evaluate("""async rpId => {
          try {
            await navigator.credentials.create({publicKey: {
              rp: {id: rpId, name: "Test portal"},
              user: {id: new Uint8Array([1]), name: "ann", displayName: "Ann"},
              challenge: new Uint8Array(32), pubKeyCredParams: [{type: "public-key", alg: -7}]}});
            return "created";
          } catch (e) { return e.name; }
        }""", rp_id)
        assert error == "SecurityError"
        assert authenticator.credentials() == []
    finally:
        authenticator.remove()
