"""A customer's data in tickets, the notifier and insights, exported and forgotten (issue #18,
the GDPR), on the real services, RabbitMQ and PostgreSQL: the data is made by the services' own
RPCs and events (a ticket with the customer's and an agent's messages and an internal note,
notifications e-mailed, viewing reported, a budget that alerts, a dismissed recommendation);
each service's export holds it (and no internal note); forgetting it, asked twice at once, has
one effect, after which no table of the three databases holds the person's name, e-mail
address, phone number or postal address; a later call changes nothing."""

import datetime as dt
import json
import uuid

import pytest
import requests
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcProxy

from deploy import demo
from services.common.db import normalize_url
from services.common.kernel_tables import kernel_metadata
from services.insights.models import Base as InsightsBase
from services.notifier.models import Base as NotifierBase
from services.tickets.models import Base as TicketsBase
from tests.integration.conftest import PASSWORD, eventually

SERVICES = {"tickets": TicketsBase.metadata, "notifier": NotifierBase.metadata,
            "insights": InsightsBase.metadata}
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123",
        "holder": "Card Holder"}
PSEUDONYM = "Deleted customer 7f3c"


@pytest.fixture
def portal(start_portal, mail):
    return start_portal(SMTP_PORT=mail.port, NOTIFIER_DELIVERY_SECONDS=0.2)


class Person:
    """A customer's details, each unlikely to appear anywhere by chance."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.first, self.last = f"Quirina{tag}", f"Zebedeus{tag}"
        self.name = f"{self.first} {self.last}"
        self.email = f"quirina.{tag}@example.com"
        self.phone = f"+49 30 5{int(tag, 16) % 10**6:06d}"
        self.address = {"line1": f"Quendelgasse {tag}", "city": f"Zebedorf{tag}",
                        "postal_code": f"Q{tag}", "country": "DE"}

    def strings(self) -> list[str]:
        return [self.first, self.last, self.email, self.phone, self.address["line1"],
                self.address["city"], self.address["postal_code"]]

    def personal(self) -> dict:
        return {"name": self.name, "email": self.email, "phone": self.phone,
                "address": self.address}


def sign_up(portal, person: Person) -> tuple[str, str]:
    created = requests.post(portal.url + "/api/v1/accounts", timeout=30, json={
        "email": person.email, "password": PASSWORD, "name": person.name,
        "billing_type": "prepaid", "currency": "EUR", "language": "en",
        "phone": person.phone, "address": person.address})
    assert created.status_code == 201, created.text
    return demo.login(portal.url, person.email, PASSWORD), created.json()["id"]


def rows_as_text(url: str, metadata) -> str:
    """Every row of every table of the service (its own and the kernel's), as text."""
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return "\n".join(f"{table.name}: {row}" for md in (metadata, kernel_metadata)
                             for table in md.sorted_tables
                             for row in conn.execute(sa.select(table)))
    finally:
        engine.dispose()


def outbox_published(url: str) -> bool:
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return not conn.execute(sa.text(
                "SELECT count(*) FROM outbox_messages WHERE published_at IS NULL")).scalar()
    finally:
        engine.dispose()


def forgotten_events(url: str) -> int:
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM outbox_messages "
                                        "WHERE event_type = 'customer_forgotten'")).scalar()
    finally:
        engine.dispose()


