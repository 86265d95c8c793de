"""Browser tests for the Wallet tab and Settings → Payment methods (gateway/static/).

Same setup as test_subscriptions.py: Playwright's sync API against the whole system
(`portal_url`), with the sandbox payment provider and its documented test cards. Each test signs
up its own customer.
"""

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import page_factory
from tests.browser.test_portal import (
    UNLABELLED_CONTROLS_JS,
    open_settings,
    sign_up,
    unique_email,
)

EXP_YEAR = str(dt.date.today().year + 1)
APPROVES = "4242 4242 4242 4242"
INSUFFICIENT_FUNDS = "4000 0000 0000 9995"
MASTERCARD = "5555 5555 5555 4444"
PROCESSING_ERROR = "4000 0000 0000 0119"


@pytest.fixture
def make_page(pw_browser):
    """Factory for a page in a fresh browser context (own cookies), English UI. Fails the test
    on a JavaScript error or a console error (expected API refusals, 402 and 400, show as failed
    resource loads), and on a card number seen in the console."""
    yield from page_factory(pw_browser)


def payment_methods(page):
    return page.get_by_test_id("payment-methods")


def card_item(page, last4):
    return page.get_by_test_id("payment-method").filter(has_text=f"•••• {last4}")


def add_card(page, number, holder="Ann Smith", month="12", year=EXP_YEAR):
    """Fill and send the Add card form on the Settings page; returns the form."""
    form = page.get_by_test_id("add-card-form")
    form.get_by_label("Card number").fill(number)
    form.get_by_label("Month (MM)").fill(month)
    form.get_by_label("Year (YYYY)").fill(year)
    form.get_by_label("Security code (CVC)").fill("123")
    form.get_by_label("Name on the card").fill(holder)
    form.get_by_role("button", name="Add card").click()
    last4 = number.replace(" ", "")[-4:]
    expect(card_item(page, last4)).to_have_count(1)
    expect(form.get_by_test_id("form-message")).to_contain_text(f"•••• {last4} has been added")
    # The number and the CVC do not stay in the form.
    expect(form.get_by_label("Card number")).to_have_value("")
    expect(form.get_by_label("Security code (CVC)")).to_have_value("")
    return form


def open_wallet(page):
    page.get_by_test_id("nav").get_by_role("link", name="Wallet").click()
    expect(page).to_have_url(re.compile(r"#/wallet$"))
    expect(page.get_by_test_id("wallet-balance")).to_be_visible()


def top_up(page, amount, card_value=None):
    form = page.get_by_test_id("top-up-form")
    form.get_by_test_id("top-up-amount").fill(amount)
    if card_value:
        form.get_by_test_id("top-up-card").select_option(card_value)
    form.get_by_test_id("top-up-submit").click()
    return form


