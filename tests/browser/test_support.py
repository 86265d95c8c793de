"""Browser tests for the Support tab (FAQ, raising an issue, a customer's requests and one
request's history), the agents' support desk (the queue, one ticket, incidents) and the
dashboard's open requests (gateway/static/pages/support.js, ops-support.js, dashboard.js).

Everything runs as in production, with the demo data of `make run`: ticket categories
(`service_interruption` asks for a subscription, `complaint`, `billing`, `general`), FAQ entries,
the teams `support`, `network` and `billing` with the routing billing → billing,
service_interruption → network, anything else → support, an admin and an agent of team
`support`. Customers are new accounts made by API; tickets are raised in the browser where the
test is about raising them, by API where it is about what happens next. A team's alerts go to a
real webhook: a small HTTP server in this process that records what it receives.
"""

import hashlib
import hmac
import http.server
import json
import re
import threading
import time
import uuid

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.helpers import (
    Client,
    add_card,
    all_labelled,
    first_answer_lost,
    log_in_as,
    new_account,
    no_horizontal_scroll,
    page_factory,
)
from tests.browser.test_bills import ADMIN, APPROVES, postpaid_customer
from tests.browser.test_portal import PASSWORD, log_in, unique_email
from tests.waiting import eventually

AGENT = ("agent@example.com", "portal agent demo passphrase")
SUPERVISOR = ("supervisor@example.com", "portal supervisor demo passphrase")
OPEN = ["new", "routed", "acknowledged", "in_progress", "waiting_on_customer"]


@pytest.fixture
def make_page(pw_browser):
    """Factory for a page in a fresh browser context (own cookies), English UI. Fails the test
    on a JavaScript error or a console error (refusals a test provokes, 400 and 409, show as
    failed resource loads)."""
    yield from page_factory(pw_browser, card_numbers=False)


class WebhookReceiver:
    """A team's webhook: an HTTP server on 127.0.0.1 that answers 200 and records each POST
    (its headers and its exact body)."""

    def __init__(self):
        self.received = []
        self.changed = threading.Condition()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.changed:
                    receiver.received.append((self.path, self.headers, body))
                    receiver.changed.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/support"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, predicate, timeout=45):
        """The first request (path, headers, body) for which `predicate(payload)` holds."""
        def found():
            for path, headers, body in self.received:
                try:
                    payload = json.loads(body)
                except ValueError:
                    continue
                if predicate(payload):
                    return path, headers, body
            return None

        with self.changed:
            self.changed.wait_for(found, timeout=timeout)
            hit = found()
        assert hit, f"no matching webhook within {timeout}s; received: {self.received}"
        return hit

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


# --- set-up through the API ------------------------------------------------------------------

def customer(base, name, language="en"):
    email, client = new_account(base, name, language=language)
    return {"email": email, "name": name, "client": client}


def raise_ticket(client, category="general", subject=None, description="It does not work.",
                 **extra):
    subject = subject or f"Something is wrong {uuid.uuid4().hex[:8]}"
    return client.call("POST", "/api/v1/tickets", 201, json={
        "category": category, "subject": subject, "description": description, **extra},
        headers={"Idempotency-Key": uuid.uuid4().hex})


def subscribed_prepaid(base, name, country):
    """A prepaid customer in `country` (their tax region) with a funded wallet and the Basic
    package; their email, name, client, subscription and wallet balance."""
    email = unique_email()
    answer = requests.post(f"{base}/api/v1/accounts", timeout=10, json={
        "email": email, "password": PASSWORD, "name": name, "billing_type": "prepaid",
        "currency": "EUR", "language": "en",
        "address": {"line1": "Bahnhofstrasse 1", "city": "Zürich", "postal_code": "8001",
                    "country": country}})
    assert answer.status_code == 201, answer.text
    client = Client(base, email, PASSWORD)
    card = add_card(client, APPROVES, name)
    client.call("POST", "/api/v1/wallet/top-ups", 201,
                headers={"Idempotency-Key": uuid.uuid4().hex},
                json={"amount": {"amount": 5000, "currency": "EUR"},
                      "payment_method_id": card["id"]})
    sub = client.call("POST", "/api/v1/subscriptions", 201, json={"package": "basic"},
                      headers={"Idempotency-Key": uuid.uuid4().hex})
    balance = client.call("GET", "/api/v1/wallet")["balance"]["amount"]
    return {"email": email, "name": name, "client": client, "subscription": sub,
            "balance": balance}


def wait_for_balance(client, amount, timeout=30):
    balance = eventually(lambda: client.call("GET", "/api/v1/wallet")["balance"],
                         timeout=timeout, until=lambda b: b["amount"] == amount)
    assert balance["amount"] == amount, f"the balance stays {balance}, not {amount}"
    return balance


def categories(client):
    return {c["code"]: c for c in client.call("GET", "/api/v1/ticket-categories")["data"]}


def wait_for_notification(client, title, timeout=30):
    """The customer's notification titled `title`, once the notifier has made it."""
    found = eventually(lambda: [n for n in client.call(
        "GET", "/api/v1/notifications?limit=100")["data"] if n["title"] == title],
        timeout=timeout)
    assert found, f"no notification {title!r}"
    return found[0]


# --- in the browser --------------------------------------------------------------------------

