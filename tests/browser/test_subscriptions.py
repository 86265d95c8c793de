"""Browser tests for the Subscriptions tab and the dashboard (gateway/static/).

Same setup as test_portal.py: Playwright's sync API against the whole system with its demo
catalog (`portal_url`). Each test signs up its own postpaid customer (a prepaid one would need
a funded wallet first; the Wallet tab has its own tests).
"""

import json
import re

from playwright.sync_api import expect

from tests.browser.helpers import log_in_as, new_account
from tests.browser.test_portal import (
    UNLABELLED_CONTROLS_JS,
    sign_up,
    unique_email,
)


def open_subscriptions(page):
    page.get_by_test_id("nav").get_by_role("link", name="Subscriptions").click()
    expect(page).to_have_url(re.compile(r"#/subscriptions$"))
    expect(page.get_by_test_id("package-option").first).to_be_visible()


def open_dashboard(page):
    page.get_by_test_id("nav").get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(re.compile(r"#/dashboard$"))
    expect(page.get_by_test_id("dashboard-subscriptions")).to_be_visible()


def card_for(page, package_name):
    name = page.get_by_test_id("subscription-package-name").filter(
        has_text=re.compile(f"^{re.escape(package_name)}$"))
    return page.get_by_test_id("subscription-card").filter(has=name)


def subscribe(page, code, period="Monthly"):
    """Choose a package from the catalog and subscribe to it; returns its card."""
    option = page.locator(f'[data-testid="package-option"][data-package-code="{code}"]')
    name = option.get_by_role("heading").inner_text()
    option.get_by_role("button", name=f"Choose {name}").click()
    form = page.get_by_test_id("subscribe-form")
    expect(form).to_have_attribute("data-package-code", code)
    form.get_by_role("radio", name=re.compile(f"^{period}")).check()
    form.get_by_role("button", name="Subscribe", exact=True).click()
    expect(form).to_have_count(0)
    card = card_for(page, name)
    expect(card).to_have_count(1)
    expect(card.get_by_test_id("subscription-status")).to_have_text("Active")
    return card


def open_action(card, testid):
    """Open one of a card's action disclosures (details/summary)."""
    details = card.get_by_test_id(testid)
    details.locator("summary").click()
    expect(details).to_have_attribute("open", "")
    return details


def lines(preview, kind):
    """A preview's lines of one kind (charge, credit, discount, tax, fee, one_off)."""
    return preview.locator(f'[data-testid="preview-line"][data-kind="{kind}"]')


def catalog_packages(page, portal_url):
    answer = page.request.get(f"{portal_url}/api/v1/catalog/packages")
    assert answer.ok, answer.text()
    return {p["code"]: p for p in answer.json()["data"]}


