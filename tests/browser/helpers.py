"""Set-up shared by the browser tests: pages in fresh browser contexts that fail the test on a
JavaScript error (and on a console error or a card number in the console), the API as one user
sees it, new accounts made by API, and small checks in the browser."""

import datetime as dt
import pathlib
import re

import requests
from playwright.sync_api import expect

from tests.browser.test_portal import (
    PASSWORD,
    TIMEOUT_MS,
    UNLABELLED_CONTROLS_JS,
    log_in,
    unique_email,
)

EXP_YEAR = dt.date.today().year + 1
CARD_NUMBER_RE = re.compile(r"\d{4}\s?\d{4}\s?\d{4}\s?\d{4}")


def page_factory(pw_browser, *, downloads=False, clipboard=False, console_errors=True,
                 card_numbers=True):
    """The body of a `make_page` fixture (`yield from page_factory(...)`): a factory for a page
    in a fresh browser context (own cookies), English UI; `make(clock=True)` installs
    Playwright's clock. With `downloads`, downloads are accepted; with `clipboard`, the clipboard
    may be read and written. After the test, it fails on a JavaScript error in the page, on a
    console error other than a failed resource load (expected API refusals show as those) unless
    `console_errors=False`, and on something like a card number in the console unless
    `card_numbers=False`."""
    contexts = []
    errors = []
    console = []

    def _make(width=1280, height=900, clock=False):
        options = {"accept_downloads": True} if downloads else {}
        context = pw_browser.new_context(
            viewport={"width": width, "height": height}, locale="en-US", **options
        )
        if clipboard:
            context.grant_permissions(["clipboard-read", "clipboard-write"])
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        if clock:
            page.clock.install()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: console.append((msg.type, msg.text)))
        return page

    yield _make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"
    if console_errors:
        unexpected = [text for kind, text in console
                      if kind == "error" and "Failed to load resource" not in text]
        assert not unexpected, f"console errors: {unexpected}"
    if card_numbers:
        digits = [text for _, text in console if CARD_NUMBER_RE.search(text)]
        assert not digits, f"something like a card number in the console: {digits}"


# --- set-up through the API ------------------------------------------------------------------

class Client:
    """The API as one user sees it: a bearer token and no cookies (so no CSRF token needed)."""

    def __init__(self, base, email, password):
        self.base = base
        answer = requests.post(f"{base}/api/v1/auth/login", timeout=10,
                               json={"email": email, "password": password})
        assert answer.status_code == 200, answer.text
        self.headers = {"Authorization": f"Bearer {answer.json()['token']}"}

    def call(self, method, path, status=200, headers=None, **kwargs):
        answer = requests.request(method, f"{self.base}{path}", timeout=15,
                                  headers={**self.headers, **(headers or {})}, **kwargs)
        assert answer.status_code == status, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json() if answer.content else None


def add_card(client, number, holder):
    return client.call("POST", "/api/v1/me/payment-methods", 201, json={
        "number": number, "exp_month": 12, "exp_year": EXP_YEAR, "cvc": "123", "holder": holder})


def new_account(base, name, billing="prepaid", currency="EUR", language="en"):
    """Sign up a new customer by API; their email and API client."""
    email = unique_email()
    answer = requests.post(f"{base}/api/v1/accounts", timeout=10, json={
        "email": email, "password": PASSWORD, "name": name, "billing_type": billing,
        "currency": currency, "language": language})
    assert answer.status_code == 201, answer.text
    return email, Client(base, email, PASSWORD)


def first_answer_lost(keys):
    """A route handler that records each request's Idempotency-Key in `keys` and loses the
    first answer on the way back (the server did the work; the page sees a network error)."""

    def lose_the_first_answer(route):
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            route.fetch()
            route.abort()
        else:
            route.continue_()

    return lose_the_first_answer


# --- in the browser --------------------------------------------------------------------------

def log_in_as(page, base, who):
    """Log in as a customer made by API ({email, name}, maybe a password) and see the greeting."""
    log_in(page, base, who["email"], who.get("password", PASSWORD))
    expect(page.get_by_test_id("dashboard-greeting")).to_contain_text(who["name"])


def downloaded(page, link):
    """Click a download link; the file's bytes and its suggested name."""
    with page.expect_download() as info:
        link.click()
    download = info.value
    return pathlib.Path(download.path()).read_bytes(), download.suggested_filename


def no_horizontal_scroll(page, width, where):
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"{where} is {scroll_width}px wide at {width}px"


def all_labelled(page, minimum, where):
    result = page.evaluate(UNLABELLED_CONTROLS_JS)
    assert result["count"] >= minimum, f"{where}: {result}"
    assert not result["missing"], f"{where}: controls without a label: {result['missing']}"
