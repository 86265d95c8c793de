"""Insights through the gateway on the real services, RabbitMQ and PostgreSQL: a customer reads
their spending by month, sets and removes a budget, switches the use of their viewing, lists and
dismisses recommendations; nobody else sees any of it; the operators' figures are the admin's
only; bad input is a 400 with its fields, and asks no service."""

import datetime as dt

import pytest
from nameko.standalone.rpc import ClusterRpcProxy

from deploy import demo

KINDS = ("package", "addons", "devices", "one_off", "taxes", "discounts", "credits")
FAMILY_CHANNELS = ["Docu World", "Nature HD", "Drama Channel", "Kids Club HD", "Family Movies"]


@pytest.fixture
def portal(start_portal):
    return start_portal(RPC_TIMEOUT_SECONDS=5)


@pytest.fixture
def admin(portal):
    return demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])


def fields_of(response, status=400):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"]
    return error["fields"]


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months_back(day: dt.date, n: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)


def subscribe(portal, token, key, **body):
    return portal.ok("POST", "/api/v1/subscriptions", token, status=201,
                     json={"package": "family", **body}, headers={"Idempotency-Key": key})


def report_viewing(portal, customer_id, channels, days=30, minutes=40):
    """Viewing as the TV platform reports it: by RPC to the insights service."""
    today = dt.datetime.now(dt.UTC).date()
    records = [{"customer_id": customer_id, "channel": channel,
                "day": (today - dt.timedelta(days=back)).isoformat(), "minutes": minutes}
               for back in range(1, days + 1) for channel in channels]
    with ClusterRpcProxy({"AMQP_URI": portal.config["AMQP_URI"]}, timeout=30) as cluster:
        # the customer agreed (tests/integration/test_consents.py: in Settings)
        cluster.insights.set_viewing_use(customer_id, True, "settings")
        return cluster.insights.report_viewing(f"gw-{customer_id}", records)


def test_spending_is_every_month_asked_for_zeros_included_and_adds_up(portal):
    token = portal.customer("postpaid")
    subscribe(portal, token, "spend-1")
    today = dt.datetime.now(dt.UTC).date()

    spent = portal.ok("GET", "/api/v1/insights/spending", token)  # the last six months
    assert spent["currency"] == "EUR" and spent["group"] == "month"
    assert [p["period"] for p in spent["periods"]] == [
        month_key(months_back(today, n)) for n in range(5, -1, -1)]
    first = spent["periods"][0]
    assert first["start"] == months_back(today, 5).isoformat()
    assert first["end"] == months_back(today, 4).isoformat()
    for period in spent["periods"][:-1]:  # before the subscription: nothing
        assert period["total"] == period["top_ups"] == period["vouchers"] == 0
        assert period["kinds"] == dict.fromkeys(KINDS, 0)
    this = spent["periods"][-1]
    assert this["kinds"]["package"] > 0 and this["kinds"]["taxes"] > 0
    assert this["total"] == sum(this["kinds"].values())
    assert spent["totals"]["total"] == this["total"]

    # a range by months, the last one counted; or by dates, the end not counted
    by_months = {"from": month_key(months_back(today, 2)), "to": month_key(today)}
    by_dates = {"from": months_back(today, 2).isoformat(),
                "to": months_back(today, -1).isoformat()}
    for params in (by_months, by_dates):
        asked = portal.ok("GET", "/api/v1/insights/spending", token, params=params)
        assert [p["period"] for p in asked["periods"]] == [
            month_key(months_back(today, n)) for n in (2, 1, 0)]
        assert asked["totals"] == spent["totals"]
    before = portal.ok("GET", "/api/v1/insights/spending", token, params={
        "from": months_back(today, 1).isoformat(), "to": months_back(today, 0).isoformat()})
    assert [p["period"] for p in before["periods"]] == [month_key(months_back(today, 1))]
    assert before["totals"]["total"] == 0

    # another customer spent nothing
    other = portal.customer("postpaid")
    assert portal.ok("GET", "/api/v1/insights/spending", other)["totals"]["total"] == 0


