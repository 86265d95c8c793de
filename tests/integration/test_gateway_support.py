"""Support through the gateway on the real services, RabbitMQ and PostgreSQL: customers raise,
follow and comment on tickets; agents work the queue; ops compose teams (tickets' team,
accounts' members, the notifier's channels) and manage rules, policies, incidents' rules,
silences and the FAQ. Bad input is a 400 with its fields, and nothing is half-written."""

import datetime as dt
import uuid

import pytest
import requests
from nameko.testing.utils import get_container

from deploy import demo
from services.notifier.service import NotifierService
from services.tickets.service import TicketsService
from tests.integration.conftest import eventually, walk


@pytest.fixture
def portal(start_portal):
    return start_portal(RPC_TIMEOUT_SECONDS=3, DASHBOARD_DEADLINE_SECONDS=1)


@pytest.fixture
def admin(portal):
    return demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])


def me(portal, token):
    return portal.ok("GET", "/api/v1/me", token)


def agent(portal, admin, teams=(), role="agent"):
    """A new staff account (an agent of `teams` by default): (its id, its token)."""
    token = portal.customer()
    account_id = me(portal, token)["id"]
    portal.ok("PATCH", f"/api/v1/ops/customers/{account_id}", admin,
              json={"role": role, "teams": list(teams)})
    return account_id, token


def team_name():
    return f"team-{uuid.uuid4().hex[:8]}"


def fields_of(response, status=400):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"]
    return error["fields"]


TICKET = {"category": "billing", "subject": "Charged twice",
          "description": "My October bill has the sports add-on twice."}


def test_a_customer_raises_a_ticket_follows_it_comments_and_sees_it_on_the_dashboard(portal):
    token = portal.customer()
    categories = portal.ok("GET", "/api/v1/ticket-categories", token)["data"]
    billing = next(c for c in categories if c["code"] == "billing")
    assert billing["priority"] in {"P1", "P2", "P3", "P4"} and billing["active"] is True
    interruption = next(c for c in categories if c["code"] == "service_interruption")
    assert interruption["required_fields"] == ["subscription_id"]

    ticket = portal.ok("POST", "/api/v1/tickets", token, status=201, json=TICKET)
    assert ticket["id"].startswith("tkt_") and ticket["status"] == "routed"
    assert ticket["category"] == "billing" and ticket["category_name"] == billing["name"]
    assert ticket["priority"] == billing["priority"] and ticket["team"]
    assert ticket["incident"] is None and ticket["subscription_id"] is None
    assert [e["kind"] for e in ticket["history"]][:2] == ["created", "routed"]
    assert ticket["history"][0]["actor"] == {"type": "customer", "name": "Ann"}
    # the customer's view never carries what only agents see
    assert not {"customer_id", "context", "escalation", "rules", "assignee"} & set(ticket)
    assert not {"escalated", "alerted", "silenced"} & {e["kind"] for e in ticket["history"]}

    page = portal.ok("GET", "/api/v1/tickets?status=open", token)
    assert [t["id"] for t in page["data"]] == [ticket["id"]] and page["has_more"] is False
    assert "history" not in page["data"][0]
    assert portal.ok("GET", "/api/v1/tickets?status=done", token)["data"] == []

    entry = portal.ok("POST", f"/api/v1/tickets/{ticket['id']}/comments", token, status=201,
                      json={"text": "It is invoice INV-2026-000042."})
    assert entry["kind"] == "comment" and entry["text"] == "It is invoice INV-2026-000042."
    assert entry["internal"] is False and entry["actor"]["type"] == "customer"
    again = portal.ok("GET", f"/api/v1/tickets/{ticket['id']}", token)
    assert again["history"][-1]["id"] == entry["id"]

    board = portal.ok("GET", "/api/v1/dashboard", token)
    assert board["open_tickets"]["unavailable"] is False
    assert board["open_tickets"]["count"] == 1
    assert [t["id"] for t in board["open_tickets"]["latest"]] == [ticket["id"]]

    assert portal.ok("GET", "/ready", token)["services"]["tickets"] == "ok"

    get_container(portal.runner, TicketsService).stop()
    # the gateway's cached part is still shown (with its service down, nothing changes it) ...
    assert portal.ok("GET", "/api/v1/dashboard", token)["open_tickets"]["count"] == 1
    # ... asked afresh, the part is unavailable and the rest still renders
    board = portal.ok("GET", "/api/v1/dashboard", token, headers={"Cache-Control": "no-cache"})
    assert board["open_tickets"] == {"unavailable": True}
    assert board["account"]["name"] == "Ann" and board["subscriptions"]["unavailable"] is False
    ready = portal("GET", "/ready", token)
    assert ready.status_code == 503 and ready.json()["services"]["tickets"] == "unavailable"
    down = portal("GET", "/api/v1/tickets", token)
    assert down.status_code == 503 and down.json()["error"]["code"] == "SERVICE_UNAVAILABLE"