def test_export_then_forget_leaves_no_trace_of_the_person(portal, mail):
    person, other = Person(), Person()
    token, customer_id = sign_up(portal, person)
    other_token, _ = sign_up(portal, other)
    admin = demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])

    # notifier: preferences, and notifications below (welcome, ticket, reply, budget)
    portal.ok("PUT", "/api/v1/me/notification-preferences", token, json={
        "preferences": [{"topic": "billing", "channel": "email", "enabled": False}]})
    # tickets: the customer writes their details, an agent answers and notes internally
    ticket = portal.ok("POST", "/api/v1/tickets", token, status=201, json={
        "category": "general", "subject": f"No picture at {person.address['line1']}",
        "description": f"Please call {person.name} on {person.phone} or write to "
                       f"{person.email}. {person.address['line1']}, "
                       f"{person.address['postal_code']} {person.address['city']}."})
    path = f"/api/v1/ops/tickets/{ticket['id']}"
    portal.ok("POST", path + "/comments", admin, status=201, json={
        "text": f"Dear {person.name}, a technician calls {person.phone} today."})
    portal.ok("POST", path + "/comments", admin, status=201, json={
        "text": f"INTERNAL-NOTE {person.first} called twice", "internal": True})
    portal.ok("POST", f"/api/v1/tickets/{ticket['id']}/comments", token, status=201,
              json={"text": f"Thanks. Still dark at {person.address['line1']}."})
    # another customer's ticket stays as it is
    theirs = portal.ok("POST", "/api/v1/tickets", other_token, status=201, json={
        "category": "general", "subject": "Other customer's question",
        "description": f"I am {other.name}."})
    # insights: viewing (the customer agreed to its use), a budget that a subscription takes
    # past 80 %, a dismissal
    portal.ok("PUT", "/api/v1/me/consents/viewing_recommendations", token,
              json={"granted": True})
    with ClusterRpcProxy({"AMQP_URI": portal.config["AMQP_URI"]}, timeout=30) as cluster:
        viewed = cluster.insights.report_viewing(f"privacy-{customer_id}", [
            {"customer_id": customer_id, "channel": "News 24", "day": day, "minutes": 42}
            for day in (demo_day(1), demo_day(2))])
        assert viewed["stored"] == 2, viewed
        cluster.insights.dismiss_recommendation(customer_id, "unused_addon:sub:sports")
    portal.ok("POST", "/api/v1/me/payment-methods", token, status=201, json=CARD)
    portal.ok("POST", "/api/v1/wallet/top-ups", token, status=201,
              json={"amount": {"amount": 10000, "currency": "EUR"}},
              headers={"Idempotency-Key": "privacy-top-up"})
    portal.ok("PUT", "/api/v1/insights/budget", token,
              json={"amount": {"amount": 2000, "currency": "EUR"}})
    portal.ok("POST", "/api/v1/subscriptions", token, status=201, json={"package": "basic"},
              headers={"Idempotency-Key": "privacy-sub"})

    def inbox_topics():
        return sorted({n["topic"] for n in portal.ok(
            "GET", "/api/v1/notifications", token, params={"limit": 50})["data"]})
    assert eventually(lambda: {"support", "billing"} <= set(inbox_topics()), timeout=30), \
        inbox_topics()
    assert eventually(lambda: [m for m in mail.messages if m["To"] == person.email])
    urls = portal.database_urls
    assert eventually(lambda: all(outbox_published(urls[s]) for s in SERVICES), timeout=30)

    with ClusterRpcProxy({"AMQP_URI": portal.config["AMQP_URI"]}, timeout=60) as cluster:
        # export ---------------------------------------------------------------------------
        exported = {s: getattr(cluster, s).export_customer(customer_id) for s in SERVICES}
        assert {s: e["service"] for s, e in exported.items()} == {s: s for s in SERVICES}
        text = json.dumps(exported)
        assert "INTERNAL-NOTE" not in text  # the customer's view of their tickets
        assert "Other customer" not in text and other.email not in text
        [mine] = exported["tickets"]["data"]["tickets"]
        assert person.phone in mine["description"] and mine["context"]["name"] == person.name
        said = [(h["actor"]["type"], h["text"]) for h in mine["history"]
                if h["kind"] == "comment"]
        assert said == [
            ("agent", f"Dear {person.name}, a technician calls {person.phone} today."),
            ("customer", f"Thanks. Still dark at {person.address['line1']}.")]
        notes = exported["notifier"]["data"]
        assert notes["contacts"] == [{"customer_id": customer_id, "email": person.email,
                                      "language": "en"}]
        assert {"topic": "billing", "channel": "email", "enabled": False} in [
            {k: p[k] for k in ("topic", "channel", "enabled")} for p in notes["preferences"]]
        assert len(notes["notifications"]) >= 3
        assert "sent" in {d["status"] for d in notes["deliveries"]
                          if d["target"] == person.email}
        insight = exported["insights"]["data"]
        assert [v["minutes"] for v in insight["viewing_daily"]] == [42, 42]
        assert insight["budget"][0]["amount"] == 2000
        assert [a["threshold"] for a in insight["budget_alerts"]] == ["80"]
        assert insight["dismissed_recommendations"][0]["recommendation_id"] == \
            "unused_addon:sub:sports"
        before = {s: rows_as_text(urls[s], md) for s, md in SERVICES.items()}
        for service in SERVICES:  # the scan below would see the details were they left
            assert person.email in before[service] or service == "insights"
            assert person.first in before[service] or service == "insights"

        # forget: twice at once, one effect ------------------------------------------------
        answers = {}
        for service in SERVICES:  # in the saga's order: nothing new reaches the notifier
            rpc = getattr(cluster, service).forget_customer
            calls = [rpc.call_async(customer_id, PSEUDONYM, person.personal())
                     for _ in range(2)]
            answers[service] = [c.result() for c in calls]
        for service, pair in answers.items():
            assert [a["service"] for a in pair] == [service, service]
            zeros = [a for a in pair if not any(a["forgotten"].values())]
            done = [a for a in pair if any(a["forgotten"].values())]
            assert len(zeros) == 1 and len(done) == 1, pair
            assert set(zeros[0]["forgotten"]) == set(done[0]["forgotten"])
        assert answers["tickets"][0]["forgotten"]["closed"] + \
            answers["tickets"][1]["forgotten"]["closed"] == 1
        assert sum(a["forgotten"]["comments"] for a in answers["tickets"]) == 1

        # nothing of the person is left in any table of the three databases ---------------
        assert eventually(lambda: all(outbox_published(urls[s]) for s in SERVICES))
        for service, metadata in SERVICES.items():
            left = rows_as_text(urls[service], metadata).casefold()
            found = [s for s in person.strings() if s.casefold() in left]
            assert found == [], f"{service} still holds {found}"
            assert forgotten_events(urls[service]) == 1, service
        tickets_text = rows_as_text(urls["tickets"], TicketsBase.metadata)
        assert PSEUDONYM in tickets_text and other.name in tickets_text
        assert f"INTERNAL-NOTE {PSEUDONYM} called twice" in tickets_text  # the first name too
        kept = cluster.tickets.get_ticket_ops(ticket["id"])
        assert (kept["status"], kept["number"], kept["category"]) == (
            "closed", ticket["number"], "general")
        assert cluster.tickets.get_ticket_ops(theirs["id"])["description"] == \
            f"I am {other.name}."
        after = {s: getattr(cluster, s).export_customer(customer_id) for s in SERVICES}
        after_text = json.dumps(after).casefold()
        assert [s for s in person.strings() if s.casefold() in after_text] == []
        assert after["notifier"]["data"]["notifications"] == []
        assert after["insights"]["data"]["viewing_daily"] == []

        # again: nothing changes, the same shape answers ---------------------------------
        for service in SERVICES:
            again = getattr(cluster, service).forget_customer(customer_id, PSEUDONYM,
                                                              person.personal())
            assert again["service"] == service
            assert again["forgotten"] == dict.fromkeys(answers[service][0]["forgotten"], 0)
            assert forgotten_events(urls[service]) == 1


def demo_day(back: int) -> str:
    return (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=back)).isoformat()
