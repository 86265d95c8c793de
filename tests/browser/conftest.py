"""The browser tier runs in its own pytest process (Playwright hangs under eventlet), against
the whole system started as `make run` starts it. Its services read their clock's offset from a
file (TEST_CLOCK_OFFSET_FILE), so tests can move their time forward (`advance_clock`). Every
page a test makes is checked with axe-core (tests/browser/helpers.py, "Accessibility"); the
session's summary says how many scans that took and how long."""

import datetime as dt
import os
import pathlib

import pytest
from playwright.sync_api import sync_playwright

from tests.browser.helpers import AXE_TALLY, page_factory
from tests.browser.test_portal import CHROMIUM_ARGS
from tests.stack import Stack


@pytest.fixture(scope="session")
def clock_offset_file(tmp_path_factory):
    """Seconds the services' clock is ahead of real time; they re-read it when it changes."""
    path = tmp_path_factory.mktemp("clock") / "offset-seconds"
    path.write_text("0")
    return path


@pytest.fixture(scope="session")
def portal_url(tmp_path_factory, clock_offset_file):
    stack = Stack(tmp_path_factory.mktemp("browser-stack"),
                  {"TEST_CLOCK_OFFSET_FILE": str(clock_offset_file)}).start()
    yield stack.url
    stack.stop()


@pytest.fixture
def advance_clock(portal_url, clock_offset_file):
    """advance_clock(days=1) moves the services' clock forward and returns their new date.

    Only ever forward, and it stays moved for the rest of the session: a billing run exists once
    per date. Sessions expire by that clock, so log in after moving it."""

    def _advance(days=1):
        seconds = float(clock_offset_file.read_text() or 0) + days * 86400
        clock_offset_file.write_text(str(seconds))
        return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).date()

    return _advance


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
    yield from page_factory(pw_browser, console_errors=False, card_numbers=False)


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_sep("-", "accessibility")
    terminalreporter.write_line(AXE_TALLY.summary())
    if os.environ.get("A11Y_SCAN_LOG"):  # each scan's route, width, language and time
        pathlib.Path(os.environ["A11Y_SCAN_LOG"]).write_text("".join(
            f"{where}\t{width}\t{lang}\t{seconds:.3f}\n"
            for where, width, lang, seconds in AXE_TALLY.log))