def test_bad_tickets_are_400_with_their_fields_and_nothing_is_raised(portal):
    token = portal.customer()
    other = portal.customer()
    subscription = portal.ok("POST", "/api/v1/subscriptions", other, status=201,
                             json={"package": "basic"})

    def refused(body, **kwargs):
        return fields_of(portal("POST", "/api/v1/tickets", token, json=body, **kwargs))

    assert "category" in refused({**TICKET, "category": "no_such_category"})
    assert "subscription_id" in refused({**TICKET, "category": "service_interruption"})
    assert "subscription_id" in refused({**TICKET, "category": "service_interruption",
                                         "subscription_id": subscription["id"]})
    assert "subject" in refused({**TICKET, "subject": "x" * 201})
    assert "subject" in refused({**TICKET, "subject": ""})
    assert "description" in refused({k: v for k, v in TICKET.items() if k != "description"})
    assert "priority" in refused({**TICKET, "priority": "P1"})
    assert "Idempotency-Key" in refused(TICKET, headers={"Idempotency-Key": "k" * 256})
    assert portal.ok("GET", "/api/v1/tickets", token)["data"] == []

    mine = portal.ok("POST", "/api/v1/subscriptions", token, status=201,
                     json={"package": "basic"})
    ticket = portal.ok("POST", "/api/v1/tickets", token, status=201, json={
        **TICKET, "category": "service_interruption", "subscription_id": mine["id"]})
    assert ticket["subscription_id"] == mine["id"]
    assert "text" in fields_of(portal("POST", f"/api/v1/tickets/{ticket['id']}/comments",
                                      token, json={"text": ""}))
    assert "status" in fields_of(portal("GET", "/api/v1/tickets?status=lost", token))


def test_another_customers_ticket_is_not_found(portal):
    owner, stranger = portal.customer(), portal.customer()
    ticket = portal.ok("POST", "/api/v1/tickets", owner, status=201, json=TICKET)
    for method, path, body in (("GET", f"/api/v1/tickets/{ticket['id']}", None),
                               ("POST", f"/api/v1/tickets/{ticket['id']}/comments",
                                {"text": "mine now"}),
                               ("GET", "/api/v1/tickets/tkt_doesnotexist", None)):
        response = portal(method, path, stranger, json=body)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "TICKET_NOT_FOUND"
    assert portal.ok("GET", "/api/v1/tickets", stranger)["data"] == []
    history = portal.ok("GET", f"/api/v1/tickets/{ticket['id']}", owner)["history"]
    assert "comment" not in [e["kind"] for e in history]


def test_the_same_idempotency_key_gives_the_same_ticket(portal):
    token = portal.customer()
    key = {"Idempotency-Key": f"ticket-{uuid.uuid4().hex}"}
    first = portal.ok("POST", "/api/v1/tickets", token, status=201, json=TICKET, headers=key)
    second = portal.ok("POST", "/api/v1/tickets", token, status=201, json=TICKET, headers=key)
    assert second["id"] == first["id"] and second["number"] == first["number"]
    assert len(portal.ok("GET", "/api/v1/tickets", token)["data"]) == 1
    reused = portal("POST", "/api/v1/tickets", token, headers=key,
                    json={**TICKET, "subject": "Something else"})
    assert reused.status_code == 409, reused.text
    assert reused.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    other = portal.ok("POST", "/api/v1/tickets", token, status=201, json=TICKET)
    assert other["id"] != first["id"]


def test_a_customer_cannot_reach_ops_routes(portal):
    token = portal.customer()
    ticket = portal.ok("POST", "/api/v1/tickets", token, status=201, json=TICKET)
    for method, path, body in (
            ("GET", "/api/v1/ops/tickets", None),
            ("GET", f"/api/v1/ops/tickets/{ticket['id']}", None),
            ("POST", f"/api/v1/ops/tickets/{ticket['id']}/resolve", {"resolution": "done it"}),
            ("POST", f"/api/v1/ops/tickets/{ticket['id']}/comments", {"text": "hi"}),
            ("GET", "/api/v1/ops/teams", None),
            ("POST", "/api/v1/ops/teams", {"name": "mine"}),
            ("GET", "/api/v1/ops/routing-rules", None),
            ("PUT", "/api/v1/ops/routing-rules/default", {"team": "mine"}),
            ("POST", "/api/v1/ops/silences", {"team": "support", "reason": "quiet",
                                              "ends_at": "2099-01-01T00:00:00Z"}),
            ("GET", "/api/v1/ops/incidents", None),
            ("POST", "/api/v1/ops/faq", {"category": "billing", "language": "en",
                                         "question": "Why?", "answer": "Because."})):
        response = portal(method, path, token, json=body)
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"]["code"] == "FORBIDDEN"
    assert requests.get(portal.url + "/api/v1/ops/teams", timeout=15).status_code == 401
    assert [e["kind"] for e in portal.ok("GET", f"/api/v1/tickets/{ticket['id']}",
                                         token)["history"]][-1] == "routed"


