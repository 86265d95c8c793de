"""Browser tests for the Notifications tab (the portal inbox), the unread count on the navigation
and the dashboard, and notification preferences in Settings (gateway/static/pages/
notifications.js, app.js, dashboard.js, settings.js).

Notifications come from the notifier as in production: a new account gets its welcome at once,
a card top-up by a prepaid customer gives "Payment of … received". Set-up goes through the API
(requests, bearer tokens), and a test waits by API until the notifier has made what it needs;
what the customer does, through the browser. The app's poll of the unread count (once a minute)
is driven by Playwright's clock instead of waiting for it.
"""

import re
import uuid

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.helpers import (
    add_card,
    all_labelled,
    log_in_as,
    new_account,
    no_horizontal_scroll,
    page_factory,
)
from tests.browser.test_bills import APPROVES
from tests.waiting import eventually

TOPICS = ["account", "billing", "wallet", "service", "cards", "vouchers", "support", "promotions",
          "maintenance"]
LOCKED = {"account", "maintenance"}


@pytest.fixture
def make_page(pw_browser):
    """Factory for a page in a fresh browser context (own cookies), English UI; with
    `clock=True` the page's timers can be moved on (page.clock). Fails the test on a JavaScript
    error or a console error (refusals a test provokes, 503, show as failed resource loads)."""
    yield from page_factory(pw_browser, card_numbers=False)


# --- set-up through the API ------------------------------------------------------------------

def customer(base, name, language="en", card=None):
    """A new prepaid customer (with an optional card) whose welcome notification is made."""
    email, client = new_account(base, name, language=language)
    pm = add_card(client, card, name) if card else None
    (welcome,) = inbox(client, 1)["data"]
    assert welcome["topic"] == "account" and name in welcome["title"], welcome
    return {"email": email, "name": name, "client": client, "card": pm, "welcome": welcome}


def inbox(client, count, timeout=20):
    """The customer's inbox once it holds `count` notifications (the notifier works from
    events, a moment after the fact)."""
    page = eventually(lambda: client.call("GET", "/api/v1/notifications?limit=100"),
                      timeout=timeout, until=lambda p: len(p["data"]) >= count)
    assert len(page["data"]) == count, f"expected {count} notifications: {page}"
    return page


def top_up(who, amount):
    return who["client"].call(
        "POST", "/api/v1/wallet/top-ups", 201, headers={"Idempotency-Key": uuid.uuid4().hex},
        json={"amount": {"amount": amount, "currency": "EUR"},
              "payment_method_id": who["card"]["id"]})


# --- in the browser --------------------------------------------------------------------------

def expect_unread(page, count, link="Notifications", unread="unread"):
    """The navigation's badge: the number to see, "<n> unread" for screen readers; none at 0.
    The link's accessible name is checked while the links are shown (on a phone: menu open)."""
    nav = page.get_by_test_id("nav")
    badge = nav.get_by_test_id("nav-unread")
    expect(badge).to_have_attribute("data-count", str(count))
    name = f"{link} {count} {unread}" if count else link
    if count:
        expect(badge.locator('[aria-hidden="true"]')).to_have_text(str(count))
        expect(badge.locator(".visually-hidden")).to_have_text(f" {count} {unread}")
    else:
        expect(badge).to_be_hidden()
        expect(badge).to_be_empty()
    if nav.locator("#nav-list").is_visible():
        expect(nav.get_by_role("link", name=name, exact=True)).to_have_count(1)


def open_inbox(page, link="Notifications", heading="Notifications"):
    page.get_by_test_id("nav").get_by_role("link", name=re.compile(f"^{link}")).click()
    expect(page).to_have_url(re.compile(r"#/notifications$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.get_by_test_id("notification").or_(
        page.get_by_test_id("notifications-empty")).first).to_be_visible()


def open_dashboard(page):
    page.get_by_test_id("nav").get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(re.compile(r"#/dashboard$"))


def item(page, notification):
    return page.locator(
        f'[data-testid="notification"][data-notification-id="{notification["id"]}"]')


def preference_row(page, topic):
    return page.locator(f'[data-testid="preference-row"][data-topic="{topic}"]')


# --- the tests -------------------------------------------------------------------------------

