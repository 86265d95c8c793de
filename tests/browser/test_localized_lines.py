"""Generated lines in the customer's language: a German customer's wallet history words the
top-up and the subscription's charges in German (the server sends `text` codes beside its
English descriptions; gateway/static/line-text.js words them with `lines.<code>`)."""

import re

from playwright.sync_api import expect

from tests.browser.helpers import add_card, log_in_as, new_account


def test_a_german_customers_wallet_history_is_in_german(make_page, portal_url):
    email, client = new_account(portal_url, "Jürgen Weber", language="de")
    add_card(client, "4242424242424242", "Jürgen Weber")
    client.call("POST", "/api/v1/wallet/top-ups", 201, headers={"Idempotency-Key": "de-1"},
                json={"amount": {"amount": 5000, "currency": "EUR"}})
    client.call("POST", "/api/v1/subscriptions", 201, json={"package": "family"})

    page = make_page()
    log_in_as(page, portal_url, {"email": email, "name": "Jürgen Weber"})
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.goto(f"{portal_url}/#/wallet")
    lines = page.get_by_test_id("wallet-entry-description")
    expect(lines).to_have_count(2)
    # newest first: the subscription's two charges paid at once, then the top-up
    expect(lines.nth(1)).to_contain_text("Aufladung per Karte Visa …4242")
    expect(lines.nth(0)).to_contain_text(re.compile(
        r"^Family \(\d{1,2}\. [A-Za-zäÄ]+\.? \d{4} – \d{1,2}\. [A-Za-zäÄ]+\.? \d{4}\) "
        r"und 1 weitere"))
    history = page.get_by_test_id("wallet-entry-description").all_inner_texts()
    assert not any("Top-up by card" in text or "more" in text for text in history), history
