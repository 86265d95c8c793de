"""HTTPS-dependent transport security through the real gateway and accounts service: when
PUBLIC_URL is https, session cookies are Secure and every answer (API, static page, error) carries
Strict-Transport-Security; on a plain-http portal (`make run`) neither."""

import uuid

import pytest
import requests

from gateway.service import GatewayService
from services.accounts.service import AccountsService
from tests.stack import free_port

PASSWORD = "a long enough passphrase"


@pytest.fixture
def start_gateway(pg_url, rabbit_config, runner_factory):
    def start(public_url: str, **settings) -> str:
        port = free_port()
        config = {**rabbit_config, "DATABASE_URLS": {"accounts": pg_url},
                  "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}", "PUBLIC_URL": public_url,
                  **settings}
        runner_factory(config, AccountsService, GatewayService).start()
        return f"http://127.0.0.1:{port}"
    return start


def log_in(url: str) -> requests.Response:
    email = f"{uuid.uuid4().hex[:8]}@example.com"
    signed = requests.post(url + "/api/v1/accounts", timeout=15, json={
        "email": email, "password": PASSWORD, "name": "Ann", "billing_type": "prepaid",
        "currency": "EUR"})
    assert signed.status_code == 201, signed.text
    login = requests.post(url + "/api/v1/auth/login", timeout=15,
                          json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return login


def set_cookies(response: requests.Response) -> list[str]:
    return response.raw.headers.getlist("Set-Cookie")


def other_answers(url: str, token: str) -> list[requests.Response]:
    """An answer of each kind: API, authenticated API, static page, unknown path, error."""
    return [requests.get(url + "/health", timeout=15),
            requests.get(url + "/api/v1/me", timeout=15,
                         headers={"Authorization": f"Bearer {token}"}),
            requests.get(url + "/", timeout=15),
            requests.get(url + "/api/v1/no-such-thing", timeout=15),
            requests.get(url + "/api/v1/me", timeout=15)]


def test_an_https_portal_sends_secure_cookies_and_hsts_on_every_answer(start_gateway):
    url = start_gateway("https://portal.example.com")
    login = log_in(url)
    cookies = set_cookies(login)
    assert len(cookies) == 2 and all("; Secure" in cookie for cookie in cookies), cookies
    logout = requests.post(url + "/api/v1/auth/logout", timeout=15,
                           headers={"Authorization": f"Bearer {login.json()['token']}"})
    assert all("; Secure" in cookie for cookie in set_cookies(logout))
    answers = [login, logout, *other_answers(url, log_in(url).json()["token"])]
    assert [a.status_code for a in answers[2:]] == [200, 200, 200, 404, 401]
    for answer in answers:
        assert answer.headers.get("Strict-Transport-Security") == "max-age=31536000", \
            (answer.url, dict(answer.headers))


def test_a_plain_http_portal_sends_neither(start_gateway):
    url = start_gateway("http://127.0.0.1:8000")
    login = log_in(url)
    assert set_cookies(login) and not any("Secure" in c for c in set_cookies(login))
    for answer in [login, *other_answers(url, login.json()["token"])]:
        assert "Strict-Transport-Security" not in answer.headers, answer.url


def test_an_operator_can_set_both_explicitly(start_gateway):
    url = start_gateway("https://portal.example.com", COOKIE_SECURE="false",
                        HSTS_SECONDS="600")
    login = log_in(url)
    assert not any("Secure" in c for c in set_cookies(login))
    assert login.headers["Strict-Transport-Security"] == "max-age=600"