def test_a_team_is_composed_of_its_members_and_channels_and_goes_whole(portal, admin):
    agent_id, _ = agent(portal, admin)
    name = team_name()
    created = portal.ok("POST", "/api/v1/ops/teams", admin, status=201, json={
        "name": name, "description": "Network operations", "lead": agent_id,
        "members": [agent_id],
        "channels": [{"type": "email", "address": "noc@example.com"}, {"type": "bus"},
                     {"type": "webhook", "url": "https://hooks.example.com/T000/B000/XXX"}]})
    assert created["id"] == name and created["name"] == name and created["lead"] == agent_id
    assert created["description"] == "Network operations"
    assert [m["id"] for m in created["members"]] == [agent_id]
    assert {"id", "name", "email"} <= set(created["members"][0])
    kinds = {c["type"]: c for c in created["channels"]}
    assert set(kinds) == {"email", "bus", "webhook"}
    assert kinds["email"]["address"] == "noc@example.com"
    assert kinds["webhook"]["secret"].startswith("whsec_")  # shown in this answer only

    shown = portal.ok("GET", f"/api/v1/ops/teams/{name}", admin)
    assert [m["id"] for m in shown["members"]] == [agent_id]
    assert {c["id"] for c in shown["channels"]} == {c["id"] for c in created["channels"]}
    assert all("secret" not in c for c in shown["channels"])
    listed = {t["name"]: t for t in portal.ok("GET", "/api/v1/ops/teams", admin)["data"]}
    assert [m["id"] for m in listed[name]["members"]] == [agent_id]
    assert len(listed[name]["channels"]) == 3
    assert name in portal.ok("GET", f"/api/v1/ops/customers/{agent_id}", admin)["teams"]
    taken = portal("POST", "/api/v1/ops/teams", admin, json={"name": name})
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "TEAM_EXISTS"

    changed = portal.ok("PATCH", f"/api/v1/ops/teams/{name}", admin, json={
        "description": "NOC", "members": [], "channels": [{"type": "bus"}]})
    assert changed["description"] == "NOC" and changed["members"] == []
    assert [c["type"] for c in changed["channels"]] == ["bus"]
    assert [c["type"] for c in portal.ok("GET", f"/api/v1/ops/teams/{name}/channels",
                                         admin)["data"]] == ["bus"]
    assert name not in portal.ok("GET", f"/api/v1/ops/customers/{agent_id}", admin)["teams"]

    assert portal("DELETE", f"/api/v1/ops/teams/{name}", admin).status_code == 204
    assert portal("GET", f"/api/v1/ops/teams/{name}", admin).status_code == 404
    assert portal.ok("GET", f"/api/v1/ops/teams/{name}/channels", admin)["data"] == []
    assert portal("PATCH", f"/api/v1/ops/teams/{name}", admin,
                  json={"description": "gone"}).status_code == 404

    # agents an admin put in a team before it was made stay in it when no members are given
    early = team_name()
    portal.ok("PATCH", f"/api/v1/ops/customers/{agent_id}", admin,
              json={"role": "agent", "teams": [early]})
    made = portal.ok("POST", "/api/v1/ops/teams", admin, status=201, json={"name": early})
    assert [m["id"] for m in made["members"]] == [agent_id]


def test_a_bad_team_is_400_and_nothing_is_created(portal, admin):
    customer_token = portal.customer()
    customer_id = me(portal, customer_token)["id"]
    agent_id, _ = agent(portal, admin)
    name = team_name()

    def nothing_exists():
        assert portal("GET", f"/api/v1/ops/teams/{name}", admin).status_code == 404
        assert portal.ok("GET", f"/api/v1/ops/teams/{name}/channels", admin)["data"] == []
        assert name not in [t["name"] for t in
                            portal.ok("GET", "/api/v1/ops/teams", admin)["data"]]
        for account_id in (customer_id, agent_id):
            account = portal.ok("GET", f"/api/v1/ops/customers/{account_id}", admin)
            assert name not in account["teams"]

    not_agent = fields_of(portal("POST", "/api/v1/ops/teams", admin, json={
        "name": name, "members": [agent_id, customer_id], "channels": [{"type": "bus"}]}))
    assert not_agent == {"members": [f"{customer_id} is not a staff account"]}
    nothing_exists()
    unknown = fields_of(portal("POST", "/api/v1/ops/teams", admin, json={
        "name": name, "members": ["cus_doesnotexist"]}))
    assert list(unknown) == ["members"]
    nothing_exists()
    assert "lead" in fields_of(portal("POST", "/api/v1/ops/teams", admin, json={
        "name": name, "lead": customer_id}))
    nothing_exists()

    for body, field in (
            ({"name": name, "members": [agent_id], "channels": [{"type": "email"}]},
             "channels.0.address"),
            ({"name": name, "channels": [{"type": "bus"}, {"type": "webhook",
                                                           "url": "ftp://x.example"}]},
             "channels.1.url"),
            ({"name": name, "channels": [{"type": "pager"}]}, "channels.0.type"),
            ({"name": "no spaces allowed"}, "name"),
            ({"name": name, "description": "x" * 501}, "description"),
            ({"name": name, "colour": "red"}, "colour")):
        assert field in fields_of(portal("POST", "/api/v1/ops/teams", admin, json=body)), body
        nothing_exists()

    refused = portal("PATCH", f"/api/v1/ops/teams/{name}", admin, json={"members": [agent_id]})
    assert refused.status_code == 404
    nothing_exists()


