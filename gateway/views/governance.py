"""Staff governance in the agents' console: money created by staff within its bounds, approvals
by a second person above them (maker-checker), and the audit log.

A staff money action (a wallet credit, a credit note) first asks accounts
(`authorize_money`): within the staff member's bounds it runs at once; above them it is stored
as a pending approval and the answer is 202 with that approval. Approving runs the stored action
through `EXECUTORS` with the Idempotency-Key `approval:<id>`, so approving again after a crash
or a time-out runs it once; its outcome is recorded on the approval. The rules (roles, bounds,
who may decide) are accounts' and services/common/permissions.py's; the gateway only composes.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.http import Call, Reply, idempotency_key
from services.common import errors


def actor(call: Call) -> dict:
    """Who acts, as accounts and the audit log know them."""
    principal = call.principal
    return {"id": principal.customer_id, "role": principal.role,
            "session_id": principal.session_id, "email": principal.account.get("email")}


def _adjust_wallet(gw, params: dict, key: str, approver: str | None) -> dict:
    by = params["by"] + (f", approved by {approver}" if approver else "")
    return gw.billing.adjust_wallet(params["customer_id"], params["request"], by, key)


def _issue_credit_note(gw, params: dict, key: str, approver: str | None) -> dict:
    return gw.billing.issue_credit_note(params["invoice_id"], params["request"],
                                        params["by_id"], key)


# action → how to run it: (gw, the params stored with it, idempotency key, approver or None)
EXECUTORS: dict[str, Callable[[object, dict, str, str | None], dict]] = {
    "wallet.adjust": _adjust_wallet,
    "credit_note.issue": _issue_credit_note,
}


def _params(call: Call, **params) -> dict:
    """What running the action needs, with who asked (kept with an approval)."""
    return {**params, "by": call.principal.account.get("email"),
            "by_id": call.principal.customer_id}


def money_action(gw, call: Call, action: str, money: dict, params: dict,
                 customer_id: str | None) -> Reply:
    """Run a staff money action now if its maker's bounds allow it (201), else answer 202 with
    the approval it waits for. `money` (`{"amount", "currency"}`) is the money it creates: a
    debit creates none and runs without counting."""
    key = idempotency_key(call)  # the routes require one (`@api(idempotency="required")`)
    params = _params(call, **params)
    if money["amount"] > 0:
        decision = gw.accounts.authorize_money(actor(call), action, money["amount"],
                                               money["currency"], params, customer_id, key)
        if decision["decision"] != "allowed":
            call.audit["approval"] = decision["approval"]["id"]
            return Reply(decision["approval"], status=202)
    result = EXECUTORS[action](gw, params, key, None)
    call.audit.update(money_moved(result))
    return Reply(result, status=201)


def money_moved(result: dict) -> dict:
    """Before and after, for the audit log, of what an action's answer shows moved."""
    entry = (result or {}).get("transaction")
    if not entry or "balance_after" not in entry:
        return {}
    after = entry["balance_after"]["amount"]
    sign = 1 if entry.get("direction") == "credit" else -1
    return {"before": {"balance": after - sign * entry["amount"]["amount"]},
            "after": {"balance": after}, "currency": entry["amount"]["currency"]}


def adjust_wallet(gw, call: Call) -> Reply:
    """A wallet adjustment (a credit is money created: bounded; a debit is not)."""
    customer_id = call.path["customer_id"]
    return money_action(gw, call, "wallet.adjust", call.body["amount"],
                        {"customer_id": customer_id, "request": call.body}, customer_id)


def credit_note(gw, call: Call) -> Reply:
    return money_action(gw, call, "credit_note.issue", call.body["amount"],
                        {"invoice_id": call.path["invoice_id"], "request": call.body}, None)


def approvals(gw, call: Call) -> dict:
    return gw.accounts.list_approvals(call.query.get("status"), call.query["limit"],
                                      call.query.get("cursor"))


def approval(gw, call: Call) -> dict:
    return gw.accounts.get_approval(call.path["approval_id"])


def approve(gw, call: Call) -> dict:
    """Approve and run. A refusal by the owning service (the invoice was paid meanwhile, the
    account closed) is the approval's outcome (`failed`); a service that is down is a 503 and
    the approval stays approved: approving again runs it then."""
    approval_id = call.path["approval_id"]
    decided = gw.accounts.decide_approval(approval_id, actor(call), True,
                                          (call.body or {}).get("note"))
    if decided["status"] != "approved":
        return decided  # run before (executed or failed): its outcome stands
    run = EXECUTORS[decided["action"]]
    call.audit["approval"] = approval_id
    try:
        result = run(gw, decided["params"], f"approval:{approval_id}",
                     call.principal.account.get("email"))
        call.audit.update(money_moved(result))
    except errors.ServiceUnavailable:
        raise
    except errors.ServiceError as refused:
        return gw.accounts.finish_approval(approval_id, False, {
            "error": {"code": refused.code, "message": refused.message}})
    return gw.accounts.finish_approval(approval_id, True, result)


def reject(gw, call: Call) -> dict:
    return gw.accounts.decide_approval(call.path["approval_id"], actor(call), False,
                                       (call.body or {}).get("note"))


def audit_log(gw, call: Call) -> dict:
    q = call.query
    return gw.accounts.audit_log(q.get("actor_id"), q.get("action"), q.get("target"),
                                 q.get("since"), q.get("until"), q["limit"], q.get("cursor"))
