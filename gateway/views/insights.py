"""Insights (the portal's Insights page, the console's analytics): spending over time from
billing, the budget, recommendations and the use of viewing data from the insights service, and
the operators' figures from billing and tickets at once (docs/insights.md).

Nothing here goes through the read cache (gateway/readcache.py keeps the dashboard's parts
only): a budget set or a recommendation dismissed is read back as it is now.
"""

from __future__ import annotations

import datetime as dt
import re
import time

from marshmallow import ValidationError

from gateway.http import Call, Reply
from gateway.schemas.insights import (
    DEFAULT_MONTHS,
    check_range,
    month_index,
    month_start,
)
from gateway.views.wallet import billing_facts
from services.common import errors
from services.common.schemas import flatten_messages

DEFAULT_VIEWING_DAYS = 60
OPS_DEADLINE_SECONDS = 5.0  # set-based queries over every subscription: more than a page's 1.5 s
BILLING_FIGURES = ("subscribers_by_package", "churn", "cancellation_reasons", "arpa",
                   "wallet_float", "overdue")
TICKETS_FIGURES = ("tickets_by_category", "time_to_resolve")
# what a recommendation id can be (the service's are short hashes; it stores up to 100
# characters); anything else is no id of ours, answered 404 without asking
RECOMMENDATION_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


def _me(call: Call) -> str:
    return call.principal.customer_id


def _currency(call: Call) -> str:
    return call.principal.account["currency"]


# spending -------------------------------------------------------------------------------------

def spending_range(start: dt.date | None, end: dt.date | None,
                   today: dt.date) -> tuple[dt.date, dt.date]:
    """The months asked for, `[start, end)` as first days of months (either missing) → both.
    Defaults: `end` after this month, `start` six months before `end`. 400 (on `from`) when
    that is no month, or more than 36."""
    end = end or month_start(month_index(today) + 1)
    start = start or month_start(month_index(end) - DEFAULT_MONTHS)
    try:
        check_range(start, end)
    except ValidationError as exc:
        raise errors.InvalidArgument("The months asked for are not a valid range.",
                                     fields=flatten_messages(exc.messages)) from None
    return start, end


def spending(gw, call: Call) -> dict:
    start, end = spending_range(call.query.get("start"), call.query.get("end"),
                                gw.clock.today())
    return gw.billing.spending(_me(call), start.isoformat(), end.isoformat(),
                               call.query["group"], account=billing_facts(call))


# the budget -----------------------------------------------------------------------------------

def _with_currency(call: Call, budget: dict) -> dict:
    """The budget view, with the currency its amounts are in (the account's)."""
    return {"currency": (budget.get("budget") or {}).get("currency") or _currency(call),
            **budget}


def budget(gw, call: Call) -> dict:
    return _with_currency(call, gw.insights.budget(_me(call)))


def set_budget(gw, call: Call) -> dict:
    amount, currency = call.body["amount"], _currency(call)
    if amount["currency"] != currency:
        raise errors.InvalidArgument(f"The budget is in the account's currency, {currency}.",
                                     fields={"amount.currency": [f"must be {currency}"]})
    return _with_currency(call, gw.insights.set_budget(_me(call), amount["amount"]))


def clear_budget(gw, call: Call) -> Reply:
    gw.insights.clear_budget(_me(call))
    return Reply(None, status=204)


# recommendations and viewing ------------------------------------------------------------------

def recommendations(gw, call: Call) -> dict:
    found = gw.insights.recommendations(_me(call), call.principal.account.get("language"))
    return {"data": found["data"], "has_more": False, "next_cursor": None}


def dismiss_recommendation(gw, call: Call) -> Reply:
    recommendation_id = call.path["recommendation_id"]
    if not RECOMMENDATION_ID.fullmatch(recommendation_id):
        raise errors.NotFound("No such recommendation.")
    gw.insights.dismiss_recommendation(_me(call), recommendation_id)
    return Reply(None, status=204)


def viewing(gw, call: Call) -> dict:
    return gw.insights.viewing(_me(call), call.query.get("days", DEFAULT_VIEWING_DAYS))


def set_viewing_use(gw, call: Call) -> dict:
    """The viewing as it is now (the last 60 days, as GET without `days`)."""
    return gw.insights.set_viewing_use(_me(call), call.body["use_viewing"], "insights")


# operations -----------------------------------------------------------------------------------

def ops_insights(gw, call: Call) -> dict:
    """billing's and tickets' figures asked in parallel, in one body; a service that does not
    answer in time leaves its figures empty and is named in `unavailable` (both: 503)."""
    months = call.query["months"]
    until = time.monotonic() + OPS_DEADLINE_SECONDS
    parts = {"billing": (gw.billing, BILLING_FIGURES), "tickets": (gw.tickets, TICKETS_FIGURES)}
    pending, unavailable = {}, []
    for name, (proxy, _) in parts.items():
        try:
            pending[name] = proxy.start("ops_insights", months)
        except errors.ServiceUnavailable:
            unavailable.append(name)
    body: dict = {"months": months}
    for name, (_, figures) in parts.items():
        answer: dict = {}
        if name in pending:
            try:
                answer = pending[name].wait(until)
            except errors.ServiceUnavailable:
                unavailable.append(name)
        body.update({figure: answer.get(figure, []) for figure in figures})
    if len(unavailable) == len(parts):
        raise errors.ServiceUnavailable("The figures' services did not answer in time.")
    body["unavailable"] = sorted(unavailable)
    return body


def recommendation_kinds(gw, call: Call) -> dict:
    return gw.insights.recommendation_kinds()


def set_recommendation_kinds(gw, call: Call) -> dict:
    return gw.insights.set_recommendation_kinds(call.body["kinds"])
