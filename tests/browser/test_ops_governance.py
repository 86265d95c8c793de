"""Browser test for Ops → Approvals and audit (gateway/static/pages/ops-governance.js): an
agent's wallet credit above their per-action limit waits for a second person, who approves it
in the console; the admin reads the audit log and filters it. Agents made by API (an admin
promotes a new account); the demo's limits apply (agents: 50.00 per action)."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import PASSWORD, Client, all_labelled, new_account, page_factory
from tests.browser.test_bills import ADMIN
from tests.browser.test_portal import log_in


@pytest.fixture
def make_page(pw_browser):
    yield from page_factory(pw_browser)


def staff(base, admin, name, role):
    email, client = new_account(base, name)
    me = client.call("GET", "/api/v1/me")
    admin.call("PATCH", f"/api/v1/ops/customers/{me['id']}", json={"role": role})
    return email, Client(base, email, PASSWORD), me["id"]


def test_a_supervisor_approves_an_agent_s_credit_and_the_admin_reads_the_audit_log(
        make_page, portal_url):
    admin = Client(portal_url, *ADMIN)
    _, customer = new_account(portal_url, "Cora Customer")
    customer_id = customer.call("GET", "/api/v1/me")["id"]
    _, agent, agent_id = staff(portal_url, admin, "Ada Agent", "agent")
    supervisor_email, _, _ = staff(portal_url, admin, "Sam Supervisor", "supervisor")
    held = agent.call("POST", f"/api/v1/ops/customers/{customer_id}/wallet/adjustments", 202,
                      json={"amount": {"amount": 7500, "currency": "EUR"},
                            "reason": "outage goodwill"},
                      headers={"Idempotency-Key": uuid.uuid4().hex})
    assert held["status"] == "pending"

    page = make_page()
    log_in(page, portal_url, supervisor_email, PASSWORD)
    page.get_by_test_id("nav-opsGovernance").click()
    governance = page.get_by_test_id("page-ops-governance")
    expect(governance.get_by_role("heading", name="Waiting for approval")).to_be_visible()
    expect(governance.get_by_test_id("audit-table")).to_have_count(0)  # admins only
    row = governance.locator(f"[data-testid=approval-row][data-id={held['id']}]")
    expect(row).to_contain_text("Wallet credit")
    expect(row).to_contain_text("€75.00")
    expect(row).to_contain_text("the limit per action")
    all_labelled(page, 1, "approvals")
    row.get_by_label("Note (optional)").fill("outage week")
    row.get_by_role("button", name="Approve").click()
    expect(governance.get_by_test_id("approvals-status")).to_contain_text(
        "Approved and done: €75.00.")
    expect(governance.locator(f"[data-id={held['id']}]")).to_have_count(0)
    assert customer.call("GET", "/api/v1/wallet")["balance"]["amount"] == 7500

    page = make_page()
    log_in(page, portal_url, *ADMIN)
    page.get_by_test_id("nav-opsGovernance").click()
    governance = page.get_by_test_id("page-ops-governance")
    governance.get_by_label("Staff account id").fill(agent_id)
    governance.get_by_role("button", name="Filter").click()
    audit = governance.get_by_test_id("audit-table")
    expect(audit.get_by_test_id("audit-row").first).to_contain_text("wallet_adjustment")
    expect(audit).to_contain_text("Waiting for approval")
    all_labelled(page, 3, "audit filters")
