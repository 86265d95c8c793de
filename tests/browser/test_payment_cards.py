"""Browser tests for saved cards (Settings → Payment methods): the sandbox's test cards are shown
only when the payment provider is a test one, and the same card cannot be saved twice (the
server's 409 CARD_ALREADY_SAVED, said in the customer's language)."""

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.helpers import EXP_YEAR, PASSWORD, add_card, new_account, page_factory

APPROVES = "4242 4242 4242 4242"
ALREADY_SAVED = {"en": "This card is saved already.",
                 "de": "Diese Karte ist bereits gespeichert."}


@pytest.fixture
def make_page(pw_browser):
    yield from page_factory(pw_browser)


def log_in_to_settings(page, base, email):
    page.goto(f"{base}/#/login")
    form = page.get_by_test_id("login-form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("input[name=password]").press("Enter")
    expect(page.get_by_test_id("nav")).to_be_visible()
    page.goto(f"{base}/#/settings")
    expect(page.get_by_test_id("add-card-form")).to_be_visible()


def test_the_test_cards_are_shown_only_with_a_test_provider(make_page, portal_url):
    email, client = new_account(portal_url, "Tess Cards")
    assert client.call("GET", "/api/v1/me/payment-methods")["test_mode"] is True  # the sandbox
    page = make_page()
    log_in_to_settings(page, portal_url, email)
    test_cards = page.get_by_test_id("add-card-form").get_by_test_id("test-cards")
    expect(test_cards).to_be_visible()
    test_cards.locator("summary").click()
    expect(test_cards).to_contain_text(APPROVES)

    # The same page when the card list says the provider is a real one: no test cards.
    def live_provider(route):
        if route.request.method != "GET":
            route.continue_()
            return
        answer = route.fetch()
        route.fulfill(response=answer, json={**answer.json(), "test_mode": False})

    page.route("**/api/v1/me/payment-methods", live_provider)
    page.reload()
    expect(page.get_by_test_id("add-card-form").get_by_label("Card number")).to_be_visible()
    expect(page.get_by_test_id("test-cards")).to_have_count(0)


@pytest.mark.parametrize("language", ["en", "de"])
def test_the_same_card_twice_is_refused_and_the_portal_says_so(make_page, portal_url, language):
    email, client = new_account(portal_url, "Dora Double", language=language)
    add_card(client, APPROVES, "Dora Double")
    answer = requests.post(f"{portal_url}/api/v1/me/payment-methods", timeout=10,
                           headers=client.headers, json={
                               "number": APPROVES, "exp_month": 12, "exp_year": EXP_YEAR,
                               "cvc": "321", "holder": "D. Double"})
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == "CARD_ALREADY_SAVED"
    assert "4242" not in answer.text

    page = make_page()
    log_in_to_settings(page, portal_url, email)
    form = page.get_by_test_id("add-card-form")
    form.get_by_test_id("card-number").fill(APPROVES)
    form.get_by_test_id("card-exp-month").fill("12")
    form.get_by_test_id("card-exp-year").fill(str(EXP_YEAR))
    form.get_by_test_id("card-cvc").fill("123")
    form.get_by_test_id("card-holder").fill("Dora Double")
    form.locator("button[type=submit]").click()
    message = form.get_by_test_id("form-message")
    expect(message).to_have_attribute("role", "alert")
    expect(message).to_contain_text(ALREADY_SAVED[language])
    expect(page.get_by_test_id("payment-method")).to_have_count(1)
    expect(form.get_by_test_id("card-number")).to_have_value("")  # the number is not kept