def test_add_a_card_top_up_and_see_the_balance_everywhere(make_page, portal_url):
    page = make_page()
    sign_up(page, portal_url, unique_email(), "Ann Smith")

    # The dashboard shows the empty wallet with a link to it.
    wallet_panel = page.get_by_test_id("dashboard-wallet")
    expect(wallet_panel.get_by_test_id("dashboard-balance")).to_have_text("€0.00")
    expect(wallet_panel.get_by_role("link", name="Open wallet")).to_have_attribute(
        "href", "#/wallet")

    # Without a card, the Wallet tab sends the customer to Settings to add one.
    open_wallet(page)
    expect(page.get_by_test_id("wallet-balance")).to_have_text("€0.00")
    expect(page.get_by_test_id("wallet-low-balance")).to_contain_text("below €5.00")
    expect(page.locator(".balance-card")).not_to_contain_text("null")
    expect(page.get_by_test_id("wallet-history")).to_have_count(0)
    expect(page.get_by_test_id("wallet-history-empty")).to_be_visible()
    expect(page.get_by_test_id("top-up-submit")).to_have_count(0)
    page.get_by_test_id("top-up-form").get_by_role("link", name="Add a card").click()
    expect(page).to_have_url(re.compile(r"#/settings/cards$"))  # the cards section first

    methods = payment_methods(page)
    expect(methods.get_by_test_id("payment-methods-empty")).to_be_visible()
    form = page.get_by_test_id("add-card-form")
    for name, autocomplete in (("Card number", "cc-number"), ("Month (MM)", "cc-exp-month"),
                               ("Year (YYYY)", "cc-exp-year"), ("Security code (CVC)", "cc-csc"),
                               ("Name on the card", "cc-name")):
        expect(form.get_by_label(name)).to_have_attribute("autocomplete", autocomplete)
    expect(form.get_by_label("Card number")).to_have_attribute("inputmode", "numeric")

    # A mistyped number is caught before anything is sent.
    form.get_by_label("Card number").fill("4242 4242 4242 4241")
    form.get_by_role("button", name="Add card").click()
    expect(form.get_by_label("Card number")).to_have_attribute("aria-invalid", "true")
    expect(methods.get_by_test_id("payment-method")).to_have_count(0)

    add_card(page, APPROVES)
    visa = card_item(page, "4242")
    expect(visa).to_contain_text("Visa")
    expect(visa).to_contain_text(f"Expires 12/{EXP_YEAR}")
    expect(visa).to_contain_text("Ann Smith")
    expect(visa.get_by_test_id("payment-method-default")).to_have_text("Default")
    expect(visa).to_have_attribute("data-payment-method-id", re.compile(r"^pm_"))
    expect(visa.get_by_test_id("payment-method-make-default")).to_have_count(0)
    assert "4242424242424242" not in page.url

    # Top up 20.00 with the default card.
    open_wallet(page)
    card_select = page.get_by_test_id("top-up-card")
    expect(card_select.locator("option:checked")).to_have_text("Visa •••• 4242 (default)")
    top_up(page, "20.00")
    result = page.get_by_test_id("top-up-result")
    expect(result).to_contain_text("€20.00 has been added to your wallet.")
    expect(result).to_contain_text("Your new balance is €20.00.")
    expect(page.get_by_test_id("wallet-balance")).to_have_text("€20.00")
    expect(page.get_by_test_id("wallet-low-balance")).to_have_count(0)
    expect(page.get_by_test_id("top-up-amount")).to_have_value("")

    history = page.get_by_test_id("wallet-history")
    entry = history.get_by_test_id("wallet-entry")
    expect(entry).to_have_count(1)
    expect(entry).to_have_attribute("data-direction", "credit")
    expect(entry).to_have_attribute("data-new", "true")
    expect(entry).to_contain_text(re.compile(r"Top-up by card Visa …4242"))
    expect(entry.get_by_test_id("wallet-entry-amount")).to_contain_text("+€20.00")
    expect(entry.get_by_test_id("wallet-entry-balance-after")).to_have_text("€20.00")

    # The low-balance threshold: above the balance, the warning shows.
    threshold = page.get_by_test_id("threshold-form")
    expect(threshold.get_by_test_id("threshold-amount")).to_have_value("5.00")
    threshold.get_by_test_id("threshold-amount").fill("25")
    threshold.get_by_role("button", name="Save").click()
    expect(threshold.get_by_test_id("form-message")).to_contain_text("below €25.00")
    expect(page.get_by_test_id("wallet-low-balance")).to_contain_text("below €25.00")

    # After a reload the history is still there, and the dashboard shows the new balance.
    page.reload()
    expect(page.get_by_test_id("wallet-entry")).to_have_count(1)
    expect(page.get_by_test_id("wallet-balance")).to_have_text("€20.00")
    page.get_by_test_id("nav").get_by_role("link", name="Dashboard").click()
    wallet_panel = page.get_by_test_id("dashboard-wallet")
    expect(wallet_panel.get_by_test_id("dashboard-balance")).to_have_text("€20.00")
    expect(wallet_panel.get_by_test_id("dashboard-low-balance")).to_contain_text("below €25.00")
    wallet_panel.get_by_role("link", name="Open wallet").click()
    expect(page).to_have_url(re.compile(r"#/wallet$"))


