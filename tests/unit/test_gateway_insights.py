"""The gateway's insights routes (gateway/views/insights.py, gateway/schemas/insights.py): what
they accept, the range of months they ask billing for, the body a refusal gets, what each asks
of which service, and who may call the operators' ones. Services are fakes; the real stack is
tests/integration/test_gateway_insights.py."""

import datetime as dt
import json
from types import SimpleNamespace

import pytest
from marshmallow import ValidationError
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway.auth import Principal
from gateway.http import Call, Reply
from gateway.schemas import insights as schemas
from gateway.service import GatewayService
from gateway.views import insights
from services.common import errors, permissions
from services.common.clock import TestClock

TODAY = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
ACCOUNT = {"id": "cus_1", "name": "Ann", "billing_type": "postpaid", "currency": "EUR",
           "language": "de", "role": "customer"}
D = dt.date


class Pending:
    def __init__(self, value=None, error=None):
        self.value, self.error = value, error

    def wait(self, until):
        if self.error:
            raise self.error
        return self.value


class Service:
    """A fake RPC proxy: answers per method (a value, an exception, or a callable of the
    arguments), and every call it got, in order, `start()`s included."""

    def __init__(self, **answers):
        self.answers, self.calls = answers, []

    def _answer(self, method, args, kwargs):
        self.calls.append((method, *args, *(kwargs.items())))
        answer = self.answers.get(method)
        if isinstance(answer, Exception):
            raise answer
        return answer(*args, **kwargs) if callable(answer) else answer

    def start(self, method, *args, **kwargs):
        try:
            return Pending(self._answer(method, args, kwargs))
        except errors.ServiceUnavailable:
            raise
        except errors.ServiceError as exc:
            return Pending(error=exc)

    def __getattr__(self, method):
        return lambda *args, **kwargs: self._answer(method, args, kwargs)


def gateway(**services):
    parts = {"billing": Service(), "tickets": Service(), "insights": Service(), **services}
    return SimpleNamespace(clock=TestClock(TODAY), config={}, **parts)


def call(query=None, body=None, path=None, account=ACCOUNT):
    request = Request(EnvironBuilder(path="/api/v1/insights").get_environ())
    return Call(request=request, request_id="req_1", client_ip=None,
                principal=Principal(account=account, session_id="ses_1", token="t"),
                query=query or {}, body=body or {}, path=path or {})


def load_query(**args):
    return schemas.SpendingQuery().load(args)


# spending: the months asked for --------------------------------------------------------------

@pytest.mark.parametrize(("given", "start", "end"), [
    ("2026-07", D(2026, 7, 1), D(2026, 8, 1)),  # a month is counted
    ("2026-07-01", D(2026, 7, 1), D(2026, 7, 1)),  # an end on the 1st: before that month
    ("2026-07-31", D(2026, 7, 1), D(2026, 8, 1)),  # a month begun is counted
    ("2024-02-29", D(2024, 2, 1), D(2024, 3, 1)),
    ("2099-12", D(2099, 12, 1), D(2100, 1, 1))])
def test_a_month_or_a_date_names_whole_months(given, start, end):
    assert load_query(**{"from": given})["start"] == start
    assert load_query(to=given)["end"] == end


@pytest.mark.parametrize("wrong", [
    "", "2026", "2026-7", "2026-13", "2026-00", "2026-02-30", "2025-02-29", "1999-12",
    "2026-07-01T00:00:00Z", "07/2026", "2026-07-1", " 2026-07", "2026-07\x00"])
def test_anything_else_is_refused_on_its_field(wrong):
    for name in ("from", "to"):
        with pytest.raises(ValidationError) as refused:
            load_query(**{name: wrong})
        assert list(refused.value.messages) == [name]


def test_a_range_is_one_month_to_36_else_it_is_refused_on_from():
    one = load_query(**{"from": "2026-12", "to": "2026-12"})
    assert (one["start"], one["end"]) == (D(2026, 12, 1), D(2027, 1, 1))
    # as the portal asks: the first day of the first month, the first day after the last
    six = load_query(**{"from": "2026-07-01", "to": "2027-01-01"})
    assert (six["start"], six["end"]) == (D(2026, 7, 1), D(2027, 1, 1))
    assert load_query(**{"from": "2024-01", "to": "2026-12-31"})["end"] == D(2027, 1, 1)
    for first, last in (("2026-12", "2026-11"), ("2026-12", "2026-12-01"),
                        ("2026-12-31", "2026-11-30"), ("2023-12", "2026-12")):
        with pytest.raises(ValidationError) as refused:
            load_query(**{"from": first, "to": last})
        assert list(refused.value.messages) == ["from"], (first, last)