def test_subscribe_and_upgrade_with_a_preview_then_see_it_on_the_dashboard(make_page, portal_url):
    page = make_page()
    sign_up(page, portal_url, unique_email(), "Ada Subscriber", billing="Postpaid")

    # A fresh account: the dashboard invites to choose a package.
    services = page.get_by_test_id("dashboard-subscriptions")
    expect(services.get_by_test_id("dashboard-subscription")).to_have_count(0)
    services.get_by_role("link", name="Choose a package").click()
    expect(page).to_have_url(re.compile(r"#/subscriptions$"))
    expect(page.get_by_test_id("no-subscriptions")).to_be_visible()
    packages = catalog_packages(page, portal_url)
    expect(page.get_by_test_id("package-option")).to_have_count(len(packages))
    # prices with VAT, the tax named (a customer without an address: the operator's region)
    expect(page.get_by_test_id("tax-note")).to_have_text("Prices include VAT (MwSt.) 19%.")
    premium = packages["premium"]["taxed_prices"]["month"]
    assert premium["gross"]["amount"] == premium["net"]["amount"] + premium["tax"]["amount"]
    expect(page.locator('[data-testid="package-option"][data-package-code="premium"] .price')
           ).to_have_text("€47.59 per month")

    card = subscribe(page, "basic")
    result = card.get_by_test_id("action-result")
    expect(result).to_contain_text("You have subscribed to Basic.")
    expect(result.get_by_test_id("preview-line").first).to_contain_text("Basic")
    expect(result.get_by_test_id("preview-amount-due")).to_contain_text("€")
    expect(card.get_by_test_id("subscription-next-renewal")).to_contain_text("€")

    # It is there after a reload too.
    page.reload()
    card = card_for(page, "Basic")
    expect(card).to_have_attribute("data-subscription-id", re.compile(r"^sub_"))

    target = "premium" if "premium" in packages["basic"]["rules"]["upgrades_to"] else "family"
    target_name = packages[target]["name"]

    change = open_action(card, "change-action")
    # every package is offered with what the rules say before any click; Basic is marked
    current = change.locator('[data-testid="package-choice"][data-package-code="basic"]')
    expect(current).to_contain_text("Your current package")
    expect(current.get_by_role("radio")).to_be_disabled()
    choice = change.locator(f'[data-testid="package-choice"][data-package-code="{target}"]')
    expect(choice).to_contain_text("upgrade")
    expect(choice.get_by_test_id("package-choice-note")).to_contain_text("Takes effect now")
    if packages[target]["included_devices"]:
        expect(choice.get_by_test_id("package-choice-note")).to_contain_text(
            "provided with the change at no extra charge")
    gross = packages[target]["taxed_prices"]["month"]["gross"]["amount"]
    expect(choice).to_contain_text(f"€{gross // 100}.{gross % 100:02d} per month")
    expect(change.locator(".tax-note").first).to_have_text("Prices include VAT (MwSt.) 19%.")
    choice.get_by_role("radio").check()
    change.get_by_role("button", name="Show price preview").click()
    preview = change.get_by_test_id("change-preview")
    expect(preview).to_be_visible()
    expect(preview).to_contain_text("Takes effect immediately")
    credit = lines(preview, "credit")
    charge = lines(preview, "charge")
    expect(credit).not_to_have_count(0)
    expect(charge).not_to_have_count(0)
    expect(credit.first).to_contain_text("Basic")
    expect(credit.first).to_contain_text(re.compile(r"[-−]€"))  # credits read negative
    expect(charge.first).to_contain_text(target_name)
    expect(preview.get_by_test_id("preview-amount-due")).to_contain_text(re.compile(r"€\d+\.\d\d"))
    # A preview changes nothing.
    expect(card.get_by_test_id("subscription-package-name")).to_have_text("Basic")

    # Cancel drops the preview; a new one is made, then confirmed.
    preview.get_by_role("button", name="Cancel").click()
    expect(change.get_by_test_id("change-preview")).to_have_count(0)
    change.get_by_role("button", name="Show price preview").click()
    change.get_by_test_id("confirm-change").click()

    card = card_for(page, target_name)
    expect(card).to_have_count(1)
    result = card.get_by_test_id("action-result")
    expect(result).to_contain_text(f"Your package is now {target_name}.")
    expect(page.get_by_test_id("subscription-card")).to_have_count(1)

    open_dashboard(page)
    mine = page.get_by_test_id("dashboard-subscription")
    expect(mine).to_have_count(1)
    expect(mine.get_by_test_id("dashboard-package-name")).to_have_text(target_name)
    expect(mine).to_contain_text("Active")
    expect(mine.get_by_test_id("dashboard-next-renewal")).to_contain_text("€")


