"""Settings → Privacy in the portal: the consents switched on and off (the API agrees), the data
archive asked for, made in the background (the page polls until it is ready) and downloaded as
a zip, and deleting the account: a wallet balance stops it (said with its amount and what to
do, no button), otherwise confirmed (after "Confirm it is you" for an old sign-in), scheduled and
cancelled. axe checks every state (tests/browser/helpers.py)."""

import io
import re
import zipfile

from playwright.sync_api import expect

from tests.browser.helpers import add_card, log_in_as, new_account, no_horizontal_scroll
from tests.browser.test_portal import PASSWORD


def open_privacy(page, portal_url):
    page.goto(f"{portal_url}/#/settings/privacy")
    section = page.get_by_test_id("settings-privacy")
    expect(section.get_by_role("heading", level=2, name="Privacy")).to_be_visible()
    return section


def test_consents_are_given_and_withdrawn(make_page, portal_url):
    name = "Connie Consent"
    email, client = new_account(portal_url, name)
    page = make_page()
    log_in_as(page, portal_url, {"email": email, "name": name})
    section = open_privacy(page, portal_url)

    consents = section.get_by_test_id("consent")
    expect(consents).to_have_count(2)
    promotions = section.locator('[data-testid="consent"][data-purpose="promotions"]')
    switch = promotions.get_by_role("switch", name="Offers and promotions")
    expect(switch).not_to_be_checked()  # opt-in
    expect(promotions.get_by_test_id("consent-state")).to_have_text("Not given")

    switch.check()
    expect(promotions.get_by_test_id("consent-state")).to_contain_text("Given on")
    expect(section.get_by_test_id("consents-status")).to_contain_text("Consent given")
    by_purpose = {c["purpose"]: c for c in client.call("GET", "/api/v1/me/consents")["data"]}
    assert by_purpose["promotions"]["granted"] is True
    assert by_purpose["viewing_recommendations"]["granted"] is False

    page.reload()  # it stays
    promotions = page.locator('[data-testid="consent"][data-purpose="promotions"]')
    expect(promotions.get_by_role("switch")).to_be_checked()
    promotions.get_by_role("switch").uncheck()
    expect(promotions.get_by_test_id("consent-state")).to_have_text("Not given")
    by_purpose = {c["purpose"]: c for c in client.call("GET", "/api/v1/me/consents")["data"]}
    assert by_purpose["promotions"]["granted"] is False


def test_my_data_is_prepared_and_downloaded_as_a_zip(make_page, portal_url):
    name = "Dora Download"
    email, _ = new_account(portal_url, name)
    page = make_page()
    log_in_as(page, portal_url, {"email": email, "name": name})
    section = open_privacy(page, portal_url)
    exports = section.get_by_test_id("privacy-exports")
    expect(exports.get_by_test_id("exports-none")).to_be_visible()

    exports.get_by_test_id("export-request").click()
    item = exports.get_by_test_id("export")
    expect(item).to_have_count(1)
    expect(item).to_have_attribute("data-status", re.compile("pending|ready"))
    expect(item).to_have_attribute("data-status", "ready", timeout=90_000)  # polled
    link = item.get_by_test_id("export-download")
    expect(link).to_have_text(re.compile(r"^Download \(\d+ KB\), until \d{1,2} \w{3} \d{4}$"))
    href = link.get_attribute("href")
    answer = page.request.get(f"{portal_url}{href}")  # the page's cookies
    assert answer.ok, answer.status
    archive = zipfile.ZipFile(io.BytesIO(answer.body()))
    assert "data/accounts.json" in archive.namelist(), archive.namelist()
    assert email in archive.read("data/accounts.json").decode()


def test_a_wallet_balance_stops_the_deletion(make_page, portal_url):
    name = "Walter Wallet"
    email, client = new_account(portal_url, name)
    add_card(client, "4242424242424242", name)
    client.call("POST", "/api/v1/wallet/top-ups", 201,
                json={"amount": {"amount": 1000, "currency": "EUR"}},
                headers={"Idempotency-Key": f"privacy-{email}"})
    page = make_page()
    log_in_as(page, portal_url, {"email": email, "name": name})
    deletion = open_privacy(page, portal_url).get_by_test_id("privacy-deletion")
    blocker = deletion.locator('[data-testid="deletion-blocker"][data-code="WALLET_BALANCE_LEFT"]')
    expect(blocker).to_contain_text("Your wallet still holds €10.00.")
    expect(blocker.get_by_role("link", name="Contact support")).to_have_attribute(
        "href", "#/support")
    expect(deletion.get_by_test_id("deletion-request")).to_have_count(0)


def test_the_account_deletion_is_confirmed_scheduled_and_cancelled(make_page, portal_url,
                                                                    advance_clock):
    name = "Delia Delete"
    email, client = new_account(portal_url, name)
    page = make_page(width=390, height=844)  # a phone: the section alone
    log_in_as(page, portal_url, {"email": email, "name": name})
    advance_clock(days=11 / (24 * 60))  # an old sign-in: the deletion asks to confirm it is them
    deletion = open_privacy(page, portal_url).get_by_test_id("privacy-deletion")
    no_horizontal_scroll(page, 390, "Settings → Privacy")
    expect(page.get_by_test_id("settings-security")).to_be_hidden()
    expect(deletion).to_contain_text("Bills and payments are kept without your name")
    deletion.get_by_test_id("deletion-request").click()

    dialog = page.get_by_role("dialog", name="Delete your account?")
    expect(dialog).to_contain_text(re.compile(r"deleted after \d+ days"))
    dialog.get_by_role("button", name="Keep my account").click()
    expect(dialog).to_have_count(0)
    deletion.get_by_test_id("deletion-request").click()
    dialog.get_by_role("button", name="Yes, delete my account").click()
    reauth = page.get_by_role("dialog", name="Confirm it is you")
    reauth.get_by_label("Your password").fill(PASSWORD)
    reauth.get_by_role("button", name="Confirm", exact=True).click()

    scheduled = deletion.get_by_test_id("deletion-scheduled")
    expect(scheduled).to_have_text(re.compile(
        r"^Your account will be deleted on \d{1,2} \w{3} \d{4}\.$"))
    assert client.call("GET", "/api/v1/me/deletion")["request"]["status"] == "scheduled"
    deletion.get_by_role("button", name="Cancel the deletion").click()
    expect(page.get_by_test_id("deletion-status")).to_contain_text("The deletion is cancelled")
    expect(deletion.get_by_test_id("deletion-request")).to_be_visible()
    request = client.call("GET", "/api/v1/me/deletion")["request"]
    assert request is None or request["status"] == "cancelled", request