def test_a_team_half_written_when_the_notifier_is_down_is_undone(portal, admin):
    agent_id, _ = agent(portal, admin)
    name = team_name()
    get_container(portal.runner, NotifierService).stop()
    down = portal("POST", "/api/v1/ops/teams", admin, json={
        "name": name, "members": [agent_id], "channels": [{"type": "bus"}]})
    assert down.status_code == 503, down.text
    assert name not in portal.ok("GET", f"/api/v1/ops/customers/{agent_id}", admin)["teams"]
    # the team is gone from tickets too: the name is free again (a team without channels)
    again = portal.ok("POST", "/api/v1/ops/teams", admin, status=201, json={"name": name})
    assert again["members"] == [] and again["channels"] == []


def test_agents_work_the_queue_and_customers_see_only_what_is_meant_for_them(portal, admin):
    customer = portal.customer()
    ticket = portal.ok("POST", "/api/v1/tickets", customer, status=201, json=TICKET)
    tid = ticket["id"]
    agent_id, agent_token = agent(portal, admin, teams=[ticket["team"]])

    queue = portal.ok("GET", f"/api/v1/ops/tickets?team={ticket['team']}&status=open",
                      agent_token)
    row = next(t for t in queue["data"] if t["id"] == tid)
    assert row["customer_id"] == me(portal, customer)["id"] and row["assignee"] is None
    assert row["context"]["billing_type"] == "postpaid" and row["context"]["currency"] == "EUR"
    assert "unavailable" in row["context"] and {"policy", "step", "next_at"} <= set(
        row["escalation"])
    assert row["urgency"] and row["impact"] and isinstance(row["rules"], list)

    seen = portal.ok("GET", f"/api/v1/ops/tickets/{tid}", agent_token)
    assert any(e["kind"] == "alerted" or e["kind"] == "routed" for e in seen["history"])
    acked = portal.ok("POST", f"/api/v1/ops/tickets/{tid}/acknowledge", agent_token)
    assert acked["status"] == "acknowledged" and acked["acknowledged_at"]
    assert acked["escalation"]["next_at"] is None
    assigned = portal.ok("POST", f"/api/v1/ops/tickets/{tid}/assign", agent_token,
                         json={"assignee": agent_id})
    assert assigned["assignee"] == agent_id
    moved = portal.ok("PATCH", f"/api/v1/ops/tickets/{tid}", agent_token,
                      json={"status": "in_progress", "priority": "P2"})
    assert moved["status"] == "in_progress" and moved["priority"] == "P2"
    back = portal("PATCH", f"/api/v1/ops/tickets/{tid}", agent_token, json={"status": "new"})
    assert back.status_code == 409 and back.json()["error"]["code"] == "INVALID_STATUS_CHANGE"
    assert "status" in fields_of(portal("PATCH", f"/api/v1/ops/tickets/{tid}", agent_token,
                                        json={}))
    assert "internal" in fields_of(portal("POST", f"/api/v1/ops/tickets/{tid}/comments",
                                          agent_token, json={"text": "x", "internal": "maybe"}))

    note = portal.ok("POST", f"/api/v1/ops/tickets/{tid}/comments", agent_token, status=201,
                     json={"text": "Duplicate charge confirmed in billing.", "internal": True})
    assert note["internal"] is True and note["actor"]["id"] == agent_id
    reply = portal.ok("POST", f"/api/v1/ops/tickets/{tid}/comments", agent_token, status=201,
                      json={"text": "We are refunding the second charge."})
    assert reply["internal"] is False
    resolved = portal.ok("POST", f"/api/v1/ops/tickets/{tid}/resolve", agent_token,
                         json={"resolution": "Refunded the duplicate charge."})
    assert resolved["status"] == "resolved" and resolved["resolution"]

    theirs = portal.ok("GET", f"/api/v1/tickets/{tid}", customer)
    texts = [e["text"] for e in theirs["history"] if e["kind"] == "comment"]
    assert texts == ["We are refunding the second charge."]
    kinds = {e["kind"] for e in theirs["history"]}
    assert "resolved" in kinds and not {"assigned", "priority_changed", "alerted"} & kinds
    agent_entry = next(e for e in theirs["history"] if e["kind"] == "comment")
    assert agent_entry["actor"] == {"type": "agent", "name": "Ann"}
    assert theirs["status"] == "resolved" and theirs["reopen_until"]
    assert portal.ok("GET", "/api/v1/tickets?status=done", customer)["data"][0]["id"] == tid




