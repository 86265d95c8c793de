"""Set-up shared by the browser tests: pages in fresh browser contexts that fail the test on a
JavaScript error (and on a console error or a card number in the console) and on an
accessibility violation (axe-core, see "Accessibility" below), the API as one user sees it, new
accounts made by API, and small checks in the browser."""

import datetime as dt
import functools
import pathlib
import re
import time

import pytest
import requests
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect

from tests.browser.test_portal import (
    PASSWORD,
    TIMEOUT_MS,
    UNLABELLED_CONTROLS_JS,
    log_in,
    unique_email,
)

EXP_YEAR = dt.date.today().year + 1
CARD_NUMBER_RE = re.compile(r"\d{4}\s?\d{4}\s?\d{4}\s?\d{4}")


# --- Accessibility ---------------------------------------------------------------------------
#
# Every page made by `page_factory` is checked with axe-core (node_modules/axe-core, installed
# by scripts/setup.sh's `npm ci`) against WCAG 2.2 AA, without a test asking for it: before
# each action a test takes on the page (a click, a fill, a key press on an element, a
# navigation…; a run of typing into a form once) its current state is scanned, and once more at
# the end of the test. A state is scanned only when it has a part not scanned before in this
# session: the page's frame or one of its components (a section, form, row, list item…), each
# by route (ids left out), layout (the media queries the width matches), language, its
# ancestors' classes and its structure: the elements with their classes, roles, states and
# attributes (ids, text and numbers left out; whether each ARIA or label reference resolves
# kept), alike siblings counted once (tests/browser/a11y_probe.js). A page still rendering
# (`main[aria-busy]`, a form being sent) is left for the next check. Each violation fails the
# test with its rule, impact, targets and the page's route.

ROOT = pathlib.Path(__file__).resolve().parents[2]
AXE_PATH = ROOT / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Experimental rules are off unless named: an aria-label starts with the visible text (2.5.3).
AXE_EXTRA_RULES = ["label-content-name-mismatch"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": AXE_TAGS},
               "rules": {rule: {"enabled": True} for rule in AXE_EXTRA_RULES},
               "resultTypes": ["violations"]}

A11Y_PROBE_PATH = pathlib.Path(__file__).with_name("a11y_probe.js")

AXE_RUN_JS = """
async ([options, parts]) => {
  // the whole document, or only the new parts of a state (a11y_probe.js)
  const context = parts && window.__a11yContext ? window.__a11yContext(parts) : document;
  // evaluate() has no timeout of its own: a scan that never ends fails instead of hanging
  const result = await Promise.race([window.axe.run(context, options), new Promise(
    (_, reject) => setTimeout(() => reject(new Error('axe-core did not finish in 30 s')), 30000))]);
  return {
    where: location.href.slice(location.origin.length),
    width: innerWidth,
    lang: document.documentElement.lang,
    violations: result.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
    })),
  };
}
"""


class AxeTally:
    """The session's scans: states seen (their fingerprints), scans run and the time they took."""

    def __init__(self):
        self.seen = set()
        self.checks = 0
        self.new_states = 0  # scans the automatic check made (the rest: tests asked for them)
        self.scans = 0
        self.check_seconds = 0.0
        self.axe_seconds = 0.0
        self.log = []  # (route, width, language, seconds) of each scan, for A11Y_SCAN_LOG

    def summary(self):
        return (f"axe-core: {self.scans} scans, {self.axe_seconds:.1f} s; the automatic check "
                f"scanned {self.new_states} new states of {self.checks} it looked at, "
                f"{self.check_seconds:.1f} s telling whether a state was new")


AXE_TALLY = AxeTally()


@functools.cache
def _axe_source_text():
    return AXE_PATH.read_text()


def axe_source():
    """axe-core's script; the test fails (never skips) when set-up did not install it."""
    if not AXE_PATH.is_file():
        pytest.fail(f"axe-core is missing: {AXE_PATH} does not exist. The browser tier checks "
                    "accessibility with it; install the front-end tools with scripts/setup.sh "
                    "(npm ci, from package.json).", pytrace=False)
    return _axe_source_text()


