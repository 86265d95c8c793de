"""Browser tests for the Bills tab (postpaid accounts) and the dashboard's bills panel.

Invoices come from billing runs, as in production: a customer subscribes (a charge today), the
services' clock moves a day forward (`advance_clock`), an admin starts the run for that date and
waits for it to complete. Set-up goes through the API (requests, bearer tokens); what the
customer does, through the browser (Playwright's sync API, as in test_portal.py).
"""

import datetime as dt
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    EXP_YEAR,
    Client,
    add_card,
    all_labelled,
    downloaded,
    first_answer_lost,
    log_in_as,
    new_account,
    no_horizontal_scroll,
    page_factory,
)
from tests.browser.test_portal import PASSWORD, sign_up, unique_email
from tests.waiting import eventually

ADMIN = ("admin@example.com", "portal admin demo passphrase")
APPROVES = "4242424242424242"
MASTERCARD = "5555555555554444"
DECLINES = "4000000000000002"


@pytest.fixture
def make_page(pw_browser):
    """Factory for a page in a fresh browser context (own cookies), English UI, downloads
    allowed. Fails the test on a JavaScript error or a console error (expected API refusals,
    402 and 409, show as failed resource loads), and on a card number seen in the console."""
    yield from page_factory(pw_browser, downloads=True)


# --- set-up through the API ------------------------------------------------------------------

def postpaid_customer(base, name, card=APPROVES, subscribe=True, language="en"):
    """A postpaid customer with a card (the default) and the Basic package: a charge today."""
    email, client = new_account(base, name, billing="postpaid", language=language)
    pm = add_card(client, card, name) if card else None
    if subscribe:
        client.call("POST", "/api/v1/subscriptions", 201, json={"package": "basic"},
                    headers={"Idempotency-Key": uuid.uuid4().hex})
    return {"email": email, "name": name, "card": pm}


def bill(base, advance_clock, customer):
    """Move the services a day on, bill that day, and return the customer's (new) client and
    their one invoice."""
    day = advance_clock()
    admin = Client(base, *ADMIN)  # logged in after the move: sessions end by the services' clock
    run = admin.call("POST", "/api/v1/ops/billing-runs", 202, json={"date": day.isoformat()})
    assert run["date"] == day.isoformat(), run
    path = f"/api/v1/ops/billing-runs/{run['id']}"
    run = eventually(lambda: admin.call("GET", path), timeout=30,
                     until=lambda r: r["status"] != "running")
    assert run["status"] == "completed", f"the billing run did not finish: {run}"
    client = Client(base, customer["email"], PASSWORD)
    invoices = client.call("GET", "/api/v1/invoices")["data"]
    assert len(invoices) == 1, invoices
    invoice = invoices[0]
    assert invoice["status"] == "open" and invoice["amount_due"]["amount"] > 0, invoice
    return client, invoice


# --- in the browser --------------------------------------------------------------------------

def eur(money):
    assert money["currency"] == "EUR", money
    return f"€{money['amount'] / 100:,.2f}"


def ui_day(iso):
    """The day as the portal writes it in English ("22 Nov 2026"), month name left open."""
    day = dt.date.fromisoformat(iso)
    return re.compile(rf"(?<!\d){day.day} \w+ {day.year}(?!\d)")


def open_bills(page):
    page.get_by_test_id("nav").get_by_role("link", name="Bills").click()
    expect(page).to_have_url(re.compile(r"#/bills$"))
    expect(page.get_by_test_id("invoice-list").or_(page.get_by_test_id("invoices-empty"))).to_be_visible()


def invoice_row(page, invoice):
    return page.locator(f'[data-testid="invoice-row"][data-invoice-id="{invoice["id"]}"]')


def fill_card(form, number, holder):
    form.get_by_label("Card number").fill(number)
    form.get_by_label("Month (MM)").fill("12")
    form.get_by_label("Year (YYYY)").fill(str(EXP_YEAR))
    form.get_by_label("Security code (CVC)").fill("123")
    form.get_by_label("Name on the card").fill(holder)


# --- the tests -------------------------------------------------------------------------------

