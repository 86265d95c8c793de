"""What the gateway adds to the audit trail: every staff write through the API (and the export
of voucher codes), whatever its outcome, and the customer security events only the gateway
sees (a card added or removed: who, when, from where; never a card field).

The entry is published as the event `staff_action` (persistent, with publisher confirms) and
stored by accounts, which owns the append-only audit log: an accounts restart loses none, and
a delivery twice stores one (the event id). Views add what only they know (`call.audit`: the
state before a change of money or permissions, the approval) to the entry's details.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

from werkzeug.wrappers import Response

from services.common import permissions
from services.common.events import make_envelope

log = logging.getLogger(__name__)

EVENT = "staff_action"
MAX_DETAIL_BYTES = 4096
STAFF_ACCESS = ("ops", "admin")
AUDITED_READS = {"ops_export_voucher_batch"}  # reads that hand out secrets (voucher codes)
CUSTOMER_EVENTS = {"add_payment_method": "card.added", "remove_payment_method": "card.removed"}
# a path parameter → the kind of thing it names (the entry's target)
TARGETS = {"customer_id": "customer", "ticket_id": "ticket", "invoice_id": "invoice",
           "batch_id": "voucher_batch", "serial": "voucher", "approval_id": "approval",
           "incident_id": "incident", "team": "team", "channel_id": "channel",
           "rule_id": "rule", "policy_id": "policy", "silence_id": "silence",
           "entry_id": "faq", "delivery_id": "delivery", "code": "code", "kind": "catalog",
           "device_id": "device", "broadcast_id": "broadcast", "run_id": "billing_run"}


def wanted(route, call) -> bool:
    """A staff route, called by someone signed in: every write, and the reads that hand out
    secrets; and the customer security events."""
    if call.principal is None:
        return False
    if route.name in CUSTOMER_EVENTS:
        return True
    staff_route = route.access in STAFF_ACCESS or "." in route.access
    return bool(staff_route and permissions.is_staff(call.principal.role)
                and (route.method != "GET" or route.name in AUDITED_READS))


def _customer_event(route, call, response: Response) -> dict:
    """Only who, when, where and the outcome: the request holds card data."""
    status = response.status_code
    result = response.get_json(silent=True) if status < 300 and response.is_json else None
    principal = call.principal
    return {"actor_id": principal.customer_id, "actor_role": principal.role,
            "session_id": principal.session_id, "client_ip": call.client_ip,
            "action": CUSTOMER_EVENTS[route.name],
            "target": f"customer:{principal.customer_id}",
            "outcome": "ok" if status < 400 else "refused" if status < 500 else "failed",
            "details": {"status": status, "payment_method": (result or {}).get("id")
                        or call.path.get("payment_method_id"),
                        "brand": (result or {}).get("brand"),
                        "last4": (result or {}).get("last4")},
            "request_id": call.request_id, "summary": None}


def _small(value) -> object:
    """`value` if its JSON is small, else a note of its size (the log is not a data store)."""
    try:
        text = json.dumps(value, default=str)
    except (TypeError, ValueError):
        return {"unserializable": True}
    return value if len(text) <= MAX_DETAIL_BYTES else {"truncated": len(text)}


def entry(route, call, response: Response) -> dict:
    if route.name in CUSTOMER_EVENTS:
        return _customer_event(route, call, response)
    status = response.status_code
    outcome = ("pending" if status == 202 else "ok" if status < 400
               else "refused" if status < 500 else "failed")
    target = next((f"{TARGETS.get(name, name)}:{value}" for name, value in call.path.items()),
                  None)
    details: dict = {"method": route.method, "path": call.request.path, "status": status,
                     "request": _small(call.body), **call.audit}
    if status < 300 and response.is_json:
        details["result"] = _small(response.get_json(silent=True))
    elif status >= 400 and response.is_json:
        details["error"] = (response.get_json(silent=True) or {}).get("error", {}).get("code")
    principal = call.principal
    return {"actor_id": principal.customer_id, "actor_role": principal.role,
            "session_id": principal.session_id, "client_ip": call.client_ip,
            "action": route.name.removeprefix("ops_"), "target": target[:200] if target
            else None, "outcome": outcome, "details": details, "request_id": call.request_id,
            "summary": f"{route.method} {call.request.path} → {status}"[:2000]}


def record(gw, route, call, response: Response) -> None:
    """Publish the entry; an unpublishable one is logged whole (never fails the answer)."""
    if not wanted(route, call):
        return
    item = entry(route, call, response)
    try:
        gw.audit_events(EVENT, make_envelope("entry", item, dt.datetime.now(dt.UTC)))
    except Exception:  # noqa: BLE001 - the answer stands; the entry is in the log
        log.exception("audit entry not published: %s", json.dumps(item, default=str))
