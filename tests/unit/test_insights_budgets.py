"""Monthly budgets: the state the portal shows and the alerts, table-driven (SQLite in memory;
the flow through billing's events to the customer's inbox is
tests/integration/test_budgets_flow.py)."""

import datetime as dt

import pytest
from sqlalchemy import select

from services.common import errors
from services.insights import budgets, preferences, transactions
from services.insights.models import MIGRATIONS, Base, BudgetAlert
from services.notifier import templates
from tests.unit.service_world import World

NOW = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def world():
    w = World("insights", Base.metadata, MIGRATIONS, start=NOW)
    yield w
    w.close()


class Billing:
    """billing's month_status, as the test sets it; counts the calls."""

    def __init__(self, so_far=0, projected=None, month="2026-12", currency="EUR"):
        self.calls = 0
        self.set(so_far, projected, month, currency)

    def set(self, so_far, projected=None, month="2026-12", currency="EUR"):
        self.status = {"currency": currency, "month": month, "start": f"{month}-01",
                       "end": "2027-01-01", "so_far": so_far,
                       "projected": so_far if projected is None else projected, "upcoming": []}

    def month_status(self, customer_id):
        self.calls += 1
        return dict(self.status)


# budget 10000: (so far, projected) → state, the thresholds reached
@pytest.mark.parametrize("so_far, projected, state, reached", [
    (0, 0, "ok", []),
    (7999, 7999, "ok", []),
    (8000, 8000, "warning", ["80"]),
    (9999, 10000, "warning", ["80"]),
    (5000, 10001, "projected_over", ["projected"]),
    (8000, 12000, "projected_over", ["80", "projected"]),
    (10000, 10000, "over", ["80", "100"]),
    (15000, 20000, "over", ["80", "100", "projected"]),
    (-500, 0, "ok", []),
])
def test_the_state_and_thresholds_of_a_month(so_far, projected, state, reached):
    assert budgets.state(10000, so_far, projected) == state
    assert budgets.reached(10000, so_far, projected) == reached
    assert budgets.state(None, so_far, projected) == "none"


# thresholds newly reached, thresholds reached before this month → the one announced
@pytest.mark.parametrize("new, earlier, announced", [
    ([], set(), None),
    (["80"], set(), "80"),
    (["80", "100"], set(), "100"),  # a jump past 100 % says 100 % only
    (["80", "projected"], set(), "projected"),
    (["80", "100", "projected"], set(), "100"),
    (["100"], {"80"}, "100"),
    (["projected"], {"80"}, "projected"),
    (["100"], {"80", "projected"}, "100"),
    (["projected"], {"100"}, None),  # the bill already passed the budget: nothing new
    (["80"], {"projected"}, None),
    (["80"], {"100"}, None),
])
def test_one_check_announces_the_most_severe_new_threshold_only(new, earlier, announced):
    assert budgets.to_announce(new, earlier) == announced


def alerts(world):
    return [(e["budget_alert"]["month"], e["budget_alert"]["threshold"])
            for _, e in world.events("budget_alert")]


def check(world, billing, customer="cus_a"):
    return transactions.check_budget(world.session, billing, customer, world.now())


def test_each_threshold_is_announced_once_a_month_whatever_repeats(world):
    billing = Billing(so_far=1000)
    view = transactions.set_budget(world.session, billing, "cus_a", 10000, NOW)
    assert view == {"budget": {"amount": 10000, "currency": "EUR"}, "currency": "EUR",
                    "month": "2026-12", "so_far": 1000, "projected": 1000, "percent": 10,
                    "projected_percent": 10, "state": "ok"}
    assert check(world, billing) is None and alerts(world) == []
    billing.set(8500)
    assert check(world, billing) == "80"
    assert check(world, billing) is None and check(world, billing) is None
    billing.set(8500, 12000)
    assert check(world, billing) == "projected"
    billing.set(10000, 12000)
    assert check(world, billing) == "100"
    billing.set(20000, 25000)
    assert check(world, billing) is None
    assert alerts(world) == [("2026-12", "80"), ("2026-12", "projected"), ("2026-12", "100")]
    billing.set(9000, month="2027-01")  # a new month starts over
    assert check(world, billing) == "80"
    payload = world.events("budget_alert")[-1][1]["budget_alert"]
    assert payload == {"customer_id": "cus_a", "threshold": "80", "month": "2027-01",
                       "budget": 10000, "so_far": 9000, "projected": 9000, "currency": "EUR"}


def test_a_jump_past_the_budget_records_80_silently_and_announces_100(world):
    billing = Billing(so_far=0)
    transactions.set_budget(world.session, billing, "cus_a", 10000, NOW)
    billing.set(12000)
    assert check(world, billing) == "100"
    recorded = {threshold: announced for threshold, announced in world.session.execute(
        select(BudgetAlert.threshold, BudgetAlert.announced))}
    assert recorded == {"80": False, "100": True, "projected": False}
    assert alerts(world) == [("2026-12", "100")]


