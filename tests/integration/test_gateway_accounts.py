"""Accounts and sessions through the gateway, against the real accounts service on the real
RabbitMQ and PostgreSQL (both services in nameko containers in this process)."""

import datetime as dt
import json
import time
import uuid

import pytest
import requests
from nameko.testing.utils import get_container, get_extension

from gateway.service import GatewayService
from services.accounts.service import AccountsService
from services.common.clock import ClockProvider, TestClock
from tests.stack import free_port

ADMIN = ("admin@example.com", "an admin passphrase")
PASSWORD = "a long enough passphrase"


class Portal:
    def __init__(self, url, runner):
        self.url = url
        self.runner = runner

    def __call__(self, method, path, token=None, **kwargs):
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.url + path, headers=headers, timeout=15, **kwargs)

    def sign_up(self, **overrides):
        body = {"email": f"{uuid.uuid4().hex[:8]}@example.com", "password": PASSWORD,
                "name": "Ann", "billing_type": "prepaid", "currency": "EUR", **overrides}
        response = self("POST", "/api/v1/accounts", json=body)
        assert response.status_code == 201, response.text
        return {**response.json(), "password": body["password"]}

    def login(self, email, password=PASSWORD):
        response = self("POST", "/api/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return response.json()

    def customer(self, **overrides):
        account = self.sign_up(**overrides)
        return account, self.login(account["email"], account["password"])["token"]

    def clock(self) -> TestClock:
        container = get_container(self.runner, AccountsService)
        provider = get_extension(container, ClockProvider)
        if not isinstance(provider.clock, TestClock):
            provider.clock = TestClock(dt.datetime.now(dt.UTC))
        return provider.clock


def start_portal(pg_url, rabbit_config, runner_factory, **settings) -> Portal:
    """Accounts and the gateway, with the admin account; `settings` add to the config."""
    port = free_port()
    config = {**rabbit_config, "DATABASE_URLS": {"accounts": pg_url},
              "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", "RPC_TIMEOUT_SECONDS": 1.5,
              "ADMIN_EMAIL": ADMIN[0], "ADMIN_PASSWORD": ADMIN[1],
              "PUBLIC_URL": "https://portal.example", "max_workers": 20,
              # these tests speak plain http to the gateway: cookies must come back over it
              "COOKIE_SECURE": False, **settings}
    runner = runner_factory(config, AccountsService, GatewayService)
    runner.start()
    portal = Portal(f"http://127.0.0.1:{port}", runner)
    portal.accounts_db = pg_url
    return portal


@pytest.fixture
def portal(pg_url, rabbit_config, runner_factory):
    return start_portal(pg_url, rabbit_config, runner_factory)


def send_portal_link(portal, customer_id, admin) -> str:
    """An agent sends the customer a portal link; the token, as the customer's e-mail would
    carry it (there is no notifier here: read from the event accounts emitted for it)."""
    import sqlalchemy as sa

    from services.common.db import normalize_url

    issued = portal("POST", f"/api/v1/ops/customers/{customer_id}/portal-link", admin).json()
    engine = sa.create_engine(normalize_url(portal.accounts_db))
    with engine.connect() as conn:
        payload = conn.execute(sa.text(
            "SELECT payload FROM outbox_messages WHERE event_type = 'portal_link_issued' "
            "ORDER BY id DESC LIMIT 1")).scalar()
    engine.dispose()
    event = payload if isinstance(payload, dict) else json.loads(payload)
    assert event["portal_link"]["id"] == issued["id"]
    return event["portal_link"]["url"].rsplit("/", 1)[1]


def error_of(response):
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "fields"} <= set(body["error"])
    return body["error"]


def test_sign_up_then_log_in_with_a_bearer_token(portal):
    account = portal.sign_up(email="Ann.Smith@Example.com", phone="+49 30 1234",
                             language="de")
    assert account["id"].startswith("cus_") and "password" not in portal("GET", "/health").text
    session = portal.login("ann.smith@example.com")
    assert {"token", "csrf_token", "expires_at", "account"} <= set(session)
    me = portal("GET", "/api/v1/me", session["token"])
    assert me.status_code == 200
    assert {k: me.json()[k] for k in ("id", "email", "phone", "language", "billing_type",
                                      "currency", "role")} == {
        "id": account["id"], "email": "Ann.Smith@Example.com", "phone": "+49 30 1234",
        "language": "de", "billing_type": "prepaid", "currency": "EUR", "role": "customer"}
    again = portal("POST", "/api/v1/accounts", json={
        "email": "ANN.SMITH@example.com", "password": PASSWORD, "name": "Other",
        "billing_type": "postpaid", "currency": "EUR"})
    assert again.status_code == 409 and error_of(again)["code"] == "EMAIL_TAKEN"