def test_a_customer_s_tickets_and_the_queue_page_through_every_row_once(portal, admin):
    customer = portal.customer()
    raised = [portal.ok("POST", "/api/v1/tickets", customer, status=201,
                        json={**TICKET, "subject": f"Charged twice ({n})"})["id"]
              for n in range(5)]
    mine = walk(portal, customer, "/api/v1/tickets", 2)
    assert [t["id"] for t in mine] == raised[::-1]  # newest first, each once
    numbers = [t["number"] for t in mine]
    assert numbers == sorted(numbers, reverse=True) and len(set(numbers)) == 5
    assert [t["id"] for t in walk(portal, customer, "/api/v1/tickets?status=open", 2)] == \
        raised[::-1]
    whole = portal.ok("GET", "/api/v1/tickets?limit=5", customer)
    assert len(whole["data"]) == 5 and whole["has_more"] is False
    cut = portal.ok("GET", "/api/v1/tickets?limit=4", customer)
    assert len(cut["data"]) == 4 and cut["has_more"] is True and cut["next_cursor"]
    for bad in ("%25%25", "12", "x" * 201):
        refused = portal("GET", f"/api/v1/tickets?cursor={bad}", customer)
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.json()["error"]["code"] == "VALIDATION_FAILED"

    team = portal.ok("GET", f"/api/v1/tickets/{raised[0]}", customer)["team"]
    queue = walk(portal, admin, f"/api/v1/ops/tickets?team={team}&status=open", 2)
    ids = [t["id"] for t in queue]
    assert len(ids) == len(set(ids)) and set(raised) <= set(ids)
    keys = [(t["priority"], t["created_at"]) for t in queue]
    assert keys == sorted(keys)  # most urgent first, then the oldest
    refused = portal("GET", "/api/v1/ops/tickets?cursor=12", admin)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "VALIDATION_FAILED"
    # one customer's tickets, as the queue's `customer` filter says (not another's)
    portal.ok("POST", "/api/v1/tickets", portal.customer(), status=201, json=TICKET)
    owner = portal.ok("GET", f"/api/v1/ops/tickets/{raised[0]}", admin)["customer_id"]
    theirs = walk(portal, admin, f"/api/v1/ops/tickets?customer={owner}", 2)
    assert sorted(t["id"] for t in theirs) == sorted(raised)


def test_agents_act_on_their_own_teams_tickets_and_supervisors_on_every_team_s(portal, admin):
    customer = portal.customer()
    ticket = portal.ok("POST", "/api/v1/tickets", customer, status=201, json=TICKET)
    tid, team = ticket["id"], ticket["team"]
    _, mine = agent(portal, admin, teams=[team])
    _, other = agent(portal, admin, teams=[team_name()])
    _, supervisor = agent(portal, admin, role="supervisor")

    assert tid in [t["id"] for t in portal.ok("GET", "/api/v1/ops/tickets", mine)["data"]]
    assert portal.ok("GET", "/api/v1/ops/tickets", other)["data"] == []
    assert portal.ok("GET", f"/api/v1/ops/tickets?team={team}", other)["data"] == []
    for method, path, body in (
            ("GET", f"/api/v1/ops/tickets/{tid}", None),
            ("POST", f"/api/v1/ops/tickets/{tid}/acknowledge", None),
            ("POST", f"/api/v1/ops/tickets/{tid}/comments", {"text": "hello"}),
            ("PATCH", f"/api/v1/ops/tickets/{tid}", {"priority": "P1"}),
            ("POST", f"/api/v1/ops/tickets/{tid}/resolve", {"resolution": "Done."})):
        refused = portal(method, path, other, json=body)
        assert refused.status_code == 404, (path, refused.text)  # as if it did not exist
    assert portal.ok("GET", f"/api/v1/ops/tickets/{tid}", supervisor)["status"] != "resolved"
    assert tid in [t["id"] for t in portal.ok("GET", "/api/v1/ops/tickets",
                                              supervisor)["data"]]
    portal.ok("POST", f"/api/v1/ops/tickets/{tid}/acknowledge", mine)
    assert portal.ok("POST", f"/api/v1/ops/tickets/{tid}/resolve", supervisor,
                     json={"resolution": "Refunded."})["status"] == "resolved"
    # a supervisor runs the desk; an agent does not
    assert portal("POST", "/api/v1/ops/faq", other, json={
        "question": "Why?", "answer": "Because.", "category": "billing"}).status_code == 403


