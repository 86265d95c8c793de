"""Settings → Security: the customer's active sessions, the current one marked "This device";
"Sign out" ends another session (its token is refused at once), a session that ended meanwhile
is said so and the list catches up, and "Sign out everywhere else" ends the rest. At desktop and
phone width (on a phone Settings shows one section at a time); axe checks every state
(tests/browser/helpers.py)."""

import re

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.helpers import Client, log_in_as, new_account, no_horizontal_scroll
from tests.browser.test_portal import PASSWORD

SIZES = {"desktop": (1280, 900), "phone": (390, 844)}


def session_id(client):
    """The id of the session behind a client's token: the one its own list marks current."""
    rows = client.call("GET", "/api/v1/me/sessions")["data"]
    current = [row["id"] for row in rows if row["current"]]
    assert len(current) == 1, rows
    return current[0]


def me_status(client):
    return requests.get(f"{client.base}/api/v1/me", headers=client.headers, timeout=10).status_code


def open_security(page, base):
    page.goto(f"{base}/#/settings")
    expect(page.get_by_test_id("settings-profile-form")).to_be_attached()
    link = page.get_by_test_id("settings-section-security")
    link.click()
    expect(link).to_have_attribute("aria-current", "true")
    section = page.get_by_test_id("settings-security")
    expect(section).to_be_visible()
    return section


@pytest.mark.parametrize("size", sorted(SIZES))
def test_sessions_are_listed_and_signed_out(make_page, portal_url, size):
    width, height = SIZES[size]
    name = f"Sam Sessions {size}"
    email, first = new_account(portal_url, name)  # a session by API (bearer token)
    page = make_page(width=width, height=height)
    log_in_as(page, portal_url, {"email": email, "name": name})  # this device
    second = Client(portal_url, email, PASSWORD)
    third = Client(portal_url, email, PASSWORD)
    ids = {"first": session_id(first), "second": session_id(second), "third": session_id(third)}

    section = open_security(page, portal_url)
    expect(section.get_by_role("heading", level=2, name="Security")).to_be_visible()
    expect(section.get_by_role("heading", level=3, name="Where you are signed in")).to_be_visible()
    if size == "phone":  # one section at a time
        expect(page.get_by_test_id("settings-profile-form")).to_be_hidden()
        no_horizontal_scroll(page, width, "Settings → Security on a phone")
    sessions = section.get_by_test_id("session")
    expect(sessions).to_have_count(4)

    current = section.locator('[data-testid="session"][data-current="true"]')
    expect(current).to_have_count(1)
    expect(current.get_by_test_id("session-current")).to_have_text("This device")
    expect(current.get_by_test_id("session-method")).to_have_text("Password")
    expect(current.get_by_test_id("session-last-seen")).not_to_be_empty()
    expect(current.get_by_test_id("session-sign-out")).to_have_count(0)  # that is Log out
    assert current.get_attribute("data-session-id") not in ids.values()

    def row(key):
        return section.locator(f'[data-testid="session"][data-session-id="{ids[key]}"]')

    for key in ids:
        expect(row(key)).to_have_attribute("data-current", "false")
        expect(row(key).get_by_test_id("session-method")).to_have_text("Password")
        device = row(key).get_by_test_id("session-device").inner_text()
        assert device.strip(), key
        # the button's name says which session it ends
        expect(row(key).get_by_test_id("session-sign-out")).to_have_accessible_name(
            re.compile(rf"^Sign out {re.escape(device)}, signed in "))

    # Sign out one other session: gone from the list, and its token refused at once
    row("second").get_by_test_id("session-sign-out").click()
    status = section.get_by_test_id("security-status")
    expect(status).to_contain_text("has been signed out.")
    expect(status).to_be_focused()
    expect(row("second")).to_have_count(0)
    expect(sessions).to_have_count(3)
    assert me_status(second) == 401
    assert me_status(first) == 200 and me_status(third) == 200

    # A session that ended meanwhile (signed out elsewhere): said so, and the list catches up
    first.call("DELETE", f"/api/v1/me/sessions/{ids['third']}", 204)
    row("third").get_by_test_id("session-sign-out").click()
    expect(status).to_contain_text("had already ended")
    expect(row("third")).to_have_count(0)
    expect(sessions).to_have_count(2)

    # Sign out everywhere else: only this device is left, and it still works
    section.get_by_test_id("security-sign-out-others").click()
    expect(status).to_have_text("1 other session has been signed out.")
    expect(sessions).to_have_count(1)
    expect(section.get_by_test_id("security-no-others")).to_be_visible()
    expect(section.get_by_test_id("security-sign-out-others")).to_have_count(0)
    assert me_status(first) == 401
    if size == "phone":
        no_horizontal_scroll(page, width, "Settings → Security on a phone, signed out elsewhere")
    page.reload()
    section = open_security(page, portal_url)
    expect(section.get_by_test_id("session")).to_have_count(1)
    expect(section.get_by_test_id("session-current")).to_be_visible()


def test_the_security_section_has_its_own_address(make_page, portal_url):
    """#/settings/security opens Settings at the Security section (a phone shows only it),
    as the other sections' addresses do."""
    email, _ = new_account(portal_url, "Sam Address")
    page = make_page(width=390, height=844)
    log_in_as(page, portal_url, {"email": email, "name": "Sam Address"})
    page.goto(f"{portal_url}/#/settings/security")
    expect(page.get_by_test_id("settings-security")).to_be_visible()
    expect(page.get_by_test_id("settings-section-security")).to_have_attribute("aria-current",
                                                                               "true")
    expect(page.get_by_test_id("settings-profile-form")).to_be_hidden()
    expect(page.get_by_test_id("session")).to_have_count(2)  # this one, and the sign-up's API
