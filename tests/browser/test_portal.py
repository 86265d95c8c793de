"""Browser tests for the customer portal SPA (gateway/static/).

Playwright's sync API is used directly (not the pytest-playwright fixtures).
The running system comes from the ``portal_url`` fixture in conftest.py.
"""

import re
import uuid

from playwright.sync_api import expect

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a much longer passphrase for the portal 2026"
TIMEOUT_MS = 15_000

# Returns the inputs/selects that lack a <label for=id> with text, as short descriptions.
UNLABELLED_CONTROLS_JS = """
() => {
  const controls = [...document.querySelectorAll('input, select, textarea')]
    .filter((el) => el.type !== 'hidden');
  const missing = controls.filter((el) => {
    if (!el.id) return true;
    const label = document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
    return !label || !label.textContent.trim();
  }).map((el) => el.outerHTML.slice(0, 120));
  return {count: controls.length, missing};
}
"""


def unique_email():
    return f"portal-{uuid.uuid4().hex}@example.com"


def sign_up(page, base_url, email, name, billing="Prepaid", password=PASSWORD):
    page.goto(f"{base_url}/#/signup")
    form = page.get_by_test_id("signup-form")
    expect(form).to_be_visible()
    form.get_by_label("Email", exact=True).fill(email)
    form.get_by_label("Password", exact=True).fill(password)
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label(re.compile(f"^{billing}")).check()
    form.get_by_label("Currency").select_option("EUR")
    form.get_by_label("Phone (optional)").fill("+49 30 1234567")
    form.get_by_label("Language").select_option("en")
    form.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"#/dashboard$"))
    expect(page.get_by_test_id("dashboard-greeting")).to_contain_text(name)


def log_in(page, base_url, email, password):
    page.goto(f"{base_url}/#/login")
    form = page.get_by_test_id("login-form")
    expect(form).to_be_visible()
    form.get_by_label("Email", exact=True).fill(email)
    form.get_by_label("Password", exact=True).fill(password)
    form.get_by_label("Password", exact=True).press("Enter")  # forms submit with Enter


def log_out(page):
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-form")).to_be_visible()
    expect(page).to_have_url(re.compile(r"#/login$"))


def open_settings(page):
    page.get_by_test_id("nav").get_by_role("link", name="Settings").click()
    expect(page).to_have_url(re.compile(r"#/settings$"))
    expect(page.get_by_test_id("settings-profile-form")).to_be_visible()


def test_signup_login_edit_profile_and_change_password(make_page, portal_url):
    page = make_page()
    email = unique_email()
    sign_up(page, portal_url, email, "Ada Lovelace")
    expect(page.get_by_test_id("account-name")).to_have_text("Ada Lovelace")
    # a new prepaid customer: the wallet (in EUR) and the invitation to choose a package
    expect(page.get_by_test_id("dashboard-balance")).to_have_text("€0.00")
    expect(page.get_by_test_id("dashboard-choose-package")).to_be_visible()
    nav = page.get_by_test_id("nav")
    expect(nav.get_by_role("link", name="Wallet")).to_be_visible()
    expect(nav.get_by_role("link", name="Bills")).to_have_count(0)

    log_out(page)
    log_in(page, portal_url, email, PASSWORD)
    expect(page.get_by_test_id("dashboard-greeting")).to_contain_text("Ada Lovelace")

    # Edit the profile.
    open_settings(page)
    profile = page.get_by_test_id("settings-profile-form")
    profile.get_by_label("Name", exact=True).fill("Ada King")
    profile.get_by_label("Phone", exact=True).fill("+44 20 7946 0000")
    profile.get_by_label("Address line 1").fill("12 St James's Square")
    profile.get_by_label("Address line 2").fill("Flat 3")
    profile.get_by_label("City").fill("London")
    profile.get_by_label("Postal code").fill("SW1Y 4JH")
    profile.get_by_label("Country").fill("GB")
    profile.get_by_role("button", name="Save changes").click()
    expect(profile.get_by_test_id("form-message")).to_contain_text("saved")
    expect(page.get_by_test_id("account-name")).to_have_text("Ada King")

    page.reload()
    profile = page.get_by_test_id("settings-profile-form")
    expect(profile.get_by_label("Name", exact=True)).to_have_value("Ada King")
    expect(profile.get_by_label("Phone", exact=True)).to_have_value("+44 20 7946 0000")
    expect(profile.get_by_label("Address line 1")).to_have_value("12 St James's Square")
    expect(profile.get_by_label("Address line 2")).to_have_value("Flat 3")
    expect(profile.get_by_label("City")).to_have_value("London")
    expect(profile.get_by_label("Postal code")).to_have_value("SW1Y 4JH")
    expect(profile.get_by_label("Country")).to_have_value("GB")

    # Change the password; a mismatch is caught before anything is sent.
    pw_form = page.get_by_test_id("settings-password-form")
    pw_form.get_by_label("Current password").fill(PASSWORD)
    pw_form.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    pw_form.get_by_label("Confirm new password").fill(NEW_PASSWORD + "x")
    pw_form.get_by_role("button", name="Change password").click()
    expect(pw_form.get_by_label("Confirm new password")).to_have_attribute("aria-invalid", "true")
    pw_form.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    pw_form.get_by_role("button", name="Change password").click()
    expect(pw_form.get_by_test_id("form-message")).to_contain_text("password has been changed")

    # The current session stays valid after the change.
    page.reload()
    expect(page.get_by_test_id("settings-profile-form")).to_be_visible()

    log_out(page)
    log_in(page, portal_url, email, PASSWORD)
    error = page.get_by_test_id("login-form").get_by_role("alert")
    expect(error).to_be_visible()
    expect(error).to_contain_text("not correct")
    expect(page).to_have_url(re.compile(r"#/login$"))

    log_in(page, portal_url, email, NEW_PASSWORD)
    expect(page.get_by_test_id("dashboard-greeting")).to_contain_text("Ada King")


