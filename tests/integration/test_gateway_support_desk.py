"""The support desk as a staff tool, through the gateway on the real services, RabbitMQ and
PostgreSQL: a ticket's SLA (from TICKETS_SLA_MINUTES, counted by the service's clock), canned
replies (kept by supervisors and admins, offered to agents by category and language), and the
customer panel's reads of a customer's subscriptions, wallet ledger, invoices and payments.
Each ops route refuses a customer (403) and a staff role without its permission (403)."""

import datetime as dt
import uuid

import pytest

from deploy import demo
from tests.integration.test_gateway_support import TICKET, agent, me


@pytest.fixture
def portal(start_portal):
    # P3 (a billing question) gets 90 minutes; the other priorities keep their defaults
    return start_portal(RPC_TIMEOUT_SECONDS=3, TICKETS_SLA_MINUTES="{P3: 90, P1: 30}")


@pytest.fixture
def admin(portal):
    return demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])


def error_of(response, status):
    assert response.status_code == status, response.text
    return response.json()["error"]


def test_agents_see_each_ticket_s_sla_from_the_configured_minutes_and_the_customer_does_not(
        portal, admin):
    customer = portal.customer()
    ticket = portal.ok("POST", "/api/v1/tickets", customer, status=201, json=TICKET)
    assert "sla" not in ticket
    _, agent_token = agent(portal, admin, teams=[ticket["team"]])
    ops = portal.ok("GET", f"/api/v1/ops/tickets/{ticket['id']}", agent_token)
    sla = ops["sla"]
    minutes = {"P1": 30, "P2": 480, "P3": 90, "P4": 4320}[ops["priority"]]
    assert sla["minutes"] == minutes and sla["state"] == "running" and sla["breached"] is False
    created = dt.datetime.fromisoformat(ops["created_at"].replace("Z", "+00:00"))
    due = dt.datetime.fromisoformat(sla["due_at"].replace("Z", "+00:00"))
    assert due - created == dt.timedelta(minutes=minutes)
    assert minutes * 60 - 60 <= sla["remaining_seconds"] <= minutes * 60
    queued = portal.ok("GET", f"/api/v1/ops/tickets?team={ticket['team']}&limit=100",
                       agent_token)["data"]
    assert next(t for t in queued if t["id"] == ticket["id"])["sla"]["due_at"] == sla["due_at"]

    # a priority change moves the due time; resolving keeps the margin it was resolved with
    bumped = portal.ok("PATCH", f"/api/v1/ops/tickets/{ticket['id']}", agent_token,
                       json={"priority": "P1"})
    assert bumped["sla"]["minutes"] == 30
    resolved = portal.ok("POST", f"/api/v1/ops/tickets/{ticket['id']}/resolve", agent_token,
                         json={"resolution": "Refunded the second charge."})
    assert resolved["sla"]["state"] == "met" and resolved["sla"]["remaining_seconds"] > 0
    assert "sla" not in portal.ok("GET", f"/api/v1/tickets/{ticket['id']}", customer)