def test_cookie_sessions_need_the_csrf_header_for_writes(portal):
    account = portal.sign_up()
    browser = requests.Session()
    login = browser.post(portal.url + "/api/v1/auth/login",
                         json={"email": account["email"], "password": PASSWORD}, timeout=10)
    cookie = login.headers["Set-Cookie"]
    assert "portal_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert browser.get(portal.url + "/api/v1/me", timeout=10).status_code == 200
    refused = browser.patch(portal.url + "/api/v1/me", json={"name": "Evil"}, timeout=10)
    assert refused.status_code == 403 and error_of(refused)["code"] == "CSRF_FAILED"
    wrong = browser.patch(portal.url + "/api/v1/me", json={"name": "Evil"}, timeout=10,
                          headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    ok = browser.patch(portal.url + "/api/v1/me", json={"name": "Ann C"}, timeout=10,
                       headers={"X-CSRF-Token": browser.cookies["portal_csrf"]})
    assert ok.status_code == 200 and ok.json()["name"] == "Ann C"
    logout = browser.post(portal.url + "/api/v1/auth/logout", timeout=10,
                          headers={"X-CSRF-Token": login.json()["csrf_token"]})
    assert logout.status_code == 200
    assert browser.get(portal.url + "/api/v1/me", timeout=10).status_code == 401


def test_profile_and_contact_details_are_updated(portal):
    account, token = portal.customer()
    address = {"line1": "Hauptstraße 1", "line2": None, "city": "Berlin", "postal_code": "10115",
               "country": "DE"}
    response = portal("PATCH", "/api/v1/me", token, json={
        "name": "Ann B", "phone": "+49 30 999", "address": address, "language": "de"})
    assert response.status_code == 200, response.text
    me = portal("GET", "/api/v1/me", token).json()
    assert (me["name"], me["phone"], me["address"], me["language"]) == (
        "Ann B", "+49 30 999", address, "de")
    # a sign-in older than REAUTH_SECONDS: an e-mail change needs the password again
    portal.clock().advance(minutes=11)
    no_password = portal("PATCH", "/api/v1/me", token, json={"email": "new@example.com"})
    assert no_password.status_code == 400 and "current_password" in error_of(no_password)["fields"]
    changed = portal("PATCH", "/api/v1/me", token, json={"email": f"new-{account['id']}@ex.com",
                                                          "current_password": PASSWORD})
    assert changed.status_code == 200
    # the address is the account's once verified (tests/integration/test_strong_sign_in.py)
    assert changed.json()["pending_email"] == f"new-{account['id']}@ex.com"


def test_password_change_revokes_other_sessions(portal):
    account, token = portal.customer()
    other = portal.login(account["email"])["token"]
    response = portal("POST", "/api/v1/me/password", token, json={
        "current_password": PASSWORD, "new_password": "another long passphrase"})
    assert response.status_code == 200, response.text
    assert portal("GET", "/api/v1/me", token).status_code == 200
    assert portal("GET", "/api/v1/me", other).status_code == 401
    old = portal("POST", "/api/v1/auth/login", json={"email": account["email"],
                                                     "password": PASSWORD})
    assert old.status_code == 401
    portal.login(account["email"], "another long passphrase")
    weak = portal("POST", "/api/v1/me/password", token, json={
        "current_password": "another long passphrase", "new_password": "password1"})
    assert weak.status_code == 400 and "new_password" in error_of(weak)["fields"]


def test_logout_revokes_the_token(portal):
    _, token = portal.customer()
    assert portal("POST", "/api/v1/auth/logout", token).status_code == 200
    response = portal("GET", "/api/v1/me", token)
    assert response.status_code == 401 and error_of(response)["code"] == "NOT_AUTHENTICATED"


def test_staff_never_see_a_portal_link_only_where_it_went_and_until_when(portal):
    """The link opens a session with the customer's full rights: it goes to the customer by
    e-mail (tests/integration/test_notifications_flow.py follows it there), never to staff."""
    account, _ = portal.customer()
    admin = portal.login(*ADMIN)["token"]
    issued = portal("POST", f"/api/v1/ops/customers/{account['id']}/portal-link", admin)
    assert issued.status_code == 201, issued.text
    link = issued.json()
    assert set(link) == {"id", "sent_to", "expires_at"} and "portal-link" not in issued.text
    local, domain = account["email"].split("@")
    assert link["sent_to"] == f"{local[0]}…{local[-1]}@{domain}"
    revoked = portal("DELETE", f"/api/v1/ops/customers/{account['id']}/portal-link", admin)
    assert revoked.json() == {"revoked": 1}


def test_ops_find_and_view_customers_and_customers_are_kept_out(portal):
    account, token = portal.customer(name="Zed Zimmermann")
    admin = portal.login(*ADMIN)["token"]
    found = portal("GET", "/api/v1/ops/customers", admin, params={"q": "zimmermann"})
    assert found.status_code == 200 and [a["id"] for a in found.json()["data"]] == [account["id"]]
    assert found.json()["has_more"] is False
    by_id = portal("GET", f"/api/v1/ops/customers/{account['id']}", admin)
    assert by_id.status_code == 200 and by_id.json()["email"] == account["email"]
    missing = portal("GET", "/api/v1/ops/customers/cus_doesnotexist", admin)
    assert missing.status_code == 404

    for method, path in (("GET", "/api/v1/ops/customers"),
                         ("GET", f"/api/v1/ops/customers/{account['id']}"),
                         ("POST", f"/api/v1/ops/customers/{account['id']}/portal-link")):
        response = portal(method, path, token)
        assert response.status_code == 403 and error_of(response)["code"] == "FORBIDDEN"

    agent, agent_token = portal.customer()
    promoted = portal("PATCH", f"/api/v1/ops/customers/{agent['id']}", admin,
                      json={"role": "agent", "teams": ["noc"]})
    assert promoted.status_code == 200 and promoted.json()["teams"] == ["noc"]
    assert portal("GET", "/api/v1/ops/customers", agent_token).status_code == 200
    assert portal("PATCH", f"/api/v1/ops/customers/{account['id']}", agent_token,
                  json={"role": "admin"}).status_code == 403


def test_ops_find_customers_pages_through_every_match_once_newest_first(portal):
    clock = portal.clock()
    tag = uuid.uuid4().hex[:10]
    made = []
    for n in range(5):
        clock.advance(seconds=1)  # customers are listed by when they signed up
        made.append(portal.sign_up(name=f"Pager {tag} {n}")["id"])
    admin = portal.login(*ADMIN)["token"]
    found, cursor = [], None
    while True:
        page = portal("GET", "/api/v1/ops/customers", admin,
                      params={"q": tag, "limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        page = page.json()
        assert len(page["data"]) <= 2
        found += [a["id"] for a in page["data"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert found == made[::-1]  # each once, newest first
    for bad in ("%%", "12", "x" * 201, "eyJ4Ijox"):  # not base64url, not JSON, too long, cut
        refused = portal("GET", "/api/v1/ops/customers", admin, params={"cursor": bad})
        assert refused.status_code == 400, (bad, refused.text)
        assert "cursor" in error_of(refused)["fields"]


BAD_BODIES = [
    ("malformed JSON", '{"email": ', "application/json", "MALFORMED_JSON", "body"),
    ("not an object", "[1, 2]", "application/json", "MALFORMED_JSON", "body"),
    ("wrong content type", '{"email": "a@b.c"}', "text/plain", "UNSUPPORTED_CONTENT_TYPE",
     "content_type"),
    ("missing fields", '{"email": "a@example.com"}', "application/json", "VALIDATION_FAILED",
     "password"),
    ("wrong types", '{"email": 5, "password": [], "name": {}, "billing_type": "prepaid", '
     '"currency": "EUR"}', "application/json", "VALIDATION_FAILED", "email"),
    ("unknown field", '{"email": "a@example.com", "password": "a long enough passphrase", '
     '"name": "A", "billing_type": "prepaid", "currency": "EUR", "is_admin": true}',
     "application/json", "VALIDATION_FAILED", "is_admin"),
    ("100 KB string", '{"email": "a@example.com", "password": "a long enough passphrase", '
     '"name": "' + "x" * 100_000 + '", "billing_type": "prepaid", "currency": "EUR"}',
     "application/json", "VALIDATION_FAILED", "name"),
    ("bad enum and currency", '{"email": "a@example.com", "password": "a long passphrase!", '
     '"name": "A", "billing_type": "gold", "currency": "EURO"}', "application/json",
     "VALIDATION_FAILED", "currency"),
    ("NaN", '{"email": NaN}', "application/json", "MALFORMED_JSON", "body"),
]


@pytest.mark.parametrize(("what", "body", "content_type", "code", "field"), BAD_BODIES,
                         ids=[b[0] for b in BAD_BODIES])
def test_bad_input_is_a_400_with_fields(portal, what, body, content_type, code, field):
    response = portal("POST", "/api/v1/accounts", data=body.encode(),
                      headers={"Content-Type": content_type})
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error["code"] == code and field in error["fields"]


def test_bad_input_on_authenticated_routes_and_huge_bodies(portal):
    _, token = portal.customer()
    nested = portal("PATCH", "/api/v1/me", token, json={"address": {"city": "x" * 5000}})
    assert nested.status_code == 400
    assert {"address.city", "address.line1", "address.country"} <= set(error_of(nested)["fields"])
    huge = portal("PATCH", "/api/v1/me", token, data=b'{"name": "' + b"x" * 2_000_000 + b'"}',
                  headers={"Content-Type": "application/json"})
    assert huge.status_code == 413 and error_of(huge)["code"] == "PAYLOAD_TOO_LARGE"
    admin = portal.login(*ADMIN)["token"]
    for params, field in (({"limit": "many"}, "limit"), ({"limit": "1000"}, "limit"),
                          ({"sort": "name"}, "sort"), ({"cursor": "%%%"}, "cursor")):
        page = portal("GET", "/api/v1/ops/customers", admin, params=params)
        assert page.status_code == 400 and field in error_of(page)["fields"], params


def test_missing_garbage_expired_and_revoked_tokens_are_401(portal):
    account, token = portal.customer()
    assert portal("GET", "/api/v1/me").status_code == 401
    assert portal("GET", "/api/v1/me", "x" * 43).status_code == 401
    bad_header = portal("GET", "/api/v1/me", headers={"Authorization": "Basic abc"})
    assert bad_header.status_code == 401

    clock = portal.clock()
    fresh = portal.login(account["email"])["token"]
    clock.advance(minutes=31)  # idle timeout is 30 minutes
    expired = portal("GET", "/api/v1/me", fresh)
    assert expired.status_code == 401 and error_of(expired)["code"] == "SESSION_EXPIRED"


def test_repeated_wrong_passwords_are_throttled_with_retry_after(portal):
    account = portal.sign_up()
    codes = [portal("POST", "/api/v1/auth/login", json={"email": account["email"],
                                                        "password": "wrong guess!"}).status_code
             for _ in range(6)]
    assert codes == [401] * 5 + [429]
    blocked = portal("POST", "/api/v1/auth/login", json={"email": account["email"],
                                                         "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    assert error_of(blocked)["code"] == "RATE_LIMITED"


def test_unknown_paths_and_methods_answer_json(portal):
    assert error_of(portal("GET", "/api/v1/nothing-here"))["code"] == "NOT_FOUND"
    not_allowed = portal("DELETE", "/api/v1/accounts")
    assert not_allowed.status_code == 405 and error_of(not_allowed)["code"] == "METHOD_NOT_ALLOWED"


def test_health_ready_metrics_and_degradation_when_accounts_stops(portal):
    assert portal("GET", "/health").json() == {"status": "ok"}
    ready = portal("GET", "/ready")  # this test runs accounts alone: /ready names the others
    assert ready.status_code == 503
    assert ready.json()["services"] == {"accounts": "ok", "catalog": "unavailable",
                                        "billing": "unavailable", "vouchers": "unavailable",
                                        "tickets": "unavailable", "notifier": "unavailable",
                                        "insights": "unavailable"}
    portal.sign_up()
    metrics = portal("GET", "/metrics").text
    assert 'portal_http_requests_total{method="POST",route="signup",status="201"}' in metrics
    assert 'portal_rpc_duration_seconds_count{method="register",outcome="ok",service="accounts"}' \
        in metrics

    _, token = portal.customer()
    get_container(portal.runner, AccountsService).stop()
    started = time.monotonic()
    down = portal("GET", "/api/v1/me", token)
    assert down.status_code == 503 and error_of(down)["code"] == "SERVICE_UNAVAILABLE"
    assert time.monotonic() - started < 5  # a deadline: RPC_TIMEOUT_SECONDS (1.5), not a hang
    not_ready = portal("GET", "/ready")
    assert not_ready.status_code == 503 and not_ready.json()["services"]["accounts"] != "ok"


def test_a_portal_link_exchanged_concurrently_opens_exactly_one_session(portal):
    import eventlet

    account, _ = portal.customer()
    admin = portal.login(*ADMIN)["token"]
    link = send_portal_link(portal, account["id"], admin)
    pool = eventlet.GreenPool(10)
    codes = list(pool.imap(
        lambda _: portal("POST", f"/api/v1/auth/portal-link/{link}").status_code,
        range(10)))
    assert sorted(codes) == [200] + [401] * 9


def test_cross_site_writes_are_refused(portal):
    account, token = portal.customer()
    admin = portal.login(*ADMIN)["token"]
    link = send_portal_link(portal, account["id"], admin)
    forged = portal("POST", f"/api/v1/auth/portal-link/{link}",
                    headers={"Sec-Fetch-Site": "cross-site"})  # a form on another site
    assert forged.status_code == 403 and error_of(forged)["code"] == "CROSS_SITE_REQUEST"
    same = portal("POST", f"/api/v1/auth/portal-link/{link}",
                  headers={"Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 200


PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
         "like Gecko) Version/18.1 Mobile/15E148 Safari/604.1")
LAPTOP = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/156.0.8078.73 Safari/537.36")


def test_my_sessions_name_their_devices_and_end_one_or_all_others(portal):
    account = portal.sign_up()

    def sign_in(user_agent):
        response = portal("POST", "/api/v1/auth/login", headers={"User-Agent": user_agent},
                          json={"email": account["email"], "password": PASSWORD})
        assert response.status_code == 200, response.text
        return response.json()["token"]

    laptop, phone, tablet = sign_in(LAPTOP), sign_in(PHONE), sign_in("curl/8.1.0")
    listed = portal("GET", "/api/v1/me/sessions", laptop).json()
    assert listed["has_more"] is False and len(listed["data"]) == 3
    assert [s["device"] for s in listed["data"]] == [
        {"browser": "curl 8", "os": None}, {"browser": "Safari 18", "os": "iOS"},
        {"browser": "Chrome 156", "os": "Linux"}]  # newest first
    assert [s["current"] for s in listed["data"]] == [False, False, True]
    assert {s["method"] for s in listed["data"]} == {"password"}
    assert all(s["client_ip"] == "127.0.0.1" for s in listed["data"])
    phone_id = listed["data"][1]["id"]

    # another customer cannot see or end them: their ids are not found
    _, stranger = portal.customer()
    assert [s["current"] for s in portal("GET", "/api/v1/me/sessions", stranger).json()[
        "data"]] == [True]
    refused = portal("DELETE", f"/api/v1/me/sessions/{phone_id}", stranger)
    assert refused.status_code == 404 and error_of(refused)["code"] == "SESSION_NOT_FOUND"
    assert portal("GET", "/api/v1/me", phone).status_code == 200

    # the session in use is not ended here (that is logging out)
    current = listed["data"][2]["id"]
    refused = portal("DELETE", f"/api/v1/me/sessions/{current}", laptop)
    assert refused.status_code == 409 and error_of(refused)["code"] == "SESSION_IS_CURRENT"

    # the phone is signed out, at once
    assert portal("DELETE", f"/api/v1/me/sessions/{phone_id}", laptop).status_code == 204
    assert portal("GET", "/api/v1/me", phone).status_code == 401
    again = portal("DELETE", f"/api/v1/me/sessions/{phone_id}", laptop)
    assert again.status_code == 404

    # everywhere else: the last other one ends, this one stays
    ended = portal("POST", "/api/v1/me/sessions/sign-out-others", laptop, json={})
    assert ended.status_code == 200 and ended.json() == {"revoked": 1}
    assert portal("GET", "/api/v1/me", tablet).status_code == 401
    assert portal("GET", "/api/v1/me", laptop).status_code == 200
    assert [s["id"] for s in portal("GET", "/api/v1/me/sessions", laptop).json()["data"]] == [
        current]
    assert portal("POST", "/api/v1/me/sessions/sign-out-others", laptop, json={}).json() == {
        "revoked": 0}
    # the customer's own audit trail records it
    import sqlalchemy as sa

    from services.common.db import normalize_url

    engine = sa.create_engine(normalize_url(portal.accounts_db))
    with engine.connect() as conn:
        actions = conn.execute(sa.text(
            "SELECT action FROM audit_log WHERE actor_id = :id ORDER BY seq"),
            {"id": account["id"]}).scalars().all()
    engine.dispose()
    assert actions.count("sessions.signed_out") == 2


def test_an_idle_session_is_not_listed(portal):
    account, token = portal.customer()
    assert len(portal("GET", "/api/v1/me/sessions", token).json()["data"]) == 1
    portal.clock().advance(minutes=31)  # idle timeout is 30 minutes
    fresh = portal.login(account["email"])["token"]
    assert [s["current"] for s in portal("GET", "/api/v1/me/sessions", fresh).json()[
        "data"]] == [True]
    assert portal("POST", "/api/v1/me/sessions/sign-out-others", fresh, json={}).json() == {
        "revoked": 0}  # nothing active to end
