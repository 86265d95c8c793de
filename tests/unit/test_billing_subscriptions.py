"""Subscriptions in billing, with the real catalog in process and a TestClock."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from services.billing.models import Charge, Device
from services.common import errors
from tests.unit.billing_world import World

START = dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def world():
    return World(START)


def subscribe(world, customer="cus_a", key=None, **request):
    # postpaid: the charges wait for invoicing; the prepaid wallet has its own tests
    world.accounts.accounts.setdefault(customer, {"id": customer, "billing_type": "postpaid",
                                                  "currency": "EUR", "tax_region": "DE"})
    return world.billing.subscribe(customer, {"package": "basic", **request}, key)


def due(world):
    """Run the billing timer once: (pauses ended, periods started)."""
    done = world.billing.run_due()
    return done["pauses_ended"], done["periods_started"]


def amounts(view):
    return [(line["kind"], line["amount"]["amount"]) for line in view["lines"]]


def charges(world, sub_id=None):
    query = select(Charge).order_by(Charge.created_at, Charge.operation_key)
    if sub_id:
        query = query.where(Charge.subscription_id == sub_id)
    return list(world.billing_session.scalars(query))


def test_subscribing_records_each_line_with_tax_and_a_device_serial(world):
    sub = subscribe(world, package="family", addons=["sports"],
                    devices=[{"code": "router-wifi6", "acquisition": "rental"}])
    assert sub["status"] == "active" and sub["package"]["name"] == "Family"
    assert amounts(sub["charges"]) == [("fee", 2499), ("discount", -250), ("fee", 999),
                                       ("fee", 399), ("tax", 475 - 48 + 190 + 76)]
    assert sub["charges"]["amount_due"]["amount"] == 2499 - 250 + 999 + 399 + 693
    [device] = sub["devices"]
    assert device["serial_number"].startswith("RTR-") and device["acquisition"] == "rental"
    recorded = charges(world, sub["id"])
    assert [c.amount for c in recorded] == [2499, -250, 999, 399]
    assert sum(c.tax for c in recorded) == 693
    assert sub["next_renewal"] == {"date": "2026-12-21T10:00:00Z",
                                   "amount": sub["charges"]["amount_due"]}


def test_an_included_device_costs_nothing_and_a_bought_one_once(world):
    sub = subscribe(world, package="premium", devices=[{"code": "stb-4k"}])
    assert sub["devices"][0]["acquisition"] == "included"
    unasked = subscribe(world, "cus_c", package="premium")  # the package brings its box
    assert [(d["code"], d["acquisition"]) for d in unasked["devices"]] == [("stb-4k",
                                                                           "included")]
    assert [k for k, _ in amounts(sub["charges"])] == ["fee", "tax"]
    bought = subscribe(world, "cus_b", package="family",
                       devices=[{"code": "stb-4k", "acquisition": "purchase"}])
    assert ("one_off", 9900) in amounts(bought["charges"])
    assert bought["next_renewal"]["amount"]["amount"] < bought["charges"]["amount_due"]["amount"]


def test_an_upgrade_preview_changes_nothing_and_the_confirmation_matches_it(world):
    sub = subscribe(world)  # basic, 14.99
    world.clock.advance(days=15)
    preview = world.billing.change_package("cus_a", sub["id"], {"package": "premium",
                                                                "preview": True})
    assert world.billing.get_subscription("cus_a", sub["id"])["package"]["code"] == "basic"
    assert len(charges(world)) == 1
    assert [k for k, _ in amounts(preview)] == ["credit", "charge", "tax"]
    credit, charge = (line["amount"]["amount"] for line in preview["lines"][:2])
    assert credit == -750  # 1499 × 15/30 = 749.5, credited up
    assert charge == 1999  # 3999 × 15/30 = 1999.5, charged down
    assert preview["effective_date"] == "2026-12-06" and not preview["scheduled"]
    done = world.billing.change_package("cus_a", sub["id"], {"package": "premium"})
    assert amounts(done) == amounts(preview)
    assert done["subscription"]["package"]["code"] == "premium"
    assert [c.amount for c in charges(world, sub["id"])][-2:] == [-750, 1999]


def test_a_downgrade_waits_for_the_period_end_and_is_applied_once_at_renewal(world):
    sub = subscribe(world, package="premium")
    world.clock.advance(days=3)
    with pytest.raises(errors.Conflict) as exc:
        world.billing.change_package("cus_a", sub["id"], {"package": "family", "when": "now"})
    assert exc.value.code == "DOWNGRADE_AT_PERIOD_END" and "period" in exc.value.message
    scheduled = world.billing.change_package("cus_a", sub["id"], {"package": "family"})
    assert scheduled["scheduled"] and scheduled["amount_due"]["amount"] == 0
    view = world.billing.get_subscription("cus_a", sub["id"])
    assert view["package"]["code"] == "premium"
    assert view["scheduled_changes"][0]["package"] == "family"
    assert view["next_renewal"]["amount"]["amount"] == scheduled["next_renewal"]["amount"][
        "amount"] == (2499 - 250) + 427  # family with its promotion, plus 19 % VAT per line
    world.clock.set(dt.datetime(2026, 12, 21, 10, 0, 1, tzinfo=dt.UTC))
    assert due(world) == (0, 1)
    assert due(world) == (0, 0)
    renewed = world.billing.get_subscription("cus_a", sub["id"])
    assert renewed["package"]["code"] == "family" and renewed["scheduled_changes"] == []
    assert renewed["current_period"]["start"] == "2026-12-21T10:00:00Z"
    fees = [c for c in charges(world, sub["id"]) if c.period_start.month == 12]
    assert [(c.kind, c.amount) for c in fees] == [("fee", 2499), ("discount", -250)]


def test_renewal_catches_up_every_missed_period_and_takes_new_prices_only_then(world):
    sub = subscribe(world)
    world.catalog.ops_update("packages", "basic", {"prices": {"month": 1599, "year": 15990}})
    assert world.billing.get_subscription("cus_a", sub["id"])["package"]["price"]["amount"] == 1499
    world.clock.set(dt.datetime(2027, 2, 22, tzinfo=dt.UTC))
    assert world.billing.run_due()["periods_started"] == 3
    fees = [c.amount for c in charges(world, sub["id"]) if c.kind == "fee"]
    assert fees == [1499, 1599, 1599, 1599]
    assert world.billing.get_subscription("cus_a", sub["id"])["current_period"] == {
        "start": "2027-02-21T10:00:00Z", "end": "2027-03-21T10:00:00Z"}


def test_service_rules_are_enforced_by_billing_with_their_reasons(world):
    basic = subscribe(world)
    premium = subscribe(world, "cus_b", package="premium")
    cases = [
        (lambda: world.billing.pause("cus_a", basic["id"], {}), "PAUSE_NOT_ALLOWED"),
        (lambda: world.billing.cancel("cus_b", premium["id"], {"reason": "x", "when": "now"}),
         "MINIMUM_TERM"),
        (lambda: world.billing.add_addon("cus_a", basic["id"], {"code": "kids-extra"}),
         "ADDON_NOT_ALLOWED"),
        (lambda: world.billing.change_package("cus_a", basic["id"], {"package": "basic"}),
         "SAME_PACKAGE"),
        (lambda: world.billing.change_package("cus_a", basic["id"], {"package": "kids"}),
         "CHANGE_NOT_ALLOWED"),
    ]
    for attempt, code in cases:
        with pytest.raises(errors.Conflict) as exc:
            attempt()
        assert exc.value.code == code
        assert len(exc.value.message) > 15  # a sentence a customer can read
    world.billing.add_addon("cus_a", basic["id"], {"code": "movies"})
    world.billing.add_addon("cus_a", basic["id"], {"code": "international"})
    with pytest.raises(errors.Conflict) as exc:  # basic allows two add-ons
        world.billing.add_addon("cus_a", basic["id"], {"code": "sports"})
    assert exc.value.code in ("TOO_MANY_ADDONS", "ADDON_NOT_ALLOWED")


def test_the_state_machine_refuses_invalid_transitions(world):
    sub = subscribe(world, package="family")
    with pytest.raises(errors.Conflict) as exc:
        world.billing.resume("cus_a", sub["id"])
    assert "active" in exc.value.message
    world.billing.pause("cus_a", sub["id"], {})
    with pytest.raises(errors.Conflict) as exc:
        world.billing.add_addon("cus_a", sub["id"], {"code": "sports"})
    assert exc.value.code == "SUBSCRIPTION_NOT_ACTIVE"
    world.billing.cancel("cus_a", sub["id"], {"reason": "moving", "when": "now"})
    for attempt in (lambda: world.billing.resume("cus_a", sub["id"]),
                    lambda: world.billing.pause("cus_a", sub["id"], {}),
                    lambda: world.billing.cancel("cus_a", sub["id"], {"reason": "again",
                                                                      "when": "now"})):
        with pytest.raises(errors.Conflict):
            attempt()


def test_a_pause_ends_on_its_date_and_the_paused_days_are_not_paid(world):
    sub = subscribe(world, package="family")
    world.clock.advance(days=10)
    paused = world.billing.pause("cus_a", sub["id"], {"until": "2026-12-11"})
    assert paused["status"] == "paused" and paused["pause_until"] == "2026-12-11T00:00:00Z"
    world.clock.set(dt.datetime(2026, 12, 12, tzinfo=dt.UTC))
    assert due(world) == (1, 0)
    assert world.billing.run_due()["pauses_ended"] == 0
    resumed = world.billing.get_subscription("cus_a", sub["id"])
    assert resumed["status"] == "active"
    # paused from 1 Dec 10:00 to 11 Dec 00:00: the period is longer by exactly that
    assert resumed["current_period"]["end"] == "2026-12-31T00:00:00Z"


def test_a_pause_longer_than_the_rule_allows_or_in_the_past_is_refused(world):
    sub = subscribe(world, package="family")
    with pytest.raises(errors.InvalidArgument) as exc:
        world.billing.pause("cus_a", sub["id"], {"until": "2026-11-21"})
    assert set(exc.value.fields) == {"until"}
    with pytest.raises(errors.Conflict) as exc:
        world.billing.pause("cus_a", sub["id"], {"until": "2027-06-01"})
    assert exc.value.code == "PAUSE_TOO_LONG"


def test_cancelling_now_credits_the_unused_part_and_at_period_end_stops_renewal(world):
    now = subscribe(world, package="family", addons=["sports"])
    world.clock.advance(days=15)
    cancelled = world.billing.cancel("cus_a", now["id"], {"reason": "too expensive",
                                                          "when": "now"})
    assert [k for k, _ in amounts(cancelled)] == ["credit", "credit", "tax"]
    assert cancelled["subscription"]["status"] == "cancelled"
    assert cancelled["subscription"]["cancel_reason"] == "too expensive"

    later = subscribe(world, "cus_b", package="family")
    scheduled = world.billing.cancel("cus_b", later["id"], {"reason": "moving",
                                                            "when": "period_end"})
    assert scheduled["scheduled"] and scheduled["subscription"]["next_renewal"] is None
    world.clock.advance(days=40)
    world.billing.run_due()
    ended = world.billing.get_subscription("cus_b", later["id"])
    assert ended["status"] == "cancelled" and ended["cancelled_at"] == "2027-01-06T10:00:00Z"
    assert [c.kind for c in charges(world, later["id"])] == ["fee", "discount"]  # no renewal


def test_subscribing_twice_with_one_idempotency_key_subscribes_once(world):
    first = subscribe(world, key="k-1", package="family")
    again = subscribe(world, key="k-1", package="family")
    assert again["id"] == first["id"]
    assert len(charges(world)) == 2
    with pytest.raises(errors.Conflict) as exc:
        subscribe(world, key="k-1", package="premium")
    assert exc.value.code == "IDEMPOTENCY_KEY_REUSED"


def test_another_customers_subscription_is_not_found(world):
    sub = subscribe(world)
    world.accounts.add("cus_other")
    for attempt in (lambda: world.billing.get_subscription("cus_other", sub["id"]),
                    lambda: world.billing.pause("cus_other", sub["id"], {}),
                    lambda: world.billing.cancel("cus_other", sub["id"], {"reason": "x",
                                                                          "when": "now"})):
        with pytest.raises(errors.NotFound):
            attempt()
    assert world.billing.list_subscriptions("cus_other")["data"] == []


def test_ops_replace_a_device_serial_and_serials_stay_unique(world):
    first = subscribe(world, package="family", devices=[{"code": "stb-4k",
                                                         "acquisition": "rental"}])
    second = subscribe(world, "cus_b", package="family", devices=[{"code": "stb-4k",
                                                                   "acquisition": "rental"}])
    device = first["devices"][0]
    replaced = world.billing.replace_device(device["id"], {"serial_number": "STB-REAL-0001"})
    assert replaced["previous_serials"] == [device["serial_number"]]
    with pytest.raises(errors.Conflict):
        world.billing.replace_device(second["devices"][0]["id"],
                                     {"serial_number": "STB-REAL-0001"})
    count = world.billing_session.scalar(select(func.count()).select_from(Device))
    assert count == 2