def test_the_only_grouping_is_by_month_and_nothing_unknown_is_taken():
    assert load_query()["group"] == "month"
    for wrong in ({"group": "week"}, {"group": ""}, {"since": "2026-01"}):
        with pytest.raises(ValidationError):
            schemas.SpendingQuery().load(wrong)


def test_without_months_the_last_six_this_one_included():
    today = D(2026, 12, 4)
    assert insights.spending_range(None, None, today) == (D(2026, 7, 1), D(2027, 1, 1))
    assert insights.spending_range(None, D(2026, 4, 1), today) == (D(2025, 10, 1),
                                                                    D(2026, 4, 1))
    assert insights.spending_range(D(2026, 1, 1), None, today) == (D(2026, 1, 1),
                                                                    D(2027, 1, 1))
    assert insights.spending_range(D(2026, 12, 1), None, today) == (D(2026, 12, 1),
                                                                     D(2027, 1, 1))
    assert insights.spending_range(None, None, D(2027, 1, 31)) == (D(2026, 8, 1),
                                                                    D(2027, 2, 1))


def test_a_default_that_makes_the_range_wrong_is_a_400_on_from():
    today = D(2026, 12, 4)
    for first in (D(2027, 1, 1), D(2023, 12, 1)):
        with pytest.raises(errors.InvalidArgument) as refused:
            insights.spending_range(first, None, today)
        assert list(refused.value.fields) == ["from"]


def test_spending_asks_billing_for_whole_months_with_what_it_knows_of_the_account():
    answer = {"currency": "EUR", "group": "month", "periods": [], "totals": {}}
    gw = gateway(billing=Service(spending=answer))
    assert insights.spending(gw, call(query=load_query(**{"from": "2026-10-15"}))) == answer
    assert gw.billing.calls == [("spending", "cus_1", "2026-10-01", "2027-01-01", "month",
                                 ("account", {"billing_type": "postpaid", "currency": "EUR"}))]


# the budget -----------------------------------------------------------------------------------

BUDGET = {"budget": {"amount": 5000, "currency": "EUR"}, "month": "2026-12", "so_far": 1200,
          "projected": 4000, "percent": 24, "projected_percent": 80, "state": "ok"}


@pytest.mark.parametrize("wrong", [
    {}, {"amount": 0}, {"amount": 10**9 + 1}, {"amount": 50.0}, {"amount": "5000"},
    {"amount": False}, {"amount": [5000]}, {"amount": {"amount": 0, "currency": "EUR"}},
    {"amount": {"amount": -1, "currency": "EUR"}}, {"amount": {"amount": 10**9 + 1,
                                                               "currency": "EUR"}},
    {"amount": {"amount": 12.5, "currency": "EUR"}}, {"amount": {"amount": "5000",
                                                                 "currency": "EUR"}},
    {"amount": {"amount": True, "currency": "EUR"}}, {"amount": {"amount": 5000}},
    {"amount": {"amount": 5000, "currency": "EURO"}}, {"amount": None},
    {"amount": {"amount": 5000, "currency": "EUR"}, "state": "ok"}])
def test_a_budget_is_a_whole_positive_amount_of_money(wrong):
    with pytest.raises(ValidationError):
        schemas.BudgetIn().load(wrong)


def test_a_budget_is_money_in_the_account_s_currency():
    assert schemas.BudgetIn().load({"amount": {"amount": 5000, "currency": "EUR"}}) == {
        "amount": {"amount": 5000, "currency": "EUR"}}
    with pytest.raises(ValidationError):  # money is always {amount, currency} in this API
        schemas.BudgetIn().load({"amount": 10**9})
    gw = gateway(insights=Service(set_budget=BUDGET))
    insights.set_budget(gw, call(body=schemas.BudgetIn().load(
        {"amount": {"amount": 5000, "currency": "EUR"}})))
    assert gw.insights.calls == [("set_budget", "cus_1", 5000)]


def test_a_budget_in_another_currency_than_the_account_s_is_refused_unasked():
    gw = gateway()
    body = schemas.BudgetIn().load({"amount": {"amount": 5000, "currency": "USD"}})
    with pytest.raises(errors.InvalidArgument) as refused:
        insights.set_budget(gw, call(body=body))
    assert refused.value.fields == {"amount.currency": ["must be EUR"]}
    assert gw.insights.calls == []


def test_a_budget_is_set_in_minor_units_and_read_back_with_its_currency():
    gw = gateway(insights=Service(set_budget=BUDGET))
    body = schemas.BudgetIn().load({"amount": {"amount": 5000, "currency": "EUR"}})
    assert insights.set_budget(gw, call(body=body)) == {"currency": "EUR", **BUDGET}
    assert gw.insights.calls == [("set_budget", "cus_1", 5000)]
    # without a budget the amounts are still in the account's currency
    gw = gateway(insights=Service(budget={**BUDGET, "budget": None, "state": "none"}))
    assert insights.budget(gw, call())["currency"] == "EUR"
    reply = insights.clear_budget(gw, call())
    assert isinstance(reply, Reply) and reply.status == 204 and reply.body is None
    assert gw.insights.calls[-1] == ("clear_budget", "cus_1")


