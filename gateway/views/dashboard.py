"""The main page in one call: every part from the gateway's read cache, or asked of its service
in parallel within a deadline.

A part whose service is slow or down is answered `{"unavailable": true}` and the rest of the
page still renders. The account part needs no call: authentication already returned it. The
other parts' last complete answers are kept per customer by `gateway/readcache.py` (evicted by
the services' events and by the gateway's own writes, see there); a request with
`Cache-Control: no-cache` asks every part afresh (and stores what it gets).
"""

from __future__ import annotations

import logging
import time

from gateway.http import Call
from gateway.readcache import BILLING, NOTIFIER, TICKETS
from services.common import config as keys
from services.common import errors

log = logging.getLogger(__name__)
DEFAULT_DEADLINE_SECONDS = 1.0


def _fresh_wanted(call: Call) -> bool:
    directives = call.request.headers.get("Cache-Control", "").lower()
    return "no-cache" in directives or "max-age=0" in directives


def parts(gw, call: Call) -> dict[str, dict | None]:
    """Each part's answer (None: unavailable), from the cache or its service."""
    me = call.principal.account
    cache = gw.views
    calls = {BILLING: (gw.billing, "dashboard", me["id"], me["currency"], me["billing_type"]),
             TICKETS: (gw.tickets, "open_tickets", me["id"]),
             NOTIFIER: (gw.notifier, "unread_count", me["id"])}
    token = cache.begin()
    answers: dict[str, dict | None] = {}
    if not _fresh_wanted(call):
        for name, (_, _, *args) in calls.items():
            cached = cache.get(me["id"], name, tuple(args))
            if cached is not None:
                answers[name] = cached
    missing = [name for name in calls if name not in answers]
    if not missing:
        return answers
    deadline = float(gw.config.get(keys.DASHBOARD_DEADLINE_SECONDS) or DEFAULT_DEADLINE_SECONDS)
    until = time.monotonic() + deadline
    pending = {}
    for name in missing:
        proxy, method, *args = calls[name]
        try:
            pending[name] = proxy.start(method, *args)
        except errors.ServiceUnavailable:
            answers[name] = None
    for name, reply in pending.items():
        try:
            answers[name] = reply.wait(until)
        except errors.ServiceUnavailable:
            answers[name] = None
            continue
        except Exception:  # noqa: BLE001 - a failing part degrades, the page still renders
            log.exception("dashboard part %s failed", name)
            answers[name] = None
            continue
        # only complete answers are kept, and only if nothing evicted the part meanwhile
        cache.put(me["id"], name, answers[name], token, tuple(calls[name][2:]))
    return answers


def dashboard(gw, call: Call) -> dict:
    me = call.principal.account
    answers = parts(gw, call)
    billing = answers.get(BILLING)
    view = {
        "account": {k: me[k] for k in ("id", "name", "billing_type", "currency", "language")},
        "subscriptions": ({"unavailable": True, "data": []} if billing is None else
                          {"unavailable": False, "data": billing["subscriptions"]}),
    }
    part = "wallet" if me["billing_type"] == "prepaid" else "bills"
    view[part] = ({"unavailable": True} if billing is None else
                  {"unavailable": False, **billing[part]})
    tickets = answers.get(TICKETS)
    view["open_tickets"] = ({"unavailable": True} if tickets is None else
                            {"unavailable": False, "count": tickets["count"],
                             "latest": tickets["latest"]})
    unread = answers.get(NOTIFIER)
    view["unread_notifications"] = ({"unavailable": True} if unread is None else
                                    {"unavailable": False, "count": unread["unread_count"]})
    return view