def axe_scan(page, parts=None):
    """Run axe on the page as it is now (the whole document, or the parts of its last state
    described whose fingerprints are `parts`): {where, width, lang, violations}. Loads axe into
    the document first when it has not got it (through the DevTools protocol, as the portal's
    Content-Security-Policy allows no inline script)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source() + "\n;0")
    started = time.monotonic()
    result = page.evaluate(AXE_RUN_JS, [AXE_OPTIONS, sorted(parts) if parts else None])
    seconds = time.monotonic() - started
    AXE_TALLY.axe_seconds += seconds
    AXE_TALLY.scans += 1
    AXE_TALLY.log.append((result["where"], result["width"], result["lang"], seconds))
    return result


def axe_violation_lines(result):
    """One line per violation: rule, impact, where, the elements and what is wrong."""
    lines = []
    for v in result["violations"]:
        targets = "; ".join(node["target"] for node in v["nodes"][:8])
        more = f" (+{len(v['nodes']) - 8} more)" if len(v["nodes"]) > 8 else ""
        first = (v["nodes"][0]["summary"] or "").replace("\n", " ") if v["nodes"] else ""
        lines.append(f"{v['id']} ({v['impact']}) at {result['where']} [{result['width']}px, "
                     f"{result['lang']}]: {targets}{more}: {v['help']}. {first}")
    return lines


class AxeWatch:
    """The accessibility check of the pages of one `page_factory`: `check(page)` scans the
    page's state unless it is rendering or like one scanned before; `lines` are the
    violations found."""

    def __init__(self):
        self.lines = []

    def check(self, page):
        if page.is_closed():
            return
        started = time.monotonic()
        try:
            state = page.evaluate("() => window.__a11yState ? window.__a11yState() : null")
        except PlaywrightError:
            return  # the document is being replaced (a navigation): the next check sees it
        finally:
            AXE_TALLY.check_seconds += time.monotonic() - started
        AXE_TALLY.checks += 1
        if state is None:
            return
        new = set(state["parts"]) - AXE_TALLY.seen
        if not new:
            return
        AXE_TALLY.seen.update(new)
        AXE_TALLY.new_states += 1
        try:
            result = axe_scan(page, new)
        except PlaywrightError as exc:
            if "context was destroyed" in str(exc) or "closed" in str(exc):
                AXE_TALLY.seen.difference_update(new)
                AXE_TALLY.new_states -= 1
                return
            self.lines.append(f"axe could not run on {page.url}: {exc}")
            return
        self.lines.extend(axe_violation_lines(result))


_WATCHED = {}  # a checked page's implementation object → its AxeWatch


def _page_of(target):
    return target if isinstance(target, Page) else target.page


# Typing into a form: after the first of a run of these on a page, the state is the same but
# for the values typed (which the fingerprint leaves out), so the run is checked once.
TYPING = {"fill", "clear", "type", "press_sequentially", "focus", "select_option", "check",
          "uncheck", "set_checked", "set_input_files"}
_TYPING_ON = set()  # the pages whose last action was typing


def _checked_before(method):
    """`method` of a Page or Locator, first checking the page's state (when it is watched)."""
    typing = method.__name__ in TYPING

    @functools.wraps(method)
    def checked(self, *args, **kwargs):
        page = _page_of(self)
        key = page._impl_obj
        watch = _WATCHED.get(key)
        if watch is not None and not (typing and key in _TYPING_ON):
            watch.check(page)
        if watch is not None:
            if typing:
                _TYPING_ON.add(key)
            else:
                _TYPING_ON.discard(key)
        return method(self, *args, **kwargs)

    checked.__a11y_checked__ = True
    return checked


ACTIONS = {
    Locator: ("click", "dblclick", "tap", "fill", "clear", "type", "press", "press_sequentially",
              "check", "uncheck", "set_checked", "select_option", "set_input_files", "focus",
              "dispatch_event"),
    Page: ("goto", "reload", "go_back", "go_forward", "close", "click", "fill", "press", "check",
           "select_option"),
}


def _watch_actions():
    for cls, names in ACTIONS.items():
        for name in names:
            method = getattr(cls, name)
            if not getattr(method, "__a11y_checked__", False):
                setattr(cls, name, _checked_before(method))


_watch_actions()


def page_factory(pw_browser, *, downloads=False, clipboard=False, console_errors=True,
                 card_numbers=True):
    """The body of a `make_page` fixture (`yield from page_factory(...)`): a factory for a page
    in a fresh browser context (own cookies), English UI; `make(clock=True)` installs
    Playwright's clock. With `downloads`, downloads are accepted; with `clipboard`, the clipboard
    may be read and written. After the test, it fails on a JavaScript error in the page, on a
    console error other than a failed resource load (expected API refusals show as those) unless
    `console_errors=False`, on something like a card number in the console unless
    `card_numbers=False`, and on an accessibility violation in any state of its pages that
    the test acted in or ended in (see "Accessibility" above)."""
    contexts = []
    errors = []
    console = []
    watch = AxeWatch()
    pages = []

    def _make(width=1280, height=900, clock=False):
        options = {"accept_downloads": True} if downloads else {}
        context = pw_browser.new_context(
            viewport={"width": width, "height": height}, locale="en-US", **options
        )
        if clipboard:
            context.grant_permissions(["clipboard-read", "clipboard-write"])
        context.set_default_timeout(TIMEOUT_MS)
        axe_source()  # fails the test at once when axe-core is not installed
        context.add_init_script(path=A11Y_PROBE_PATH)
        contexts.append(context)
        page = context.new_page()
        _WATCHED[page._impl_obj] = watch
        pages.append(page)
        if clock:
            page.clock.install()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: console.append((msg.type, msg.text)))
        return page

    try:
        yield _make
        for page in pages:  # the states the test ended in
            watch.check(page)
    finally:
        for page in pages:
            _WATCHED.pop(page._impl_obj, None)
            _TYPING_ON.discard(page._impl_obj)
        for context in contexts:
            context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"
    assert not watch.lines, "accessibility violations (axe-core, WCAG 2.2 AA):\n" + "\n".join(
        watch.lines)
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
