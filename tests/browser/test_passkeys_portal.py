"""Passkeys in the portal, with Chromium's virtual authenticator
(tests/browser/virtual_authenticator.py): one is added in Settings → Security and listed; after
logging out, "Sign in with a passkey" on the login page reaches the dashboard without the
e-mail address or the password; a passkey is removed again. axe checks every state.

Passkeys need a host name: WebAuthn refuses an IP address as relying party, and the shared
browser stack (conftest.py) serves http://127.0.0.1:<port>, where the portal says passkeys are
unavailable. This module starts a stack of its own whose PUBLIC_URL is http://localhost:<port>
(a secure context for the browser) and opens the portal there."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import log_in_as, new_account
from tests.browser.test_portal import log_out
from tests.browser.test_security_sessions import open_security
from tests.browser.virtual_authenticator import VirtualAuthenticator
from tests.stack import Stack


@pytest.fixture(scope="module")
def localhost_url(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("passkey-stack"))
    stack.url = f"http://localhost:{stack.port}"
    stack.env["PUBLIC_URL"] = stack.url
    stack.start()
    yield stack.url
    stack.stop()


def test_a_passkey_added_in_settings_signs_in_without_the_email(make_page, localhost_url):
    name = "Paula Passkey"
    email, _ = new_account(localhost_url, name)
    page = make_page()
    authenticator = VirtualAuthenticator.add(page)
    log_in_as(page, localhost_url, {"email": email, "name": name})

    section = open_security(page, localhost_url)
    passkeys = section.get_by_test_id("passkeys")
    expect(passkeys.get_by_test_id("passkeys-none")).to_have_text("You have no passkeys yet.")
    form = passkeys.get_by_test_id("passkey-add-form")
    form.get_by_label("Name for the new passkey").fill("Test laptop")
    form.get_by_role("button", name="Add a passkey").click()
    expect(section.get_by_test_id("strong-sign-in-status")).to_have_text(
        "The passkey Test laptop has been added.")
    item = passkeys.get_by_test_id("passkey")
    expect(item).to_have_count(1)
    expect(item.get_by_test_id("passkey-name")).to_have_text("Test laptop")
    expect(item).to_contain_text("Not used yet")
    assert len(authenticator.credentials()) == 1

    log_out(page)
    login = page.get_by_test_id("page-login")
    login.get_by_role("button", name="Sign in with a passkey").click()
    expect(page).to_have_url(re.compile(r"#/dashboard$"))
    expect(page.get_by_test_id("dashboard-greeting")).to_contain_text(name)

    # the sign-in says how it was made, and the passkey when it was last used
    section = open_security(page, localhost_url)
    current = section.locator('[data-testid="session"][data-current="true"]')
    expect(current.get_by_test_id("session-method")).to_have_text("Passkey")
    item = section.get_by_test_id("passkey")
    expect(item).not_to_contain_text("Not used yet")

    item.get_by_role("button", name="Remove passkey Test laptop").click()
    expect(section.get_by_test_id("strong-sign-in-status")).to_have_text(
        "The passkey Test laptop has been removed.")
    expect(section.get_by_test_id("passkeys-none")).to_be_visible()

    # a passkey the portal no longer knows signs nobody in
    log_out(page)
    page.get_by_test_id("page-login").get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_test_id("login-form").get_by_test_id("form-message")).not_to_be_empty()
    expect(page).to_have_url(re.compile(r"#/login$"))
    authenticator.remove()


def test_the_shared_stack_on_an_ip_address_says_passkeys_are_unavailable(make_page, portal_url):
    name = "Ivo Ipaddress"
    email, _ = new_account(portal_url, name)
    page = make_page()
    log_in_as(page, portal_url, {"email": email, "name": name})
    section = open_security(page, portal_url)
    expect(section.get_by_test_id("passkeys-unavailable")).to_have_text(
        "Passkeys are not available on this portal.")
    expect(section.get_by_role("button", name="Add a passkey")).to_have_count(0)
