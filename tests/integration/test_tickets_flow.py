"""Support end to end on the real services, RabbitMQ and PostgreSQL, through the gateway:
tickets routed to teams page the team's real (local) webhook; escalation by the test clock;
a burst of service interruptions is one incident with one page; resolving it notifies and
credits every affected customer once."""

import concurrent.futures as cf
import datetime as dt
import json
import uuid

import pytest
import requests

from deploy import demo
from tests.integration.conftest import PASSWORD, after_timer_rounds, eventually
from tests.integration.test_notifier_delivery import WebhookReceiver

MINUTE = 60.0


class Clock:
    """The services' clock offset (a file they re-read), moved forward by minutes."""

    def __init__(self, path):
        self.path, self.offset = path, 0.0

    def advance(self, minutes: float) -> None:
        self.offset += minutes * MINUTE
        self.path.write_text(str(self.offset))


@pytest.fixture
def world(start_portal, tmp_path):
    offset = tmp_path / "clock-offset"
    offset.write_text("0")
    portal = start_portal(TEST_CLOCK_OFFSET_FILE=str(offset), TICKETS_TIMER_SECONDS=0.2,
                          NOTIFIER_DELIVERY_SECONDS=0.2, TICKETS_DEFAULT_TEAM="frontline",
                          WEBHOOK_ALLOWED_HOSTS="127.0.0.1")  # the receivers below
    receivers: list[WebhookReceiver] = []

    def receiver() -> WebhookReceiver:
        receivers.append(WebhookReceiver())
        return receivers[-1]

    yield portal, Clock(offset), receiver
    for r in receivers:
        r.close()


def admin_token(portal) -> str:
    return demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])


def keys(receiver: WebhookReceiver, prefix: str = "") -> list[str]:
    """The alerts' dedup keys the receiver got (a delivery's key is `<alert key>:<channel>`)."""
    alerts = [h["X-Portal-Dedup-Key"].rsplit(":chn_", 1)[0]
              for h, _body, status in receiver.requests if status < 300]
    return [k for k in alerts if k.startswith(prefix)]


def team_with_webhook(portal, admin, name, receiver, **extra) -> dict:
    return portal.ok("POST", "/api/v1/ops/teams", admin, status=201, json={
        "name": name, "channels": [{"type": "webhook", "url": receiver.url}], **extra})


def signup(portal, billing_type="prepaid", country="DE") -> tuple[str, str]:
    """A new customer in `country`: (token, id)."""
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    created = requests.post(portal.url + "/api/v1/accounts", timeout=30, json={
        "email": email, "password": PASSWORD, "name": "Ann", "billing_type": billing_type,
        "currency": "EUR", "language": "en",
        "address": {"line1": "Street 1", "city": "Town", "postal_code": "1010",
                    "country": country}})
    assert created.status_code == 201, created.text
    return demo.login(portal.url, email, PASSWORD), created.json()["id"]


def subscribed_prepaid(portal, country="DE") -> tuple[str, str, str]:
    """A prepaid customer with a funded wallet and a subscription: (token, id, subscription)."""
    token, customer_id = signup(portal, "prepaid", country)
    demo._fund(portal.url, {"Authorization": f"Bearer {token}"})
    sub = portal.ok("POST", "/api/v1/subscriptions", token, status=201,
                    json={"package": "basic"})
    return token, customer_id, sub["id"]


def raise_ticket(portal, token, category="general", subject="The picture freezes",
                 **extra) -> dict:
    return portal.ok("POST", "/api/v1/tickets", token, status=201, json={
        "category": category, "subject": subject,
        "description": "Since this morning, every few minutes.", **extra})


def history_kinds(ticket: dict) -> list[str]:
    return [h["kind"] for h in ticket["history"]]


