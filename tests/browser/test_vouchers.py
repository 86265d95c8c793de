"""Browser tests for the Vouchers tab, topping up by voucher in the Wallet tab, and the ops page
for voucher batches (gateway/static/pages/vouchers.js, wallet.js, ops-vouchers.js).

Print batches are made as ops make them: an admin creates one through the API (or the ops page),
waits until its vouchers are generated and downloads the print house's CSV; customers type codes
from it. Online vouchers are bought by card in the browser, with the sandbox's test cards.

Wrong codes are throttled: 5 per account and 20 per client address in 15 minutes, and every
browser test comes from 127.0.0.1. A typo never reaches the server (the portal checks the code's
check symbol first); the only wrong codes sent are the few unknown ones these tests send on
purpose (6 in all), so the address stays well under its limit.
"""

import csv
import datetime as dt
import io
import re
import secrets
import uuid

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.helpers import (
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
from tests.browser.test_bills import ADMIN, APPROVES, DECLINES
from tests.browser.test_portal import log_in
from tests.waiting import eventually

CSV_HEADER = "serial,code,value,currency,valid_until"
SYMBOL = "[0-9A-HJKMNP-TV-Z]"  # Crockford's base32
CODE_RE = re.compile(rf"^{SYMBOL}{{4}}-{SYMBOL}{{4}}-{SYMBOL}{{4}}-{SYMBOL}{{2}}$")
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # the same, in the vouchers service's order


@pytest.fixture
def make_page(pw_browser):
    """Factory for a page in a fresh browser context (own cookies), English UI, downloads and
    the clipboard allowed. Fails the test on a JavaScript error or a console error (expected
    API refusals, 402, 404, 409 and 429, show as failed resource loads), and on a card number
    seen in the console."""
    yield from page_factory(pw_browser, downloads=True, clipboard=True)


# --- set-up through the API ------------------------------------------------------------------

def customer(base, name, billing="prepaid", card=None, currency="EUR"):
    """A new customer (English) with an optional card; its email, name and API client."""
    email, client = new_account(base, name, billing=billing, currency=currency)
    if card:
        add_card(client, card, name)
    return {"email": email, "name": name, "client": client}


def print_batch(admin, count, amount, **extra):
    """A print batch made by API, once its vouchers are generated (status active)."""
    valid_until = dt.datetime.now(dt.UTC) + dt.timedelta(days=60)
    batch = admin.call("POST", "/api/v1/ops/voucher-batches", 202,
                       headers={"Idempotency-Key": uuid.uuid4().hex}, json={
        "type": "print", "value": {"amount": amount, "currency": "EUR"}, "count": count,
        "valid_until": valid_until.isoformat(), **extra})
    if "valid_until" in extra:
        return batch  # perhaps a short-lived one: let the caller wait for it
    batch = wait_until_active(admin, batch)
    assert batch["generated"] == count, batch
    return batch


def parse_export(text, count):
    """The print house's CSV: the header line and `count` rows, as dicts."""
    lines = text.splitlines()
    assert lines[0] == CSV_HEADER, lines[:2]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == count, rows
    for row in rows:
        assert CODE_RE.match(row["code"]), row
    return rows


def export(admin, batch):
    answer = requests.get(f"{admin.base}/api/v1/ops/voucher-batches/{batch['id']}/export.csv",
                          headers=admin.headers, timeout=15)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/csv"), answer.headers
    return parse_export(answer.text, batch["count"])


def one_symbol_wrong(code):
    """The code with its first symbol mistyped: the check symbol catches it."""
    first = code[0]
    return ALPHABET[(ALPHABET.index(first) + 7) % len(ALPHABET)] + code[1:]


def unknown_code():
    """A well-formed code (right check symbol) that no voucher has: a wrong guess."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(13))
    total, double = 0, True
    for ch in reversed(body):
        addend = ALPHABET.index(ch) * (2 if double else 1)
        total += addend // 32 + addend % 32
        double = not double
    code = body + ALPHABET[(32 - total % 32) % 32]
    return "-".join(code[i:i + 4] for i in range(0, 14, 4))


# --- in the browser --------------------------------------------------------------------------

def open_vouchers(page):
    page.get_by_test_id("nav").get_by_role("link", name="Vouchers", exact=True).click()
    expect(page).to_have_url(re.compile(r"#/vouchers$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Vouchers")


def open_wallet(page):
    page.get_by_test_id("nav").get_by_role("link", name="Wallet").click()
    expect(page).to_have_url(re.compile(r"#/wallet$"))
    expect(page.get_by_test_id("wallet-balance")).to_be_visible()


def open_ops(page):
    page.get_by_test_id("nav").get_by_role("link", name="Voucher batches (ops)").click()
    expect(page).to_have_url(re.compile(r"#/ops/vouchers$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Voucher batches")


def redeem(page, code, form_testid="redeem-form", label="Voucher code"):
    form = page.get_by_test_id(form_testid)
    form.get_by_label(label).fill(code)
    form.get_by_test_id(f"{form_testid}-submit").click()
    return form


def count_requests(page, path):
    sent = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith(path) else None)
    return sent


# --- the tests -------------------------------------------------------------------------------

def test_a_prepaid_customer_redeems_a_printed_voucher_and_sees_the_wallet_credit(
        make_page, portal_url):
    admin = Client(portal_url, *ADMIN)
    batch = print_batch(admin, 3, 1500, description="Shop window campaign")
    rows = export(admin, batch)
    assert {(r["value"], r["currency"]) for r in rows} == {("15.00", "EUR")}, rows
    first = rows[0]
    ann = customer(portal_url, "Ann Voucher")

    page = make_page()
    log_in_as(page, portal_url, ann)
    open_vouchers(page)
    expect(page.get_by_test_id("nav").get_by_role("link", name="Vouchers")).to_have_attribute(
        "aria-current", "page")
    expect(page.get_by_test_id("redemptions-empty")).to_be_visible()
    redeemed = count_requests(page, "/api/v1/vouchers/redeem")

    # Typed the forgiving way: lower case, spaces instead of dashes.
    form = redeem(page, first["code"].lower().replace("-", " "))
    success = page.get_by_test_id("redeem-success")
    expect(success).to_contain_text("€15.00 has been added to your wallet.")
    expect(success).to_contain_text(f"Voucher {first['serial']} is now redeemed.")
    expect(success.get_by_test_id("redeem-success-balance")).to_have_text(
        "Your new balance is €15.00.")
    expect(form.get_by_label("Voucher code")).to_have_value("")
    history = page.get_by_test_id("redemption-row")
    expect(history).to_have_count(1)
    expect(history).to_have_attribute("data-serial", first["serial"])
    expect(history).to_have_attribute("data-new", "true")
    expect(history.get_by_test_id("redemption-value")).to_have_text("+€15.00")
    assert ann["client"].call("GET", "/api/v1/wallet")["balance"] == {
        "amount": 1500, "currency": "EUR"}

    # The same code again: already redeemed, and nothing more is credited.
    redeem(page, first["code"])
    message = form.get_by_test_id("form-message")
    expect(message).to_have_text(
        "This voucher has already been redeemed. If it was you, it is in your history.")
    expect(message).to_have_attribute("role", "alert")
    expect(form).to_have_attribute("data-error", "VOUCHER_ALREADY_REDEEMED")
    expect(page.get_by_test_id("redeem-success")).to_have_count(0)
    expect(history).to_have_count(1)

    # One wrong symbol: the check symbol catches the typo before anything is sent.
    assert len(redeemed) == 2, [r.url for r in redeemed]
    redeem(page, one_symbol_wrong(rows[1]["code"]))
    code_input = form.get_by_label("Voucher code")
    expect(code_input).to_have_attribute("aria-invalid", "true")
    expect(form).to_contain_text("This is not a valid voucher code. Check the code for a typo.")
    expect(code_input).to_be_focused()
    assert len(redeemed) == 2, "a mistyped code was sent to the server"
    assert ann["client"].call("GET", "/api/v1/wallet")["balance"]["amount"] == 1500

    # The Wallet tab shows the credit in the balance and the ledger.
    open_wallet(page)
    expect(page.get_by_test_id("wallet-balance")).to_have_text("€15.00")
    entry = page.get_by_test_id("wallet-entry")
    expect(entry).to_have_count(1)
    expect(entry).to_have_attribute("data-type", "voucher")
    expect(entry).to_contain_text(first["serial"])
    expect(entry.get_by_test_id("wallet-entry-amount")).to_contain_text("+€15.00")

    # After a reload the history is still there.
    page.goto(f"{portal_url}/#/vouchers")
    expect(page.get_by_test_id("redemption-row")).to_have_count(1)
    expect(page.get_by_test_id("redemption-row")).not_to_have_attribute("data-new", "true")
    assert [r["serial"] for r in ann["client"].call("GET", "/api/v1/vouchers/redemptions")[
        "data"]] == [first["serial"]]


def test_top_up_by_voucher_in_the_wallet_tab(make_page, portal_url):
    admin = Client(portal_url, *ADMIN)
    rows = export(admin, print_batch(admin, 2, 750))
    bo = customer(portal_url, "Bo Wallet", card=APPROVES)

    page = make_page()
    log_in_as(page, portal_url, bo)
    open_wallet(page)
    voucher = page.get_by_test_id("voucher-top-up")
    expect(voucher.get_by_role("heading", name="Top up with a voucher")).to_be_visible()
    top_ups = count_requests(page, "/api/v1/wallet/top-ups")

    form = redeem(page, rows[0]["code"], "voucher-top-up-form")
    result = page.get_by_test_id("voucher-top-up-result")
    expect(result).to_contain_text("€7.50 has been added to your wallet.")
    expect(result).to_contain_text("Your new balance is €7.50.")
    expect(page.get_by_test_id("wallet-balance")).to_have_text("€7.50")
    entry = page.get_by_test_id("wallet-entry")
    expect(entry).to_have_count(1)
    expect(entry).to_have_attribute("data-type", "voucher")
    expect(entry).to_have_attribute("data-new", "true")
    expect(entry.get_by_test_id("wallet-entry-balance-after")).to_have_text("€7.50")
    assert top_ups[0].post_data_json == {"voucher_code": rows[0]["code"]}, top_ups[0].post_data

    redeem(page, rows[1]["code"].replace("-", ""), "voucher-top-up-form")
    expect(result).to_contain_text("Your new balance is €15.00.")
    expect(page.get_by_test_id("wallet-balance")).to_have_text("€15.00")
    expect(page.get_by_test_id("wallet-entry")).to_have_count(2)

    # A code no voucher has (one wrong guess), and one already used: said apart.
    redeem(page, unknown_code(), "voucher-top-up-form")
    message = form.get_by_test_id("form-message")
    expect(message).to_have_text(
        "No voucher has this code. Check that you typed it exactly as printed.")
    redeem(page, rows[0]["code"], "voucher-top-up-form")
    expect(message).to_contain_text("already been redeemed")
    expect(result).to_be_empty()
    expect(page.get_by_test_id("wallet-balance")).to_have_text("€15.00")
    wallet = bo["client"].call("GET", "/api/v1/wallet")
    assert wallet["balance"] == {"amount": 1500, "currency": "EUR"}, wallet

    # The card top-up beside it still works, and the link leads to the Vouchers tab.
    page.get_by_test_id("top-up-amount").fill("5")
    page.get_by_test_id("top-up-submit").click()
    expect(page.get_by_test_id("wallet-balance")).to_have_text("€20.00")
    voucher.get_by_role("link", name="Buy a voucher in the Vouchers tab").click()
    expect(page).to_have_url(re.compile(r"#/vouchers$"))
    expect(page.get_by_test_id("redemption-row")).to_have_count(2)


def test_buy_an_online_voucher_see_its_code_once_and_another_customer_redeems_it(
        make_page, portal_url):
    # Anyone may buy: here a postpaid customer buys a voucher as a gift.
    buyer = customer(portal_url, "Cleo Buyer", billing="postpaid", card=APPROVES)
    page = make_page()
    log_in_as(page, portal_url, buyer)
    open_vouchers(page)
    ten = page.locator('[data-testid="voucher-offer"][data-offer="topup-10"]')
    expect(ten.get_by_test_id("offer-price")).to_have_text("€10.00")
    expect(ten).to_contain_text("Credits €10.00 to a prepaid wallet")
    fifty = page.locator('[data-testid="voucher-offer"][data-offer="topup-50"]')
    expect(fifty.get_by_test_id("offer-price")).to_have_text("€47.50")
    expect(fifty.get_by_test_id("offer-saving")).to_have_text("You save €2.50")

    # The first answer is lost on the way back (the server sold the voucher): "Try again"
    # sends the same Idempotency-Key and gets the same voucher, charged once.
    keys = []
    lose_the_first_answer = first_answer_lost(keys)

    page.route("**/api/v1/vouchers/purchases", lose_the_first_answer)
    ten.get_by_role("button", name="Buy 10 € top-up voucher for €10.00").click()
    checkout = page.get_by_test_id("voucher-checkout")
    expect(checkout.get_by_role("heading", name="Buy: 10 € top-up voucher")).to_be_focused()
    expect(checkout.get_by_label("Pay with").locator("option:checked")).to_have_text(
        "Visa •••• 4242 (default)")
    buy_form = checkout.get_by_test_id("buy-form")
    buy_form.get_by_role("button", name="Pay €10.00").click()
    expect(buy_form).to_have_attribute("data-outcome", "unknown")
    message = buy_form.get_by_test_id("form-message")
    expect(message).to_contain_text("you will not be charged twice")
    again = message.get_by_role("button", name="Try again")
    expect(again).to_be_focused()
    again.click()

    bought = page.get_by_test_id("voucher-purchased")
    expect(bought).to_contain_text(
        "You bought a voucher worth €10.00: €10.00 was paid with Visa •••• 4242.")
    code = page.get_by_test_id("voucher-code").inner_text().strip()
    assert CODE_RE.match(code), code
    expect(bought.get_by_test_id("voucher-shown-once")).to_have_text(
        "Write this code down or copy it now: it will not be shown again.")
    expect(bought.get_by_test_id("voucher-serial")).to_have_text(re.compile(r"^\d{12}$"))
    expect(page.get_by_test_id("voucher-checkout")).to_have_count(0)
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys
    payments = [p for p in buyer["client"].call("GET", "/api/v1/payments")["data"]
                if p["purpose"] == "voucher"]
    assert [(p["status"], p["amount"]["amount"]) for p in payments] == [
        ("succeeded", 1000)], payments

    # Copy the code; download the receipt.
    bought.get_by_role("button", name="Copy code").click()
    expect(bought.get_by_test_id("voucher-copy-status")).to_have_text("The code has been copied.")
    assert page.evaluate("navigator.clipboard.readText()") == code
    receipt, _ = downloaded(page, bought.get_by_role("link", name="Download the receipt (PDF)"))
    assert receipt.startswith(b"%PDF"), receipt[:20]
    # A postpaid buyer cannot redeem it here: no "redeem now".
    expect(bought.get_by_test_id("voucher-redeem-now")).to_have_count(0)

    # Shown once: not after a reload, and not when coming back to the tab.
    page.reload()
    expect(ten.get_by_role("button", name="Buy 10 € top-up voucher for €10.00")).to_be_visible()
    expect(page.get_by_test_id("voucher-purchased")).to_have_count(0)
    assert code not in page.locator("body").inner_text()

    # Another customer redeems the gift and gets the credit.
    dan = customer(portal_url, "Dan Gift")
    answer = dan["client"].call("POST", "/api/v1/vouchers/redeem", 201, json={"code": code})
    assert answer["wallet"]["balance"] == {"amount": 1000, "currency": "EUR"}, answer
    assert dan["client"].call("GET", "/api/v1/wallet")["balance"]["amount"] == 1000

    # A declining card says why; a new card then pays in one step.
    eve = customer(portal_url, "Eve Declined", card=DECLINES)
    page = make_page()
    log_in_as(page, portal_url, eve)
    open_vouchers(page)
    page.get_by_role("button", name="Buy 25 € top-up voucher for €25.00").click()
    buy_form = page.get_by_test_id("buy-form")
    buy_form.get_by_role("button", name="Pay €25.00").click()
    expect(buy_form).to_have_attribute("data-outcome", "declined")
    message = buy_form.get_by_test_id("form-message")
    expect(message).to_have_attribute("role", "alert")
    expect(message.get_by_test_id("decline-explanation")).to_have_text(
        "The card's bank declined the payment. Use another card, or update your card and try "
        "again. Nothing was charged.")
    expect(page.get_by_test_id("voucher-purchased")).to_have_count(0)
    message.get_by_role("button", name="Enter a new card and pay").click()
    new_card = page.get_by_test_id("buy-new-card-form")
    expect(new_card.get_by_label("Card number")).to_be_focused()
    new_card.get_by_label("Card number").fill("4242 4242 4242 4242")
    new_card.get_by_label("Month (MM)").fill("12")
    new_card.get_by_label("Year (YYYY)").fill(str(dt.date.today().year + 1))
    new_card.get_by_label("Security code (CVC)").fill("123")
    new_card.get_by_label("Name on the card").fill("Eve Declined")
    new_card.get_by_role("button", name="Save card and pay €25.00").click()
    bought = page.get_by_test_id("voucher-purchased")
    expect(bought).to_contain_text("worth €25.00: €25.00 was paid with Visa •••• 4242.")
    # Eve is prepaid: she can put it into her own wallet at once.
    bought.get_by_role("button", name="Redeem it into my wallet now").click()
    form = page.get_by_test_id("redeem-form")
    expect(form.get_by_label("Voucher code")).to_be_focused()
    expect(form.get_by_label("Voucher code")).to_have_value(
        page.get_by_test_id("voucher-code").inner_text().strip())
    form.get_by_role("button", name="Redeem").click()
    expect(page.get_by_test_id("redeem-success")).to_contain_text(
        "€25.00 has been added to your wallet.")
    statuses = sorted(p["status"] for p in eve["client"].call("GET", "/api/v1/payments")["data"])
    assert statuses == ["failed", "succeeded"], statuses


def test_ops_create_a_batch_watch_it_export_and_void_it(make_page, portal_url):
    description = f"Kiosk batch {uuid.uuid4().hex[:8]}"
    valid_until = (dt.date.today() + dt.timedelta(days=90)).isoformat()
    page = make_page()
    log_in(page, portal_url, *ADMIN)
    expect(page.get_by_test_id("page-ops-support")).to_be_visible()  # staff land on the desk
    open_ops(page)

    form = page.get_by_test_id("batch-form")
    # Checked before anything is sent.
    form.get_by_role("button", name="Create batch").click()
    expect(form.get_by_label("Value", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Number of vouchers")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Value", exact=True).fill("5")
    expect(form.get_by_label("Currency")).to_have_value("EUR")
    form.get_by_label("Number of vouchers").fill("3")
    form.get_by_label("Valid until").fill(valid_until)
    form.get_by_label("Description (optional)").fill(description)

    # A small batch is generated in a blink: the first look at it is held at two of three, so
    # the progress can be seen; the page keeps looking until the batch is active.
    polls = []

    def first_poll_half_done(route):
        response = route.fetch()
        batch = response.json()
        polls.append(batch["status"])
        if len(polls) == 1:
            batch = {**batch, "status": "created", "generated": 2}
        route.fulfill(response=response, json=batch)

    page.route(re.compile(r".*/api/v1/ops/voucher-batches/vb_[^/]+$"), first_poll_half_done)
    form.get_by_role("button", name="Create batch").click()
    expect(form.get_by_test_id("form-message")).to_contain_text(
        re.compile(r"Batch \d+ has been created: its 3 vouchers are being generated\."))

    row = page.get_by_test_id("batch-row").filter(has_text=description)
    expect(row).to_have_count(1)
    number = row.get_attribute("data-number")
    batch_id = row.get_attribute("data-batch-id")
    # It is generating, then active (the page follows it), and only then exported.
    progress = row.get_by_test_id("batch-progress")
    expect(progress).to_contain_text("2 of 3 generated")
    expect(progress.get_by_role("progressbar")).to_have_attribute("value", "2")
    expect(row.get_by_test_id("batch-status")).to_have_text("Generating")
    expect(row.get_by_role("link", name=re.compile("Download"))).to_have_count(0)
    expect(row.get_by_test_id("batch-status")).to_have_text("Active")
    expect(progress).to_have_count(0)
    assert len(polls) >= 2, polls
    expect(page.get_by_test_id("batches-status")).to_contain_text(f"Batch {number} is ready")
    expect(row.get_by_test_id("batch-value")).to_have_text("€5.00")
    expect(row).to_contain_text("Print")
    data, name = downloaded(page, row.get_by_role("link", name=f"Download CSV of batch {number}"))
    assert name.endswith(".csv"), name
    rows = parse_export(data.decode(), 3)
    assert {(r["value"], r["currency"], r["valid_until"]) for r in rows} == {
        ("5.00", "EUR", valid_until)}, rows

    # Void it, with a reason; Keep it changes nothing.
    row.get_by_role("button", name=f"Void batch {number}").click()
    panel = page.get_by_test_id("batch-void-panel")
    expect(panel.get_by_label("Reason")).to_be_focused()
    panel.get_by_role("button", name="Keep it").click()
    expect(panel).to_have_count(0)
    expect(row.get_by_test_id("batch-status")).to_have_text("Active")
    row.get_by_role("button", name=f"Void batch {number}").click()
    panel.get_by_label("Reason").fill("Misprinted at the kiosk printer")
    panel.get_by_role("button", name=f"Void batch {number}").click()
    expect(page.get_by_test_id("batches-status")).to_have_text(f"Batch {number} has been voided.")
    expect(row.get_by_test_id("batch-status")).to_have_text("Voided")
    expect(row.get_by_test_id("batch-void-reason")).to_contain_text(
        "Misprinted at the kiosk printer")
    expect(row.get_by_role("link", name=re.compile("Download"))).to_have_count(0)
    admin = Client(portal_url, *ADMIN)
    assert admin.call("GET", f"/api/v1/ops/voucher-batches/{batch_id}")["status"] == "voided"

    # A customer's redemption of one of its codes is refused as voided; no ops page for them.
    fay = customer(portal_url, "Fay Voided")
    customer_page = make_page()
    log_in_as(customer_page, portal_url, fay)
    expect(customer_page.get_by_test_id("nav").get_by_role(
        "link", name="Voucher batches (ops)")).to_have_count(0)
    open_vouchers(customer_page)
    form = redeem(customer_page, rows[0]["code"])
    expect(form.get_by_test_id("form-message")).to_contain_text(
        "This voucher has been cancelled by the operator and cannot be redeemed.")
    expect(form).to_have_attribute("data-error", "VOUCHER_VOIDED")
    assert fay["client"].call("GET", "/api/v1/wallet")["balance"]["amount"] == 0
    customer_page.goto(f"{portal_url}/#/ops/vouchers")
    expect(customer_page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(customer_page.get_by_test_id("batch-form")).to_have_count(0)

    # One voucher voided by its serial (ops page), then refused the same way.
    batch = print_batch(admin, 1, 300)
    (single,) = export(admin, batch)
    page.reload()
    void = page.get_by_test_id("voucher-void-form")
    void.get_by_label("Serial number").fill(single["serial"])
    void.get_by_label("Reason").fill("Reported stolen")
    void.get_by_role("button", name="Void voucher").click()
    expect(void.get_by_test_id("form-message")).to_have_text(
        f"Voucher {single['serial']} has been voided.")
    customer_page.goto(f"{portal_url}/#/vouchers")
    form = redeem(customer_page, single["code"])
    expect(form).to_have_attribute("data-error", "VOUCHER_VOIDED")


def test_wrong_codes_block_the_account_for_a_while_and_ops_see_it(make_page, portal_url):
    gus = customer(portal_url, "Gus Guesser")
    account_id = gus["client"].call("GET", "/api/v1/me")["id"]
    # Four wrong guesses by API; the fifth and the sixth in the portal.
    for _ in range(4):
        gus["client"].call("POST", "/api/v1/vouchers/redeem", 404, json={"code": unknown_code()})

    page = make_page()
    log_in_as(page, portal_url, gus)
    open_vouchers(page)
    form = redeem(page, unknown_code())
    message = form.get_by_test_id("form-message")
    expect(message).to_have_text(
        "No voucher has this code. Check that you typed it exactly as printed.")
    submit = form.get_by_role("button", name="Redeem")
    expect(submit).to_be_enabled()
    redeem(page, unknown_code())
    expect(form).to_have_attribute("data-error", "TOO_MANY_ATTEMPTS")
    # The first block is a minute (Retry-After: 60); longer ones are said as a time of day.
    expect(message).to_have_text(re.compile(
        r"^Too many wrong codes were entered\. For your security, you can try again in "
        r"(60|5\d) seconds\.$"))
    expect(submit).to_be_disabled()

    # Ops see the account blocked.
    ops = make_page()
    log_in(ops, portal_url, *ADMIN)
    expect(ops.get_by_test_id("page-ops-support")).to_be_visible()  # staff land on the desk
    open_ops(ops)
    blocked = ops.locator(f'[data-testid="throttle-row"][data-key="redeem:account:{account_id}"]')
    expect(blocked).to_have_count(1)
    expect(blocked).to_contain_text(f"Account {account_id}")
    expect(blocked.get_by_test_id("throttle-failures")).to_have_text("5")
    expect(blocked.get_by_test_id("throttle-blocked")).to_have_text("Blocked")


def wait_until_active(admin, batch):
    """The batch once the vouchers service has generated it (in the background)."""
    if batch["status"] == "created":
        path = f"/api/v1/ops/voucher-batches/{batch['id']}"
        batch = eventually(lambda: admin.call("GET", path), timeout=30,
                           until=lambda b: b["status"] != "created")
    assert batch["status"] == "active", f"the batch was not generated: {batch}"
    return batch


def test_each_refusal_is_said_in_words(make_page, portal_url, advance_clock):
    admin = Client(portal_url, *ADMIN)
    # The services' time (other tests may have moved their clock): when a batch was made.
    now = dt.datetime.fromisoformat(print_batch(admin, 1, 100)["created_at"])
    (later,) = export(admin, print_batch(
        admin, 1, 100, valid_from=(now + dt.timedelta(days=30)).isoformat()))
    soon = wait_until_active(admin, print_batch(
        admin, 1, 100, valid_until=(now + dt.timedelta(seconds=4)).isoformat()))
    (gone,) = export(admin, soon)
    offer = f"gift-{uuid.uuid4().hex[:8]}"
    admin.call("POST", "/api/v1/ops/voucher-offers", 201, json={
        "code": offer, "name": f"Gift voucher {offer}", "value": {"amount": 500, "currency": "EUR"},
        "price": {"amount": 500, "currency": "EUR"}})

    jo = customer(portal_url, "Jo Refused", card=APPROVES)
    page = make_page()
    log_in_as(page, portal_url, jo)
    open_vouchers(page)
    form = redeem(page, later["code"])
    message = form.get_by_test_id("form-message")
    expect(message).to_have_text("This voucher cannot be redeemed yet. Please try again later.")
    advance_clock(days=5 / 86400)  # the services' clock 5 s on: `soon` has expired
    redeem(page, gone["code"])
    expect(message).to_have_text("This voucher has expired and can no longer be redeemed.")
    expect(form).to_have_attribute("data-error", "VOUCHER_EXPIRED")

    # An offer taken off sale while the page was open: nothing is charged.
    admin.call("DELETE", f"/api/v1/ops/voucher-offers/{offer}")
    page.get_by_role("button", name=f"Buy Gift voucher {offer} for €5.00").click()
    buy_form = page.get_by_test_id("buy-form")
    buy_form.get_by_role("button", name="Pay €5.00").click()
    expect(buy_form.get_by_test_id("form-message")).to_have_text(
        "This voucher is no longer on sale. Reload the page to see the vouchers on sale.")
    assert jo["client"].call("GET", "/api/v1/payments")["data"] == []
    page.reload()
    expect(page.locator(f'[data-testid="voucher-offer"][data-offer="{offer}"]')).to_have_count(0)
    assert jo["client"].call("GET", "/api/v1/wallet")["balance"]["amount"] == 0

    # An account in dollars can neither redeem nor buy euro vouchers.
    kim = customer(portal_url, "Kim Dollars", card=APPROVES, currency="USD")
    page = make_page()
    log_in_as(page, portal_url, kim)
    open_vouchers(page)
    form = redeem(page, export(admin, print_batch(admin, 1, 100))[0]["code"])
    expect(form.get_by_test_id("form-message")).to_have_text(
        "This voucher is in another currency than your account, so it cannot be redeemed here.")
    page.get_by_role("button", name="Buy 10 € top-up voucher for €10.00").click()
    buy_form = page.get_by_test_id("buy-form")
    buy_form.get_by_role("button", name="Pay €10.00").click()
    expect(buy_form.get_by_test_id("form-message")).to_have_text(
        "This voucher is sold in another currency than your account's.")
    assert kim["client"].call("GET", "/api/v1/payments")["data"] == []


def test_a_postpaid_customer_sees_the_offers_but_cannot_redeem(make_page, portal_url):
    hal = customer(portal_url, "Hal Postpaid", billing="postpaid", card=APPROVES)
    page = make_page()
    log_in_as(page, portal_url, hal)
    open_vouchers(page)
    for offer in ("topup-10", "topup-25", "topup-50"):
        expect(page.locator(f'[data-testid="voucher-offer"][data-offer="{offer}"]')).to_have_count(1)
    notice = page.get_by_test_id("redeem-not-prepaid")
    expect(notice).to_contain_text(
        "Vouchers top up a prepaid wallet. Your account is postpaid (you pay by bill), so "
        "vouchers cannot be redeemed with it.")
    expect(notice).to_contain_text("You can still buy vouchers")
    expect(page.get_by_test_id("redeem-form")).to_have_count(0)
    expect(page.get_by_test_id("voucher-history")).to_have_count(0)
    # The server says the same.
    answer = requests.post(f"{portal_url}/api/v1/vouchers/redeem", headers=hal["client"].headers,
                           json={"code": unknown_code()}, timeout=10)
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == "NOT_PREPAID", answer.text


@pytest.mark.parametrize("width", [375, 1280])
def test_voucher_pages_fit_the_screen_and_are_labelled(make_page, portal_url, width):
    # A prepaid customer in German (the longer words), with a bought code on screen.
    ida = customer(portal_url, "Ida Longname-Smithson", card=APPROVES)
    ida["client"].call("PATCH", "/api/v1/me", json={"language": "de"})
    page = make_page(width=width, height=800)
    log_in_as(page, portal_url, ida)
    page.goto(f"{portal_url}/#/vouchers")
    expect(page.get_by_role("heading", level=1)).to_have_text("Gutscheine")
    # the offer's German name, as the operator translated it (deploy/demo.py)
    page.get_by_role("button", name=re.compile(
        r"^Kaufen: Aufladegutschein über 50 €, 5 % günstiger für 47,50\s€$")).click()
    page.get_by_test_id("buy-new-card-toggle").click()
    page.get_by_test_id("test-cards").locator("summary").click()
    no_horizontal_scroll(page, width, "the Vouchers tab's checkout")
    all_labelled(page, 7, "the Vouchers tab's checkout")  # code, card select, five card fields
    page.get_by_test_id("buy-form").get_by_role(
        "button", name=re.compile(r"^47,50\s€ bezahlen$")).click()
    bought = page.get_by_test_id("voucher-purchased")
    expect(bought.get_by_test_id("voucher-shown-once")).to_have_text(
        "Notieren oder kopieren Sie diesen Code jetzt: Er wird nicht noch einmal angezeigt.")
    expect(bought.get_by_role("link", name="Beleg herunterladen (PDF)")).to_be_visible()
    no_horizontal_scroll(page, width, "the Vouchers tab with a bought code")
    bought.get_by_role("button", name="Jetzt meinem Guthaben gutschreiben").click()
    page.get_by_test_id("redeem-form").get_by_role("button", name="Einlösen").click()
    expect(page.get_by_test_id("redeem-success")).to_contain_text(
        re.compile(r"50,00\s€ wurden Ihrem Guthaben gutgeschrieben\."))
    expect(page.get_by_test_id("redemption-row")).to_have_count(1)
    # "I have kept the code" hides it.
    bought.get_by_role("button", name="Ich habe den Code notiert – ausblenden").click()
    expect(page.get_by_test_id("voucher-purchased")).to_have_count(0)
    no_horizontal_scroll(page, width, "the Vouchers tab")
    all_labelled(page, 1, "the Vouchers tab")

    # The Wallet tab with its voucher form.
    page.goto(f"{portal_url}/#/wallet")
    expect(page.get_by_test_id("wallet-balance")).to_have_text(re.compile(r"^50,00\s€$"))
    expect(page.get_by_test_id("voucher-top-up-form").get_by_label("Gutscheincode")).to_be_visible()
    no_horizontal_scroll(page, width, "the Wallet tab")
    all_labelled(page, 4, "the Wallet tab")  # threshold, amount, card, voucher code

    # The ops page (English), with a batch opened for voiding.
    admin = Client(portal_url, *ADMIN)
    print_batch(admin, 2, 2000, description="A rather long description of a print batch for "
                                           "the regional kiosk chain's autumn campaign")
    ops = make_page(width=width, height=800)
    log_in(ops, portal_url, *ADMIN)
    expect(ops.get_by_test_id("page-ops-support")).to_be_visible()  # staff land on the desk
    ops.goto(f"{portal_url}/#/ops/vouchers")
    active = ops.locator('[data-testid="batch-row"][data-status="active"]').filter(
        has=ops.get_by_test_id("batch-void")).first
    active.get_by_test_id("batch-void").click()
    expect(ops.get_by_test_id("batch-void-panel")).to_be_visible()
    no_horizontal_scroll(ops, width, "the ops page")
    all_labelled(ops, 10, "the ops page")  # the batch form 7, one voucher 2, the void reason 1
