"""Support end to end on the real services, RabbitMQ and PostgreSQL, through the gateway:
tickets routed to teams page the team's real (local) webhook; escalation by the test clock;
a burst of service interruptions is one incident with one page; resolving it notifies and
credits every affected customer once."""

import concurrent.futures as cf
import datetime as dt
import json
import time
import uuid

import pytest
import requests

from deploy import demo
from tests.integration.conftest import PASSWORD, eventually
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
                          NOTIFIER_DELIVERY_SECONDS=0.2)
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
    time.sleep(1.5)
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
    time.sleep(1.5)
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
    time.sleep(1.0)
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
            "POST", f"/api/v1/ops/incidents/{incident_id}/resolve", admin, json=resolution),
            range(2)))
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    again = portal.ok("POST", f"/api/v1/ops/incidents/{incident_id}/resolve", admin,
                      json=resolution)
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