def test_a_declined_card_shows_why_and_leaves_the_balance_alone(make_page, portal_url):
    page = make_page()
    sign_up(page, portal_url, unique_email(), "Bea Declined")
    open_settings(page)
    add_card(page, APPROVES)
    add_card(page, INSUFFICIENT_FUNDS)
    declining = card_item(page, "9995")
    expect(declining.get_by_test_id("payment-method-default")).to_have_count(0)
    pm_id = declining.get_attribute("data-payment-method-id")

    open_wallet(page)
    top_up(page, "15.50")
    expect(page.get_by_test_id("wallet-balance")).to_have_text("€15.50")

    form = top_up(page, "30", card_value=pm_id)
    message = form.get_by_test_id("form-message")
    expect(message).to_contain_text("The card has insufficient funds.")
    expect(message).to_contain_text("not enough money")
    expect(message).to_have_attribute("role", "alert")
    expect(page.get_by_test_id("wallet-balance")).to_have_text("€15.50")
    expect(page.get_by_test_id("top-up-result")).to_be_empty()
    expect(page.get_by_test_id("wallet-entry")).to_have_count(1)

    # Entered amounts are checked before sending: at least 1.00, at most two decimals.
    form.get_by_test_id("top-up-amount").fill("0.50")
    form.get_by_test_id("top-up-submit").click()
    expect(form.get_by_test_id("top-up-amount")).to_have_attribute("aria-invalid", "true")
    expect(form).to_contain_text("from €1.00 to €1,000.00")
    form.get_by_test_id("top-up-amount").fill("12.345")
    form.get_by_test_id("top-up-submit").click()
    expect(form).to_contain_text("at most 2 decimal places")
    expect(page.get_by_test_id("wallet-entry")).to_have_count(1)


def test_a_provider_error_offers_try_again_with_the_same_idempotency_key(make_page, portal_url):
    page = make_page()
    sign_up(page, portal_url, unique_email(), "Cleo Retry")
    open_settings(page)
    add_card(page, PROCESSING_ERROR)
    open_wallet(page)
    keys = []
    page.on("request", lambda r: keys.append(r.headers.get("idempotency-key"))
            if r.url.endswith("/api/v1/wallet/top-ups") else None)

    form = top_up(page, "10")
    message = form.get_by_test_id("form-message")
    expect(form).to_have_attribute("data-outcome", "unknown")
    expect(message).to_contain_text("Nothing was charged")
    retry = message.get_by_role("button", name="Try again")
    expect(retry).to_be_focused()
    retry.click()
    expect(form).to_have_attribute("data-outcome", "unknown")
    expect(message).to_contain_text("Nothing was charged")
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys
    # Another amount is another attempt, with a new key.
    form.get_by_test_id("top-up-amount").fill("11")
    form.get_by_test_id("top-up-submit").click()
    expect(form).to_have_attribute("data-outcome", "unknown")
    assert len(keys) == 3 and keys[2] != keys[0], keys
    expect(page.get_by_test_id("wallet-balance")).to_have_text("€0.00")