def test_a_new_customer_sees_the_welcome_counted_reads_it_and_the_count_clears(
        make_page, portal_url):
    ann = customer(portal_url, "Ann Inbox")
    welcome = ann["welcome"]
    page = make_page()
    log_in_as(page, portal_url, ann)

    # The count, in the navigation and on the dashboard, with the way to the inbox.
    expect_unread(page, 1)
    panel = page.get_by_test_id("dashboard-notifications")
    expect(panel.get_by_test_id("dashboard-unread-count")).to_have_text("1")
    expect(panel.get_by_test_id("dashboard-unread")).to_have_text("Unread notifications")
    expect(panel.get_by_role("link", name="Open notifications")).to_have_attribute(
        "href", "#/notifications")

    # Going from page to page does not ask for the count each time (it is fresh).
    asks = []
    page.on("request", lambda r: asks.append(r.url) if "/api/v1/notifications" in r.url else None)
    for name in ("Subscriptions", "Wallet", "Vouchers", "Settings"):
        page.get_by_test_id("nav").get_by_role("link", name=name, exact=True).click()
        expect(page).to_have_url(re.compile(f"#/{name.lower()}$"))
        expect(page.locator("main")).not_to_have_attribute("aria-busy", "true")
    assert len(asks) <= 1, asks
    expect_unread(page, 1)

    open_inbox(page)
    expect(page.get_by_test_id("nav").get_by_role("link", name=re.compile("^Notifications"))
           ).to_have_attribute("aria-current", "page")
    expect(page.get_by_test_id("notifications-summary")).to_have_text(
        "You have 1 unread notification.")
    note = item(page, welcome)
    expect(page.get_by_test_id("notification")).to_have_count(1)
    expect(note).to_have_attribute("data-unread", "true")
    expect(note.get_by_test_id("notification-title")).to_have_text("Welcome, Ann Inbox")
    expect(note.get_by_test_id("notification-body")).to_have_text(welcome["body"])
    expect(note.get_by_test_id("notification-body")).to_contain_text("Your account is ready.")
    expect(note.get_by_test_id("notification-topic")).to_have_text("Account and security")
    expect(note.get_by_test_id("notification-unread")).to_have_text("Unread")
    time_el = note.get_by_test_id("notification-time")
    expect(time_el).to_have_attribute("datetime", welcome["created_at"])
    expect(time_el).to_have_text(re.compile(r"^\d{1,2} \S+ \d{4}, \d{2}:\d{2}$"))
    expect(page.get_by_test_id("notifications-load-more")).to_have_count(0)

    # The notifier does not answer the first time: said in words, and nothing changes.
    page.route("**/api/v1/notifications/*/read", lambda route: route.fulfill(
        status=503, json={"error": {"code": "UNAVAILABLE", "message": "", "fields": {}}}),
        times=1)
    mark = note.get_by_role("button", name="Mark as read: Welcome, Ann Inbox")
    mark.click()
    expect(page.get_by_test_id("notifications-error")).to_have_text(
        "The service is temporarily unavailable. Please try again in a moment.")
    expect(note).to_have_attribute("data-unread", "true")
    expect_unread(page, 1)

    # Mark it read: the count goes, in the navigation at once.
    mark.click()
    expect(page.get_by_test_id("notifications-status")).to_have_text(
        "“Welcome, Ann Inbox” is marked as read.")
    expect(page.get_by_test_id("notifications-error")).to_be_empty()
    expect(note).to_have_attribute("data-unread", "false")
    expect(note.get_by_test_id("notification-unread")).to_be_hidden()
    expect(note.get_by_test_id("notification-mark-read")).to_have_count(0)
    expect(note.get_by_test_id("notification-title")).to_be_focused()  # the button went
    expect(page.get_by_test_id("notifications-summary")).to_have_text(
        "You have no unread notifications.")
    expect(page.get_by_test_id("notifications-mark-all")).to_be_hidden()
    expect_unread(page, 0)
    answer = ann["client"].call("GET", "/api/v1/notifications")
    assert answer["unread_count"] == 0 and answer["data"][0]["read_at"], answer

    # The dashboard says the same; after a reload too.
    open_dashboard(page)
    expect(panel.get_by_test_id("dashboard-unread-count")).to_have_text("0")
    expect_unread(page, 0)
    page.reload()
    expect(panel.get_by_test_id("dashboard-unread-count")).to_have_text("0")
    expect_unread(page, 0)
    open_inbox(page)
    expect(note).to_have_attribute("data-unread", "false")

    # When the notifier is down, the dashboard's part says so and the rest renders.
    def notifier_down(route):
        response = route.fetch()
        route.fulfill(response=response, json={**response.json(),
                                               "unread_notifications": {"unavailable": True}})

    page.route("**/api/v1/dashboard", notifier_down)
    open_dashboard(page)
    expect(panel.get_by_test_id("dashboard-unavailable")).to_have_text(
        "This part is temporarily unavailable. Please try again in a moment.")
    expect(panel.get_by_test_id("dashboard-unread-count")).to_have_count(0)
    expect(page.get_by_test_id("dashboard-wallet")).to_be_visible()
    page.unroute("**/api/v1/dashboard")

    # An inbox with nothing in it.
    page.route(re.compile(r".*/api/v1/notifications\?limit=20$"), lambda route: route.fulfill(json={
        "data": [], "has_more": False, "next_cursor": None, "unread_count": 0}))
    open_inbox(page)
    expect(page.get_by_test_id("notifications-empty")).to_contain_text(
        "You have no notifications yet.")
    expect(page.get_by_test_id("notifications-mark-all")).to_be_hidden()
    page.get_by_test_id("notifications-settings-link").click()
    expect(page).to_have_url(re.compile(r"#/settings/notifications$"))
    expect(page.get_by_test_id("settings-notifications-form")).to_be_visible()