def open_support(page, link="Support", heading="Support"):
    nav = page.get_by_test_id("nav")
    if page.get_by_test_id("nav-toggle").is_visible():
        page.get_by_test_id("nav-toggle").click()
    nav.get_by_role("link", name=link, exact=True).click()
    expect(page).to_have_url(re.compile(r"#/support$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    expect(page.get_by_test_id("ticket-list").or_(page.get_by_test_id("tickets-empty"))
           ).to_be_visible()


def open_desk(page):
    page.get_by_test_id("nav").get_by_role("link", name="Support desk (ops)").click()
    expect(page).to_have_url(re.compile(r"#/ops/support$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Support desk")
    expect(page.get_by_test_id("queue-list").or_(page.get_by_test_id("queue-empty"))
           ).to_be_visible()


def ticket_row(page, ticket, testid="ticket-row"):
    return page.locator(f'[data-testid="{testid}"][data-ticket-id="{ticket["id"]}"]')


def history(page):
    return page.get_by_test_id("ticket-history").get_by_test_id("history-entry")


def entry(page, kind):
    return page.locator(f'[data-testid="history-entry"][data-kind="{kind}"]')


def open_in_desk(page, ticket):
    """From the queue (the agent's team, open tickets), open `ticket`."""
    open_desk(page)
    row = ticket_row(page, ticket, "queue-row")
    rows = page.get_by_test_id("queue-row")
    more = page.get_by_test_id("queue-load-more")
    while not row.count() and more.count():  # most urgent first: perhaps on a later page
        before = rows.count()
        more.click()
        expect(rows).not_to_have_count(before)
    expect(row).to_be_visible()
    row.get_by_test_id("queue-link").click()
    expect(page).to_have_url(re.compile(rf"#/ops/support/{ticket['id']}$"))
    expect(page.get_by_test_id("ops-ticket-title")).to_have_text(
        f"#{ticket['number']} {ticket['subject']}")


# --- the tests -------------------------------------------------------------------------------

def test_a_customer_searches_the_faq_raises_a_ticket_and_comments_on_it(make_page, portal_url):
    ann = customer(portal_url, "Ann Support")
    client = ann["client"]
    cats = categories(client)
    assert {"service_interruption", "complaint", "billing", "general"} <= set(cats), cats
    answers = client.call("GET", "/api/v1/faq?q=invoice")["data"]
    assert answers, "the demo FAQ has no entry about invoices"
    billing_faq = client.call("GET", "/api/v1/faq?category=billing")["data"]
    assert billing_faq, "the demo FAQ has no billing entries"

    page = make_page()
    log_in_as(page, portal_url, ann)
    open_support(page)
    expect(page.get_by_test_id("nav").get_by_role("link", name="Support", exact=True)
           ).to_have_attribute("aria-current", "page")
    expect(page.get_by_test_id("tickets-empty")).to_have_text(
        "You have not raised any requests yet.")

    # The FAQ: an empty search is caught, a word finds what the API finds.
    faq = page.get_by_test_id("faq")
    faq.get_by_role("button", name="Search").click()
    expect(faq.get_by_label("Search the FAQ")).to_have_attribute("aria-invalid", "true")
    faq.get_by_label("Search the FAQ").fill("invoice")
    faq.get_by_role("button", name="Search").click()
    results = page.get_by_test_id("faq-results")
    expect(results.get_by_test_id("faq-count")).to_have_text(
        f"{len(answers)} answers for “invoice”:" if len(answers) > 1
        else "1 answer for “invoice”:")
    expect(results.get_by_test_id("faq-question")).to_have_text([a["question"] for a in answers])
    first = results.get_by_test_id("faq-item").first
    expect(first.get_by_test_id("faq-answer")).to_be_hidden()
    first.get_by_test_id("faq-question").click()  # it opens
    expect(first.get_by_test_id("faq-answer")).to_be_visible()
    expect(first.get_by_test_id("faq-answer")).to_have_text(answers[0]["answer"])
    assert re.search("invoice", answers[0]["question"] + answers[0]["answer"], re.I)
    faq.get_by_label("Search the FAQ").fill("xyzzy-nothing-matches")
    faq.get_by_role("button", name="Search").click()
    expect(results.get_by_test_id("faq-count")).to_contain_text("No answers match")
    expect(results.get_by_test_id("faq-item")).to_have_count(0)

    # Picking a category: its description, and its FAQ entries before anything is sent.
    form = page.get_by_test_id("ticket-form")
    subscription = form.get_by_label("Affected subscription")
    expect(subscription).to_be_hidden()
    form.get_by_label("Category").select_option("billing")
    expect(form.get_by_test_id("ticket-category-description")).to_have_text(
        cats["billing"]["description"])
    suggestions = form.get_by_test_id("ticket-suggestions")
    expect(suggestions).to_contain_text("Did this answer your question?")
    expect(suggestions.get_by_test_id("faq-question")).to_have_text(
        [e["question"] for e in billing_faq])
    suggestions.get_by_test_id("faq-question").first.click()
    expect(suggestions.get_by_test_id("faq-answer").first).to_have_text(billing_faq[0]["answer"])
    expect(subscription).to_be_hidden()

    # Nothing typed: the fields say so, and nothing is sent.
    form.get_by_role("button", name="Send request").click()
    expect(form.get_by_label("Subject", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(form.get_by_label("Description", exact=True)).to_have_attribute(
        "aria-invalid", "true")
    expect(form.get_by_test_id("form-message")).to_have_text("Please correct the marked fields.")

    # Sent; the first answer is lost on the way back: sending again replays it (same key),
    # so there is one ticket.
    subject = f"Invoice shows a wrong amount {uuid.uuid4().hex[:6]}"
    form.get_by_label("Subject", exact=True).fill(subject)
    form.get_by_label("Description", exact=True).fill(
        "My last invoice charges the sports add-on twice.\nPlease check.")
    keys = []
    page.route("**/api/v1/tickets", lambda route: first_answer_lost(keys)(route)
               if route.request.method == "POST" else route.continue_())
    form.get_by_role("button", name="Send request").click()
    expect(form.get_by_test_id("form-message")).to_contain_text(
        "We could not tell whether your request arrived.")
    expect(form).to_have_attribute("data-outcome", "unknown")
    form.get_by_role("button", name="Send request").click()
    success = page.get_by_test_id("raise-success")
    expect(success).to_be_visible()
    page.unroute("**/api/v1/tickets")
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys
    mine = client.call("GET", "/api/v1/tickets")["data"]
    assert len(mine) == 1, mine
    ticket = mine[0]
    assert (ticket["subject"], ticket["status"], ticket["team"]) == (
        subject, "routed", "billing"), ticket
    expect(success).to_contain_text(f"Your request #{ticket['number']} has been sent.")
    expect(success).to_contain_text("Our Billing team has it.")
    expect(form.get_by_label("Subject", exact=True)).to_have_value("")
    expect(form.get_by_label("Category")).to_have_value("")
    expect(suggestions).to_be_empty()

    # In the list: number, subject, status, priority, team, updated.
    row = ticket_row(page, ticket)
    expect(page.get_by_test_id("ticket-row")).to_have_count(1)
    expect(row).to_have_attribute("data-status", "routed")
    expect(row).to_have_attribute("data-new", "true")
    expect(row.get_by_test_id("ticket-link")).to_have_text(f"#{ticket['number']}")
    expect(row.get_by_test_id("ticket-row-subject")).to_have_text(subject)
    expect(row.get_by_test_id("ticket-row-status")).to_have_text("Routed to a team")
    expect(row.get_by_test_id("ticket-row-priority")).to_have_text(
        re.compile(rf"^{ticket['priority']} · "))
    expect(row.get_by_test_id("ticket-row-team")).to_have_text("Billing")
    expect(row.get_by_test_id("ticket-row-updated")).to_have_attribute(
        "datetime", ticket["updated_at"])

    # The ticket: status, category, team, the history; a comment joins the history.
    row.get_by_role("link", name=f"Open request #{ticket['number']}: {subject}").click()
    expect(page).to_have_url(re.compile(rf"#/support/{ticket['id']}$"))
    expect(page.get_by_test_id("ticket-title")).to_have_text(f"#{ticket['number']} {subject}")
    expect(page.get_by_test_id("ticket-status")).to_have_attribute("data-status", "routed")
    expect(page.get_by_test_id("ticket-category")).to_have_text(cats["billing"]["name"])
    expect(page.get_by_test_id("ticket-team")).to_have_text("Billing")
    expect(page.get_by_test_id("ticket-description")).to_have_text(
        "My last invoice charges the sports add-on twice.\nPlease check.")
    expect(page.get_by_test_id("ticket-incident")).to_have_count(0)
    expect(page.get_by_test_id("ticket-resolution")).to_have_count(0)
    expect(entry(page, "created")).to_have_count(1)
    expect(entry(page, "routed").get_by_test_id("history-title")).to_have_text(
        "Passed to the Billing team")
    expect(page.locator('[data-testid="history-entry"][data-internal="true"]')).to_have_count(0)

    comment_form = page.get_by_test_id("comment-form")
    comment_form.get_by_role("button", name="Send comment").click()
    expect(comment_form.get_by_label("Your message")).to_have_attribute("aria-invalid", "true")
    text = "The amount is 12.99 too high."
    comment_form.get_by_label("Your message").fill(text)
    comment_form.get_by_role("button", name="Send comment").click()
    expect(page.get_by_test_id("comment-success")).to_have_text("Your comment has been added.")
    comment = entry(page, "comment")
    expect(comment).to_have_count(1)
    expect(comment.get_by_test_id("history-text")).to_have_text(text)
    expect(comment.get_by_test_id("history-actor")).to_have_text("Ann Support")
    expect(history(page).last).to_have_attribute("data-kind", "comment")
    expect(comment_form.get_by_label("Your message")).to_have_value("")
    stored = client.call("GET", f"/api/v1/tickets/{ticket['id']}")
    assert [e["text"] for e in stored["history"] if e["kind"] == "comment"] == [text], stored

    # Back to the list.
    page.get_by_test_id("back-to-support").click()
    expect(ticket_row(page, ticket)).to_have_attribute("data-status", "routed")


def test_service_interruption_needs_a_subscription(make_page, portal_url):
    # Without a subscription the form says so before sending; the API refuses too.
    bo = customer(portal_url, "Bo Nosubscription")
    answer = bo["client"].call("POST", "/api/v1/tickets", 400, json={
        "category": "service_interruption", "subject": "No picture", "description": "Black."})
    assert answer["error"]["code"] == "VALIDATION_FAILED", answer
    assert "subscription_id" in answer["error"]["fields"], answer

    page = make_page()
    log_in_as(page, portal_url, bo)
    open_support(page)
    sent = []
    page.on("request", lambda r: sent.append(r) if r.method == "POST"
            and r.url.endswith("/api/v1/tickets") else None)
    form = page.get_by_test_id("ticket-form")
    form.get_by_label("Category").select_option("service_interruption")
    subscription = form.get_by_label("Affected subscription")
    expect(subscription).to_be_visible()
    expect(form.get_by_text("You have no subscriptions, so you cannot choose one here.")
           ).to_be_visible()
    form.get_by_label("Subject", exact=True).fill("No picture on any channel")
    form.get_by_label("Description", exact=True).fill("The screen stays black since 8 pm.")
    form.get_by_role("button", name="Send request").click()
    expect(subscription).to_have_attribute("aria-invalid", "true")
    expect(subscription).to_be_focused()
    expect(form.get_by_test_id("form-message")).to_have_text("Please correct the marked fields.")
    error_id = subscription.get_attribute("aria-describedby").split()[-1]
    expect(page.locator(f"#{error_id}")).to_have_text("Choose the subscription this is about.")
    assert not sent, [r.url for r in sent]

    # Another category does not ask for it.
    form.get_by_label("Category").select_option("general")
    expect(subscription).to_be_hidden()

    # With a subscription: chosen from the customer's, and the ticket goes to the network team.
    cy = postpaid_customer(portal_url, "Cy Subscribed", card=APPROVES)
    client = Client(portal_url, cy["email"], PASSWORD)
    (sub,) = client.call("GET", "/api/v1/subscriptions")["data"]
    page2 = make_page()
    log_in_as(page2, portal_url, cy)
    open_support(page2)
    form = page2.get_by_test_id("ticket-form")
    form.get_by_label("Category").select_option("service_interruption")
    subscription = form.get_by_label("Affected subscription")
    expect(subscription.locator("option")).to_have_text(
        ["Choose a subscription", sub["package"]["name"]])
    subscription.select_option(sub["id"])
    form.get_by_label("Subject", exact=True).fill("No picture on any channel")
    form.get_by_label("Description", exact=True).fill("The screen stays black since 8 pm.")
    form.get_by_role("button", name="Send request").click()
    expect(page2.get_by_test_id("raise-success")).to_contain_text("Our Network team has it.")
    (ticket,) = client.call("GET", "/api/v1/tickets")["data"]
    assert (ticket["category"], ticket["subscription_id"], ticket["team"]) == (
        "service_interruption", sub["id"], "network"), ticket
    expect(ticket_row(page2, ticket).get_by_test_id("ticket-row-team")).to_have_text("Network")


def test_end_to_end_alert_acknowledge_resolve_and_the_customer_is_told(
        make_page, portal_url, webhook):
    admin = Client(portal_url, *ADMIN)
    channel = admin.call("POST", "/api/v1/ops/teams/support/channels", 201,
                         json={"type": "webhook", "url": webhook.url})
    secret = channel["secret"]
    assert secret, channel
    try:
        dee = customer(portal_url, "Dee Endtoend")
        page = make_page()
        log_in_as(page, portal_url, dee)
        open_support(page)

        # The customer raises a general ticket in the portal.
        subject = f"Cannot log in on the TV app {uuid.uuid4().hex[:6]}"
        form = page.get_by_test_id("ticket-form")
        form.get_by_label("Category").select_option("general")
        form.get_by_label("Subject", exact=True).fill(subject)
        form.get_by_label("Description", exact=True).fill("The app says my password is wrong.")
        form.get_by_role("button", name="Send request").click()
        expect(page.get_by_test_id("raise-success")).to_contain_text(
            "Our Customer support team has it.")
        (ticket,) = dee["client"].call("GET", "/api/v1/tickets")["data"]
        assert (ticket["status"], ticket["team"]) == ("routed", "support"), ticket

        # The support team's webhook is paged: the subject in `text`, signed with the secret.
        path, headers, body = webhook.wait_for(lambda p: subject in str(p.get("text", "")))
        assert path == "/hooks/support", path
        assert headers.get("Content-Type", "").startswith("application/json"), dict(headers)
        timestamp = headers["X-Portal-Timestamp"]
        assert abs(time.time() - int(timestamp)) < 300, timestamp
        expected = "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body,
                                        hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Portal-Signature"], expected), dict(headers)
        assert headers.get("X-Portal-Dedup-Key"), dict(headers)

        # The agent finds it in the support team's queue, acknowledges and resolves it.
        desk = make_page()
        log_in(desk, portal_url, *AGENT)
        expect(desk.get_by_test_id("page-ops-support")).to_be_visible()  # staff land on the desk
        open_desk(desk)
        expect(desk.get_by_label("Team")).to_have_value("support")
        expect(desk.get_by_label("Status", exact=True)).to_have_value("open")
        row = ticket_row(desk, ticket, "queue-row")
        expect(row.get_by_test_id("queue-subject")).to_have_text(subject)
        expect(row.get_by_test_id("queue-status")).to_have_text("Routed")
        expect(row.get_by_test_id("queue-team")).to_have_text("Customer support")
        open_in_desk(desk, ticket)
        expect(desk.get_by_test_id("ops-ticket-status")).to_have_attribute("data-status", "routed")
        expect(desk.get_by_test_id("customer-name")).to_have_text(dee["name"])
        expect(desk.get_by_test_id("customer-email")).to_have_text(dee["email"])
        expect(desk.get_by_test_id("context-billing-type")).to_have_text("Prepaid")
        expect(entry(desk, "alerted")).to_have_count(1)

        desk.get_by_role("button", name="Acknowledge").click()
        expect(desk.get_by_test_id("ops-ticket-done")).to_have_text(
            "The ticket is acknowledged; its escalation has stopped.")
        expect(desk.get_by_test_id("ops-ticket-status")).to_have_attribute(
            "data-status", "acknowledged")
        expect(entry(desk, "acknowledged")).to_have_count(1)
        expect(desk.get_by_role("button", name="Acknowledge")).to_be_hidden()

        resolve = desk.get_by_test_id("ticket-resolve-form")
        resolve.get_by_role("button", name="Resolve ticket").click()
        expect(resolve.get_by_label("Resolution")).to_have_attribute("aria-invalid", "true")
        resolution = "We reset your TV app password; please log in again."
        resolve.get_by_label("Resolution").fill(resolution)
        resolve.get_by_role("button", name="Resolve ticket").click()
        expect(desk.get_by_test_id("ops-ticket-done")).to_have_text(
            "The ticket is resolved and the customer is notified.")
        expect(desk.get_by_test_id("ops-ticket-status")).to_have_attribute(
            "data-status", "resolved")
        expect(entry(desk, "resolved").get_by_test_id("history-text")).to_have_text(resolution)
        expect(desk.get_by_test_id("ticket-resolve-form")).to_have_count(0)

        # The customer's ticket shows it resolved, with the resolution.
        page.goto(f"{portal_url}/#/support/{ticket['id']}")
        expect(page.get_by_test_id("ticket-status")).to_have_attribute("data-status", "resolved")
        expect(page.get_by_test_id("ticket-status")).to_have_text("Resolved")
        expect(page.get_by_test_id("ticket-resolution-text")).to_have_text(resolution)
        expect(entry(page, "resolved").get_by_test_id("history-text")).to_have_text(resolution)
        expect(entry(page, "acknowledged")).to_have_count(1)
        expect(entry(page, "alerted")).to_have_count(0)  # the customer does not see pages

        # ... and a notification about it in the inbox.
        title = f"Your request #{ticket['number']} is resolved"
        note = wait_for_notification(dee["client"], title)
        assert note["topic"] == "support", note
        page.get_by_test_id("nav").get_by_role("link", name=re.compile("^Notifications")).click()
        expect(page).to_have_url(re.compile(r"#/notifications$"))
        item = page.locator(
            f'[data-testid="notification"][data-notification-id="{note["id"]}"]')
        expect(item.get_by_test_id("notification-title")).to_have_text(title)
        expect(item.get_by_test_id("notification-body")).to_contain_text(subject)
        expect(item.get_by_test_id("notification-body")).to_contain_text(resolution)
        expect(item.get_by_test_id("notification-topic")).to_have_text("Support requests")
    finally:
        admin.call("DELETE", f"/api/v1/ops/channels/{channel['id']}", 204)


def test_the_agent_changes_status_and_priority_and_an_internal_note_stays_internal(
        make_page, portal_url):
    eve = customer(portal_url, "Eve Internal")
    ticket = raise_ticket(eve["client"], "general", f"Channel list is wrong {uuid.uuid4().hex[:6]}")
    assert ticket["status"] == "routed" and ticket["team"] == "support", ticket
    new_priority = "P1" if ticket["priority"] != "P1" else "P4"
    agent_name = Client(portal_url, *AGENT).call("GET", "/api/v1/me")["name"]

    desk = make_page()
    log_in(desk, portal_url, *AGENT)
    expect(desk.get_by_test_id("page-ops-support")).to_be_visible()  # staff land on the desk
    open_in_desk(desk, ticket)
    expect(desk.get_by_test_id("ops-ticket-description")).to_have_text(ticket["description"])

    # A change the status machine refuses is said next to the action, and changes nothing.
    done = desk.get_by_test_id("ops-ticket-done")
    problem = desk.get_by_test_id("ops-ticket-error")
    status_form = desk.get_by_test_id("ticket-status-form")
    status_form.get_by_label("Status").select_option("closed")
    status_form.get_by_role("button", name="Change status").click()
    expect(problem).to_have_text("The status cannot change from “Routed” to “Closed”.")
    expect(desk.get_by_test_id("ops-ticket-status")).to_have_attribute("data-status", "routed")

    # Status and priority changes, in the history.
    status_form.get_by_label("Status").select_option("in_progress")
    status_form.get_by_role("button", name="Change status").click()
    expect(done).to_have_text("The status is now: In progress.")
    expect(problem).to_be_empty()
    expect(desk.get_by_test_id("ops-ticket-status")).to_have_attribute(
        "data-status", "in_progress")
    changed = entry(desk, "status_changed")
    expect(changed).to_have_count(1)
    expect(changed.get_by_test_id("history-text")).to_have_text("Routed → In progress")
    expect(changed.get_by_test_id("history-actor")).to_have_text(agent_name)

    priority_form = desk.get_by_test_id("ticket-priority-form")
    priority_form.get_by_label("Priority").select_option(new_priority)
    priority_form.get_by_role("button", name="Change priority").click()
    expect(done).to_contain_text(f"The priority is now {new_priority}")
    expect(desk.get_by_test_id("ops-ticket-priority")).to_have_attribute(
        "data-priority", new_priority)
    bumped = entry(desk, "priority_changed")
    expect(bumped.get_by_test_id("history-text")).to_have_text(
        re.compile(rf"^{ticket['priority']} · \S+ → {new_priority} · \S+$"))

    # Assign to me.
    desk.get_by_role("button", name="Assign to me").click()
    expect(done).to_have_text("The ticket is assigned to you.")
    expect(desk.get_by_test_id("ops-ticket-assignee")).to_have_text("You")
    expect(desk.get_by_role("button", name="Assign to me")).to_be_hidden()

    # An internal note, marked as such; and a reply the customer reads.
    note = f"Customer is on the old channel plan {uuid.uuid4().hex[:6]}"
    comment = desk.get_by_test_id("ops-comment-form")
    comment.get_by_label("Message", exact=True).fill(note)
    comment.get_by_label("Internal note (the customer never sees it)").check()
    comment.get_by_role("button", name="Add", exact=True).click()
    expect(comment.get_by_test_id("form-message")).to_have_text(
        "The internal note has been added.")
    internal = desk.locator('[data-testid="history-entry"][data-internal="true"]')
    expect(internal).to_have_count(1)
    expect(internal.get_by_test_id("history-internal")).to_have_text("Internal")
    expect(internal.get_by_test_id("history-title")).to_contain_text("Internal note")
    expect(internal.get_by_test_id("history-text")).to_have_text(note)
    expect(comment.get_by_label("Internal note (the customer never sees it)")).not_to_be_checked()

    reply = "We have refreshed your channel list; please restart the box."
    comment.get_by_label("Message", exact=True).fill(reply)
    comment.get_by_role("button", name="Add", exact=True).click()
    expect(comment.get_by_test_id("form-message")).to_have_text(
        "The comment has been added; the customer can read it.")
    public = desk.locator(
        '[data-testid="history-entry"][data-kind="comment"][data-internal="false"]')
    expect(public.get_by_test_id("history-text")).to_have_text(reply)

    # The customer: the reply and the status change, no note, no priority change.
    seen = eve["client"].call("GET", f"/api/v1/tickets/{ticket['id']}")
    kinds = [e["kind"] for e in seen["history"]]
    assert note not in json.dumps(seen), seen
    assert "priority_changed" not in kinds and "assigned" not in kinds, kinds
    page = make_page()
    log_in_as(page, portal_url, eve)
    page.goto(f"{portal_url}/#/support/{ticket['id']}")
    expect(page.get_by_test_id("ticket-status")).to_have_text("In progress")
    expect(entry(page, "comment").get_by_test_id("history-text")).to_have_text([reply])
    expect(entry(page, "comment").get_by_test_id("history-actor")).not_to_have_text("Eve Internal")
    expect(entry(page, "status_changed").get_by_test_id("history-text")).to_have_text(
        "Routed to a team → In progress")
    expect(page.get_by_test_id("page-ticket")).not_to_contain_text(note)
    expect(entry(page, "priority_changed")).to_have_count(0)
    expect(page.locator('[data-testid="history-entry"][data-internal="true"]')).to_have_count(0)

    # The agent asks the customer; the customer's answer puts the ticket back in progress.
    status_form.get_by_label("Status").select_option("waiting_on_customer")
    status_form.get_by_role("button", name="Change status").click()
    expect(done).to_have_text("The status is now: Waiting on customer.")
    page.reload()
    expect(page.get_by_test_id("ticket-status")).to_have_text("Waiting for your reply")
    expect(page.get_by_test_id("comment-reopen-hint")).to_have_text(
        "Our team is waiting for your reply.")
    form = page.get_by_test_id("comment-form")
    form.get_by_label("Your message").fill("Restarted the box: the channels are back.")
    form.get_by_role("button", name="Send comment").click()
    expect(page.get_by_test_id("comment-success")).to_have_text("Your comment has been added.")
    expect(page.get_by_test_id("ticket-status")).to_have_attribute("data-status", "in_progress")
    expect(page.get_by_test_id("comment-reopen-hint")).to_be_hidden()


def test_an_incident_groups_interruptions_and_resolving_it_credits_each_customer(
        make_page, portal_url):
    # Two customers in one region report an interruption: one incident (the demo's rule
    # groups service interruptions by region within 30 minutes).
    hal = subscribed_prepaid(portal_url, "Hal Incident", "CH")
    ida = subscribed_prepaid(portal_url, "Ida Incident", "CH")
    tickets = [raise_ticket(who["client"], "service_interruption",
                            f"No picture {uuid.uuid4().hex[:6]}",
                            subscription_id=who["subscription"]["id"]) for who in (hal, ida)]
    incident = tickets[0]["incident"]
    assert incident and incident["status"] == "open", tickets[0]
    assert tickets[1]["incident"]["id"] == incident["id"], tickets[1]
    assert [t["team"] for t in tickets] == ["network", "network"], tickets

    page = make_page()
    log_in_as(page, portal_url, hal)
    page.goto(f"{portal_url}/#/support/{tickets[0]['id']}")
    banner = page.get_by_test_id("ticket-incident")
    expect(banner).to_contain_text(
        f"This request is part of a known problem: {incident['title']}.")
    expect(banner).to_have_attribute("data-incident-status", "open")
    expect(page.get_by_test_id("ticket-subscription")).to_have_text(
        hal["subscription"]["package"]["name"])

    # The desk lists the incident; resolving it asks for a resolution and checks the credit
    # (a credit to every customer of an incident is a supervisor's or finance's call).
    desk = make_page()
    log_in(desk, portal_url, *SUPERVISOR)
    expect(desk.get_by_test_id("page-ops-support")).to_be_visible()  # staff land on the desk
    open_desk(desk)
    row = desk.locator(f'[data-testid="incident-row"][data-incident-id="{incident["id"]}"]')
    expect(row.get_by_test_id("incident-title")).to_have_text(incident["title"])
    expect(row.get_by_test_id("incident-tickets")).to_have_text("2")
    expect(row.get_by_test_id("incident-customers")).to_have_text("2")
    row.get_by_role("button", name=f"Resolve incident: {incident['title']}").click()
    panel = desk.get_by_test_id("incident-resolve-form")
    panel.get_by_label("Service credit per customer (EUR, optional)").fill("2.505")
    panel.get_by_role("button", name="Resolve incident").click()
    expect(panel.get_by_label("Resolution")).to_have_attribute("aria-invalid", "true")
    expect(panel.get_by_label("Service credit per customer (EUR, optional)")).to_have_attribute(
        "aria-invalid", "true")
    resolution = "The regional headend was restarted; all channels are back."
    panel.get_by_label("Resolution").fill(resolution)
    panel.get_by_label("Service credit per customer (EUR, optional)").fill("2.50")
    panel.get_by_role("button", name="Resolve incident").click()
    done = desk.get_by_test_id("incident-resolved")
    expect(done).to_contain_text(
        f"The incident “{incident['title']}” is resolved. Tickets resolved: 2.")
    expect(done.get_by_test_id("incident-credits")).to_contain_text("€2.50")
    expect(row).to_have_count(0)  # no longer open

    # Each ticket is resolved and each customer credited once.
    for who, ticket in zip((hal, ida), tickets, strict=True):
        seen = who["client"].call("GET", f"/api/v1/tickets/{ticket['id']}")
        assert (seen["status"], seen["resolution"]) == ("resolved", resolution), seen
        wait_for_balance(who["client"], who["balance"] + 250)
    page.reload()
    expect(page.get_by_test_id("ticket-status")).to_have_attribute("data-status", "resolved")
    expect(banner).to_have_attribute("data-incident-status", "resolved")
    expect(banner).to_contain_text("has been fixed")
    expect(page.get_by_test_id("ticket-resolution-text")).to_have_text(resolution)


def test_a_comment_reopens_a_resolved_request_and_a_closed_one_says_so(make_page, portal_url):
    jo = customer(portal_url, "Jo Reopen")
    ticket = raise_ticket(jo["client"], "general", f"Remote control pairing {uuid.uuid4().hex[:6]}")
    admin = Client(portal_url, *ADMIN)
    admin.call("POST", f"/api/v1/ops/tickets/{ticket['id']}/resolve",
               json={"resolution": "Hold OK and the red button for 5 seconds."})

    page = make_page()
    log_in_as(page, portal_url, jo)
    page.goto(f"{portal_url}/#/support/{ticket['id']}")
    expect(page.get_by_test_id("ticket-status")).to_have_attribute("data-status", "resolved")
    expect(page.get_by_test_id("comment-reopen-hint")).to_contain_text(
        "Not solved after all? A comment reopens this request")
    form = page.get_by_test_id("comment-form")
    form.get_by_label("Your message").fill("It still does not pair.")
    form.get_by_role("button", name="Send comment").click()
    expect(page.get_by_test_id("comment-success")).to_have_text(
        "Your comment has been added and the request is open again.")
    expect(page.get_by_test_id("ticket-status")).to_have_attribute("data-status", "in_progress")
    expect(page.get_by_test_id("ticket-resolution")).to_have_count(0)
    expect(page.get_by_test_id("comment-reopen-hint")).to_be_hidden()

    # Meanwhile support resolves it again and closes it: the next comment is refused, clearly.
    admin.call("POST", f"/api/v1/ops/tickets/{ticket['id']}/resolve",
               json={"resolution": "Replaced the remote control."})
    admin.call("PATCH", f"/api/v1/ops/tickets/{ticket['id']}", json={"status": "closed"})
    form.get_by_label("Your message").fill("Thanks!")
    form.get_by_role("button", name="Send comment").click()
    expect(page.get_by_test_id("ticket-error")).to_have_text(
        "This request is closed, so it cannot take comments any more. Please raise a new issue.")
    expect(page.get_by_test_id("ticket-status")).to_have_attribute("data-status", "closed")
    expect(page.get_by_test_id("ticket-closed")).to_contain_text("This request is closed.")
    expect(page.get_by_test_id("comment-form")).to_have_count(0)
    comments = jo["client"].call("GET", f"/api/v1/tickets/{ticket['id']}")["history"]
    assert [e["text"] for e in comments if e["kind"] == "comment"] == [
        "It still does not pair."], comments


def test_the_dashboard_counts_open_requests_and_links_the_latest(make_page, portal_url):
    fay = customer(portal_url, "Fay Dashboard")
    page = make_page()
    log_in_as(page, portal_url, fay)
    panel = page.get_by_test_id("dashboard-tickets")
    expect(panel.get_by_test_id("dashboard-open-tickets")).to_have_text("0")
    expect(panel.get_by_test_id("dashboard-open-tickets-label")).to_have_text(
        "You have no open requests.")
    expect(panel.get_by_test_id("dashboard-ticket")).to_have_count(0)

    first = raise_ticket(fay["client"], "general", f"First question {uuid.uuid4().hex[:6]}")
    second = raise_ticket(fay["client"], "billing", f"Second question {uuid.uuid4().hex[:6]}")
    page.reload()
    expect(panel.get_by_test_id("dashboard-open-tickets")).to_have_text("2")
    expect(panel.get_by_test_id("dashboard-open-tickets-label")).to_have_text("Open requests")
    items = panel.get_by_test_id("dashboard-ticket")
    expect(items).to_have_count(2)
    for ticket in (first, second):
        item = panel.locator(f'[data-testid="dashboard-ticket"][data-ticket-id="{ticket["id"]}"]')
        expect(item.get_by_test_id("dashboard-ticket-link")).to_have_text(
            f"#{ticket['number']} {ticket['subject']}")
        expect(item.get_by_test_id("dashboard-ticket-status")).to_have_attribute(
            "data-status", "routed")

    # One resolved by support: one open left.
    Client(portal_url, *ADMIN).call("POST", f"/api/v1/ops/tickets/{first['id']}/resolve",
                                    json={"resolution": "Answered by phone."})
    page.reload()
    expect(panel.get_by_test_id("dashboard-open-tickets")).to_have_text("1")
    expect(items).to_have_count(1)
    link = panel.get_by_role("link", name=f"#{second['number']} {second['subject']}")
    link.click()
    expect(page).to_have_url(re.compile(rf"#/support/{second['id']}$"))
    expect(page.get_by_test_id("ticket-title")).to_have_text(
        f"#{second['number']} {second['subject']}")
    page.get_by_test_id("nav").get_by_role("link", name="Dashboard").click()
    expect(panel.get_by_role("link", name="Open support")).to_have_attribute("href", "#/support")


@pytest.mark.parametrize("width", [375, 1280])
def test_support_and_the_desk_fit_the_screen_and_are_labelled(make_page, portal_url, width):
    gil = customer(portal_url, "Gil Langer-Name-Für-Schmale-Bildschirme", language="de")
    long_subject = "Meine Senderliste zeigt seit gestern Abend keine Regionalprogramme " \
                   f"mehr an {uuid.uuid4().hex[:6]}"
    ticket = raise_ticket(gil["client"], "general", long_subject,
                          "Unterbrechungsfreie-Stromversorgungs-Diagnoseprotokolle " * 8)
    page = make_page(width=width, height=800)
    log_in_as(page, portal_url, gil)
    expect(page.locator("html")).to_have_attribute("lang", "de")
    open_support(page, link="Hilfe", heading="Hilfe")
    expect(ticket_row(page, ticket).get_by_test_id("ticket-row-status")).to_have_text(
        "An ein Team weitergeleitet")
    form = page.get_by_test_id("ticket-form")
    form.get_by_label("Kategorie").select_option("service_interruption")
    expect(form.get_by_label("Betroffenes Abonnement")).to_be_visible()
    no_horizontal_scroll(page, width, "the Support tab")
    all_labelled(page, 5, "the Support tab")

    ticket_row(page, ticket).get_by_test_id("ticket-link").click()
    expect(page.get_by_test_id("ticket-title")).to_contain_text(long_subject)
    expect(page.get_by_test_id("comment-form").get_by_label("Ihre Nachricht")).to_be_visible()
    no_horizontal_scroll(page, width, "a ticket")
    all_labelled(page, 1, "a ticket")

    # The agents' desk, at the same width.
    desk = make_page(width=width, height=800)
    log_in(desk, portal_url, *AGENT)
    expect(desk.get_by_test_id("page-ops-support")).to_be_visible()  # staff land on the desk
    if width < 768:
        desk.get_by_test_id("nav-toggle").click()
    open_in_desk(desk, ticket)
    no_horizontal_scroll(desk, width, "a ticket in the desk")
    all_labelled(desk, 5, "a ticket in the desk")
    desk.get_by_test_id("back-to-desk").click()
    expect(desk.get_by_test_id("queue-list")).to_be_visible()
    no_horizontal_scroll(desk, width, "the desk's queue")
    all_labelled(desk, 2, "the desk's queue")


# --- the desk as a staff tool ----------------------------------------------------------------

SLA_LEFT = re.compile(r"^(\d+ d \d+ h|\d+ h \d+ min|\d+ min) left$")


def german_prepaid_customer(base, name):
    """A prepaid customer whose portal speaks German, with a card, a top-up and the Basic
    package paid from the wallet: a ledger with a credit and a charge."""
    email, client = new_account(base, name, language="de")
    card = add_card(client, APPROVES, name)
    client.call("POST", "/api/v1/wallet/top-ups", 201,
                headers={"Idempotency-Key": uuid.uuid4().hex},
                json={"amount": {"amount": 5000, "currency": "EUR"},
                      "payment_method_id": card["id"]})
    client.call("POST", "/api/v1/subscriptions", 201, json={"package": "basic"},
                headers={"Idempotency-Key": uuid.uuid4().hex})
    return {"email": email, "name": name, "client": client}


def test_an_agent_lands_on_the_desk_with_staff_navigation_and_sees_the_sla_left(
        make_page, portal_url):
    ivy = customer(portal_url, "Ivy Queue")
    ticket = raise_ticket(ivy["client"], "general", f"No sound on channel 5 {uuid.uuid4().hex[:6]}")
    desk = make_page()
    log_in(desk, portal_url, *AGENT)
    expect(desk).to_have_url(re.compile(r"#/ops/support$"))
    expect(desk.get_by_test_id("page-ops-support")).to_be_visible()
    nav = desk.get_by_test_id("nav")
    for staff in ("opsSupport", "opsVouchers", "notifications", "settings"):
        expect(nav.get_by_test_id(f"nav-{staff}")).to_have_count(1)
    for mine in ("dashboard", "subscriptions", "wallet", "bills", "vouchers", "support"):
        expect(nav.get_by_test_id(f"nav-{mine}")).to_have_count(0)
    expect(nav.get_by_role("link").first).to_have_attribute("data-testid", "nav-opsSupport")
    # a customer's page is not a staff member's: it lands on the desk
    desk.goto(f"{portal_url}/#/dashboard")
    expect(desk).to_have_url(re.compile(r"#/ops/support$"))
    expect(desk.get_by_test_id("page-ops-support")).to_be_visible()

    # the queue and the ticket say how long is left to resolve it (the server's count)
    row = ticket_row(desk, ticket, "queue-row")
    more = desk.get_by_test_id("queue-load-more")
    while not row.count() and more.count():
        before = desk.get_by_test_id("queue-row").count()
        more.click()
        expect(desk.get_by_test_id("queue-row")).not_to_have_count(before)
    expect(row.get_by_test_id("queue-sla")).to_have_text(SLA_LEFT)
    expect(row.get_by_test_id("queue-sla")).to_have_attribute("data-state", "running")
    row.get_by_test_id("queue-link").click()
    sla = desk.get_by_test_id("ops-ticket-sla").locator("[data-sla]")
    expect(sla).to_have_text(SLA_LEFT)
    seen = Client(portal_url, *AGENT).call("GET", f"/api/v1/ops/tickets/{ticket['id']}")["sla"]
    assert seen["state"] == "running" and seen["remaining_seconds"] > 0, seen

    # a customer still lands on their dashboard, with the customer's navigation
    page = make_page()
    log_in_as(page, portal_url, ivy)
    expect(page.get_by_test_id("nav").get_by_test_id("nav-opsSupport")).to_have_count(0)


def test_a_ticket_shows_its_german_customer_their_charges_a_german_canned_reply_and_a_human_history(
        make_page, portal_url, advance_clock):
    greta = german_prepaid_customer(portal_url, "Greta Gross")
    ticket = raise_ticket(greta["client"], "billing", f"Zweimal belastet {uuid.uuid4().hex[:6]}",
                          "Mir wurde das Basic-Paket zweimal abgebucht.")
    supervisor = Client(portal_url, *SUPERVISOR)
    # nobody acknowledges it: after 15 minutes the escalation's first step pages support
    advance_clock(days=16 / 1440)
    escalated = eventually(
        lambda: [e for e in supervisor.call("GET", f"/api/v1/ops/tickets/{ticket['id']}")[
            "history"] if e["kind"] == "escalated"], timeout=60)
    assert escalated, "the escalation's first step did not fire"

    desk = make_page()
    log_in(desk, portal_url, *SUPERVISOR)
    expect(desk.get_by_test_id("page-ops-support")).to_be_visible()
    desk.goto(f"{portal_url}/#/ops/support/{ticket['id']}")
    expect(desk.get_by_test_id("ops-ticket-title")).to_have_text(
        f"#{ticket['number']} {ticket['subject']}")

    # the customer: name and e-mail, and their charges a click away
    panel = desk.get_by_test_id("ticket-customer")
    expect(panel.get_by_test_id("customer-name")).to_have_text("Greta Gross")
    expect(panel.get_by_test_id("customer-email")).to_have_text(greta["email"])
    expect(panel.get_by_test_id("customer-show-invoices")).to_have_count(0)  # prepaid
    panel.get_by_role("button", name="Wallet ledger").click()
    ledger = panel.get_by_test_id("customer-ledger")
    expect(ledger.locator('[data-testid="customer-ledger-row"][data-type="service_charge"]')
           ).to_have_count(1)
    expect(ledger.locator('[data-testid="customer-ledger-row"][data-type="top_up"]')
           ).to_have_count(1)
    expect(ledger).to_contain_text("Service charge")
    expect(ledger).to_contain_text("€50.00")
    panel.get_by_role("button", name="Card payments").click()
    expect(panel.get_by_test_id("customer-payment")).to_have_count(1)
    expect(panel.get_by_test_id("customer-payments")).to_contain_text("Wallet top-up")
    panel.get_by_role("button", name="Subscriptions").click()
    expect(panel.get_by_test_id("customer-subscription")).to_have_count(1)
    expect(panel.get_by_test_id("customer-subscriptions")).to_contain_text("Active")

    # the SLA: open, with time left
    expect(desk.get_by_test_id("ops-ticket-sla").locator("[data-sla]")).to_have_text(SLA_LEFT)

    # the history in sentences; keys only under the collapsed technical details
    history_box = desk.get_by_test_id("ticket-history")
    expect(entry(desk, "routed").get_by_test_id("history-title")).to_have_text(
        "Routed to Billing")
    expect(entry(desk, "alerted").get_by_test_id("history-title")).to_have_text(
        "Alert sent to Billing")
    expect(entry(desk, "escalated").first.get_by_test_id("history-title")).to_have_text(
        "Escalated to Customer support (step 1 of 2, after 15 min)")
    visible = history_box.inner_text()
    assert "ticket:tkt_" not in visible and "tkt_" not in visible, visible
    assert not re.search(r"step 0|round 0", visible), visible
    details = entry(desk, "alerted").get_by_test_id("history-details")
    expect(details).not_to_have_attribute("open", "")
    details.locator("summary").click()
    expect(details).to_contain_text(f"ticket:{ticket['id']}:routed:billing")

    # canned replies: the billing ones and those for any category, in German
    form = desk.get_by_test_id("ops-comment-form")
    select = form.get_by_label("Canned reply")
    options = select.locator("option")
    expect(options).to_contain_text(["Begrüßung", "Doppelt belastet: wir prüfen"])
    assert not [o for o in options.all_inner_texts() if o in ("Greeting", "Charged twice: "
                                                               "we are checking")]
    text = form.get_by_label("Message", exact=True)
    text.fill("Sehr geehrte Frau Gross, ")
    select.select_option(label="Doppelt belastet: wir prüfen")
    form.get_by_role("button", name="Insert").click()
    expect(text).to_have_value(re.compile(r"^Sehr geehrte Frau Gross, Wir prüfen Ihre "
                                          r"Belastungen.*Weg, auf dem Sie bezahlt haben\.$",
                                          re.S))
    text.press("End")
    text.type(" Viele Grüße")
    form.get_by_role("button", name="Add", exact=True).click()
    reply = desk.locator(
        '[data-testid="history-entry"][data-kind="comment"][data-internal="false"]')
    expect(reply.get_by_test_id("history-text")).to_contain_text("Viele Grüße")
    expect(reply.get_by_test_id("history-text")).to_contain_text("Sehr geehrte Frau Gross")


def test_a_supervisor_keeps_canned_replies_on_the_desk_and_an_agent_does_not_see_them_kept(
        make_page, portal_url):
    title = f"Rückerstattung {uuid.uuid4().hex[:6]}"
    desk = make_page()
    log_in(desk, portal_url, *SUPERVISOR)
    admin_card = desk.get_by_test_id("canned-admin")
    expect(admin_card).to_be_visible()
    form = admin_card.get_by_test_id("canned-form")
    form.get_by_role("button", name="Save canned reply").click()
    expect(form.get_by_label("Title")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Title").fill(title)
    form.get_by_label("Category").select_option(label="Billing question")
    form.get_by_label("Language").select_option("de")
    form.get_by_label("Text").fill("Wir haben Ihnen den Betrag erstattet.")
    form.get_by_role("button", name="Save canned reply").click()
    expect(admin_card.get_by_test_id("canned-done")).to_have_text(f"“{title}” is added.")
    admin_card.get_by_test_id("canned-filters").get_by_label("Language").select_option("de")
    row = admin_card.locator('[data-testid="canned-row"]').filter(has_text=title)
    expect(row).to_have_count(1)
    expect(admin_card.locator('[data-testid="canned-row"][data-language="en"]')).to_have_count(0)

    row.get_by_role("button", name=f"Edit “{title}”").click()
    expect(form.get_by_label("Text")).to_have_value("Wir haben Ihnen den Betrag erstattet.")
    form.get_by_label("Title").fill(f"{title} (Karte)")
    form.get_by_role("button", name="Save canned reply").click()
    expect(admin_card.get_by_test_id("canned-done")).to_have_text(f"“{title} (Karte)” is saved.")
    stored = [r for r in Client(portal_url, *SUPERVISOR).call(
        "GET", "/api/v1/ops/canned-replies?language=de&limit=100")["data"]
        if r["title"].startswith(title)]
    assert [(r["title"], r["category"]) for r in stored] == [(f"{title} (Karte)", "billing")]

    changed = admin_card.locator('[data-testid="canned-row"]').filter(has_text=f"{title} (Karte)")
    changed.get_by_role("button", name=f"Delete “{title} (Karte)”").click()
    expect(admin_card.get_by_test_id("canned-done")).to_have_text(
        f"“{title} (Karte)” is deleted.")
    expect(admin_card.locator('[data-testid="canned-row"]').filter(has_text=title)
           ).to_have_count(0)

    agent_desk = make_page()
    log_in(agent_desk, portal_url, *AGENT)
    expect(agent_desk.get_by_test_id("page-ops-support")).to_be_visible()
    expect(agent_desk.get_by_test_id("canned-admin")).to_have_count(0)


def test_finance_lands_on_the_desk_too_without_a_queue_it_may_not_work(make_page, portal_url):
    fin = customer(portal_url, "Fiona Finance")
    fin_id = fin["client"].call("GET", "/api/v1/me")["id"]
    Client(portal_url, *ADMIN).call("PATCH", f"/api/v1/ops/customers/{fin_id}",
                                    json={"role": "finance", "teams": []})
    desk = make_page()
    log_in(desk, portal_url, fin["email"], PASSWORD)
    expect(desk).to_have_url(re.compile(r"#/ops/support$"))
    expect(desk.get_by_test_id("queue-not-for-role")).to_be_visible()
    expect(desk.get_by_test_id("queue")).to_have_count(0)
    expect(desk.get_by_test_id("incidents")).to_be_visible()
    nav = desk.get_by_test_id("nav")
    expect(nav.get_by_test_id("nav-opsGovernance")).to_have_count(1)
    expect(nav.get_by_test_id("nav-dashboard")).to_have_count(0)


def test_an_overdue_ticket_says_by_how_much_in_the_queue_and_on_the_ticket(
        make_page, portal_url, advance_clock):
    olly = customer(portal_url, "Olly Overdue")
    ticket = raise_ticket(olly["client"], "general", f"Remote control dead {uuid.uuid4().hex[:6]}")
    agent = Client(portal_url, *AGENT)
    urgent = agent.call("PATCH", f"/api/v1/ops/tickets/{ticket['id']}", json={"priority": "P1"})
    assert urgent["sla"]["minutes"] == 240, urgent["sla"]  # P1: 4 h (the default)
    advance_clock(days=(4 * 60 + 35) / 1440)  # 35 minutes past the due time
    desk = make_page()
    log_in(desk, portal_url, *AGENT)  # sessions end by the services' clock: after moving it
    expect(desk.get_by_test_id("page-ops-support")).to_be_visible()
    row = ticket_row(desk, ticket, "queue-row")  # P1: at the top of the queue
    expect(row.get_by_test_id("queue-sla")).to_have_text(re.compile(r"^Overdue by 3[56] min$"))
    expect(row.get_by_test_id("queue-sla")).to_have_attribute("data-state", "overdue")
    row.get_by_test_id("queue-link").click()
    sla = desk.get_by_test_id("ops-ticket-sla").locator("[data-sla]")
    expect(sla).to_have_text(re.compile(r"^Overdue by 3[56] min$"))
    seen = agent.call("GET", f"/api/v1/ops/tickets/{ticket['id']}")["sla"]
    assert seen["breached"] is True and -37 * 60 < seen["remaining_seconds"] <= -35 * 60, seen