def test_setting_a_budget_below_the_month_so_far_alerts_at_once(world):
    view = transactions.set_budget(world.session, Billing(so_far=9000, projected=9500),
                                   "cus_a", 9000, NOW)
    assert view["state"] == "over" and view["percent"] == 100
    assert view["projected_percent"] == 105
    assert alerts(world) == [("2026-12", "100")]


def test_without_a_budget_a_billing_event_costs_no_rpc(world):
    billing = Billing(so_far=99999)
    assert check(world, billing) is None and billing.calls == 0 and alerts(world) == []


def test_a_cleared_budget_alerts_no_more_and_reads_none(world):
    billing = Billing(so_far=1000)
    transactions.set_budget(world.session, billing, "cus_a", 10000, NOW)
    assert budgets.clear(world.session, "cus_a") is True
    world.session.commit()
    billing.set(50000)
    assert check(world, billing) is None and alerts(world) == []
    view = transactions.budget_view(world.session, billing, "cus_a")
    assert view["budget"] is None and view["state"] == "none" and view["percent"] is None
    assert view["so_far"] == 50000


def test_changing_the_budget_keeps_the_month_s_thresholds(world):
    billing = Billing(so_far=8500)
    transactions.set_budget(world.session, billing, "cus_a", 10000, NOW)
    transactions.set_budget(world.session, billing, "cus_a", 10500, NOW)
    assert alerts(world) == [("2026-12", "80")]
    assert transactions.budget_view(world.session, billing, "cus_a")["budget"]["amount"] == 10500


def test_the_budget_takes_the_account_s_currency(world):
    view = transactions.set_budget(world.session, Billing(so_far=0, currency="THB"), "cus_a",
                                   50000, NOW)
    assert view["budget"] == {"amount": 50000, "currency": "THB"}


@pytest.mark.parametrize("amount", [0, -1, 10**9 + 1, 12.5, "100", None, True])
def test_a_budget_is_a_whole_positive_amount_up_to_a_billion(world, amount):
    billing = Billing()
    with pytest.raises(errors.InvalidArgument) as refused:
        transactions.set_budget(world.session, billing, "cus_a", amount, NOW)
    assert refused.value.code == "INVALID_BUDGET" and billing.calls == 0
    assert transactions.set_budget(world.session, billing, "cus_a", 10**9, NOW)["budget"][
        "amount"] == 10**9


def test_the_customer_of_a_billing_event():
    assert budgets.customer_of({"wallet": {"customer_id": "cus_a"}}, "wallet") == "cus_a"
    assert budgets.customer_of({"invoice": {"customer_id": "cus_b"}}, "invoice") == "cus_b"
    assert budgets.customer_of({"subscription": {}}, "subscription") is None
    assert budgets.customer_of(None, "wallet") is None


@pytest.mark.parametrize("language", templates.LANGUAGES)
@pytest.mark.parametrize("threshold", budgets.THRESHOLDS)
def test_the_notifier_words_each_threshold_in_each_language(threshold, language):
    alert = {"customer_id": "cus_a", "threshold": threshold, "month": "2026-12",
             "budget": 10000, "so_far": 8500, "projected": 12000, "currency": "EUR"}
    topic, title, body = templates.render("budget_alert", alert, language)
    assert topic == "billing" and title == templates.BUDGET_HEADLINES[language][threshold]
    assert "{" not in body and ("100" in body or "100,00" in body)
    assert "85" in body and "120" in body and "2026" in body


def test_recommendation_kinds_are_on_until_the_operator_switches_them_off(world):
    assert preferences.kinds(world.session) == dict.fromkeys(preferences.KINDS, True)
    assert preferences.set_kinds(world.session, {"top_up": False})["top_up"] is False
    assert preferences.enabled_kinds(world.session) == set(preferences.KINDS) - {"top_up"}
    for wrong in ({"nope": True}, {"top_up": "no"}, {}, None):
        with pytest.raises(errors.InvalidArgument) as refused:
            preferences.set_kinds(world.session, wrong)
        assert refused.value.code == ("UNKNOWN_RECOMMENDATION_KIND" if wrong == {"nope": True}
                                      else "VALIDATION_FAILED")
    assert preferences.enabled_kinds(world.session) == set(preferences.KINDS) - {"top_up"}


def test_a_dismissed_recommendation_stays_dismissed_once(world):
    preferences.dismiss(world.session, "cus_a", "rec_1", NOW)
    preferences.dismiss(world.session, "cus_a", "rec_1", NOW)
    preferences.dismiss(world.session, "cus_b", "rec_2", NOW)
    assert preferences.dismissed(world.session, "cus_a") == {"rec_1"}
    with pytest.raises(errors.InvalidArgument):
        preferences.dismiss(world.session, "cus_a", "x" * 101, NOW)
