"""The browser tier runs in its own pytest process (Playwright hangs under eventlet), against
the whole system started as `make run` starts it."""

import pytest
from playwright.sync_api import sync_playwright

from tests.browser.test_portal import CHROMIUM_ARGS, TIMEOUT_MS
from tests.stack import Stack


@pytest.fixture(scope="session")
def portal_url(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("browser-stack")).start()
    yield stack.url
    stack.stop()


@pytest.fixture(scope="session")
def pw_browser():
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def make_page(pw_browser):
    """Factory for a page in a fresh browser context (own cookies), English UI."""
    contexts = []
    errors = []

    def _make(width=1280, height=900):
        context = pw_browser.new_context(
            viewport={"width": width, "height": height}, locale="en-US"
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield _make
    for context in contexts:
        context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"