def test_new_notifications_arrive_are_counted_read_by_opening_and_all_marked_read(
        make_page, portal_url):
    bo = customer(portal_url, "Bo Arrivals", card=APPROVES)
    page = make_page(clock=True)
    log_in_as(page, portal_url, bo)
    expect_unread(page, 1)

    # A top-up made elsewhere after login: the count goes up on the next page that asks.
    top_up(bo, 1500)
    payment = inbox(bo["client"], 2)["data"][0]
    assert (payment["topic"], payment["title"]) == ("wallet", "Payment of €15.00 received"), payment
    page.get_by_test_id("nav").get_by_role("link", name="Wallet").click()
    expect(page.get_by_test_id("wallet-balance")).to_have_text("€15.00")
    open_dashboard(page)
    expect(page.get_by_test_id("dashboard-unread-count")).to_have_text("2")
    expect_unread(page, 2)

    open_inbox(page)
    notes = page.get_by_test_id("notification")
    expect(notes).to_have_count(2)
    expect(notes.get_by_test_id("notification-title")).to_have_text(
        ["Payment of €15.00 received", "Welcome, Bo Arrivals"])  # newest first
    new = item(page, payment)
    expect(new.get_by_test_id("notification-topic")).to_have_text("Wallet")
    expect(new.get_by_test_id("notification-body")).to_have_text(
        "Thank you: your card payment of €15.00 went through.")
    expect(page.get_by_test_id("notifications-summary")).to_have_text(
        "You have 2 unread notifications.")

    # Opening a notification reads it.
    title = new.get_by_role("button", name="Payment of €15.00 received", exact=True)
    expect(title).to_have_attribute("aria-expanded", "false")
    title.click()
    expect(title).to_have_attribute("aria-expanded", "true")
    expect(new).to_have_attribute("data-unread", "false")
    expect(new.get_by_test_id("notification-mark-read")).to_have_count(0)
    expect_unread(page, 1)
    expect(page.get_by_test_id("notifications-summary")).to_have_text(
        "You have 1 unread notification.")
    assert item(page, bo["welcome"]).get_attribute("data-unread") == "true"
    answer = bo["client"].call("GET", "/api/v1/notifications?unread=true")
    assert [n["id"] for n in answer["data"]] == [bo["welcome"]["id"]], answer

    # Another arrives while the inbox is open: the minute's poll finds it, the page says so
    # and shows it when asked (the list does not move by itself).
    polls = []
    page.on("request", lambda r: polls.append(r.url) if "unread=true" in r.url else None)
    top_up(bo, 750)
    second = inbox(bo["client"], 3)["data"][0]
    assert second["title"] == "Payment of €7.50 received", second
    page.clock.fast_forward("01:05")
    expect_unread(page, 2)
    arrived = page.get_by_test_id("notifications-arrived")
    expect(arrived).to_contain_text("New notifications have arrived.")
    expect(notes).to_have_count(2)
    assert len(polls) == 1, polls  # one light request, not one per badge
    arrived.get_by_role("button", name="Show them").click()
    expect(notes).to_have_count(3)
    expect(notes.first).to_have_attribute("data-notification-id", second["id"])
    expect(notes.first).to_have_attribute("data-unread", "true")
    expect(arrived).to_have_count(0)

    # Mark all as read.
    page.get_by_role("button", name="Mark all as read").click()
    status = page.get_by_test_id("notifications-status")
    expect(status).to_have_text("All notifications are marked as read.")
    expect(status).to_be_focused()
    expect(page.locator('[data-testid="notification"][data-unread="true"]')).to_have_count(0)
    expect(page.get_by_test_id("notification-mark-read")).to_have_count(0)
    expect(page.get_by_test_id("notifications-mark-all")).to_be_hidden()
    expect_unread(page, 0)
    answer = bo["client"].call("GET", "/api/v1/notifications")
    assert answer["unread_count"] == 0, answer
    assert all(n["read_at"] for n in answer["data"]), answer

    # Older ones come with "load more" (pages of two here), from the server's cursor.
    page.route(re.compile(r".*/api/v1/notifications\?limit=20.*"), lambda route: route.continue_(
        url=route.request.url.replace("limit=20", "limit=2")))
    page.reload()
    expect(notes).to_have_count(2)
    more = page.get_by_role("button", name="Show older notifications")
    more.click()
    expect(notes).to_have_count(3)
    expect(notes.nth(2)).to_have_attribute("data-notification-id", bo["welcome"]["id"])
    expect(more).to_have_count(0)
    expect(notes.nth(2).get_by_test_id("notification-title")).to_be_focused()