def test_add_and_remove_addons_pause_resume_and_cancel_at_period_end(make_page, portal_url):
    page = make_page()
    sign_up(page, portal_url, unique_email(), "Grace Traveller", billing="Postpaid")
    open_subscriptions(page)
    card = subscribe(page, "family")

    # Add Sports Plus: preview first, then confirm.
    addon = open_action(card, "addon-action").get_by_test_id("addon-add")
    addon.get_by_label("Add-on").select_option("sports")
    addon.get_by_role("button", name="Show price preview").click()
    preview = addon.get_by_test_id("change-preview")
    expect(lines(preview, "charge").first).to_contain_text("Sports Plus")
    expect(preview.get_by_test_id("preview-amount-due")).to_contain_text("€")
    expect(card.get_by_test_id("subscription-addons")).not_to_contain_text("Sports Plus")
    preview.get_by_test_id("confirm-change").click()
    expect(card.get_by_test_id("action-result")).to_contain_text("Sports Plus has been added.")
    expect(card.get_by_test_id("subscription-addons")).to_contain_text("Sports Plus")

    # Add Movies & Series, then remove it again: the unused part is credited.
    addon = open_action(card, "addon-action").get_by_test_id("addon-add")
    addon.get_by_label("Add-on").select_option("movies")
    addon.get_by_role("button", name="Show price preview").click()
    addon.get_by_test_id("confirm-change").click()
    expect(card.get_by_test_id("subscription-addons")).to_contain_text("Movies & Series")
    card.locator('[data-testid="addon-remove"][data-addon-code="movies"]').click()
    addons_section = card.locator("section", has=page.get_by_test_id("subscription-addons"))
    preview = addons_section.get_by_test_id("change-preview")
    expect(lines(preview, "credit").first).to_contain_text("Movies & Series")
    preview.get_by_role("button", name="Confirm removal").click()
    result = card.get_by_test_id("action-result")
    expect(result).to_contain_text("Movies & Series has been removed.")
    expect(card.get_by_test_id("subscription-addons")).not_to_contain_text("Movies & Series")
    expect(card.get_by_test_id("subscription-addons")).to_contain_text("Sports Plus")

    # Pause (no end date) and resume.
    pause = open_action(card, "pause-action").get_by_test_id("pause-form")
    expect(pause.get_by_label("Pause until (optional)")).to_have_attribute("type", "date")
    pause.get_by_role("button", name="Pause subscription").click()
    expect(card.get_by_test_id("subscription-status")).to_have_text("Paused")
    expect(card.get_by_test_id("subscription-schedule")).to_contain_text("Paused until")
    expect(card.get_by_test_id("pause-action")).to_have_count(0)  # no pausing a paused one
    card.get_by_test_id("resume").click()
    expect(card.get_by_test_id("subscription-status")).to_have_text("Active")
    expect(card.get_by_test_id("action-result")).to_contain_text("active again")

    # Cancel at the end of the period, with a reason (required).
    cancel = open_action(card, "cancel-action").get_by_test_id("cancel-form")
    cancel.get_by_role("radio", name=re.compile("^At the end of the current period")).check()
    cancel.get_by_role("button", name="Cancel subscription").click()
    expect(cancel.get_by_label("Why are you cancelling?")).to_have_attribute("aria-invalid", "true")
    cancel.get_by_label("Why are you cancelling?").fill("moving abroad")
    cancel.get_by_role("button", name="Cancel subscription").click()
    expect(card.get_by_test_id("action-result")).to_contain_text("Your subscription will end on")
    expect(card.get_by_test_id("subscription-schedule")).to_contain_text("Cancels on")
    expect(card.get_by_test_id("subscription-status")).to_have_text("Active")

    open_dashboard(page)
    mine = page.get_by_test_id("dashboard-subscription")
    expect(mine).to_have_count(1)
    expect(mine.get_by_test_id("dashboard-package-name")).to_have_text("Family")
    expect(mine).to_contain_text("Sports Plus")
    expect(mine.get_by_test_id("dashboard-schedule")).to_contain_text(
        re.compile(r"Cancels on \d{1,2} \w{3} \d{4}"))


