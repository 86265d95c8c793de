"""Insights in the portal (docs/insights.md, issue 17), against the whole system with its demo
data (`make run`'s: the demo customers have months of charges and weeks of viewing, so they get
recommendations): the Insights page and the dashboard show the spending chart (the canvas a
picture with a summary for screen readers, the numbers in a table), the budget and the
recommendations, at desktop and phone widths, in every language the portal speaks, with no text
left as its key; setting, changing and removing a budget; "Not interested" hides a
recommendation for good; "Apply" opens the normal change flow with its preview. Every page is
checked with axe-core as it goes (tests/browser/helpers.py)."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import Client, add_card, log_in_as, new_account, no_horizontal_scroll
from tests.browser.test_bills import ADMIN
from tests.browser.test_portal import log_in
from tests.browser.test_support import AGENT, raise_ticket

DEMO_PREPAID = {"email": "prepaid@example.com", "password": "prepaid demo passphrase",
                "name": "Paula Prepaid"}
DEMO_POSTPAID = {"email": "postpaid@example.com", "password": "postpaid demo passphrase",
                 "name": "Peter Postpaid"}
SIZES = {"desktop": (1280, 900), "phone": (390, 844)}
LANGUAGES = ["en", "de", "it", "th"]
# a text the page shows as its key (a missing translation): "insights.budget.title"
KEY_LEFT = re.compile(r"\b(?:insights|opsInsights|charts|nav|dashboard|errors)\.[A-Za-z_]+")
TITLES = {"en": "Insights", "de": "Auswertung", "it": "Analisi", "th": "ภาพรวมค่าใช้จ่าย"}


def no_text_left_as_a_key(page, where):
    text = page.locator("main").inner_text()
    assert not KEY_LEFT.findall(text), f"{where}: untranslated {KEY_LEFT.findall(text)}"
    assert not re.search(r"\{\w+\}", text), f"{where}: a placeholder left in {text!r}"


def chart_shown(figure, where):
    """The chart drawn by Chart.js (the built front end), or, where the gateway serves the
    sources unbundled (someone editing them), its table open instead; a summary either way."""
    figure.scroll_into_view_if_needed()
    expect(figure).not_to_have_attribute("data-chart", "pending")
    built = figure.page.locator('meta[name="portal-build"]').count() == 1
    if built:
        expect(figure).to_have_attribute("data-chart", "drawn")
        canvas = figure.get_by_role("img")
        expect(canvas).to_have_count(1)
        assert len(canvas.get_attribute("aria-label")) > 20, where
        box = canvas.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50, f"{where}: {box}"
    else:
        expect(figure).to_have_attribute("data-chart", "table")
    table = figure.get_by_test_id("spending-table")
    expect(table).to_have_count(1)
    return table


def open_insights(page, base):
    page.goto(f"{base}/#/insights")
    expect(page.get_by_test_id("page-insights")).to_be_visible()
    expect(page.locator("main#main")).not_to_have_attribute("aria-busy", "true")


def prepaid_with_a_renewal_short(base, name, language="en"):
    """A prepaid customer whose balance does not pay the next renewal (the top-up advice)."""
    email, client = new_account(base, name, language=language)
    add_card(client, "4242424242424242", name)
    client.call("POST", "/api/v1/wallet/top-ups", 201,
                json={"amount": {"amount": 2000, "currency": "EUR"}},
                headers={"Idempotency-Key": uuid.uuid4().hex})
    client.call("POST", "/api/v1/subscriptions", 201, json={"package": "basic"},
                headers={"Idempotency-Key": uuid.uuid4().hex})
    return {"email": email, "name": name}, client


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("who", [DEMO_PREPAID, DEMO_POSTPAID], ids=["prepaid-en", "postpaid-de"])
def test_a_demo_customer_sees_spending_budget_and_recommendations(make_page, portal_url, who,
                                                                  size):
    client = Client(portal_url, who["email"], who["password"])
    # a budget the month has not reached, so its state and bar show on both pages
    budget = client.call("PUT", "/api/v1/insights/budget",
                         json={"amount": {"amount": 100_000, "currency": "EUR"}})
    assert budget["state"] in ("ok", "warning", "over", "projected_over"), budget
    recommendations = client.call("GET", "/api/v1/insights/recommendations")["data"]
    assert recommendations, f"the demo gives {who['email']} no recommendation"
    width, height = SIZES[size]
    where = f"{who['email']}, {size}"
    page = make_page(width=width, height=height)
    log_in_as(page, portal_url, who)

    # The dashboard: the small chart, the budget's state, the top recommendations.
    panel = page.get_by_test_id("dashboard-insights")
    expect(panel).to_be_visible()
    chart_shown(panel.get_by_test_id("dashboard-spending-chart"), f"dashboard, {where}")
    expect(panel.get_by_test_id("dashboard-budget-state")).to_be_visible()
    expect(panel.get_by_role("progressbar")).to_have_count(1)
    expect(panel.get_by_test_id("recommendation")).to_have_count(min(2, len(recommendations)))
    no_text_left_as_a_key(page, f"dashboard, {where}")
    panel.get_by_test_id("dashboard-insights-link").click()

    # The Insights page: six months by kind with their table, totals, the budget, the advice.
    expect(page.get_by_test_id("page-insights")).to_be_visible()
    spending = page.get_by_test_id("insights-spending")
    table = chart_shown(spending.get_by_test_id("spending-chart"), f"insights, {where}")
    expect(table.locator("tbody tr")).to_have_count(6)
    expect(page.get_by_test_id("spending-total-total")).to_have_text(re.compile(r"\d"))
    budget_card = page.get_by_test_id("insights-budget")
    expect(budget_card.get_by_role("progressbar")).to_have_attribute("aria-valuetext",
                                                                      re.compile(r"1[.,]000"))
    items = page.get_by_test_id("insights-recommendations").get_by_test_id("recommendation")
    expect(items).to_have_count(len(recommendations))
    for index in range(items.count()):
        reason = items.nth(index).get_by_test_id("recommendation-reason")
        expect(reason).not_to_be_empty()
    viewing = page.get_by_test_id("insights-viewing")
    expect(viewing.get_by_role("switch")).to_be_checked()
    expect(viewing.get_by_test_id("viewing-channel").first).to_be_visible()
    no_text_left_as_a_key(page, f"insights, {where}")

    # Twelve months instead of six
    page.get_by_test_id("period-chooser").locator("input[value='12']").check()
    expect(spending.get_by_test_id("spending-table").locator("tbody tr")).to_have_count(12)


@pytest.mark.parametrize("language", LANGUAGES)
def test_insights_speak_every_language_at_phone_and_desktop_width(make_page, portal_url,
                                                                 language):
    who, _ = prepaid_with_a_renewal_short(portal_url, f"Lena Lingua {language}", language)
    for size, (width, height) in SIZES.items():
        where = f"{language}, {size}"
        page = make_page(width=width, height=height)
        log_in_as(page, portal_url, who)
        expect(page.locator("html")).to_have_attribute("lang", language)
        panel = page.get_by_test_id("dashboard-insights")
        expect(panel).to_be_visible()
        expect(panel.get_by_test_id("recommendation").first).to_be_visible()
        no_text_left_as_a_key(page, f"dashboard, {where}")
        open_insights(page, portal_url)
        expect(page.get_by_role("heading", level=1)).to_have_text(TITLES[language])
        chart_shown(page.get_by_test_id("spending-chart"), where)
        advice = page.get_by_test_id("insights-recommendations").locator(
            "[data-testid=recommendation][data-kind=top_up]")
        expect(advice).to_have_count(1)
        expect(advice.get_by_test_id("recommendation-reason")).to_contain_text(
            re.compile(r"€|EUR"))
        details = page.get_by_test_id("spending-chart").get_by_test_id("chart-table")
        if details.get_attribute("open") is None:  # open already when there is no chart
            details.locator("summary").click()
        expect(page.get_by_test_id("spending-table")).to_be_visible()
        no_text_left_as_a_key(page, f"insights, {where}")
        no_horizontal_scroll(page, width, f"insights, {where}")  # the table scrolls in its box


def test_a_customer_sets_changes_and_removes_a_monthly_budget(make_page, portal_url):
    name = "Bea Budget"
    email, client = new_account(portal_url, name, billing="postpaid")
    client.call("POST", "/api/v1/subscriptions", 201, json={"package": "basic"},
                headers={"Idempotency-Key": uuid.uuid4().hex})
    page = make_page(width=390, height=844)
    log_in_as(page, portal_url, {"email": email, "name": name})
    open_insights(page, portal_url)
    card = page.get_by_test_id("insights-budget")
    expect(card.get_by_test_id("budget-none")).to_be_visible()

    card.get_by_test_id("budget-amount").fill("1.00")
    card.get_by_test_id("budget-save").click()
    expect(card.get_by_test_id("budget-status")).to_contain_text("Your monthly budget is €1.00.")
    state = client.call("GET", "/api/v1/insights/budget")["state"]
    expect(card.get_by_test_id("budget-state")).to_have_attribute("data-state", state)
    expect(card.get_by_role("progressbar")).to_have_attribute(
        "aria-valuetext", re.compile(r"of €1\.00 spent this month"))
    assert client.call("GET", "/api/v1/insights/budget")["budget"]["amount"] == 100

    # a wrong amount is said next to the field, and nothing changes
    card.get_by_test_id("budget-amount").fill("ten")
    card.get_by_test_id("budget-save").click()
    expect(card.get_by_test_id("budget-amount")).to_have_attribute("aria-invalid", "true")
    assert client.call("GET", "/api/v1/insights/budget")["budget"]["amount"] == 100

    card.get_by_test_id("budget-amount").fill("5000")
    card.get_by_test_id("budget-save").click()
    expect(card.get_by_test_id("budget-state")).to_have_attribute("data-state", "ok")
    expect(card.get_by_test_id("budget-message")).to_have_text("You are within your budget.")

    # the dashboard shows the state too
    page.goto(f"{portal_url}/#/dashboard")
    expect(page.get_by_test_id("dashboard-budget-state")).to_have_attribute("data-state", "ok")

    open_insights(page, portal_url)
    card = page.get_by_test_id("insights-budget")
    card.get_by_test_id("budget-remove").click()
    expect(card.get_by_test_id("budget-none")).to_be_visible()
    expect(card.get_by_test_id("budget-status")).to_contain_text("removed")
    assert client.call("GET", "/api/v1/insights/budget")["budget"] is None


def test_not_interested_hides_a_recommendation_for_good(make_page, portal_url):
    who, client = prepaid_with_a_renewal_short(portal_url, "Nico Nope")
    page = make_page()
    log_in_as(page, portal_url, who)
    open_insights(page, portal_url)
    advice = page.get_by_test_id("insights-recommendations").locator(
        "[data-testid=recommendation][data-kind=top_up]")
    expect(advice).to_have_count(1)
    advice_id = advice.get_attribute("data-recommendation-id")
    advice.get_by_test_id("recommendation-dismiss").click()
    expect(advice).to_have_count(0)
    expect(page.get_by_test_id("recommendations-status")).to_contain_text(
        "we will not suggest that again")
    ids = [r["id"] for r in client.call("GET", "/api/v1/insights/recommendations")["data"]]
    assert advice_id not in ids
    page.reload()
    expect(page.get_by_test_id("page-insights")).to_be_visible()
    expect(page.locator(f"[data-recommendation-id='{advice_id}']")).to_have_count(0)


def test_apply_opens_the_change_with_its_preview(make_page, portal_url):
    client = Client(portal_url, DEMO_PREPAID["email"], DEMO_PREPAID["password"])
    recommendations = client.call("GET", "/api/v1/insights/recommendations")["data"]
    removal = next((r for r in recommendations if r["action"]["type"] == "remove_addon"), None)
    assert removal, f"no add-on removal advised to the prepaid demo customer: {recommendations}"
    page = make_page()
    log_in_as(page, portal_url, DEMO_PREPAID)
    open_insights(page, portal_url)
    advice = page.locator(f"[data-recommendation-id='{removal['id']}']")
    expect(advice.get_by_test_id("recommendation-effect")).to_contain_text("Saves €")
    advice.get_by_test_id("recommendation-apply").click()
    sub = removal["action"]["subscription_id"]
    expect(page).to_have_url(re.compile(
        rf"#/subscriptions/apply/{sub}/remove_addon/{removal['action']['addon']}$"))
    card = page.locator(f"[data-testid=subscription-card][data-subscription-id='{sub}']")
    preview = card.get_by_test_id("change-preview")
    expect(preview).to_be_visible()
    expect(preview.get_by_test_id("preview-effect")).not_to_be_empty()
    expect(preview.get_by_role("heading")).to_be_focused()
    # nothing changed until the customer confirms: cancel, and the add-on is still there
    preview.get_by_test_id("discard-preview").click()
    expect(card.locator(f"[data-testid=subscription-addon][data-addon-code="
                        f"'{removal['action']['addon']}']")).to_have_count(1)

    # a package change, where one is advised (the postpaid demo customer's), opens the change
    # form with that package chosen and its preview
    german = Client(portal_url, DEMO_POSTPAID["email"], DEMO_POSTPAID["password"])
    change = next((r for r in german.call("GET", "/api/v1/insights/recommendations")["data"]
                   if r["action"]["type"] == "change_package"), None)
    if change is None:
        return
    page = make_page()
    log_in_as(page, portal_url, DEMO_POSTPAID)
    open_insights(page, portal_url)
    page.locator(f"[data-recommendation-id='{change['id']}']").get_by_test_id(
        "recommendation-apply").click()
    card = page.locator("[data-testid=subscription-card][data-subscription-id="
                        f"'{change['action']['subscription_id']}']")
    expect(card.get_by_test_id("change-preview")).to_be_visible()
    expect(card.locator(f"input[name=package][value='{change['action']['package']}']")
           ).to_be_checked()


def test_the_admin_s_console_draws_the_business_and_switches_recommendation_kinds(
        make_page, portal_url):
    admin = Client(portal_url, *ADMIN)
    # a support request, so tickets by category have something to count
    raise_ticket(Client(portal_url, DEMO_PREPAID["email"], DEMO_PREPAID["password"]),
                 category="billing")
    page = make_page()
    log_in(page, portal_url, *ADMIN)
    page.get_by_test_id("nav-opsInsights").click()
    console = page.get_by_test_id("page-ops-insights")
    expect(console.get_by_role("heading", level=1)).to_have_text("Business insights")
    # the demo's subscriptions and tickets: charts with their tables
    for testid in ("ops-subscribers-chart", "ops-tickets-chart"):
        figure = console.get_by_test_id(testid)
        figure.scroll_into_view_if_needed()
        expect(figure).to_have_attribute("data-chart", re.compile(r"drawn|table"))
        expect(figure.locator("table tbody tr").first).to_be_attached()
    expect(console.get_by_test_id("ops-insights-churn")).to_be_visible()
    expect(console.get_by_test_id("ops-insights-money")).to_contain_text("€")
    expect(console.get_by_test_id("ops-resolve-table").or_(
        console.get_by_test_id("ops-resolve-empty"))).to_be_visible()
    no_text_left_as_a_key(page, "ops insights")

    # switch the top-up advice off, and on again
    kinds = console.get_by_test_id("ops-kinds-form")
    switch = kinds.locator("input[data-kind=top_up]")
    expect(switch).to_be_checked()
    switch.uncheck()
    kinds.get_by_test_id("ops-kinds-save").click()
    expect(kinds.get_by_test_id("form-message")).to_have_text("Saved.")
    kinds_now = "/api/v1/ops/insights/recommendation-kinds"
    assert admin.call("GET", kinds_now)["kinds"]["top_up"] is False
    switch.check()
    kinds.get_by_test_id("ops-kinds-save").click()
    expect(kinds.get_by_test_id("form-message")).to_have_text("Saved.")
    assert admin.call("GET", kinds_now)["kinds"]["top_up"] is True


def test_customers_and_agents_have_no_business_insights(make_page, portal_url):
    page = make_page()
    log_in(page, portal_url, *AGENT)
    expect(page.get_by_test_id("nav-opsSupport")).to_be_attached()
    expect(page.get_by_test_id("nav-opsInsights")).to_have_count(0)
    expect(page.get_by_test_id("nav-insights")).to_have_count(0)  # a customer's page