def test_notification_settings_email_off_persists_and_locked_inbox_is_disabled(
        make_page, portal_url):
    cy = customer(portal_url, "Cy Preferences")
    page = make_page()
    log_in_as(page, portal_url, cy)
    page.get_by_test_id("nav").get_by_role("link", name="Settings").click()
    section = page.get_by_test_id("settings-notifications")
    expect(section.get_by_role("heading", name="Notifications")).to_be_visible()
    form = section.get_by_test_id("settings-notifications-form")
    expect(page.get_by_test_id("preference-row")).to_have_count(len(TOPICS))
    expect(page.get_by_test_id("preference-row").locator("th .pref-topic-name")).to_have_text([
        "Account and security", "Bills and payments", "Wallet", "My services", "Cards",
        "Vouchers", "Support requests", "Offers and promotions", "Service notices"])

    # Locked topics: the inbox is on and cannot be turned off, and the page says why; their
    # e-mail can be.
    for topic in TOPICS:
        row = preference_row(page, topic)
        portal = row.get_by_test_id("preference-portal")
        email = row.get_by_test_id("preference-email")
        expect(portal).to_be_checked()
        expect(email).to_be_enabled()
        if topic in LOCKED:
            expect(row).to_have_attribute("data-locked", "true")
            expect(portal).to_be_disabled()
            expect(row.get_by_test_id("preference-locked")).to_have_text("Always in your inbox")
            expect(portal).to_have_accessible_description(re.compile(
                r"^Always in your inbox Topics marked “Always in your inbox” concern your "
                r"account's security or our service"))
        else:
            expect(portal).to_be_enabled()
    expect(form.get_by_label("Account and security: Portal inbox")).to_be_disabled()
    expect(form.get_by_label("Offers and promotions: E-mail")).not_to_be_checked()

    # E-mail about bills off, about offers on; the portal sends what changed.
    form.get_by_label("Bills and payments: E-mail").uncheck()
    form.get_by_label("Offers and promotions: E-mail").check()
    with page.expect_request(lambda r: r.method == "PUT"
                             and r.url.endswith("/api/v1/me/notification-preferences")) as sent:
        form.get_by_role("button", name="Save notification settings").click()
    assert sent.value.post_data_json == {"preferences": [
        {"topic": "billing", "channel": "email", "enabled": False},
        {"topic": "promotions", "channel": "email", "enabled": True}]}, sent.value.post_data
    message = form.get_by_test_id("form-message")
    expect(message).to_have_text("Your notification settings have been saved.")
    stored = {p["topic"]: p for p in cy["client"].call(
        "GET", "/api/v1/me/notification-preferences")["preferences"]}
    assert (stored["billing"]["portal"], stored["billing"]["email"]) == (True, False), stored
    assert stored["promotions"]["email"] is True, stored

    # A locked topic's e-mail can be turned off.
    form.get_by_label("Account and security: E-mail").uncheck()
    form.get_by_role("button", name="Save notification settings").click()
    expect(message).to_have_text("Your notification settings have been saved.")
    stored = {p["topic"]: p for p in cy["client"].call(
        "GET", "/api/v1/me/notification-preferences")["preferences"]}
    assert (stored["account"]["portal"], stored["account"]["email"]) == (True, False), stored
    form.get_by_role("button", name="Save notification settings").click()
    expect(message).to_have_text("There are no changes to save.")

    # After a reload the table shows what was stored.
    page.reload()
    expect(form.get_by_label("Bills and payments: E-mail")).not_to_be_checked()
    expect(form.get_by_label("Bills and payments: Portal inbox")).to_be_checked()
    expect(form.get_by_label("Account and security: E-mail")).not_to_be_checked()
    expect(form.get_by_label("Offers and promotions: E-mail")).to_be_checked()
    all_labelled(page, 11 + 2 * len(TOPICS), "Settings")

    # The server's refusal is said in words, as a form error (here a locked inbox).
    page.route("**/api/v1/me/notification-preferences", lambda route: route.fulfill(
        status=409, json={"error": {"code": "PREFERENCE_LOCKED", "fields": {},
                                    "message": "Notices about account always reach your inbox."}})
        if route.request.method == "PUT" else route.continue_())
    form.get_by_label("Wallet: Portal inbox").uncheck()
    form.get_by_role("button", name="Save notification settings").click()
    expect(message).to_have_text(
        "This topic always reaches your portal inbox; you can only turn its e-mails off.")
    expect(message).to_have_attribute("role", "alert")
    stored = {p["topic"]: p for p in cy["client"].call(
        "GET", "/api/v1/me/notification-preferences")["preferences"]}
    assert stored["wallet"]["portal"] is True, stored

    # When the notifier does not answer, Settings still opens and the section says so.
    page.unroute("**/api/v1/me/notification-preferences")
    page.route("**/api/v1/me/notification-preferences", lambda route: route.fulfill(
        status=503, json={"error": {"code": "UNAVAILABLE", "message": "", "fields": {}}}))
    page.reload()
    expect(page.get_by_test_id("settings-notifications-unavailable")).to_contain_text(
        "Your notification settings cannot be shown right now.")
    expect(page.get_by_test_id("settings-profile-form")).to_be_visible()
    expect(page.get_by_test_id("settings-notifications-form")).to_have_count(0)

    # And by API, the inbox of a locked topic cannot be turned off.
    answer = requests.put(f"{portal_url}/api/v1/me/notification-preferences",
                          headers=cy["client"].headers, timeout=10, json={"preferences": [
                              {"topic": "account", "channel": "portal", "enabled": False}]})
    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == "PREFERENCE_LOCKED", answer.text