def test_see_a_bill_download_it_pay_it_and_get_the_receipt(make_page, portal_url, advance_clock):
    customer = postpaid_customer(portal_url, "Ada Billing")
    client, invoice = bill(portal_url, advance_clock, customer)
    number = invoice["number"]
    # Support corrects the bill with a credit note: less is due.
    credit = Client(portal_url, *ADMIN).call(
        "POST", f"/api/v1/ops/invoices/{invoice['id']}/credit-notes", 201,
        headers={"Idempotency-Key": uuid.uuid4().hex},
        json={"amount": {"amount": 200, "currency": "EUR"}, "reason": "News channels outage"})
    invoice = client.call("GET", f"/api/v1/invoices/{invoice['id']}")
    assert invoice["amount_due"]["amount"] == invoice["total"]["amount"] - 200, invoice
    due = eur(invoice["amount_due"])

    page = make_page()
    log_in_as(page, portal_url, customer)
    # The dashboard's bills panel, drawn from the API's real answer.
    panel = page.get_by_test_id("dashboard-bills")
    expect(panel.get_by_test_id("dashboard-outstanding")).to_have_text(due)
    expect(panel.get_by_test_id("dashboard-next-due")).to_contain_text(due)
    expect(panel.get_by_test_id("dashboard-next-due")).to_contain_text(ui_day(invoice["due_date"]))
    expect(panel.get_by_test_id("dashboard-overdue")).to_have_count(0)
    expect(panel.get_by_role("link", name=f"View bill {number}")).to_have_attribute(
        "href", f"#/bills/{invoice['id']}")
    panel.get_by_role("link", name="Open bills").click()
    expect(page).to_have_url(re.compile(r"#/bills$"))

    # The list: what is owed, the invoice, no payments yet.
    expect(page.get_by_role("heading", level=1)).to_have_text("Bills")
    expect(page.get_by_test_id("bills-outstanding")).to_have_text(due)
    expect(page.get_by_test_id("bills-overdue")).to_have_text("No bills are overdue.")
    expect(page.get_by_test_id("bills-next-due")).to_contain_text(due)
    row = invoice_row(page, invoice)
    expect(page.get_by_test_id("invoice-row")).to_have_count(1)
    expect(row.get_by_test_id("invoice-link")).to_have_text(number)
    expect(row.get_by_test_id("invoice-row-status")).to_have_text("Open")
    expect(row.get_by_test_id("invoice-row-issued")).to_have_text(ui_day(invoice["issue_date"]))
    expect(row.get_by_test_id("invoice-row-due")).to_have_text(ui_day(invoice["due_date"]))
    expect(row.get_by_test_id("invoice-row-total")).to_have_text(eur(invoice["total"]))
    expect(row.get_by_test_id("invoice-row-amount-due")).to_have_text(due)
    expect(page.get_by_test_id("payments-empty")).to_be_visible()
    expect(page.get_by_test_id("invoices-load-more")).to_have_count(0)

    # The detail: lines, totals, the PDF.
    row.get_by_role("link", name=number, exact=True).click()
    expect(page).to_have_url(re.compile(rf"#/bills/{invoice['id']}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Bill {number}")
    expect(page.get_by_test_id("invoice-status")).to_have_text("Open")
    expect(page.get_by_test_id("nav").get_by_role("link", name="Bills")).to_have_attribute(
        "aria-current", "page")
    lines = page.get_by_test_id("invoice-line")
    expect(lines).to_have_count(len(invoice["lines"]))
    first = invoice["lines"][0]
    assert "Basic" in first["description"], first
    # worded from its text code (period_fee), the period's days as the portal writes dates
    assert first["text"]["code"] == "period_fee", first
    start, end = (dt.date.fromisoformat(first["text"]["params"][k]) for k in ("start", "end"))
    expect(lines.first.get_by_test_id("invoice-line-description")).to_have_text(re.compile(
        rf"^Basic \({start.day} \w+ {start.year} – {end.day} \w+ {end.year}\)$"))
    expect(lines.first.get_by_test_id("invoice-line-amount")).to_have_text(eur(first["amount"]))
    expect(lines.first.get_by_test_id("invoice-line-tax-rate")).to_have_text(f"{first['tax_rate']:g}%")
    expect(page.get_by_test_id("invoice-subtotal")).to_have_text(eur(invoice["subtotal"]))
    expect(page.get_by_test_id("invoice-tax")).to_have_text(eur(invoice["tax"]))
    expect(page.get_by_test_id("invoice-total")).to_have_text(eur(invoice["total"]))
    expect(page.get_by_test_id("invoice-amount-paid")).to_have_text("€0.00")
    expect(page.get_by_test_id("invoice-amount-credited")).to_have_text("-€2.00")
    expect(page.get_by_test_id("invoice-amount-due")).to_have_text(due)
    note = page.get_by_test_id("credit-note")
    expect(note).to_have_count(1)
    expect(note).to_contain_text(credit["number"])
    expect(note).to_contain_text("-€2.00")
    expect(note).to_contain_text("News channels outage")
    pdf, name = downloaded(page, page.get_by_test_id("invoice-pdf"))
    assert pdf.startswith(b"%PDF"), pdf[:20]
    assert number in name, name

    # Pay with the default card. The first answer is lost on the way back (the server took
    # the payment): "Try again" sends the same Idempotency-Key, and nothing is charged twice.
    keys = []
    lose_the_first_answer = first_answer_lost(keys)

    page.route(f"**/api/v1/invoices/{invoice['id']}/pay", lose_the_first_answer)
    pay_form = page.get_by_test_id("pay-form")
    card_select = pay_form.get_by_label("Pay with")
    expect(card_select).to_have_value(customer["card"]["id"])
    expect(card_select.locator("option:checked")).to_have_text("Visa •••• 4242 (default)")
    pay_form.get_by_role("button", name=f"Pay {due}").click()
    expect(pay_form).to_have_attribute("data-outcome", "unknown")
    message = pay_form.get_by_test_id("form-message")
    expect(message).to_contain_text("you will not be charged twice")
    again = message.get_by_role("button", name="Try again")
    expect(again).to_be_focused()
    again.click()
    success = page.get_by_test_id("payment-success")
    expect(success).to_contain_text(f"{due} has been paid with Visa •••• 4242.")
    expect(page.get_by_test_id("invoice-status")).to_have_text("Paid")
    expect(page.get_by_test_id("invoice-amount-paid")).to_have_text(due)
    expect(page.get_by_test_id("invoice-amount-due")).to_have_text("€0.00")
    expect(page.get_by_test_id("invoice-pay")).to_have_count(0)
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys
    payments = client.call("GET", "/api/v1/payments")["data"]
    assert [(p["status"], p["invoice_id"], p["amount"]) for p in payments] == [
        ("succeeded", invoice["id"], invoice["amount_due"])], payments
    assert client.call("GET", f"/api/v1/invoices/{invoice['id']}")["status"] == "paid"
    receipt, _ = downloaded(page, success.get_by_test_id("payment-success-receipt"))
    assert receipt.startswith(b"%PDF")

    # Back in the list: nothing outstanding, the payment with its receipt.
    page.get_by_test_id("back-to-bills").click()
    expect(page.get_by_test_id("bills-outstanding")).to_have_text("€0.00")
    expect(page.get_by_test_id("bills-next-due")).to_have_count(0)
    expect(row.get_by_test_id("invoice-row-status")).to_have_text("Paid")
    expect(row.get_by_test_id("invoice-row-amount-due")).to_have_text("€0.00")
    expect(row.get_by_test_id("invoice-row-pay")).to_have_count(0)
    payment = page.get_by_test_id("payment-row")
    expect(payment).to_have_count(1)
    expect(payment).to_have_attribute("data-payment-id", payments[0]["id"])
    expect(payment.get_by_test_id("payment-status")).to_have_text("Paid")
    expect(payment.get_by_test_id("payment-amount")).to_have_text(due)
    expect(payment).to_contain_text(f"Bill {number}")
    expect(payment).to_contain_text("Visa •••• 4242")
    receipt_link = payment.get_by_role("link", name=re.compile(r"^Receipt \(PDF\)"))
    receipt, _ = downloaded(page, receipt_link)
    assert receipt.startswith(b"%PDF"), receipt[:20]

    page.get_by_test_id("nav").get_by_role("link", name="Dashboard").click()
    expect(page.get_by_test_id("dashboard-outstanding")).to_have_text("€0.00")
    expect(page.get_by_test_id("dashboard-next-due")).to_have_count(0)


def test_a_declined_card_says_why_and_a_new_card_pays_in_one_step(make_page, portal_url,
                                                                   advance_clock):
    customer = postpaid_customer(portal_url, "Bea Declined", card=DECLINES)
    client, invoice = bill(portal_url, advance_clock, customer)
    due = eur(invoice["amount_due"])
    number = invoice["number"]

    page = make_page()
    log_in_as(page, portal_url, customer)
    open_bills(page)
    invoice_row(page, invoice).get_by_role("link", name=f"Pay bill {number} ({due})").click()
    expect(page).to_have_url(re.compile(rf"#/bills/{invoice['id']}$"))
    keys = []

    def note_key(route):
        keys.append(route.request.headers.get("idempotency-key"))
        route.continue_()

    page.route(f"**/api/v1/invoices/{invoice['id']}/pay", note_key)

    pay_form = page.get_by_test_id("pay-form")
    expect(pay_form.get_by_label("Pay with").locator("option:checked")).to_have_text(
        "Visa •••• 0002 (default)")
    pay_form.get_by_role("button", name=f"Pay {due}").click()
    expect(pay_form).to_have_attribute("data-outcome", "declined")
    message = pay_form.get_by_test_id("form-message")
    expect(message).to_have_attribute("role", "alert")
    expect(message).to_contain_text("The card was declined.")
    expect(message.get_by_test_id("decline-explanation")).to_contain_text(
        "The card's bank declined the payment.")
    expect(page.get_by_test_id("invoice-status")).to_have_text("Open")
    expect(page.get_by_test_id("invoice-amount-due")).to_have_text(due)

    # Update card and retry: the new card is saved, made the default, and pays, in one submit.
    new_card = page.get_by_test_id("update-card-form")
    expect(new_card).to_be_hidden()
    message.get_by_role("button", name="Update card and retry").click()
    expect(new_card).to_be_visible()
    expect(new_card.get_by_label("Card number")).to_be_focused()
    # A mistyped number is caught before anything is sent.
    fill_card(new_card, "4242 4242 4242 4241", "Bea Declined")
    new_card.get_by_role("button", name=f"Save card and pay {due}").click()
    expect(new_card.get_by_label("Card number")).to_have_attribute("aria-invalid", "true")
    assert len(keys) == 1, keys
    fill_card(new_card, APPROVES, "Bea Declined")
    new_card.get_by_role("button", name=f"Save card and pay {due}").click()
    success = page.get_by_test_id("payment-success")
    expect(success).to_contain_text(f"{due} has been paid with Visa •••• 4242.")
    expect(success).to_contain_text("Visa •••• 4242 is now your default card.")
    expect(page.get_by_test_id("invoice-status")).to_have_text("Paid")
    expect(page.get_by_test_id("invoice-amount-due")).to_have_text("€0.00")
    # Two submissions, two keys.
    assert len(keys) == 2 and all(keys) and keys[0] != keys[1], keys

    cards = {pm["last4"]: pm for pm in client.call("GET", "/api/v1/me/payment-methods")["data"]}
    assert set(cards) == {"0002", "4242"}, cards
    assert cards["4242"]["is_default"] and not cards["0002"]["is_default"], cards
    payments = client.call("GET", "/api/v1/payments")["data"]
    assert sorted((p["status"], p["payment_method_id"], p["decline_code"]) for p in payments) == [
        ("failed", cards["0002"]["id"], "card_declined"),
        ("succeeded", cards["4242"]["id"], None)], payments

    # The history shows both: why the first failed, and a receipt for the one that paid.
    page.get_by_test_id("back-to-bills").click()
    expect(page.get_by_test_id("bills-outstanding")).to_have_text("€0.00")
    failed = page.locator('[data-testid="payment-row"][data-status="failed"]')
    succeeded = page.locator('[data-testid="payment-row"][data-status="succeeded"]')
    expect(failed.get_by_test_id("payment-status")).to_have_text("Failed")
    expect(failed.get_by_test_id("payment-decline")).to_have_text("the card was declined")
    expect(failed.get_by_test_id("payment-receipt")).to_have_count(0)
    expect(succeeded.get_by_test_id("payment-status")).to_have_text("Paid")
    receipt, _ = downloaded(page, succeeded.get_by_test_id("payment-receipt"))
    assert receipt.startswith(b"%PDF")


def test_a_failed_automatic_payment_says_why_and_when_and_a_new_card_pays(
        make_page, portal_url, advance_clock):
    """Autopay with a card that declines: the invoice's `collection` says why, and when the card
    is tried again. Its last step (services suspended) comes a week of dunning steps later, so
    that state is shown by adjusting the invoice's answer; paying is real."""
    customer = postpaid_customer(portal_url, "Cleo Collection", card=DECLINES)
    Client(portal_url, customer["email"], PASSWORD).call(
        "PUT", "/api/v1/autopay", json={"enabled": True, "payment_method_id": None})
    client, invoice = bill(portal_url, advance_clock, customer)
    number = invoice["number"]
    due = eur(invoice["amount_due"])
    # Autopay charges after the run (billing handles its own invoice_autopay_due event).
    path = f"/api/v1/invoices/{invoice['id']}"
    invoice = eventually(lambda: client.call("GET", path), timeout=30,
                         until=lambda i: (i.get("collection") or {}).get("failed_attempts"))
    assert (invoice.get("collection") or {}).get("failed_attempts"), f"no autopay: {invoice}"
    collection = invoice["collection"]
    assert collection["autopay"] is True and collection["state"] == "retrying", collection
    assert collection["last_decline_code"] == "card_declined", collection
    retry_day = ui_day(collection["next_retry_at"][:10])

    page = make_page()
    log_in_as(page, portal_url, customer)
    open_bills(page)
    expect(page.get_by_test_id("autopay-state")).to_have_text(
        "Automatic payment is on: new bills are paid with your default card, Visa •••• 0002.")
    alert = page.get_by_test_id("collection-alert")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text(
        f"We could not collect bill {number} automatically: the card was declined.")
    expect(alert).to_contain_text(re.compile(rf"try your card again on {retry_day.pattern}\."))
    failed = page.locator('[data-testid="payment-row"][data-status="failed"]')
    expect(failed).to_have_count(1)
    expect(failed.get_by_test_id("payment-decline")).to_have_text("the card was declined")

    alert.get_by_role("link", name=f"Pay bill {number}").click()
    expect(page).to_have_url(re.compile(rf"#/bills/{invoice['id']}$"))
    notice = page.get_by_test_id("collection-notice")
    expect(notice).to_have_attribute("data-state", "retrying")
    expect(notice).to_contain_text("the card was declined")
    expect(notice).to_contain_text(retry_day)

    # After the last step: the services are suspended until the bill is paid.
    def exhausted(route):
        answer = route.fetch()
        body = answer.json()
        body["collection"] = {**body["collection"], "state": "exhausted", "failed_attempts": 4,
                              "last_decline_code": "expired_card", "next_retry_at": None,
                              "steps_left": 0}
        route.fulfill(response=answer, json=body)

    page.route(f"**/api/v1/invoices/{invoice['id']}", exhausted)
    page.reload()
    notice = page.get_by_test_id("collection-notice")
    expect(notice).to_have_attribute("data-state", "exhausted")
    expect(notice).to_contain_text("the card has expired")
    expect(notice).to_contain_text("Your services are suspended until this bill is paid.")
    expect(notice).not_to_contain_text("try your card again")

    notice.get_by_role("button", name="Update card and retry").click()
    new_card = page.get_by_test_id("update-card-form")
    expect(new_card.get_by_label("Card number")).to_be_focused()
    fill_card(new_card, MASTERCARD, "Cleo Collection")
    new_card.get_by_role("button", name=f"Save card and pay {due}").click()
    expect(page.get_by_test_id("payment-success")).to_contain_text(
        f"{due} has been paid with Mastercard •••• 4444.")
    expect(page.get_by_test_id("invoice-status")).to_have_text("Paid")
    expect(page.get_by_test_id("collection-notice")).to_have_count(0)
    paid = client.call("GET", f"/api/v1/invoices/{invoice['id']}")
    assert paid["status"] == "paid" and paid["amount_due"]["amount"] == 0, paid
    cards = client.call("GET", "/api/v1/me/payment-methods")["data"]
    assert [c["last4"] for c in cards if c["is_default"]] == ["4444"], cards


def test_turn_automatic_payment_on_with_a_chosen_card_and_off_again(make_page, portal_url):
    customer = postpaid_customer(portal_url, "Dora Autopay", subscribe=False)
    client = Client(portal_url, customer["email"], PASSWORD)
    mastercard = add_card(client, MASTERCARD, "Dora Autopay")

    page = make_page()
    log_in_as(page, portal_url, customer)
    open_bills(page)
    expect(page.get_by_test_id("invoices-empty")).to_be_visible()
    form = page.get_by_test_id("autopay-form")
    enabled = form.get_by_label("Pay new bills automatically")
    card = form.get_by_label("Card for automatic payment")
    expect(enabled).not_to_be_checked()
    expect(page.get_by_test_id("autopay-state")).to_have_text("Automatic payment is off.")
    expect(card.locator("option:checked")).to_have_text("My default card (Visa •••• 4242)")

    enabled.check()
    card.select_option(mastercard["id"])
    form.get_by_role("button", name="Save").click()
    on = "Automatic payment is on: new bills are paid with Mastercard •••• 4444."
    expect(form.get_by_test_id("form-message")).to_have_text(on)
    expect(page.get_by_test_id("autopay-state")).to_have_text(on)
    setting = client.call("GET", "/api/v1/autopay")
    assert setting["enabled"] is True and setting["payment_method_id"] == mastercard["id"], setting

    page.reload()
    expect(enabled).to_be_checked()
    expect(card).to_have_value(mastercard["id"])
    enabled.uncheck()
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_test_id("form-message")).to_have_text("Automatic payment is off.")
    assert client.call("GET", "/api/v1/autopay")["enabled"] is False

    # Without any card, the server refuses (409 NO_PAYMENT_METHOD) and the form says why.
    cardless = postpaid_customer(portal_url, "Eve Cardless", card=None, subscribe=False)
    other = make_page()
    log_in_as(other, portal_url, cardless)
    open_bills(other)
    form = other.get_by_test_id("autopay-form")
    expect(other.get_by_test_id("autopay-no-cards")).to_be_visible()
    form.get_by_label("Pay new bills automatically").check()
    form.get_by_role("button", name="Save").click()
    message = form.get_by_test_id("form-message")
    expect(message).to_contain_text("Automatic payment needs a card")
    expect(message.get_by_role("link", name="Add a card in Settings")).to_have_attribute(
        "href", "#/settings/cards")
    expect(other.get_by_test_id("autopay-state")).to_have_text("Automatic payment is off.")
    settings = Client(portal_url, cardless["email"], PASSWORD).call("GET", "/api/v1/autopay")
    assert settings["enabled"] is False, settings