def test_remove_a_card_and_make_another_the_default(make_page, portal_url):
    page = make_page()
    sign_up(page, portal_url, unique_email(), "Dora Cards")
    open_settings(page)
    add_card(page, APPROVES)
    add_card(page, MASTERCARD, holder="Dora Cards")
    visa, mastercard = card_item(page, "4242"), card_item(page, "4444")
    expect(page.get_by_test_id("payment-method")).to_have_count(2)
    expect(visa.get_by_test_id("payment-method-default")).to_be_visible()
    expect(mastercard).to_contain_text("Mastercard")
    expect(mastercard.get_by_test_id("payment-method-default")).to_have_count(0)

    # Make the Mastercard the default.
    mastercard.get_by_test_id("payment-method-make-default").click()
    status = page.get_by_test_id("payment-methods-status")
    expect(status).to_contain_text("Mastercard •••• 4444 is now your default card.")
    expect(mastercard.get_by_test_id("payment-method-default")).to_be_visible()
    expect(visa.get_by_test_id("payment-method-default")).to_have_count(0)
    expect(page.get_by_test_id("payment-method").first).to_contain_text("•••• 4444")

    # Remove asks first; "Keep it" changes nothing.
    visa.get_by_test_id("payment-method-remove").click()
    expect(visa).to_contain_text("Remove Visa •••• 4242?")
    visa.get_by_role("button", name="Keep it").click()
    expect(page.get_by_test_id("payment-method")).to_have_count(2)
    visa.get_by_test_id("payment-method-remove").click()
    visa.get_by_role("button", name="Yes, remove").click()
    expect(status).to_contain_text("Visa •••• 4242 has been removed.")
    expect(page.get_by_test_id("payment-method")).to_have_count(1)
    expect(card_item(page, "4242")).to_have_count(0)

    # Removing the default card leaves none; the Wallet tab then asks for a card.
    mastercard.get_by_test_id("payment-method-remove").click()
    expect(mastercard).to_contain_text("It is your only card")
    mastercard.get_by_test_id("payment-method-remove-confirm").click()
    expect(page.get_by_test_id("payment-methods-empty")).to_be_visible()
    open_wallet(page)
    expect(page.get_by_test_id("top-up-no-cards")).to_be_visible()


def test_a_postpaid_customer_has_no_wallet(make_page, portal_url):
    page = make_page()
    sign_up(page, portal_url, unique_email(), "Erin Postpaid", billing="Postpaid")
    nav = page.get_by_test_id("nav")
    expect(nav.get_by_role("link", name="Bills")).to_be_visible()
    expect(nav.get_by_role("link", name="Wallet")).to_have_count(0)
    expect(page.get_by_test_id("dashboard-wallet")).to_have_count(0)
    page.goto(f"{portal_url}/#/wallet")
    expect(page.get_by_test_id("wallet-balance")).to_have_count(0)
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    # Cards are in Settings for postpaid customers too.
    open_settings(page)
    expect(payment_methods(page)).to_be_visible()


def test_a_suspended_subscription_points_to_the_wallet(make_page, portal_url):
    """A renewal the wallet could not pay suspends the subscription; the dashboard says what to
    do. (Suspension needs a renewal date to pass, so the dashboard answer is adjusted here.)"""
    page = make_page()
    sign_up(page, portal_url, unique_email(), "Fay Suspended")
    answer = page.request.get(f"{portal_url}/api/v1/dashboard").json()
    suspended = {"id": "sub_suspended", "status": "suspended",
                 "package": {"code": "basic", "name": "Basic"}, "addons": [],
                 "next_renewal": None, "pause_until": None, "scheduled_changes": []}

    def with_suspended(route):
        body = {**answer, "subscriptions": {"unavailable": False, "data": [suspended]},
                "wallet": {**answer["wallet"], "low_balance": True}}
        route.fulfill(status=200, content_type="application/json", json=body)

    page.route("**/api/v1/dashboard", with_suspended)
    page.reload()
    item = page.get_by_test_id("dashboard-subscription")
    expect(item.get_by_test_id("dashboard-subscription-status")).to_have_text("Suspended")
    notice = item.get_by_test_id("dashboard-suspended")
    expect(notice).to_contain_text("Suspended — top up your wallet to resume")
    notice.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"#/wallet$"))
    expect(page.get_by_test_id("wallet-balance")).to_be_visible()

    # The Subscriptions tab says the same on the subscription's card.
    listed = {**suspended, "activation_date": "2026-01-01", "billing_period": "month",
              "current_period": {"start": "2026-01-01", "end": "2026-02-01"}, "devices": []}
    page.route("**/api/v1/subscriptions", lambda route: route.fulfill(
        status=200, content_type="application/json",
        json={"data": [listed], "has_more": False, "next_cursor": None}))
    page.get_by_test_id("nav").get_by_role("link", name="Subscriptions").click()
    card = page.get_by_test_id("subscription-card")
    expect(card.get_by_test_id("subscription-status")).to_have_text("Suspended")
    expect(card.get_by_test_id("subscription-suspended")).to_contain_text(
        "Suspended — top up your wallet to resume")
    card.get_by_test_id("subscription-suspended").get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"#/wallet$"))