@pytest.mark.parametrize("width", [375, 1280])
def test_inbox_and_settings_in_german_fit_the_screen(make_page, portal_url, width):
    ida = customer(portal_url, "Ida Benachrichtigungs-Langname", language="de", card=APPROVES)
    top_up(ida, 1500)
    payment = inbox(ida["client"], 2)["data"][0]
    page = make_page(width=width, height=800)
    log_in_as(page, portal_url, ida)
    expect(page.locator("html")).to_have_attribute("lang", "de")
    panel = page.get_by_test_id("dashboard-notifications")
    expect(panel.get_by_test_id("dashboard-unread-count")).to_have_text("2")
    expect(panel.get_by_test_id("dashboard-unread")).to_have_text("Ungelesene Benachrichtigungen")
    expect(panel.get_by_role("link", name="Zu den Benachrichtigungen")).to_be_visible()
    if width < 768:
        # On a phone the links are behind the menu button, which shows the count too.
        menu = page.get_by_role("button", name="Menü 2 ungelesen", exact=True)
        expect(menu.get_by_test_id("nav-toggle-unread").locator('[aria-hidden="true"]')
               ).to_have_text("2")
        menu.click()
    else:
        expect(page.get_by_test_id("nav-toggle")).to_be_hidden()
    expect_unread(page, 2, link="Benachrichtigungen", unread="ungelesen")
    no_horizontal_scroll(page, width, "the dashboard")

    open_inbox(page, link="Benachrichtigungen", heading="Benachrichtigungen")
    expect(page.get_by_test_id("notifications-summary")).to_have_text(
        "Sie haben 2 ungelesene Benachrichtigungen.")
    new = item(page, payment)
    expect(new.get_by_test_id("notification-title")).to_have_text(
        re.compile(r"^Zahlung über 15,00\s€ erhalten$"))
    expect(new.get_by_test_id("notification-topic")).to_have_text("Guthaben")
    expect(new.get_by_test_id("notification-unread")).to_have_text("Ungelesen")
    welcome = item(page, ida["welcome"])
    expect(welcome.get_by_test_id("notification-title")).to_have_text(
        "Willkommen, Ida Benachrichtigungs-Langname")
    expect(welcome.get_by_test_id("notification-topic")).to_have_text("Konto und Sicherheit")
    expect(welcome.get_by_test_id("notification-time")).to_have_text(
        re.compile(r"^\d{1,2}\. \S+ \d{4}, \d{2}:\d{2}$"))
    expect(page.get_by_role("link", name="Festlegen, welche Benachrichtigungen Sie erhalten")
           ).to_be_visible()
    no_horizontal_scroll(page, width, "the inbox")

    welcome.get_by_role(
        "button", name="Als gelesen markieren: Willkommen, Ida Benachrichtigungs-Langname").click()
    expect(page.get_by_test_id("notifications-status")).to_have_text(
        "„Willkommen, Ida Benachrichtigungs-Langname“ ist als gelesen markiert.")
    expect(page.get_by_test_id("notifications-summary")).to_have_text(
        "Sie haben 1 ungelesene Benachrichtigung.")
    page.get_by_role("button", name="Alle als gelesen markieren").click()
    expect(page.get_by_test_id("notifications-status")).to_have_text(
        "Alle Benachrichtigungen sind als gelesen markiert.")
    expect(page.get_by_test_id("notifications-summary")).to_have_text(
        "Sie haben keine ungelesenen Benachrichtigungen.")
    expect_unread(page, 0, link="Benachrichtigungen")
    if width < 768:
        expect(page.get_by_role("button", name="Menü", exact=True)).to_be_visible()
    no_horizontal_scroll(page, width, "the inbox, all read")

    # Settings: the table in German, labelled, and within the screen.
    page.goto(f"{portal_url}/#/settings/notifications")  # on a phone: this section only
    section = page.get_by_test_id("settings-notifications")
    expect(section.get_by_role("heading", name="Benachrichtigungen")).to_be_visible()
    form = section.get_by_test_id("settings-notifications-form")
    expect(form.get_by_label("Konto und Sicherheit: Portal-Posteingang")).to_be_disabled()
    expect(preference_row(page, "maintenance").get_by_test_id("preference-locked")).to_have_text(
        "Immer im Posteingang")
    expect(preference_row(page, "promotions")).to_contain_text("Angebote und Aktionen")
    form.get_by_label("Rechnungen und Zahlungen: E-Mail").uncheck()
    form.get_by_role("button", name="Benachrichtigungseinstellungen speichern").click()
    expect(form.get_by_test_id("form-message")).to_have_text(
        "Ihre Benachrichtigungseinstellungen wurden gespeichert.")
    no_horizontal_scroll(page, width, "Settings")
    all_labelled(page, 11 + 2 * len(TOPICS), "Settings")
    stored = {p["topic"]: p for p in ida["client"].call(
        "GET", "/api/v1/me/notification-preferences")["preferences"]}
    assert stored["billing"]["email"] is False, stored
