"""The main page in one call: every part asked of its service in parallel, within a deadline.

A part whose service is slow or down is answered `{"unavailable": true}` and the rest of the
page still renders. The account part needs no call: authentication already returned it.
"""

from __future__ import annotations

import logging
import time

from gateway.http import Call
from services.common import config as keys
from services.common import errors

log = logging.getLogger(__name__)
DEFAULT_DEADLINE_SECONDS = 1.0


def dashboard(gw, call: Call) -> dict:
    me = call.principal.account
    deadline = float(gw.config.get(keys.DASHBOARD_DEADLINE_SECONDS) or DEFAULT_DEADLINE_SECONDS)
    until = time.monotonic() + deadline
    parts = {"subscriptions": (gw.billing, "dashboard", me["id"], me["currency"],
                               me["billing_type"]),
             "open_tickets": (gw.tickets, "open_tickets", me["id"]),
             "unread_notifications": (gw.notifier, "unread_count", me["id"])}
    pending = {}
    answers: dict[str, dict | None] = {}
    for name, (proxy, method, *args) in parts.items():
        try:
            pending[name] = proxy.start(method, *args)
        except errors.ServiceUnavailable:
            answers[name] = None
    for name, reply in pending.items():
        try:
            answers[name] = reply.wait(until)
        except errors.ServiceUnavailable:
            answers[name] = None
        except Exception:  # noqa: BLE001 - a failing part degrades, the page still renders
            log.exception("dashboard part %s failed", name)
            answers[name] = None
    billing = answers.get("subscriptions")
    view = {
        "account": {k: me[k] for k in ("id", "name", "billing_type", "currency", "language")},
        "subscriptions": ({"unavailable": True, "data": []} if billing is None else
                          {"unavailable": False, "data": billing["subscriptions"]}),
    }
    part = "wallet" if me["billing_type"] == "prepaid" else "bills"
    view[part] = ({"unavailable": True} if billing is None else
                  {"unavailable": False, **billing[part]})
    tickets = answers.get("open_tickets")
    view["open_tickets"] = ({"unavailable": True} if tickets is None else
                            {"unavailable": False, "count": tickets["count"],
                             "latest": tickets["latest"]})
    unread = answers.get("unread_notifications")
    view["unread_notifications"] = ({"unavailable": True} if unread is None else
                                    {"unavailable": False, "count": unread["unread_count"]})
    return view