@pytest.mark.parametrize("width", [375, 1280])
def test_wallet_and_cards_are_labelled_and_fit_the_screen(make_page, portal_url, width):
    page = make_page(width=width, height=800)
    sign_up(page, portal_url, unique_email(), "Gwendolyn Longname-Smithson")
    page.goto(f"{portal_url}/#/settings/cards")  # on a phone the sections show one at a time
    add_card(page, APPROVES)
    add_card(page, MASTERCARD)
    card_item(page, "4242").get_by_test_id("payment-method-remove").click()
    page.get_by_test_id("test-cards").locator("summary").click()
    expect(page.get_by_test_id("test-cards")).to_contain_text("4000 0000 0000 9995")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"Settings is {scroll_width}px wide at {width}px"
    result = page.evaluate(UNLABELLED_CONTROLS_JS)
    assert not result["missing"], f"controls without a label: {result['missing']}"

    page.goto(f"{portal_url}/#/wallet")
    for amount in ("20.00", "7,50"):
        top_up(page, amount)
        expect(page.get_by_test_id("top-up-result")).to_contain_text("has been added")
    expect(page.get_by_test_id("wallet-balance")).to_have_text("€27.50")
    entries = page.get_by_test_id("wallet-entry")
    expect(entries).to_have_count(2)
    expect(entries.first.get_by_test_id("wallet-entry-balance-after")).to_have_text("€27.50")
    expect(entries.nth(1).get_by_test_id("wallet-entry-balance-after")).to_have_text("€20.00")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the Wallet tab is {scroll_width}px wide at {width}px"
    result = page.evaluate(UNLABELLED_CONTROLS_JS)
    assert result["count"] >= 3 and not result["missing"], result

    # Keyboard only: amount, Tab to the card select, Enter submits the form.
    amount = page.get_by_test_id("top-up-amount")
    amount.focus()
    page.keyboard.type("1")
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("top-up-card")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(amount).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("wallet-balance")).to_have_text("€28.50")


def test_load_more_pages_through_the_history(make_page, portal_url):
    page = make_page()
    sign_up(page, portal_url, unique_email(), "Hana Ledger")
    open_settings(page)
    add_card(page, APPROVES)
    # 21 top-ups by API (the page's own session): one more than a page.
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "portal_csrf")
    pm_id = card_item(page, "4242").get_attribute("data-payment-method-id")
    for i in range(21):
        answer = page.request.post(
            f"{portal_url}/api/v1/wallet/top-ups",
            headers={"X-CSRF-Token": csrf, "Idempotency-Key": f"ledger-{i}"},
            data={"amount": {"amount": 100 + i, "currency": "EUR"}, "payment_method_id": pm_id})
        assert answer.status == 201, answer.text()
    open_wallet(page)
    entries = page.get_by_test_id("wallet-entry")
    expect(entries).to_have_count(20)
    expect(entries.first.get_by_test_id("wallet-entry-amount")).to_contain_text("+€1.20")
    page.get_by_role("button", name="Load more").click()
    expect(entries).to_have_count(21)
    expect(entries.last.get_by_test_id("wallet-entry-balance-after")).to_have_text("€1.00")
    expect(page.get_by_role("button", name="Load more")).to_have_count(0)