def test_escalation_fires_at_the_policy_delay_repeats_and_stops_on_acknowledge(world):
    portal, clock, receiver = world
    admin = admin_token(portal)
    network, lead = receiver(), receiver()
    team_with_webhook(portal, admin, "network", network)
    portal.ok("POST", "/api/v1/ops/teams/network-lead/channels", admin, status=201,
              json={"type": "webhook", "url": lead.url})
    policy = portal.ok("POST", "/api/v1/ops/escalation-policies", admin, status=201, json={
        "name": "NOC", "repeat": 1,
        "steps": [{"delay_minutes": 10, "target": {"type": "team", "team": "network"}},
                  {"delay_minutes": 5, "target": {"type": "lead"}}]})
    portal.ok("POST", "/api/v1/ops/routing-rules", admin, status=201, json={
        "position": 1, "team": "network", "escalation_policy": policy["id"],
        "match": [{"field": "category", "op": "=", "value": "general"}]})

    token = portal.customer("prepaid")
    first = raise_ticket(portal, token)
    assert first["status"] == "routed" and first["team"] == "network"
    routed_key = f"ticket:{first['id']}:routed:network"
    assert eventually(lambda: keys(network) == [routed_key]), keys(network)

    # a second ticket: updated while routed (no new page), then acknowledged (no escalation)
    second = raise_ticket(portal, token, subject="Second one")
    assert eventually(lambda: f"ticket:{second['id']}:routed:network" in keys(network))
    portal.ok("PATCH", f"/api/v1/ops/tickets/{second['id']}", admin, json={"priority": "P2"})
    portal.ok("POST", f"/api/v1/tickets/{second['id']}/comments", token, status=201,
              json={"text": "Still broken."})
    acked = portal.ok("POST", f"/api/v1/ops/tickets/{second['id']}/acknowledge", admin)
    assert acked["status"] == "acknowledged" and acked["escalation"]["next_at"] is None

    ops_first = portal.ok("GET", f"/api/v1/ops/tickets/{first['id']}", admin)
    routed_at = dt.datetime.fromisoformat(ops_first["created_at"])
    assert dt.datetime.fromisoformat(ops_first["escalation"]["next_at"]) \
        == routed_at + dt.timedelta(minutes=10)

    clock.advance(9.5)  # not yet
    after_timer_rounds("tickets", "tick")
    after_timer_rounds("notifier", "send_due")
    assert keys(network, f"ticket:{first['id']}:escalation") == []

    clock.advance(0.6)  # past 10 minutes: the first step, once
    assert eventually(lambda: keys(network, f"ticket:{first['id']}:escalation")
                      == [f"ticket:{first['id']}:escalation:0:0"])
    clock.advance(5)  # the team lead
    assert eventually(lambda: keys(lead) == [f"ticket:{first['id']}:escalation:0:1"])
    clock.advance(10)  # the policy repeats once
    assert eventually(lambda: f"ticket:{first['id']}:escalation:1:0" in keys(network))
    clock.advance(5)
    assert eventually(lambda: keys(lead) == [f"ticket:{first['id']}:escalation:0:1",
                                             f"ticket:{first['id']}:escalation:1:1"])
    clock.advance(60)  # and then it stops
    after_timer_rounds("tickets", "tick")
    after_timer_rounds("notifier", "send_due")
    assert keys(network, f"ticket:{first['id']}") == [
        routed_key, f"ticket:{first['id']}:escalation:0:0",
        f"ticket:{first['id']}:escalation:1:0"]
    assert len(keys(lead)) == 2

    admin = admin_token(portal)  # sessions expire by the moved clock
    token = demo.login(portal.url, portal.ok("GET", "/api/v1/ops/customers/"
                                                    f"{ops_first['customer_id']}",
                                                    admin)["email"], PASSWORD)
    ops_first = portal.ok("GET", f"/api/v1/ops/tickets/{first['id']}", admin)
    escalated = [h for h in ops_first["history"] if h["kind"] == "escalated"]
    assert [(h["data"]["round"], h["data"]["step"]) for h in escalated] == [
        (0, 0), (0, 1), (1, 0), (1, 1)]
    # each step fired at exactly its delay after the previous one
    assert [dt.datetime.fromisoformat(h["data"]["due_at"]) - routed_at for h in escalated] == [
        dt.timedelta(minutes=m) for m in (10, 15, 25, 30)]
    assert ops_first["escalation"]["next_at"] is None

    # the updated and acknowledged ticket paged once, never escalated
    assert keys(network, f"ticket:{second['id']}") == [f"ticket:{second['id']}:routed:network"]
    # customers never see the escalations
    mine = portal.ok("GET", f"/api/v1/tickets/{first['id']}", token)
    assert "escalated" not in history_kinds(mine) and "alerted" not in history_kinds(mine)