# recommendations and viewing ------------------------------------------------------------------

def test_recommendations_are_in_the_account_s_language_as_one_page():
    advice = {"id": "3f2a", "kind": "unused_addon"}
    gw = gateway(insights=Service(recommendations={"data": [advice]}))
    assert insights.recommendations(gw, call()) == {"data": [advice], "has_more": False,
                                                    "next_cursor": None}
    assert gw.insights.calls == [("recommendations", "cus_1", "de")]


def test_dismissing_a_recommendation_names_it_and_no_id_of_ours_is_a_404_unasked():
    gw = gateway()
    reply = insights.dismiss_recommendation(gw, call(path={"recommendation_id": "3f2a9c"}))
    assert reply.status == 204 and gw.insights.calls == [
        ("dismiss_recommendation", "cus_1", "3f2a9c")]
    for wrong in ("x" * 101, "a b", "../x", "ä"):
        with pytest.raises(errors.NotFound):
            insights.dismiss_recommendation(gw, call(path={"recommendation_id": wrong}))
    assert len(gw.insights.calls) == 1


def test_switching_the_use_of_viewing_answers_the_viewing_as_it_is_now():
    view = {"use_viewing": False, "retention_days": 90, "start": "2026-10-06",
            "end": "2026-12-05", "channels": []}
    gw = gateway(insights=Service(viewing=view, set_viewing_use=view))
    assert insights.set_viewing_use(gw, call(body={"use_viewing": False})) == view
    assert gw.insights.calls == [("set_viewing_use", "cus_1", False, "insights")]
    insights.viewing(gw, call(query=schemas.ViewingQuery().load({"days": "30"})))
    assert gw.insights.calls[-1] == ("viewing", "cus_1", 30)
    for wrong in ({"use_viewing": "false"}, {"use_viewing": 0}, {"use_viewing": None}, {}):
        with pytest.raises(ValidationError):
            schemas.ViewingUseIn().load(wrong)
    for wrong in ({"days": "0"}, {"days": "3661"}, {"days": "1.5"}, {"days": "x"}):
        with pytest.raises(ValidationError):
            schemas.ViewingQuery().load(wrong)


# operations -----------------------------------------------------------------------------------

BILLING_FIGURES = {"subscribers_by_package": [{"month": "2026-12", "package": "basic",
                                               "active": 3}],
                   "churn": [], "cancellation_reasons": [], "arpa": [], "wallet_float": [],
                   "overdue": [{"currency": "EUR", "amount": 999, "invoices": 1}]}
TICKETS_FIGURES = {"tickets_by_category": [], "time_to_resolve": [
    {"category": "billing", "resolved": 2, "median_minutes": 30, "p90_minutes": 55}]}


def test_the_operators_figures_are_asked_of_billing_and_tickets_at_once_in_one_body():
    gw = gateway(billing=Service(ops_insights=BILLING_FIGURES),
                 tickets=Service(ops_insights=TICKETS_FIGURES))
    body = insights.ops_insights(gw, call(query={"months": 6}))
    assert body == {"months": 6, "unavailable": [], **BILLING_FIGURES, **TICKETS_FIGURES}
    assert gw.billing.calls == [("ops_insights", 6)] and gw.tickets.calls == [("ops_insights", 6)]


def test_a_service_that_does_not_answer_leaves_its_figures_empty_both_is_a_503():
    down = errors.ServiceUnavailable("down")
    gw = gateway(billing=Service(ops_insights=BILLING_FIGURES), tickets=Service(ops_insights=down))
    body = insights.ops_insights(gw, call(query={"months": 12}))
    assert body["unavailable"] == ["tickets"] and body["time_to_resolve"] == []
    assert body["overdue"] == BILLING_FIGURES["overdue"]
    gw = gateway(billing=Service(ops_insights=down), tickets=Service(ops_insights=down))
    with pytest.raises(errors.ServiceUnavailable):
        insights.ops_insights(gw, call(query={"months": 12}))
    # a refusal is not an outage: it is answered as itself
    gw = gateway(billing=Service(ops_insights=errors.InvalidArgument(fields={"months": ["x"]})),
                 tickets=Service(ops_insights=TICKETS_FIGURES))
    with pytest.raises(errors.InvalidArgument):
        insights.ops_insights(gw, call(query={"months": 12}))