def test_bad_spending_ranges_are_400s_on_their_fields(portal):
    token = portal.customer()
    today = dt.datetime.now(dt.UTC).date()

    def refused(**params):
        return fields_of(portal("GET", "/api/v1/insights/spending", token, params=params))

    assert set(refused(**{"from": "2026-13"})) == {"from"}
    assert set(refused(to="2026-02-30")) == {"to"}
    assert set(refused(**{"from": "last year"})) == {"from"}
    assert set(refused(**{"from": "2026-12", "to": "2026-01"})) == {"from"}
    assert set(refused(**{"from": months_back(today, 36).isoformat()})) == {"from"}
    assert set(refused(group="week")) == {"group"}
    assert set(refused(since="2026-01")) == {"since"}


def test_a_budget_is_set_read_refused_in_another_currency_and_removed(portal):
    token = portal.customer("postpaid")
    subscribe(portal, token, "budget-1")
    path = "/api/v1/insights/budget"
    none = portal.ok("GET", path, token)
    assert none["budget"] is None and none["state"] == "none" and none["currency"] == "EUR"
    assert none["so_far"] > 0 and none["projected"] >= none["so_far"]

    high = portal.ok("PUT", path, token, json={"amount": {"amount": 10**9, "currency": "EUR"}})
    assert high["budget"] == {"amount": 10**9, "currency": "EUR"} and high["state"] == "ok"
    assert high["month"] == month_key(dt.datetime.now(dt.UTC).date())
    low = portal.ok("PUT", path, token, json={"amount": {"amount": 1, "currency": "EUR"}})
    assert low["state"] == "over" and low["percent"] >= 100
    assert portal.ok("GET", path, token)["budget"] == {"amount": 1, "currency": "EUR"}

    # someone else's budget is their own
    other = portal.customer("postpaid")
    assert portal.ok("GET", path, other)["budget"] is None

    assert fields_of(portal("PUT", path, token, json={
        "amount": {"amount": 5000, "currency": "USD"}})) == {"amount.currency": ["must be EUR"]}
    for wrong in ({"amount": "5000"}, {"amount": 0}, {"amount": 5000},
                  {"amount": {"amount": 0, "currency": "EUR"}},
                  {"amount": {"amount": 10**9 + 1, "currency": "EUR"}}, {}):
        assert fields_of(portal("PUT", path, token, json=wrong))
    assert portal.ok("GET", path, token)["budget"] == {"amount": 1, "currency": "EUR"}

    removed = portal("DELETE", path, token)
    assert removed.status_code == 204 and removed.content == b""
    assert portal.ok("GET", path, token)["budget"] is None
    assert portal("DELETE", path, token).status_code == 204  # again: nothing to remove


def test_recommendations_are_the_customer_s_own_and_a_dismissed_one_is_gone(portal):
    token = portal.customer("postpaid")
    me = portal.ok("GET", "/api/v1/me", token)
    subscribe(portal, token, "advice-1", addons=["sports"])
    assert report_viewing(portal, me["id"], FAMILY_CHANNELS)["status"] == "accepted"

    viewing = portal.ok("GET", "/api/v1/insights/viewing", token)
    assert viewing["use_viewing"] is True and viewing["retention_days"] >= 30
    assert {c["channel"] for c in viewing["channels"]} == set(FAMILY_CHANNELS)
    assert all(c["minutes"] == 30 * 40 and c["days"] == 30 for c in viewing["channels"])
    assert len(portal.ok("GET", "/api/v1/insights/viewing", token,
                         params={"days": 7})["channels"]) == len(FAMILY_CHANNELS)

    listed = portal.ok("GET", "/api/v1/insights/recommendations", token)
    assert listed["has_more"] is False and listed["next_cursor"] is None
    unused = [a for a in listed["data"] if a["kind"] == "unused_addon"]
    assert len(unused) == 1, listed
    [tip] = unused
    assert tip["action"]["type"] == "remove_addon" and tip["action"]["addon"] == "sports"
    assert tip["monthly_effect"] < 0 and tip["currency"] == "EUR" and tip["reason"]["code"]

    # another customer sees none of it, and dismissing its id changes nothing for its owner
    other = portal.customer("postpaid")
    assert portal.ok("GET", "/api/v1/insights/recommendations", other)["data"] == []
    assert portal.ok("GET", "/api/v1/insights/viewing", other)["channels"] == []
    assert portal("POST", f"/api/v1/insights/recommendations/{tip['id']}/dismiss",
                  other).status_code == 204
    assert tip["id"] in {a["id"] for a in portal.ok(
        "GET", "/api/v1/insights/recommendations", token)["data"]}

    dismissed = portal("POST", f"/api/v1/insights/recommendations/{tip['id']}/dismiss", token)
    assert dismissed.status_code == 204 and dismissed.content == b""
    assert tip["id"] not in {a["id"] for a in portal.ok(
        "GET", "/api/v1/insights/recommendations", token)["data"]}
    assert portal("POST", "/api/v1/insights/recommendations/" + "x" * 101 + "/dismiss",
                  token).status_code == 404