def test_a_burst_of_interruptions_is_one_incident_resolved_once_with_one_credit_each(world):
    portal, clock, receiver = world
    admin = admin_token(portal)
    network = receiver()
    team_with_webhook(portal, admin, "network", network)
    portal.ok("POST", "/api/v1/ops/routing-rules", admin, status=201, json={
        "position": 1, "team": "network",
        "match": [{"field": "category", "op": "=", "value": "service_interruption"}]})
    portal.ok("POST", "/api/v1/ops/incident-rules", admin, status=201, json={
        "name": "Service interruption", "group_by": ["region"], "window_minutes": 5,
        "match": [{"field": "category", "op": "=", "value": "service_interruption"}]})

    with cf.ThreadPoolExecutor(8) as pool:
        customers = list(pool.map(lambda _: subscribed_prepaid(portal, "DE"), range(30)))
    austrian = subscribed_prepaid(portal, "AT")

    def report(customer):
        token, _cid, sub = customer
        return raise_ticket(portal, token, "service_interruption", "No picture at all",
                            subscription_id=sub)
    with cf.ThreadPoolExecutor(10) as pool:  # 30 at once from one region
        tickets = list(pool.map(report, customers))
    other = report(austrian)

    assert len({t["incident"]["id"] for t in tickets}) == 1
    incident_id = tickets[0]["incident"]["id"]
    assert other["incident"]["id"] != incident_id
    # one page per incident, and none for the tickets that joined
    assert eventually(lambda: sorted(keys(network)) == sorted(
        [f"incident:{incident_id}:opened", f"incident:{other['incident']['id']}:opened"]))
    after_timer_rounds("notifier", "send_due")
    assert len(keys(network)) == 2
    body = json.loads(next(b for h, b, _s in network.requests
                           if h["X-Portal-Dedup-Key"].startswith(f"incident:{incident_id}:")))
    assert "Service interruption (region DE)" in body["text"]

    incident = portal.ok("GET", f"/api/v1/ops/incidents/{incident_id}", admin)
    assert incident["ticket_count"] == 30 and incident["customer_count"] == 30
    assert incident["status"] == "open" and len(incident["tickets"]) == 30

    resolution = {"resolution": "A fibre cut near Berlin was repaired.",
                  "credit": {"amount": 500, "currency": "EUR"}}
    with cf.ThreadPoolExecutor(2) as pool:  # submitted twice, at once
        answers = list(pool.map(lambda _: portal(
            "POST", f"/api/v1/ops/incidents/{incident_id}/resolve", admin, json=resolution,
            headers={"Idempotency-Key": "resolve-outage"}), range(2)))
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    again = portal.ok("POST", f"/api/v1/ops/incidents/{incident_id}/resolve", admin,
                      json=resolution, headers={"Idempotency-Key": "resolve-again"})
    assert again["status"] == "resolved"
    assert eventually(lambda: portal.ok("GET", f"/api/v1/ops/incidents/{incident_id}",
                                        admin)["credits"] == {"granted": 30, "pending": 0,
                                                              "failed": 0}, timeout=30)

    for token, _cid, _sub in customers:
        credits = [t for t in portal.ok("GET", "/api/v1/wallet/transactions", token)["data"]
                   if "Service credit" in (t["description"] or "")]
        assert [(c["direction"], c["amount"]["amount"]) for c in credits] == [("credit", 500)]
        [mine] = portal.ok("GET", "/api/v1/tickets", token)["data"]
        assert mine["status"] == "resolved"
        assert mine["resolution"] == resolution["resolution"]

        def resolved_notice(token=token):
            inbox = portal.ok("GET", "/api/v1/notifications", token)["data"]
            return [n for n in inbox if n["topic"] == "support" and "resolved" in n["title"]]
        notices = eventually(resolved_notice, timeout=20)
        assert len(notices) == 1 and "€5.00" in notices[0]["body"], notices
    # the other region's incident and ticket are untouched
    assert portal.ok("GET", f"/api/v1/tickets/{other['id']}", austrian[0])["status"] == "routed"
    assert eventually(lambda: len(keys(network)) == 2)


def inbox_titles(portal, token) -> list[str]:
    return [n["title"] for n in portal.ok("GET", "/api/v1/notifications", token)["data"]
            if n["topic"] == "support"]