def test_refused_actions_show_the_servers_reason(make_page, portal_url):
    page = make_page()
    sign_up(page, portal_url, unique_email(), "Katherine Rules", billing="Postpaid")
    open_subscriptions(page)
    packages = catalog_packages(page, portal_url)

    # Basic cannot be paused: the form is offered, the server says why not.
    assert not packages["basic"]["rules"]["pause_allowed"]
    basic = subscribe(page, "basic")
    pause = open_action(basic, "pause-action").get_by_test_id("pause-form")
    pause.get_by_role("button", name="Pause subscription").click()
    error = pause.get_by_test_id("action-error")
    expect(error).to_contain_text("Basic cannot be paused.")
    expect(error).to_have_attribute("aria-live", "assertive")
    expect(basic.get_by_test_id("subscription-status")).to_have_text("Active")

    # Premium has a minimum term: cancelling now is refused with the rule's reason.
    assert packages["premium"]["rules"]["min_term_months"] > 0
    premium = subscribe(page, "premium")
    cancel = open_action(premium, "cancel-action").get_by_test_id("cancel-form")
    cancel.get_by_label("Why are you cancelling?").fill("too expensive")
    cancel.get_by_role("radio", name=re.compile("^Now")).check()
    cancel.get_by_role("button", name="Cancel subscription").click()
    error = cancel.get_by_test_id("action-error")
    expect(error).to_contain_text("minimum term of Premium")
    expect(premium.get_by_test_id("subscription-status")).to_have_text("Active")

    # A change the rules do not allow at all (a package that is no upgrade or downgrade).
    rules = packages["basic"]["rules"]
    forbidden = [c for c in packages
                 if c != "basic" and c not in rules["upgrades_to"] + rules["downgrades_to"]]
    assert forbidden
    change = open_action(basic, "change-action")
    choice = change.locator(f'[data-testid="package-choice"][data-package-code="{forbidden[0]}"]')
    expect(choice.get_by_role("radio")).to_be_disabled()  # the reason is there before a click
    expect(choice.get_by_test_id("package-choice-note")).to_have_text(
        f"Basic cannot be changed to {packages[forbidden[0]]['name']}.")
    expect(choice).to_have_attribute("data-allowed", "false")


def test_subscriptions_page_is_labelled_and_fits_a_phone(make_page, portal_url):
    page = make_page(width=375, height=740)
    sign_up(page, portal_url, unique_email(), "Margaret Phone", billing="Postpaid")
    page.goto(f"{portal_url}/#/subscriptions")
    expect(page.get_by_test_id("package-option").first).to_be_visible()
    card = subscribe(page, "family")
    open_action(card, "change-action").get_by_role("button", name="Show price preview").click()
    expect(card.get_by_test_id("change-preview")).to_be_visible()
    for testid in ("addon-action", "pause-action", "cancel-action"):
        open_action(card, testid)
    page.locator('[data-testid="package-option"][data-package-code="premium"]').get_by_role("button").click()
    expect(page.get_by_test_id("subscribe-form")).to_be_visible()

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the Subscriptions tab is {width}px wide at a 375px viewport"
    result = page.evaluate(UNLABELLED_CONTROLS_JS)
    assert result["count"] >= 10, result
    assert not result["missing"], f"controls without a label: {result['missing']}"
    groups = page.evaluate("""() => [...document.querySelectorAll('input[type=radio]')]
        .filter((r) => !r.closest('fieldset') || !r.closest('fieldset').querySelector('legend'))
        .map((r) => r.id)""")
    assert not groups, f"radios outside a fieldset with a legend: {groups}"

    page.goto(f"{portal_url}/#/dashboard")
    expect(page.get_by_test_id("dashboard-subscription")).to_have_count(1)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the dashboard is {width}px wide at a 375px viewport"