def test_supervisors_keep_canned_replies_and_agents_get_those_of_a_category_and_language(
        portal, admin):
    _, supervisor = agent(portal, admin, role="supervisor")
    _, agent_token = agent(portal, admin, teams=["support"])
    _, finance = agent(portal, admin, role="finance")
    customer = portal.customer()
    tag = uuid.uuid4().hex[:6]
    made = [portal.ok("POST", "/api/v1/ops/canned-replies", supervisor, status=201, json=body)
            for body in (
                {"title": f"Doppelt belastet {tag}", "body": "Wir prüfen Ihre Zahlungen.",
                 "category": "billing", "language": "de"},
                {"title": f"Begrüßung {tag}", "body": "Guten Tag,", "language": "de"},
                {"title": f"Charged twice {tag}", "body": "We are checking your payments.",
                 "category": "billing", "language": "en"},
                {"title": f"Störung {tag}", "body": "Bitte Box neu starten.",
                 "category": "service_interruption", "language": "de"})]
    assert made[1]["category"] is None and made[0]["id"].startswith("cnr_")

    offered = portal.ok("GET", "/api/v1/ops/canned-replies?category=billing&language=de",
                        agent_token)["data"]
    assert [r["title"] for r in offered if tag in r["title"]] == [
        f"Begrüßung {tag}", f"Doppelt belastet {tag}"]
    assert {r["language"] for r in offered} == {"de"}

    # supervisors change and delete them; agents only read them
    changed = portal.ok("PATCH", f"/api/v1/ops/canned-replies/{made[0]['id']}", supervisor,
                        json={"body": "Wir prüfen Ihre Belastungen."})
    assert changed["body"] == "Wir prüfen Ihre Belastungen." and changed["title"] == made[0][
        "title"]
    refused = portal("POST", "/api/v1/ops/canned-replies", agent_token,
                     json={"title": "x", "body": "y", "language": "en"})
    error_of(refused, 403)
    error_of(portal("PATCH", f"/api/v1/ops/canned-replies/{made[0]['id']}", agent_token,
                    json={"title": "mine now"}), 403)
    error_of(portal("DELETE", f"/api/v1/ops/canned-replies/{made[0]['id']}", agent_token), 403)
    # finance does not work tickets: not even the list; a customer: no ops route at all
    error_of(portal("GET", "/api/v1/ops/canned-replies", finance), 403)
    error_of(portal("GET", "/api/v1/ops/canned-replies", customer), 403)
    error_of(portal("POST", "/api/v1/ops/canned-replies", customer,
                    json={"title": "x", "body": "y", "language": "en"}), 403)

    assert portal("DELETE", f"/api/v1/ops/canned-replies/{made[3]['id']}", admin
                  ).status_code == 204
    gone = portal("DELETE", f"/api/v1/ops/canned-replies/{made[3]['id']}", supervisor)
    assert error_of(gone, 404)["code"] == "CANNED_REPLY_NOT_FOUND"

    bad = portal("POST", "/api/v1/ops/canned-replies", supervisor, json={
        "title": "", "body": "y", "language": "xx", "category": "no_such_category"})
    assert {"title", "language"} <= set(error_of(bad, 400)["fields"])
    unknown = portal("POST", "/api/v1/ops/canned-replies", supervisor, json={
        "title": "t", "body": "y", "language": "en", "category": "no_such_category"})
    assert set(error_of(unknown, 400)["fields"]) == {"category"}
    assert set(error_of(portal("PATCH", f"/api/v1/ops/canned-replies/{made[0]['id']}",
                               supervisor, json={}), 400)["fields"])


def test_the_desk_reads_a_customer_s_subscriptions_ledger_and_payments_a_customer_cannot(
        portal, admin):
    _, agent_token = agent(portal, admin, teams=["support"])
    prepaid = portal.customer("prepaid")
    prepaid_id = me(portal, prepaid)["id"]
    for key in ("first", "second"):  # two goodwill credits: the ledger shows both
        portal.ok("POST", f"/api/v1/ops/customers/{prepaid_id}/wallet/adjustments", admin,
                  status=201, headers={"Idempotency-Key": f"{prepaid_id}-{key}"},
                  json={"amount": {"amount": 300, "currency": "EUR"}, "reason": "goodwill"})
    ledger = portal.ok("GET", f"/api/v1/ops/customers/{prepaid_id}/wallet/transactions?limit=1",
                       agent_token)
    assert [e["type"] for e in ledger["data"]] == ["adjustment"] and ledger["has_more"] is True
    rest = portal.ok("GET", f"/api/v1/ops/customers/{prepaid_id}/wallet/transactions",
                     agent_token, params={"cursor": ledger["next_cursor"]})
    assert [e["balance_after"]["amount"] for e in rest["data"]] == [300]
    assert ledger["data"][0]["balance_after"]["amount"] == 600
    assert portal.ok("GET", f"/api/v1/ops/customers/{prepaid_id}/subscriptions",
                     agent_token)["data"] == []
    assert portal.ok("GET", f"/api/v1/ops/customers/{prepaid_id}/payments",
                     agent_token)["data"] == []
    account = portal.ok("GET", f"/api/v1/ops/customers/{prepaid_id}", agent_token)
    assert account["name"] == "Ann" and "@" in account["email"]

    postpaid = portal.customer("postpaid")
    postpaid_id = me(portal, postpaid)["id"]
    not_prepaid = portal("GET", f"/api/v1/ops/customers/{postpaid_id}/wallet/transactions",
                         agent_token)
    assert error_of(not_prepaid, 409)["code"] == "NOT_PREPAID"
    assert portal.ok("GET", f"/api/v1/ops/customers/{postpaid_id}/invoices",
                     agent_token)["data"] == []

    # a customer reads no one's records through ops routes, not even their own
    for path in ("subscriptions", "wallet/transactions", "payments", "invoices"):
        for target in (prepaid_id, postpaid_id):
            refused = portal("GET", f"/api/v1/ops/customers/{target}/{path}", prepaid)
            assert error_of(refused, 403)["code"], (path, target)
