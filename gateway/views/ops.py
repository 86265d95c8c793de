"""Operations: finding customers, viewing an account as support sees it, portal links, roles."""

from __future__ import annotations

from gateway.http import Call, Reply


def find_customers(gw, call: Call) -> dict:
    q = call.query
    return gw.accounts.find_customers(q.get("q"), q["limit"], q.get("cursor"))


def get_customer(gw, call: Call) -> dict:
    return gw.accounts.get_account(call.path["customer_id"])


def issue_portal_link(gw, call: Call) -> Reply:
    link = gw.accounts.issue_portal_link(call.path["customer_id"], call.principal.customer_id)
    return Reply(link, status=201)


def revoke_portal_link(gw, call: Call) -> dict:
    return gw.accounts.revoke_portal_link(call.path["customer_id"])


def set_role(gw, call: Call) -> dict:
    before = gw.accounts.get_account(call.path["customer_id"])
    call.audit["before"] = {"role": before["role"], "teams": before.get("teams") or []}
    account = gw.accounts.set_role(call.path["customer_id"], call.body)
    call.audit["after"] = {"role": account["role"], "teams": account.get("teams") or []}
    gw.sessions.evict_customer(account["id"])
    return account