def test_a_ticket_lives_through_replies_reopening_closing_and_silences(world):
    portal, clock, receiver = world
    admin = admin_token(portal)
    quiet = receiver()
    team_with_webhook(portal, admin, "quiet", quiet)
    portal.ok("POST", "/api/v1/ops/routing-rules", admin, status=201, json={
        "position": 1, "team": "quiet",
        "match": [{"field": "category", "op": "=", "value": "complaint"}]})
    token, customer_id = signup(portal, "postpaid")

    ticket = raise_ticket(portal, token)  # no rule: the default route (configured)
    assert ticket["team"] == "frontline" and ticket["priority"] == "P4"
    assert eventually(lambda: inbox_titles(portal, token) == [
        f"We received your request #{ticket['number']}"])
    path = f"/api/v1/ops/tickets/{ticket['id']}"
    portal.ok("POST", path + "/comments", admin, status=201,
              json={"text": "Customer sounds upset; check the line.", "internal": True})
    portal.ok("POST", path + "/comments", admin, status=201,
              json={"text": "Please restart the box and tell us."})
    portal.ok("PATCH", path, admin, json={"status": "waiting_on_customer"})
    assert eventually(lambda: len(inbox_titles(portal, token)) == 3)
    assert inbox_titles(portal, token)[:2] == [
        f"We need your answer on request #{ticket['number']}",
        f"New reply on your request #{ticket['number']}"]
    mine = portal.ok("GET", f"/api/v1/tickets/{ticket['id']}", token)
    texts = [h["text"] for h in mine["history"] if h["kind"] == "comment"]
    assert texts == ["Please restart the box and tell us."]  # never the internal note
    assert mine["status"] == "waiting_on_customer"

    portal.ok("POST", f"/api/v1/tickets/{ticket['id']}/comments", token, status=201,
              json={"text": "Restarted, still nothing."})
    assert portal.ok("GET", path, admin)["status"] == "in_progress"
    wrong = portal("PATCH", path, admin, json={"status": "new"})
    assert wrong.status_code == 409 and wrong.json()["error"]["code"] == "INVALID_STATUS_CHANGE"
    resolved = portal.ok("POST", path + "/resolve", admin, json={"resolution": "Line fixed."},
                         headers={"Idempotency-Key": uuid.uuid4().hex})
    assert resolved["status"] == "resolved"
    assert eventually(lambda: f"Your request #{ticket['number']} is resolved"
                      in inbox_titles(portal, token))
    # a comment within the reopen window reopens it
    portal.ok("POST", f"/api/v1/tickets/{ticket['id']}/comments", token, status=201,
              json={"text": "It broke again."})
    reopened = portal.ok("GET", f"/api/v1/tickets/{ticket['id']}", token)
    assert reopened["status"] == "in_progress" and reopened["resolution"] is None
    assert history_kinds(reopened)[-2:] == ["reopened", "comment"]
    portal.ok("POST", path + "/resolve", admin, json={"resolution": "Replaced the box."},
              headers={"Idempotency-Key": uuid.uuid4().hex})

    clock.advance(8 * 24 * 60)  # past the 7-day window: the timer closes it
    admin = admin_token(portal)
    token = demo.login(portal.url, portal.ok("GET", f"/api/v1/ops/customers/{customer_id}",
                                             admin)["email"], PASSWORD)
    assert eventually(lambda: portal.ok("GET", f"/api/v1/tickets/{ticket['id']}", token)[
        "status"] == "closed")
    late = portal("POST", f"/api/v1/tickets/{ticket['id']}/comments", token,
                  json={"text": "Hello?"})
    assert late.status_code == 409 and late.json()["error"]["code"] == "TICKET_CLOSED"

    # a silenced team is not paged; the history says which silence held the alert
    silence = portal.ok("POST", "/api/v1/ops/silences", admin, status=201, json={
        "team": "quiet", "reason": "Planned maintenance",
        "ends_at": (dt.datetime.now(dt.UTC) + dt.timedelta(days=9)).isoformat()})
    muted = raise_ticket(portal, token, "complaint", "Muted one")
    ops_muted = portal.ok("GET", f"/api/v1/ops/tickets/{muted['id']}", admin)
    [held] = [h for h in ops_muted["history"] if h["kind"] == "silenced"]
    assert held["data"]["silence_id"] == silence["id"]
    portal.ok("DELETE", f"/api/v1/ops/silences/{silence['id']}", admin)
    loud = raise_ticket(portal, token, "complaint", "Loud one")
    assert eventually(lambda: keys(quiet) == [f"ticket:{loud['id']}:routed:quiet"])
    after_timer_rounds("notifier", "send_due")
    assert keys(quiet, f"ticket:{muted['id']}") == []