def test_dashboard_marks_an_unavailable_part_and_renders_the_rest(make_page, portal_url):
    page = make_page()
    sign_up(page, portal_url, unique_email(), "Dorothy Degraded", billing="Postpaid")
    answer = page.request.get(f"{portal_url}/api/v1/dashboard").json()

    def degraded(route):
        body = {**{k: v for k, v in answer.items() if k not in ("bills", "open_tickets")},
                "subscriptions": {"unavailable": True, "data": []},
                "wallet": {"unavailable": True}}
        route.fulfill(status=200, content_type="application/json", body=json.dumps(body))

    page.route("**/api/v1/dashboard", degraded)
    page.reload()
    expect(page.get_by_test_id("dashboard-greeting")).to_contain_text("Dorothy Degraded")
    expect(page.get_by_test_id("dashboard-unavailable")).to_have_count(2)
    expect(page.get_by_test_id("dashboard-subscriptions").get_by_test_id("dashboard-unavailable")).to_have_text(
        re.compile("temporarily unavailable"))
    expect(page.get_by_test_id("dashboard-wallet")).to_be_visible()
    # Parts the answer does not have are not shown at all.
    expect(page.get_by_test_id("dashboard-bills")).to_have_count(0)
    expect(page.get_by_test_id("dashboard-tickets")).to_have_count(0)


def test_a_resubmitted_subscription_after_a_network_error_reuses_its_idempotency_key(
        make_page, portal_url):
    page = make_page()
    sign_up(page, portal_url, unique_email(), "Ida Retry", billing="Postpaid")
    open_subscriptions(page)
    keys = []

    def flaky(route):
        request = route.request
        if request.method != "POST":
            route.continue_()
            return
        keys.append(request.headers.get("idempotency-key"))
        if len(keys) == 1:
            route.abort("connectionreset")  # lost on the way: the outcome is unknown
        else:
            route.continue_()

    page.route("**/api/v1/subscriptions", flaky)
    page.locator('[data-testid="package-option"][data-package-code="basic"]').get_by_role(
        "button").click()
    form = page.get_by_test_id("subscribe-form")
    form.get_by_role("button", name="Subscribe", exact=True).click()
    expect(form.get_by_test_id("action-error")).to_contain_text("cannot be reached")
    form.get_by_role("button", name="Subscribe", exact=True).click()
    expect(card_for(page, "Basic")).to_have_count(1)
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys

    # A new form submission is a new attempt with a new key.
    page.locator('[data-testid="package-option"][data-package-code="kids"]').get_by_role(
        "button").click()
    form = page.get_by_test_id("subscribe-form")
    form.get_by_role("button", name="Subscribe", exact=True).click()
    expect(card_for(page, "Kids")).to_have_count(1)
    assert len(keys) == 3 and keys[2] not in keys[:2], keys


def test_refusals_and_the_shop_window_speak_the_customers_language(make_page, portal_url):
    """A German customer: the catalog's descriptions, the tax's name, a package the rules do not
    offer and a refused pause, all in German (by code and params, not the server's English)."""
    email, client = new_account(portal_url, "Grete Regel", billing="postpaid", language="de")
    client.call("POST", "/api/v1/subscriptions", 201, json={"package": "basic"},
                headers={"Idempotency-Key": "german-rules-1"})
    page = make_page()
    log_in_as(page, portal_url, {"email": email, "name": "Grete Regel"})
    page.goto(f"{portal_url}/#/subscriptions")
    basic_offer = page.locator('[data-testid="package-option"][data-package-code="basic"]')
    expect(basic_offer).to_contain_text("Das Wichtigste: 40 Sender")
    expect(page.get_by_test_id("tax-note")).to_have_text("Preise inkl. MwSt. 19 %.")
    card = card_for(page, "Basic")
    change = open_action(card, "change-action")
    kids = change.locator('[data-testid="package-choice"][data-package-code="kids"]')
    expect(kids.get_by_test_id("package-choice-note")).to_have_text(
        "Von Basic kann nicht zu Kids gewechselt werden.")
    pause = open_action(card, "pause-action").get_by_test_id("pause-form")
    pause.get_by_role("button", name="Abonnement pausieren").click()
    expect(pause.get_by_test_id("action-error")).to_have_text("Basic kann nicht pausiert werden.")