def test_language_switch_to_german(make_page, portal_url):
    page = make_page()
    sign_up(page, portal_url, unique_email(), "Grace Hopper", billing="Postpaid")
    nav = page.get_by_test_id("nav")
    expect(nav.get_by_role("link", name="Bills")).to_be_visible()
    expect(nav.get_by_role("link", name="Wallet")).to_have_count(0)

    open_settings(page)
    profile = page.get_by_test_id("settings-profile-form")
    profile.get_by_label("Language").select_option("de")
    profile.get_by_role("button", name="Save changes").click()

    nav = page.get_by_test_id("nav")
    expect(nav.get_by_role("link", name="Einstellungen")).to_be_visible()
    expect(nav.get_by_role("link", name="Übersicht")).to_be_visible()
    expect(nav.get_by_role("link", name="Rechnungen")).to_be_visible()
    expect(page.get_by_test_id("logout")).to_have_text("Abmelden")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.get_by_test_id("settings-profile-form").get_by_test_id("form-message")).to_contain_text(
        "gespeichert"
    )

    # The choice is stored on the account: it survives a reload.
    page.reload()
    expect(page.get_by_test_id("nav").get_by_role("link", name="Einstellungen")).to_be_visible()


def test_phone_width_navigation(make_page, portal_url):
    page = make_page(width=375, height=740)
    sign_up(page, portal_url, unique_email(), "Katherine Johnson")

    def no_horizontal_scroll():
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"page is {width}px wide at a 375px viewport"

    no_horizontal_scroll()
    nav = page.get_by_test_id("nav")
    settings_link = nav.get_by_role("link", name="Settings")
    expect(settings_link).to_be_hidden()
    menu = page.get_by_test_id("nav-toggle")
    expect(menu).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(settings_link).to_be_visible()
    no_horizontal_scroll()
    settings_link.click()
    expect(page.get_by_test_id("settings-profile-form")).to_be_visible()
    expect(settings_link).to_be_hidden()  # the menu closes after choosing a page
    no_horizontal_scroll()

    # The menu also works from the keyboard.
    menu.focus()
    page.keyboard.press("Enter")
    expect(nav.get_by_role("link", name="Dashboard")).to_be_visible()
    page.keyboard.press("Escape")
    expect(nav.get_by_role("link", name="Dashboard")).to_be_hidden()

    for route in ("#/login", "#/signup"):
        log_page = make_page(width=375, height=740)
        log_page.goto(f"{portal_url}/{route}")
        expect(log_page.get_by_role("heading", level=1)).to_be_visible()
        width = log_page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{route} is {width}px wide at a 375px viewport"


def test_forms_are_labelled(make_page, portal_url):
    page = make_page()

    def assert_labelled(where, minimum):
        result = page.evaluate(UNLABELLED_CONTROLS_JS)
        assert result["count"] >= minimum, (
            f"{where}: expected at least {minimum} controls, found {result['count']}")
        assert not result["missing"], f"{where}: controls without a label: {result['missing']}"

    page.goto(f"{portal_url}/#/login")
    expect(page.get_by_test_id("login-form")).to_be_visible()
    assert_labelled("login", 2)

    page.goto(f"{portal_url}/#/signup")
    expect(page.get_by_test_id("signup-form")).to_be_visible()
    assert_labelled("signup", 8)

    sign_up(page, portal_url, unique_email(), "Margaret Hamilton")
    open_settings(page)
    expect(page.get_by_test_id("settings-password-form")).to_be_visible()
    assert_labelled("settings", 11)