def test_a_postpaid_customer_s_service_credit_is_a_credit_note_and_refusals_are_visible(world):
    portal, clock, receiver = world
    admin = admin_token(portal)
    portal.ok("POST", "/api/v1/ops/incident-rules", admin, status=201, json={
        "name": "Outage", "group_by": ["region"], "window_minutes": 60,
        "match": [{"field": "category", "op": "=", "value": "service_interruption"}]})
    billed, billed_id = signup(portal, "postpaid")
    fresh, fresh_id = signup(portal, "postpaid")
    subs = {}
    for token in (billed, fresh):
        subs[token] = portal.ok("POST", "/api/v1/subscriptions", token, status=201,
                                json={"package": "basic"})["id"]
    clock.advance(24 * 60)  # a day later the run bills the first customer's day
    admin = admin_token(portal)
    billed = demo.login(portal.url, portal.ok("GET", f"/api/v1/ops/customers/{billed_id}",
                                              admin)["email"], PASSWORD)
    fresh = demo.login(portal.url, portal.ok("GET", f"/api/v1/ops/customers/{fresh_id}",
                                             admin)["email"], PASSWORD)
    today = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=clock.offset)).date()
    portal.ok("POST", "/api/v1/ops/billing-runs", admin, status=202,
              json={"date": today.isoformat()})
    [invoice] = eventually(lambda: portal.ok("GET", "/api/v1/invoices", billed)["data"])
    # the second customer's invoice is voided by a full credit note: nothing left to credit
    for item in portal.ok("GET", f"/api/v1/ops/customers/{fresh_id}/invoices", admin)["data"]:
        portal.ok("POST", f"/api/v1/ops/invoices/{item['id']}/credit-notes", admin,
                  status=201, json={"amount": item["total"], "reason": "Goodwill"},
                  headers={"Idempotency-Key": uuid.uuid4().hex})

    first = raise_ticket(portal, billed, "service_interruption", "Down",
                         subscription_id=subs[next(iter(subs))])
    raise_ticket(portal, fresh, "service_interruption", "Down too",
                 subscription_id=list(subs.values())[1])
    incident_id = first["incident"]["id"]
    portal.ok("POST", f"/api/v1/ops/incidents/{incident_id}/resolve", admin, json={
        "resolution": "Fixed.", "credit": {"amount": 300, "currency": "EUR"}},
        headers={"Idempotency-Key": uuid.uuid4().hex})
    assert eventually(lambda: portal.ok("GET", f"/api/v1/ops/incidents/{incident_id}", admin)[
        "credits"] == {"granted": 1, "pending": 0, "failed": 1})
    notes = portal.ok("GET", f"/api/v1/invoices/{invoice['id']}", billed)["credit_notes"]
    assert [(n["amount"]["amount"], n["reason"]) for n in notes] == [
        (300, "Service credit: Outage (region DE)")]
    ops_first = portal.ok("GET", f"/api/v1/ops/tickets/{first['id']}", admin)
    assert [h["data"]["kind"] for h in ops_first["history"] if h["kind"] == "credited"] == [
        "credit_note"]


def test_one_customer_cannot_flood_the_desk(world):
    portal, clock, _ = world
    admin = admin_token(portal)
    token, _ = signup(portal)
    body = {"category": "general", "subject": "The picture freezes",
            "description": "Since this morning, every few minutes."}
    with cf.ThreadPoolExecutor(15) as pool:  # concurrent opens count each other
        answers = list(pool.map(lambda _: portal("POST", "/api/v1/tickets", token, json=body),
                                range(15)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 10 + [409] * 5, [a.text for a in answers if a.status_code >= 500]
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {
        "TOO_MANY_OPEN_TICKETS"}
    opened = [a.json()["id"] for a in answers if a.status_code == 201]
    for tid in opened[:3]:  # three are resolved: fewer open, but ten raised this hour
        portal.ok("POST", f"/api/v1/ops/tickets/{tid}/resolve", admin,
                  json={"resolution": "Fixed."})
    hourly = portal("POST", "/api/v1/tickets", token, json=body)
    assert hourly.status_code == 429, hourly.text
    assert 0 < int(hourly.headers["Retry-After"]) <= 3600
    clock.advance(61)
    assert portal("POST", "/api/v1/tickets", token, json=body).status_code == 201

    tid = opened[-1]
    for n in range(20):
        portal.ok("POST", f"/api/v1/tickets/{tid}/comments", token, status=201,
                  json={"text": f"Still broken ({n})."})
    flood = portal("POST", f"/api/v1/tickets/{tid}/comments", token, json={"text": "Hello?"})
    assert flood.status_code == 429
    clock.advance(61)
    portal.ok("POST", f"/api/v1/tickets/{tid}/comments", token, status=201,
              json={"text": "Still broken."})