def test_months_of_the_operators_figures_and_the_kinds_switches_are_checked():
    assert schemas.OpsInsightsQuery().load({}) == {"months": 12}
    for wrong in ("0", "37", "1.5", "twelve", ""):
        with pytest.raises(ValidationError):
            schemas.OpsInsightsQuery().load({"months": wrong})
    assert schemas.RecommendationKindsIn().load({"kinds": {"top_up": False}}) == {
        "kinds": {"top_up": False}}
    for wrong in ({}, {"kinds": {}}, {"kinds": {"top_up": "no"}}, {"kinds": {"upsell": True}},
                  {"kinds": None}, {"kinds": [True]}):
        with pytest.raises(ValidationError):
            schemas.RecommendationKindsIn().load(wrong)
    gw = gateway(insights=Service(set_recommendation_kinds={"kinds": {"top_up": False}}))
    assert insights.set_recommendation_kinds(gw, call(body={"kinds": {"top_up": False}})) == {
        "kinds": {"top_up": False}}
    assert gw.insights.calls == [("set_recommendation_kinds", {"top_up": False})]


def test_only_admins_hold_the_insights_permissions():
    for name in ("insights.read", "insights.configure"):
        assert permissions.allows("admin", name)
        assert not any(permissions.allows(role, name)
                       for role in ("agent", "supervisor", "finance", "customer", None))


# through the route: authentication, loading, the error body ----------------------------------

class Accounts:
    def __init__(self, account):
        self.account = account

    def authenticate(self, token):
        return {"session": {"id": "ses_1", "csrf_hash": ""}, "account": self.account}


def route(name, method="GET", query="", body=None, account=ACCOUNT, **services):
    gw = gateway(**services)
    gw.accounts, gw.sessions, gw.views = Accounts(account), None, None
    gw.audit_events = lambda *args: None
    request = Request(EnvironBuilder(
        method=method, path="/api/v1/insights", query_string=query,
        headers={"Authorization": "Bearer t"},
        **({"json": body} if body is not None else {})).get_environ())
    response = getattr(GatewayService, name)(gw, request)
    return response.status_code, (json.loads(response.get_data()) if response.get_data()
                                  else None), gw


def test_a_bad_range_is_a_400_with_the_field_as_the_client_named_it():
    status, body, gw = route("insights_spending", query="from=2026-12&to=2026-01")
    assert status == 400 and body["error"]["code"] == "VALIDATION_FAILED"
    assert body["error"]["fields"] == {"from": ["must be before `to`"]}
    status, body, _ = route("insights_spending", query="from=2026-02-30&group=week")
    assert status == 400 and set(body["error"]["fields"]) == {"from", "group"}
    status, body, _ = route("insights_spending", query="from=2030-01")  # after this month
    assert status == 400 and set(body["error"]["fields"]) == {"from"}
    assert gw.billing.calls == []


def test_the_spending_answer_is_dumped_as_documented():
    period = {"period": "2026-12", "start": "2026-12-01", "end": "2027-01-01",
              "kinds": dict.fromkeys(("package", "addons", "devices", "one_off", "taxes",
                                      "discounts", "credits"), 0),
              "total": 0, "top_ups": 0, "vouchers": 0}
    answer = {"currency": "EUR", "group": "month", "periods": [period],
              "totals": {k: v for k, v in period.items() if k not in ("period", "start", "end")},
              "internal": "not for clients"}
    status, body, _ = route("insights_spending", query="from=2026-12",
                            billing=Service(spending=answer))
    assert status == 200 and "internal" not in body
    assert body["periods"] == [period] and body["totals"]["kinds"]["taxes"] == 0


def test_a_customer_is_refused_the_operators_figures_and_an_agent_too():
    for role in ("customer", "agent", "supervisor", "finance"):
        status, body, gw = route("ops_insights", account={**ACCOUNT, "role": role})
        assert status == 403, role
        assert gw.billing.calls == [] and gw.tickets.calls == []
    status, body, _ = route("ops_insights", query="months=3",
                            account={**ACCOUNT, "role": "admin"},
                            billing=Service(ops_insights=BILLING_FIGURES),
                            tickets=Service(ops_insights=TICKETS_FIGURES))
    assert status == 200 and body["months"] == 3
    assert body["time_to_resolve"] == TICKETS_FIGURES["time_to_resolve"]


def test_a_put_budget_body_is_checked_before_any_call():
    status, body, gw = route("insights_set_budget", method="PUT",
                             body={"amount": {"amount": 0, "currency": "EUR"}})
    assert status == 400 and "amount.amount" in body["error"]["fields"]
    status, body, gw = route("insights_set_budget", method="PUT",
                             body={"amount": {"amount": 5000, "currency": "EUR"}},
                             insights=Service(set_budget=BUDGET))
    assert status == 200 and body["budget"] == {"amount": 5000, "currency": "EUR"}
    assert body["currency"] == "EUR" and body["state"] == "ok"
    status, body, gw = route("insights_clear_budget", method="DELETE")
    assert status == 204 and body is None
