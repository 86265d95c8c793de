"""Staff permissions, money bounds, maker-checker approvals and the audit log, through the
gateway on the real services, RabbitMQ and PostgreSQL."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from deploy import demo
from tests.integration.conftest import eventually


@pytest.fixture
def portal(start_portal):
    return start_portal(STAFF_LIMITS={"agent": {"per_action": 5000, "per_day": 8000}})


@pytest.fixture
def admin(portal):
    return demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])


def staff(portal, admin, role, teams=()):
    token = portal.customer()
    account_id = portal.ok("GET", "/api/v1/me", token)["id"]
    portal.ok("PATCH", f"/api/v1/ops/customers/{account_id}", admin,
              json={"role": role, "teams": list(teams)})
    return account_id, token


def credit(portal, token, customer_id, amount, key):
    return portal("POST", f"/api/v1/ops/customers/{customer_id}/wallet/adjustments", token,
                  json={"amount": {"amount": amount, "currency": "EUR"},
                        "reason": "goodwill for the outage"},
                  headers={"Idempotency-Key": key})


def balance(portal, token):
    return portal.ok("GET", "/api/v1/wallet", token)["balance"]["amount"]


def test_an_agent_credits_within_bounds_and_a_supervisor_approves_above_them(portal, admin):
    customer = portal.customer("prepaid")
    customer_id = portal.ok("GET", "/api/v1/me", customer)["id"]
    agent_id, agent = staff(portal, admin, "agent")
    _, other_agent = staff(portal, admin, "agent")
    supervisor_id, supervisor = staff(portal, admin, "supervisor")

    assert credit(portal, agent, customer_id, 5000, "a1").status_code == 201
    assert balance(portal, customer) == 5000
    held = credit(portal, agent, customer_id, 5001, "a2")  # above the per-action bound
    assert held.status_code == 202, held.text
    approval = held.json()
    assert (approval["status"], approval["reason"], approval["requested_by"]) == (
        "pending", "per_action", agent_id)
    assert balance(portal, customer) == 5000  # nothing moved
    assert credit(portal, agent, customer_id, 5001, "a2").json()["id"] == approval["id"]
    day = credit(portal, agent, customer_id, 3001, "a3")  # 5,000 + 3,001 > 8,000 today
    assert day.status_code == 202 and day.json()["reason"] == "per_day"
    assert credit(portal, agent, customer_id, -1000, "a4").status_code == 201  # a debit

    pending = portal.ok("GET", "/api/v1/ops/approvals?status=pending", supervisor)["data"]
    assert {a["id"] for a in pending} == {approval["id"], day.json()["id"]}
    path = f"/api/v1/ops/approvals/{approval['id']}"
    assert portal("POST", f"{path}/approve", other_agent, json={}).status_code == 403
    assert portal("POST", f"{path}/approve", agent, json={}).status_code == 403
    with ThreadPoolExecutor(3) as pool:  # a double click and a retry, at once
        answers = list(pool.map(lambda _: portal("POST", f"{path}/approve", supervisor,
                                                 json={"note": "outage week"}), range(3)))
    assert [a.status_code for a in answers] == [200] * 3, [a.text for a in answers]
    done = portal.ok("GET", path, supervisor)
    assert (done["status"], done["decided_by"], done["note"]) == (
        "executed", supervisor_id, "outage week")
    assert done["result"]["transaction"]["amount"]["amount"] == 5001
    assert balance(portal, customer) == 5000 - 1000 + 5001  # credited once
    rejected = portal.ok("POST", f"/api/v1/ops/approvals/{day.json()['id']}/reject", admin,
                         json={"note": "ask finance"})
    assert rejected["status"] == "rejected"
    assert balance(portal, customer) == 9001
    report = portal.ok("GET", "/api/v1/ops/ledger/verify", admin)
    assert report["ok"] is True


def test_each_role_reaches_what_it_may_and_no_more(portal, admin):
    _, agent = staff(portal, admin, "agent")
    _, finance = staff(portal, admin, "finance")
    _, supervisor = staff(portal, admin, "supervisor")
    batch = {"type": "print", "value": {"amount": 1000, "currency": "EUR"}, "count": 5,
             "valid_until": "2030-01-01T00:00:00Z", "description": "Shop cards"}
    key = {"Idempotency-Key": "batch-1"}
    assert portal("POST", "/api/v1/ops/voucher-batches", agent, json=batch,
                  headers=key).status_code == 403  # agents mint no codes
    assert portal("POST", "/api/v1/ops/voucher-batches", supervisor, json=batch,
                  headers=key).status_code == 403
    assert portal("POST", "/api/v1/ops/voucher-batches", finance, json=batch,
                  headers=key).status_code == 202
    assert portal("POST", "/api/v1/ops/catalog/packages", finance, json={
        "code": "cheap", "name": "Cheap", "price": {"amount": 1, "currency": "EUR"}}
    ).status_code == 403  # prices are the admin's
    assert portal("GET", "/api/v1/ops/audit-log", supervisor).status_code == 403
    assert portal("GET", "/api/v1/ops/ledger/verify", agent).status_code == 403
    assert portal("GET", "/api/v1/ops/ledger/verify", finance).status_code == 200
    assert portal("POST", "/api/v1/ops/approvals/apr_x/approve", agent,
                  json={}).status_code == 403
    credit_all = portal("POST", "/api/v1/ops/incidents/inc_x/resolve", agent, json={
        "resolution": "Fixed.", "credit": {"amount": 500, "currency": "EUR"}},
        headers={"Idempotency-Key": "inc-1"})
    assert credit_all.status_code == 403  # before the incident is even looked up
    assert portal("POST", "/api/v1/ops/incidents/inc_x/resolve", agent, json={
        "resolution": "Fixed."}, headers={"Idempotency-Key": "inc-2"}).status_code == 404
    me = portal.ok("GET", "/api/v1/me", agent)
    assert "wallet.adjust" in me["permissions"] and "vouchers.issue" not in me["permissions"]
    assert portal.ok("GET", "/api/v1/me", portal.customer())["permissions"] == []


def test_staff_actions_and_security_events_are_in_the_audit_log(portal, admin):
    customer = portal.customer("prepaid")
    customer_id = portal.ok("GET", "/api/v1/me", customer)["id"]
    agent_id, agent = staff(portal, admin, "agent", teams=["noc"])
    assert credit(portal, agent, customer_id, 700, "k1").status_code == 201
    held = credit(portal, agent, customer_id, 9000, "k2").json()
    assert portal("GET", "/api/v1/ops/ledger/verify", agent).status_code == 403  # a read
    assert portal("POST", "/api/v1/ops/faq", agent, json={
        "question": "Why?", "answer": "Because.", "category": "billing"}).status_code == 403

    def entries(**query):
        return portal.ok("GET", "/api/v1/ops/audit-log", admin, params=query)["data"]

    mine = eventually(lambda: len(entries(actor_id=agent_id)) >= 4 and entries(
        actor_id=agent_id))
    by_action = {(e["action"], e["outcome"]): e for e in mine}
    done = by_action[("wallet_adjustment", "ok")]
    assert done["target"] == f"customer:{customer_id}" and done["actor_role"] == "agent"
    assert done["details"]["before"] == {"balance": 0}
    assert done["details"]["after"] == {"balance": 700}
    assert done["session_id"] and done["request_id"].startswith("req_")
    assert by_action[("wallet_adjustment", "pending")]["details"]["approval"] == held["id"]
    refused = [e for e in mine if e["outcome"] == "refused"]
    assert [e["details"]["path"] for e in refused] == ["/api/v1/ops/faq"]
    assert refused[0]["details"]["error"] == "FORBIDDEN"
    assert not [e for e in mine if e["details"].get("method") == "GET"]  # reads are not

    roles = eventually(lambda: entries(action="set_role", target=f"customer:{agent_id}"))
    assert roles[0]["details"]["before"]["role"] == "customer"
    assert roles[0]["details"]["after"] == {"role": "agent", "teams": ["noc"]}
    logins = entries(action="login.password", target=f"customer:{customer_id}")
    assert logins and logins[0]["outcome"] == "ok"
    assert portal("GET", "/api/v1/ops/audit-log", agent).status_code == 403


def test_a_new_card_is_a_security_event_without_a_card_field(portal, admin):
    customer = portal.customer("prepaid")
    customer_id = portal.ok("GET", "/api/v1/me", customer)["id"]
    card = portal.ok("POST", "/api/v1/me/payment-methods", customer, status=201, json={
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "987",
        "holder": "Ann"})
    response = portal("GET", "/api/v1/ops/audit-log", admin,
                      params={"action": "card.added", "target": f"customer:{customer_id}"})
    entries = eventually(lambda: portal.ok("GET", "/api/v1/ops/audit-log", admin, params={
        "action": "card.added", "target": f"customer:{customer_id}"})["data"])
    assert response.status_code == 200 and len(entries) == 1
    assert entries[0]["details"]["payment_method"] == card["id"]
    assert entries[0]["details"]["last4"] == "4242" and entries[0]["client_ip"]
    assert "4242424242424242" not in str(entries)
    assert "987" not in [str(v) for v in entries[0]["details"].values()]  # no CVC field
