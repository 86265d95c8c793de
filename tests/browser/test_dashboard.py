"""The main page answers "will my TV keep working" first: for a prepaid customer the next
renewal and what is missing, with a top-up of exactly that; for a postpaid one what is due, Pay,
and whether autopay pays it. Against the whole system (`portal_url`)."""

import re

from playwright.sync_api import expect

from tests.browser.helpers import add_card, log_in_as, new_account


def money_text(amount):
    return f"€{amount // 100}.{amount % 100:02d}"


def test_prepaid_the_gap_to_the_next_renewal_and_a_top_up_that_closes_it(make_page, portal_url):
    email, client = new_account(portal_url, "Pia Prepaid")
    card = add_card(client, "4242424242424242", "Pia Prepaid")
    client.call("POST", "/api/v1/wallet/top-ups", 201,
                json={"amount": {"amount": 2000, "currency": "EUR"}},
                headers={"Idempotency-Key": "dash-1"})
    sub = client.call("POST", "/api/v1/subscriptions", 201, json={"package": "basic"},
                      headers={"Idempotency-Key": "dash-2"})
    renewal = sub["next_renewal"]["amount"]["amount"]
    balance = client.call("GET", "/api/v1/wallet")["balance"]["amount"]
    missing = renewal - balance
    assert missing > 0

    page = make_page()
    log_in_as(page, portal_url, {"email": email, "name": "Pia Prepaid"})
    # the first thing on the page: the renewal, what it needs and what is missing
    nxt = page.get_by_test_id("dashboard-next")
    expect(nxt).to_have_attribute("data-attention", "true")
    expect(nxt.get_by_test_id("dashboard-next-text")).to_contain_text(
        f"needs {money_text(renewal)}: {money_text(missing)} missing")
    assert page.locator("main h1 + section").get_attribute("data-testid") == "dashboard-next"
    expect(page.get_by_test_id("dashboard-billing-type")).to_have_count(0)
    expect(page.get_by_test_id("dashboard-currency")).to_have_count(0)

    # Top up: the wallet opens with exactly the missing amount filled in
    nxt.get_by_test_id("dashboard-next-top-up").click()
    expect(page).to_have_url(re.compile(rf"#/wallet/top-up/{missing}$"))
    amount = page.get_by_test_id("top-up-amount")
    expect(amount).to_have_value(f"{missing // 100}.{missing % 100:02d}")
    form = page.get_by_test_id("top-up-form")
    form.get_by_test_id("top-up-card").select_option(card["id"])
    form.get_by_test_id("top-up-submit").click()
    expect(page.get_by_test_id("wallet-balance")).to_have_text(money_text(renewal))

    page.get_by_test_id("nav").get_by_role("link", name="Dashboard").click()
    nxt = page.get_by_test_id("dashboard-next")
    expect(nxt).to_have_attribute("data-attention", "false")
    expect(nxt.get_by_test_id("dashboard-next-text")).to_contain_text(
        "Basic renews on")
    expect(nxt.get_by_test_id("dashboard-next-text")).to_contain_text(
        f"for {money_text(renewal)}. Your balance pays it.")
    expect(nxt.get_by_test_id("dashboard-lasts")).to_contain_text("Your balance lasts until")


def test_postpaid_nothing_due_and_the_autopay_state(make_page, portal_url):
    email, client = new_account(portal_url, "Paul Postpaid", billing="postpaid")
    page = make_page()
    log_in_as(page, portal_url, {"email": email, "name": "Paul Postpaid"})
    nxt = page.get_by_test_id("dashboard-next")
    expect(nxt.get_by_test_id("dashboard-next-text")).to_have_text(
        "Nothing to pay: you are all settled.")
    expect(nxt.get_by_test_id("dashboard-autopay")).to_have_attribute("data-enabled", "false")
    expect(nxt.get_by_test_id("dashboard-autopay")).to_contain_text("Autopay is off")

    add_card(client, "4242424242424242", "Paul Postpaid")
    client.call("PUT", "/api/v1/autopay", json={"enabled": True})
    page.reload()
    autopay = page.get_by_test_id("dashboard-next").get_by_test_id("dashboard-autopay")
    expect(autopay).to_have_attribute("data-enabled", "true")
    expect(autopay).to_contain_text("Autopay is on: Visa ending in 4242 pays each bill")
    autopay.get_by_role("link", name="Autopay settings").click()
    expect(page).to_have_url(re.compile(r"#/bills$"))