def test_rules_policies_incident_rules_silences_categories_and_faq_round_trip(portal, admin):
    name = team_name()
    portal.ok("POST", "/api/v1/ops/teams", admin, status=201, json={"name": name})

    # escalation policies
    policy_body = {"name": "Billing, then the lead", "repeat": 1, "steps": [
        {"delay_minutes": 15, "target": {"type": "team", "team": name}},
        {"delay_minutes": 30, "target": {"type": "lead"}}]}
    policy = portal.ok("POST", "/api/v1/ops/escalation-policies", admin, status=201,
                       json=policy_body)
    assert policy["id"] and policy["steps"] == policy_body["steps"] and policy["repeat"] == 1
    assert "steps.0.delay_minutes" in fields_of(portal(
        "POST", "/api/v1/ops/escalation-policies", admin, json={
            **policy_body, "steps": [{"delay_minutes": -1, "target": {"type": "lead"}}]}))
    assert "repeat" in fields_of(portal("POST", "/api/v1/ops/escalation-policies", admin,
                                        json={**policy_body, "repeat": 11}))
    replaced = portal.ok("PUT", f"/api/v1/ops/escalation-policies/{policy['id']}", admin,
                         json={**policy_body, "repeat": 0})
    assert replaced["repeat"] == 0
    assert [p["id"] for p in portal.ok("GET", "/api/v1/ops/escalation-policies",
                                       admin)["data"]] == [policy["id"]]

    # routing rules, the default route, and trying them
    rule_body = {"position": 10, "description": "Billing to the new team",
                 "match": [{"field": "category", "op": "=", "value": "billing"},
                           {"field": "keywords", "op": "=~", "value": "charged|refund"}],
                 "team": name, "priority": "P2", "escalation_policy": policy["id"],
                 "continue": False}
    rule = portal.ok("POST", "/api/v1/ops/routing-rules", admin, status=201, json=rule_body)
    assert rule["id"] and rule["match"] == rule_body["match"] and rule["continue"] is False
    assert "match.0.value" in fields_of(portal("POST", "/api/v1/ops/routing-rules", admin, json={
        **rule_body, "match": [{"field": "keywords", "op": "=~", "value": "(unclosed"}]}))
    assert "match.0.field" in fields_of(portal("POST", "/api/v1/ops/routing-rules", admin,
                                               json={**rule_body, "match": [
                                                   {"field": "mood", "value": "angry"}]}))
    rules = portal.ok("GET", "/api/v1/ops/routing-rules", admin)
    assert [r["id"] for r in rules["data"]] == [rule["id"]] and rules["default"]["team"]
    tried = portal.ok("POST", "/api/v1/ops/routing-rules/test", admin,
                      json={"category": "billing", "subject": "I was charged twice"})
    assert tried["decisions"] == [{"team": name, "priority": "P2",
                                   "escalation_policy": policy["id"], "rule_id": rule["id"]}]
    default = portal.ok("PUT", "/api/v1/ops/routing-rules/default", admin,
                        json={"team": name, "escalation_policy": None})
    assert default == {"team": name, "escalation_policy": None}
    assert portal.ok("POST", "/api/v1/ops/routing-rules/test", admin,
                     json={"category": "general"})["decisions"][0]["rule_id"] is None
    customer = portal.customer()
    routed = portal.ok("POST", "/api/v1/tickets", customer, status=201, json=TICKET)
    assert routed["team"] == name and routed["priority"] == "P2"
    moved = portal.ok("PUT", f"/api/v1/ops/routing-rules/{rule['id']}", admin,
                      json={**rule_body, "position": 5, "continue": True})
    assert moved["position"] == 5 and moved["continue"] is True
    assert portal("DELETE", f"/api/v1/ops/routing-rules/{rule['id']}", admin).status_code == 204
    assert portal.ok("GET", "/api/v1/ops/routing-rules", admin)["data"] == []
    assert portal("DELETE", f"/api/v1/ops/routing-rules/{rule['id']}",
                  admin).status_code == 404
    in_use = portal("DELETE", f"/api/v1/ops/teams/{name}", admin)
    assert in_use.status_code == 409 and in_use.json()["error"]["code"] == "TEAM_IN_USE"
    assert portal("DELETE", f"/api/v1/ops/escalation-policies/{policy['id']}",
                  admin).status_code == 204
    assert portal.ok("GET", "/api/v1/ops/escalation-policies", admin)["data"] == []

    # incident rules
    incident_rule = portal.ok("POST", "/api/v1/ops/incident-rules", admin, status=201, json={
        "name": "Outage by region", "group_by": ["region"], "window_minutes": 30,
        "match": [{"field": "category", "op": "=", "value": "service_interruption"}]})
    assert incident_rule["group_by"] == ["region"] and incident_rule["window_minutes"] == 30
    assert "group_by.0" in fields_of(portal("POST", "/api/v1/ops/incident-rules", admin, json={
        "name": "x", "group_by": ["keywords"], "window_minutes": 30,
        "match": [{"field": "category", "value": "general"}]}))
    assert [r["id"] for r in portal.ok("GET", "/api/v1/ops/incident-rules",
                                       admin)["data"]] == [incident_rule["id"]]
    assert portal("DELETE", f"/api/v1/ops/incident-rules/{incident_rule['id']}",
                  admin).status_code == 204
    assert portal.ok("GET", "/api/v1/ops/incident-rules", admin)["data"] == []
    assert portal.ok("GET", "/api/v1/ops/incidents?status=open", admin)["data"] == []
    assert "status" in fields_of(portal("GET", "/api/v1/ops/incidents?status=later", admin))
    assert portal("GET", "/api/v1/ops/incidents/inc_doesnotexist", admin).status_code == 404

    # silences
    ends = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat()
    silence = portal.ok("POST", "/api/v1/ops/silences", admin, status=201,
                        json={"team": name, "ends_at": ends, "reason": "Planned maintenance"})
    assert silence["active"] is True and silence["team"] == name and silence["created_by"]
    assert "team" in fields_of(portal("POST", "/api/v1/ops/silences", admin,
                                      json={"ends_at": ends, "reason": "nothing named"}))
    assert "ends_at" in fields_of(portal("POST", "/api/v1/ops/silences", admin,
                                         json={"team": name, "ends_at": "tomorrow",
                                               "reason": "bad date"}))
    active = portal.ok("GET", "/api/v1/ops/silences?active=true", admin)["data"]
    assert [s["id"] for s in active] == [silence["id"]]
    expired = portal.ok("DELETE", f"/api/v1/ops/silences/{silence['id']}", admin)
    assert expired["id"] == silence["id"] and expired["active"] is False
    assert portal.ok("GET", "/api/v1/ops/silences?active=true", admin)["data"] == []
    assert [s["id"] for s in portal.ok("GET", "/api/v1/ops/silences",
                                       admin)["data"]] == [silence["id"]]
    # more silences than a page: walked two at a time, each once, the longest-lasting first
    made = [portal.ok("POST", "/api/v1/ops/silences", admin, status=201, json={
        "team": name, "reason": f"Window {n}",
        "ends_at": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3 + n)).isoformat()})["id"]
        for n in range(4)]
    walked = [s["id"] for s in walk(portal, admin, "/api/v1/ops/silences", 2)]
    assert walked == [*reversed(made), silence["id"]]

    # ticket categories
    category = portal.ok("POST", "/api/v1/ops/ticket-categories", admin, status=201, json={
        "code": "device_fault", "name": "Device fault", "urgency": "medium", "impact": "high",
        "required_fields": ["subscription_id"]})
    assert category["priority"] == "P2" and category["active"] is True
    assert "urgency" in fields_of(portal("POST", "/api/v1/ops/ticket-categories", admin,
                                         json={"code": "x_y", "name": "X", "urgency": "now",
                                               "impact": "low"}))
    retired = portal.ok("PUT", "/api/v1/ops/ticket-categories/device_fault", admin, json={
        "name": "Device fault", "urgency": "medium", "impact": "high", "active": False})
    assert retired["active"] is False
    assert "code" in fields_of(portal("PUT", "/api/v1/ops/ticket-categories/device_fault",
                                      admin, json={"code": "other", "name": "D",
                                                   "urgency": "low", "impact": "low"}))
    # a code no category can have (the path is not checked by the document): not found
    odd = portal("PUT", "/api/v1/ops/ticket-categories/%22%C2%BF3", admin, json={
        "name": "D", "urgency": "low", "impact": "low"})
    assert odd.status_code == 404 and odd.json()["error"]["code"] == "CATEGORY_NOT_FOUND"
    assert "device_fault" not in [c["code"] for c in portal.ok(
        "GET", "/api/v1/ticket-categories", customer)["data"]]
    assert "device_fault" in [c["code"] for c in portal.ok(
        "GET", "/api/v1/ops/ticket-categories?inactive=true", admin)["data"]]

    # the FAQ: ops write it, customers search it in their language
    entry = portal.ok("POST", "/api/v1/ops/faq", admin, status=201, json={
        "category": "billing", "language": "en", "question": "Why was I charged twice?",
        "answer": "A renewal and a prorated change can fall on the same day."})
    german = portal.ok("POST", "/api/v1/ops/faq", admin, status=201, json={
        "category": "billing", "language": "de", "question": "Warum zweimal belastet?",
        "answer": "Verlängerung und Wechsel am selben Tag."})
    found = portal.ok("GET", "/api/v1/faq?q=charged%20twice", customer)["data"]
    assert [e["id"] for e in found] == [entry["id"]]
    assert set(found[0]) >= {"id", "category", "language", "question", "answer"}
    assert portal.ok("GET", "/api/v1/faq?q=nothing%20like%20this", customer)["data"] == []
    # LIKE's wildcards in a search are plain characters, not "anything"
    assert portal.ok("GET", "/api/v1/faq?q=%25", customer)["data"] == []
    assert portal.ok("GET", "/api/v1/faq?q=charged_twice", customer)["data"] == []
    assert [e["id"] for e in portal.ok("GET", "/api/v1/faq?language=de",
                                       customer)["data"]] == [german["id"]]
    german_customer = portal.customer(language="de")
    assert [e["id"] for e in portal.ok("GET", "/api/v1/faq",
                                       german_customer)["data"]] == [german["id"]]
    assert "language" in fields_of(portal("GET", "/api/v1/faq?language=xx", customer))
    changed = portal.ok("PUT", f"/api/v1/ops/faq/{entry['id']}", admin, json={
        "category": "billing", "language": "en", "question": "Why was I charged twice?",
        "answer": "Usually a renewal and a change on the same day."})
    assert changed["answer"].startswith("Usually")
    assert "answer" in fields_of(portal("PUT", f"/api/v1/ops/faq/{entry['id']}", admin,
                                        json={"category": "billing", "language": "en",
                                              "question": "Why?", "answer": "x" * 5001}))
    assert portal("DELETE", f"/api/v1/ops/faq/{entry['id']}", admin).status_code == 204
    assert [e["id"] for e in portal.ok("GET", "/api/v1/ops/faq", admin)["data"]] == [
        german["id"]]
    assert portal("DELETE", f"/api/v1/ops/faq/{entry['id']}", admin).status_code == 404