def test_switching_off_the_use_of_viewing_forgets_it_and_takes_no_other_value(portal):
    token = portal.customer("postpaid")
    me = portal.ok("GET", "/api/v1/me", token)
    subscribe(portal, token, "viewing-1", addons=["sports"])
    report_viewing(portal, me["id"], FAMILY_CHANNELS)
    path = "/api/v1/insights/viewing"

    off = portal.ok("PUT", path, token, json={"use_viewing": False})
    assert off["use_viewing"] is False and off["channels"] == []
    assert portal.ok("GET", path, token)["use_viewing"] is False
    assert not [a for a in portal.ok("GET", "/api/v1/insights/recommendations", token)["data"]
                if a["kind"] == "unused_addon"]
    assert portal.ok("PUT", path, token, json={"use_viewing": True})["use_viewing"] is True

    for wrong in ({"use_viewing": "false"}, {"use_viewing": 0}, {}, {"use_viewing": True,
                                                                     "channels": []}):
        assert fields_of(portal("PUT", path, token, json=wrong))
    assert set(fields_of(portal("GET", path, token, params={"days": 0}))) == {"days"}


def test_the_operators_figures_and_kinds_are_the_admin_s_only(portal, admin):
    customer = portal.customer("postpaid")
    subscribe(portal, customer, "ops-1")
    staff = portal.customer()
    staff_id = portal.ok("GET", "/api/v1/me", staff)["id"]
    portal.ok("PATCH", f"/api/v1/ops/customers/{staff_id}", admin, json={"role": "supervisor"})
    for token in (customer, staff):
        for method, path, body in (
                ("GET", "/api/v1/ops/insights", None),
                ("GET", "/api/v1/ops/insights/recommendation-kinds", None),
                ("PUT", "/api/v1/ops/insights/recommendation-kinds",
                 {"kinds": {"top_up": False}})):
            refused = portal(method, path, token, json=body)
            assert refused.status_code in (403, 404), (method, path, refused.text)

    figures = portal.ok("GET", "/api/v1/ops/insights", admin, params={"months": 3})
    assert figures["months"] == 3 and figures["unavailable"] == []
    assert {"subscribers_by_package", "churn", "cancellation_reasons", "arpa", "wallet_float",
            "overdue", "tickets_by_category", "time_to_resolve"} <= set(figures)
    this_month = month_key(dt.datetime.now(dt.UTC).date())
    assert any(row["package"] == "family" and row["month"] == this_month and row["active"] >= 1
               for row in figures["subscribers_by_package"]), figures["subscribers_by_package"]
    assert portal.ok("GET", "/api/v1/ops/insights", admin)["months"] == 12

    kinds = portal.ok("GET", "/api/v1/ops/insights/recommendation-kinds", admin)["kinds"]
    assert set(kinds) == {"unused_addon", "unused_package", "cheaper_package",
                          "better_package", "top_up"}
    changed = portal.ok("PUT", "/api/v1/ops/insights/recommendation-kinds", admin,
                        json={"kinds": {"top_up": False}})["kinds"]
    assert changed == {**kinds, "top_up": False}
    assert portal.ok("GET", "/api/v1/ops/insights/recommendation-kinds",
                     admin)["kinds"]["top_up"] is False

    for wrong in ({"kinds": {}}, {"kinds": {"upsell": True}}, {"kinds": {"top_up": "no"}}, {}):
        assert fields_of(portal("PUT", "/api/v1/ops/insights/recommendation-kinds", admin,
                                json=wrong))
    for months in ("0", "37", "x"):
        assert set(fields_of(portal("GET", "/api/v1/ops/insights", admin,
                                    params={"months": months}))) == {"months"}
