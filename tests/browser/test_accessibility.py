"""Accessibility of the portal's main pages, to the letter: axe-core (installed by set-up from
package.json) finds no violation of WCAG 2.2 AA (wcag2a, wcag2aa, wcag21a, wcag21aa, wcag22aa,
and the experimental label-content-name-mismatch) on the login and sign-up pages, a prepaid
customer's dashboard, services, wallet, vouchers, support, inbox and settings, a postpaid
customer's bills, and the staff pages of an admin, at desktop and phone widths, in English and
German.

Every browser test is checked like this already, without asking (tests/browser/helpers.py,
"Accessibility"), but there alike states are scanned once a session; here each page is scanned
every time, so this file fails whenever a violation comes back on one of them. The last tests
show that the check itself sees violations and that a missing axe-core fails the tier."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser import helpers
from tests.browser.helpers import (
    AXE_OPTIONS,
    PASSWORD,
    Client,
    add_card,
    axe_scan,
    axe_violation_lines,
    new_account,
    page_factory,
)
from tests.browser.test_bills import ADMIN

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
CUSTOMER_PAGES = ["dashboard", "subscriptions", "wallet", "vouchers", "support", "notifications",
                  "settings"]
STAFF_PAGES = {"ops/support": "page-ops-support", "ops/vouchers": "page-ops-vouchers",
               "ops/governance": "page-ops-governance"}


@pytest.fixture
def make_page(pw_browser):
    yield from page_factory(pw_browser)


def no_violations(page, where):
    """Scan the page as it is now (never skipped as "seen before") and fail on any violation."""
    result = axe_scan(page)
    lines = axe_violation_lines(result)
    assert not lines, f"{where}: accessibility violations:\n" + "\n".join(lines)
    return result


def open_page(page, base, route, testid):
    page.goto(f"{base}/#/{route}")
    expect(page.get_by_test_id(testid)).to_be_visible()
    expect(page.locator("main#main")).not_to_have_attribute("aria-busy", "true")


def log_in(page, base, email):
    """Log in through the form, in whatever language it is shown."""
    page.goto(f"{base}/#/login")
    form = page.get_by_test_id("login-form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("input[name=password]").press("Enter")
    expect(page.get_by_test_id("nav")).to_be_visible()


def log_out(page, base):
    """A fresh start without the session (the Log out button may be in the phone's menu)."""
    page.context.clear_cookies()
    page.goto("about:blank")
    open_page(page, base, "login", "page-login")


def staff_admin(base, name, language):
    """A new account an admin made an admin (so every staff page is there to check)."""
    email, client = new_account(base, name, language=language)
    me = client.call("GET", "/api/v1/me")
    Client(base, *ADMIN).call("PATCH", f"/api/v1/ops/customers/{me['id']}",
                              json={"role": "admin"})
    return email


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("size", list(SIZES))
def test_the_main_pages_have_no_accessibility_violations(make_page, portal_url, size, language):
    width, height = SIZES[size]
    where = f"{size} ({width}px), {language}"
    page = make_page(width=width, height=height)

    # Before logging in: the language is the visitor's choice.
    open_page(page, portal_url, "login", "page-login")
    if language != "en":
        page.get_by_test_id(f"language-{language}").click()
        expect(page.locator("html")).to_have_attribute("lang", language)
    no_violations(page, f"login, {where}")
    open_page(page, portal_url, "signup", "page-signup")
    expect(page.locator("html")).to_have_attribute("lang", language)
    no_violations(page, f"signup, {where}")

    # A prepaid customer with two cards (the second can be made the default or removed).
    email, client = new_account(portal_url, "Alma Access", language=language)
    add_card(client, "4242 4242 4242 4242", "Alma Access")
    add_card(client, "5555 5555 5555 4444", "Alma Access")
    log_in(page, portal_url, email)
    expect(page.get_by_test_id("page-dashboard")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", language)
    for route in CUSTOMER_PAGES:
        open_page(page, portal_url, route, f"page-{route}")
        no_violations(page, f"{route}, {where}")
    if page.get_by_test_id("settings-sections").is_visible():  # a phone: a section at a time
        for name in ("password", "notifications", "cards"):
            page.get_by_test_id(f"settings-section-{name}").click()
            expect(page.get_by_test_id(f"settings-section-{name}")).to_have_attribute(
                "aria-current", "true")
            no_violations(page, f"settings, {name} section, {where}")
    # the sandbox provider's test cards are offered on the card form, and open cleanly
    test_cards = page.get_by_test_id("test-cards")
    expect(test_cards).to_be_visible()
    test_cards.locator("summary").click()
    expect(test_cards).to_contain_text("4242 4242 4242 4242")
    no_violations(page, f"settings with the test cards open, {where}")
    if size == "phone":
        page.get_by_test_id("nav-toggle").click()
        expect(page.get_by_test_id("nav-toggle")).to_have_attribute("aria-expanded", "true")
        no_violations(page, f"the phone's open menu, {where}")
    log_out(page, portal_url)

    # A postpaid customer's bills.
    email, _ = new_account(portal_url, "Bert Bills", billing="postpaid", language=language)
    log_in(page, portal_url, email)
    open_page(page, portal_url, "bills", "page-bills")
    no_violations(page, f"bills, {where}")
    log_out(page, portal_url)

    # Staff pages, as an admin.
    log_in(page, portal_url, staff_admin(portal_url, "Ada Admin", language))
    for route, testid in STAFF_PAGES.items():
        open_page(page, portal_url, route, testid)
        no_violations(page, f"{route}, {where}")


def test_the_check_sees_violations(pw_browser, portal_url):
    """The check is live: a control pointing at a panel that is not there, and one whose
    spoken name does not contain what it shows, are reported with their rule, impact, target
    and the page they are on. (A page of its own: the automatic check must not see these.)"""
    context = pw_browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(f"{portal_url}/#/login")
        expect(page.get_by_test_id("page-login")).to_be_visible()
        assert not axe_scan(page)["violations"]
        page.evaluate("""() => {
          const main = document.getElementById('main');
          const open = document.createElement('button');
          open.textContent = 'Show details';
          open.setAttribute('aria-controls', 'no-such-panel');
          open.setAttribute('aria-expanded', 'true');
          const close = document.createElement('button');
          close.textContent = 'Open the menu';
          close.setAttribute('aria-label', 'Close the dialog');
          main.append(open, close);
        }""")
        result = axe_scan(page)
        found = {v["id"]: v for v in result["violations"]}
        assert set(found) == {"aria-valid-attr-value", "label-content-name-mismatch"}, found
        assert found["aria-valid-attr-value"]["impact"] == "critical"
        lines = "\n".join(axe_violation_lines(result))
        assert 'aria-valid-attr-value (critical) at /#/login [1280px, en]' in lines
        assert 'button[aria-controls="no-such-panel"]' in lines
        assert re.search(r"label-content-name-mismatch \(serious\) .*aria-label=\"Close the "
                         r"dialog\"", lines)
    finally:
        context.close()
    assert AXE_OPTIONS["rules"] == {"label-content-name-mismatch": {"enabled": True}}


def test_the_automatic_check_fails_a_test_that_leaves_a_violation(pw_browser, portal_url):
    """What every browser test gets without asking: a page of `page_factory` that ends in a
    violating state fails the test when the factory is torn down, saying rule, impact, where."""
    factory = page_factory(pw_browser)
    page = next(factory)()
    page.goto(f"{portal_url}/#/signup")
    expect(page.get_by_test_id("page-signup")).to_be_visible()
    page.evaluate("""() => {
      const button = document.createElement('button');
      button.textContent = 'Show the plans';
      button.className = 'automatic-check-proof';
      button.setAttribute('aria-controls', 'no-such-plans');
      document.getElementById('main').append(button);
    }""")
    with pytest.raises(AssertionError, match=r"accessibility violations \(axe-core, WCAG 2\.2 AA\)"
                       r":\naria-valid-attr-value \(critical\) at /#/signup \[1280px, en\]: "
                       r"\.automatic-check-proof"):
        next(factory)  # the end of the test


def test_a_missing_axe_core_fails_with_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setattr(helpers, "AXE_PATH", tmp_path / "axe.min.js")
    with pytest.raises(pytest.fail.Exception, match="axe-core is missing: .*scripts/setup.sh"):
        helpers.axe_source()