def prepaid_customer_with_a_subscription(portal):
    token = portal.customer(billing_type="prepaid")
    card = portal.ok("POST", "/api/v1/me/payment-methods", token, status=201, json={
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123",
        "holder": "Ann"})
    portal.ok("POST", "/api/v1/wallet/top-ups", token, status=201, json={
        "amount": {"amount": 5000, "currency": "EUR"}, "payment_method_id": card["id"]},
        headers={"Idempotency-Key": uuid.uuid4().hex})
    subscription = portal.ok("POST", "/api/v1/subscriptions", token, status=201,
                             json={"package": "basic"})
    return token, subscription


def test_an_outage_is_one_incident_resolved_with_a_credit_for_each_customer_once(portal,
                                                                                 admin):
    rule = portal.ok("POST", "/api/v1/ops/incident-rules", admin, status=201, json={
        "name": "Outage by region", "group_by": ["region"], "window_minutes": 30,
        "match": [{"field": "category", "op": "=", "value": "service_interruption"}]})
    customers = [prepaid_customer_with_a_subscription(portal) for _ in range(2)]
    raised = [portal.ok("POST", "/api/v1/tickets", token, status=201, json={
        "category": "service_interruption", "subject": "No picture",
        "description": "Every channel is black.", "subscription_id": subscription["id"]})
        for token, subscription in customers]
    incident_ref = raised[0]["incident"]
    assert incident_ref["id"].startswith("inc_") and incident_ref["status"] == "open"
    assert raised[1]["incident"] == incident_ref

    listed = portal.ok("GET", "/api/v1/ops/incidents?status=open", admin)["data"]
    assert [i["id"] for i in listed] == [incident_ref["id"]]
    assert listed[0]["rule_id"] == rule["id"] and listed[0]["ticket_count"] == 2
    assert listed[0]["customer_count"] == 2 and listed[0]["resolved_at"] is None
    incident = portal.ok("GET", f"/api/v1/ops/incidents/{incident_ref['id']}", admin)
    assert {t["id"] for t in incident["tickets"]} == {t["id"] for t in raised}
    assert all("customer_id" in t for t in incident["tickets"])
    acked = portal.ok("POST", f"/api/v1/ops/incidents/{incident_ref['id']}/acknowledge",
                      admin)
    assert acked["acknowledged_at"] and acked["status"] == "open"

    path = f"/api/v1/ops/incidents/{incident_ref['id']}/resolve"
    once = {"Idempotency-Key": "resolve-check"}
    assert "credit.amount" in fields_of(portal("POST", path, admin, headers=once, json={
        "resolution": "Fixed", "credit": {"amount": 0, "currency": "EUR"}}))
    assert "resolution" in fields_of(portal("POST", path, admin, json={}, headers=once))
    balances = [portal.ok("GET", "/api/v1/wallet", token)["balance"]["amount"]
                for token, _ in customers]
    body = {"resolution": "The regional head-end was restarted.",
            "credit": {"amount": 500, "currency": "EUR"}}
    resolved = portal.ok("POST", path, admin, json=body, headers={"Idempotency-Key": "outage"})
    assert resolved["status"] == "resolved" and resolved["credit"] == body["credit"]
    assert sum(resolved["credits"].values()) == 2
    assert portal.ok("POST", path, admin, json=body,  # a retry, with a new key: the same
                     headers={"Idempotency-Key": "outage-2"})["id"] == resolved["id"]

    def granted():
        shown = portal.ok("GET", f"/api/v1/ops/incidents/{incident_ref['id']}", admin)
        return shown["credits"]["granted"] == 2 and shown
    assert eventually(granted, timeout=30), "the service credits were not granted"
    for (token, _), before in zip(customers, balances, strict=True):
        assert portal.ok("GET", "/api/v1/wallet", token)["balance"]["amount"] == before + 500
    for (token, _), ticket in zip(customers, raised, strict=True):
        theirs = portal.ok("GET", f"/api/v1/tickets/{ticket['id']}", token)
        assert theirs["status"] == "resolved"
        assert theirs["incident"]["status"] == "resolved"