def test_no_bills_for_prepaid_and_the_bills_tab_fits_a_phone_and_is_labelled(
        make_page, portal_url, advance_clock):
    prepaid = make_page()
    sign_up(prepaid, portal_url, unique_email(), "Finn Prepaid")
    expect(prepaid.get_by_test_id("nav").get_by_role("link", name="Bills")).to_have_count(0)
    expect(prepaid.get_by_test_id("dashboard-bills")).to_have_count(0)
    for route in ("#/bills", "#/bills/inv_anything"):
        prepaid.goto(f"{portal_url}/{route}")
        expect(prepaid.get_by_role("heading", name="Page not found")).to_be_visible()
        expect(prepaid.get_by_test_id("invoice-list")).to_have_count(0)

    # A postpaid customer in German (the longer words) on a phone, and in English on a desktop.
    customer = postpaid_customer(portal_url, "Gwendolyn Longname-Smithson", card=DECLINES,
                                 language="de")
    _, invoice = bill(portal_url, advance_clock, customer)
    for width in (375, 1280):
        page = make_page(width=width, height=800)
        log_in_as(page, portal_url, customer)
        page.goto(f"{portal_url}/#/bills/{invoice['id']}")
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Rechnung {invoice['number']}")
        expect(page.get_by_test_id("invoice-pdf")).to_have_accessible_name(
            f"PDF herunterladen: Rechnung {invoice['number']}")
        pay_form = page.get_by_test_id("pay-form")
        pay_form.get_by_test_id("pay-submit").click()
        expect(pay_form).to_have_attribute("data-outcome", "declined")
        pay_form.get_by_test_id("update-card-retry").click()
        expect(page.get_by_test_id("update-card-form")).to_be_visible()
        page.get_by_test_id("test-cards").locator("summary").click()
        expect(page.get_by_test_id("invoice-line")).not_to_have_count(0)
        no_horizontal_scroll(page, width, "a bill")
        all_labelled(page, 6, "a bill")  # the card select and the new card's five fields

        page.get_by_test_id("back-to-bills").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Rechnungen")
        amount = f"{invoice['amount_due']['amount'] / 100:.2f}".replace(".", ",")
        expect(page.get_by_test_id("bills-outstanding")).to_have_text(re.compile(rf"^{amount}\s€$"))
        row = invoice_row(page, invoice)
        expect(row.get_by_test_id("invoice-row-status")).to_have_text("Offen")
        expect(page.get_by_test_id("payment-row")).to_have_count(1 if width == 375 else 2)
        expect(page.get_by_test_id("autopay-form")).to_be_visible()
        no_horizontal_scroll(page, width, "the Bills tab")
        all_labelled(page, 2, "the Bills tab")  # autopay: on/off and the card
