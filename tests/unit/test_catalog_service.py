"""The catalog service with `worker_factory`, a TestClock and SQLite in memory."""

import copy
import datetime as dt
import json
import pathlib

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from services.catalog import seed
from services.catalog.models import MIGRATIONS, TRANSLATED, Base
from services.catalog.service import CatalogService
from services.common import errors
from services.common.clock import TestClock
from services.common.db import KERNEL, Component, make_engine, migrate
from services.common.kernel_tables import OutboxMessage
from services.common.money import tax_of

DEMO_CATALOG = pathlib.Path(__file__).resolve().parents[2] / "deploy" / "demo_catalog.json"
START = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def service():
    engine = make_engine("sqlite://")
    migrate(engine, [KERNEL, Component("catalog", Base.metadata)])
    session = Session(engine, expire_on_commit=False)
    svc = worker_factory(CatalogService, db=session, clock=TestClock(START))
    yield svc
    session.close()


@pytest.fixture
def demo(service):
    seed.load(service, json.loads(DEMO_CATALOG.read_text(encoding="utf-8")))
    return service


def package(**overrides):
    return {"code": "basic", "name": "Basic", "description": "The essentials.",
            "channels": ["News 24", "Sport 1 HD"], "prices": {"month": 1499, "year": 14990},
            "currency": "EUR", **overrides}


def addon(**overrides):
    return {"code": "sports", "name": "Sports Plus", "channels": ["Sport 2 HD"],
            "prices": {"month": 999}, "currency": "EUR", "packages": ["family"], **overrides}


def device(**overrides):
    return {"code": "stb-4k", "model": "StreamBox 4K", "kind": "set_top_box",
            "sale_price": 9900, "rental_price": 499, "currency": "EUR", **overrides}


def promotion(**overrides):
    return {"code": "family-10", "name": "Family: 10 % off", "kind": "percent", "value": 1000,
            "packages": ["family"], "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": "2027-12-31T23:59:59Z", **overrides}


def events(svc):
    return [(m.event_type, m.payload["catalog"])
            for m in svc.db.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def invalid(call, *args):
    with pytest.raises(errors.InvalidArgument) as exc:
        call(*args)
    return exc.value.fields


# --- ops: create, validation, references ------------------------------------------------------

def test_creating_a_package_stores_it_with_default_rules_and_emits_catalog_changed(service):
    created = service.ops_create("packages", package())
    assert created["price"] == {"amount": 1499, "currency": "EUR"}
    assert created["billing_period"] == "month" and created["active"] is True
    assert created["rules"] == {"upgrades_to": [], "downgrades_to": [],
                                "downgrade_timing": "period_end", "max_addons": 10,
                                "min_term_months": 0, "pause_allowed": False,
                                "max_pause_days": 0}
    assert created["created_at"] == "2026-03-10T12:00:00Z"
    assert service.get_package("basic") == {k: v for k, v in created.items()
                                            if k not in ("created_at", "updated_at")}
    assert events(service) == [("catalog_changed",
                                {"kind": "packages", "code": "basic", "change": "created"})]
    message = service.db.scalars(select(OutboxMessage)).one()
    assert set(message.payload) == {"event_id", "occurred_at", "catalog"}


@pytest.mark.parametrize(("data", "field"), [
    (package(colour="blue"), "colour"),
    (package(code="Basic!"), "code"),
    (package(code="b"), "code"),
    (package(name=""), "name"),
    (package(name="x" * 201), "name"),
    (package(prices={"month": -1}), "prices.month"),
    (package(prices={"month": 14.99}), "prices.month"),
    (package(prices={"month": "1499"}), "prices.month"),
    (package(prices={"month": True}), "prices.month"),
    (package(prices={"year": 14990}), "prices.month"),
    (package(prices={"month": 1499, "week": 399}), "prices.week"),
    (package(currency="EURO"), "currency"),
    (package(channels=["News 24"] * 2), "channels"),
    (package(channels=[f"Channel {i}" for i in range(501)]), "channels"),
    (package(active="yes"), "active"),
    (package(rules={"max_addons": -1}), "rules.max_addons"),
    (package(rules={"downgrade_timing": "later"}), "rules.downgrade_timing"),
    (package(rules={"pause_allowed": 1}), "rules.pause_allowed"),
    (package(rules={"upgrades_to": ["a-1"], "downgrades_to": ["a-1"]}), "rules.downgrades_to"),
    (package(rules={"colour": "blue"}), "rules.colour"),
])
def test_package_fields_are_validated(service, data, field):
    assert field in invalid(service.ops_create, "packages", data)
    assert events(service) == []


@pytest.mark.parametrize(("kind", "data", "field"), [
    ("devices", device(sale_price=None, rental_price=None), "sale_price"),
    ("devices", device(kind="phone"), "kind"),
    ("devices", device(rental_price=4.99), "rental_price"),
    ("tax_rates", {"region": "de", "rate_bp": 1900, "name": "VAT"}, "region"),
    ("tax_rates", {"region": "DE", "rate_bp": 10_001, "name": "VAT"}, "rate_bp"),
    ("tax_rates", {"region": "DE", "rate_bp": 19.0, "name": "VAT"}, "rate_bp"),
    ("promotions", promotion(value=0), "value"),
    ("promotions", promotion(value=10_001), "value"),
    ("promotions", promotion(currency="EUR"), "currency"),
    ("promotions", promotion(kind="fixed", value=500), "currency"),
    ("promotions", promotion(valid_until="2025-12-31T00:00:00Z"), "valid_until"),
    ("promotions", promotion(packages=[]), "packages"),
    ("addons", addon(prices={"month": 999.0}), "prices.month"),
])
def test_other_kinds_are_validated(service, kind, data, field):
    assert field in invalid(service.ops_create, kind, data)


def test_references_must_name_existing_entries(service):
    fields = invalid(service.ops_create, "packages", package(
        included_devices=["stb-8k"], rules={"upgrades_to": ["gold"], "downgrades_to": ["basic"]}))
    assert fields == {"included_devices": ["No device with the code stb-8k."],
                      "rules.upgrades_to": ["No package with the code gold."],
                      "rules.downgrades_to": ["A package cannot refer to itself."]}
    assert invalid(service.ops_create, "addons", addon()) == {
        "packages": ["No package with the code family."]}
    assert invalid(service.ops_create, "promotions", promotion()) == {
        "packages": ["No package with the code family."]}
    service.ops_create("packages", package(code="family", name="Family"))
    service.ops_create("addons", addon())  # now it exists
    assert invalid(service.ops_update, "packages", "family",
                   {"rules": {"upgrades_to": ["gold"]}}) == {
        "rules.upgrades_to": ["No package with the code gold."]}


def test_a_taken_code_is_refused(service):
    service.ops_create("packages", package())
    with pytest.raises(errors.Conflict) as exc:
        service.ops_create("packages", package(name="Another Basic"))
    assert exc.value.code == "ALREADY_EXISTS" and "code" in exc.value.fields
    service.ops_create("tax_rates", {"region": "DE", "rate_bp": 1900, "name": "VAT"})
    with pytest.raises(errors.Conflict):
        service.ops_create("tax_rates", {"region": "DE", "rate_bp": 700, "name": "Reduced"})


def test_an_unknown_kind_is_refused(service):
    for call, args in ((service.ops_list, ("plans",)), (service.ops_get, ("plans", "x")),
                       (service.ops_create, ("plans", {})), (service.ops_retire, (None, "x"))):
        assert "kind" in invalid(call, *args)


def test_ops_get_and_list_cover_every_kind_including_retired(service):
    service.ops_create("devices", device())
    service.ops_create("devices", device(code="router-wifi6", model="AX3000", kind="router",
                                         sale_price=None, rental_price=399))
    service.ops_retire("devices", "router-wifi6")
    assert [d["code"] for d in service.ops_list("devices")] == ["router-wifi6", "stb-4k"]
    assert [d["code"] for d in service.list_devices()] == ["stb-4k"]
    assert service.list_devices()[0] == {
        "code": "stb-4k", "model": "StreamBox 4K", "kind": "set_top_box",
        "sale_price": {"amount": 9900, "currency": "EUR"},
        "rental_price": {"amount": 499, "currency": "EUR"}, "active": True,
        "tax": {"region": None, "rate_bp": 0, "name": "No tax"},
        "taxed_sale_price": {"net": {"amount": 9900, "currency": "EUR"},
                             "tax": {"amount": 0, "currency": "EUR"},
                             "gross": {"amount": 9900, "currency": "EUR"}},
        "taxed_rental_price": {"net": {"amount": 499, "currency": "EUR"},
                               "tax": {"amount": 0, "currency": "EUR"},
                               "gross": {"amount": 499, "currency": "EUR"}}}
    assert service.ops_get("devices", "router-wifi6")["sale_price"] is None
    service.ops_create("tax_rates", {"region": "DE", "rate_bp": 1900, "name": "VAT"})
    assert service.ops_get("tax_rates", "DE")["rate_bp"] == 1900
    for kind, code in (("tax_rates", "AT"), ("promotions", "none"), ("packages", "gold")):
        with pytest.raises(errors.NotFound) as exc:
            service.ops_get(kind, code)
        assert exc.value.code.endswith("_NOT_FOUND")


# --- ops: update and retire -------------------------------------------------------------------

def test_an_update_changes_only_what_it_names_and_merges_rules(service):
    service.ops_create("packages", package(rules={"max_addons": 2, "pause_allowed": True,
                                                  "max_pause_days": 30}))
    service.clock.advance(days=1)
    updated = service.ops_update("packages", "basic", {"prices": {"month": 1599},
                                                       "rules": {"max_addons": 3}})
    assert updated["prices"] == {"month": 1599}  # prices are replaced whole
    assert updated["rules"]["max_addons"] == 3 and updated["rules"]["max_pause_days"] == 30
    assert updated["name"] == "Basic" and updated["updated_at"] == "2026-03-11T12:00:00Z"
    assert events(service)[-1] == ("catalog_changed",
                                   {"kind": "packages", "code": "basic", "change": "updated"})


def test_an_update_that_changes_nothing_emits_nothing(service):
    service.ops_create("packages", package())
    service.ops_update("packages", "basic", {"name": "Basic"})
    assert [e[1]["change"] for e in events(service)] == ["created"]


@pytest.mark.parametrize(("changes", "field"), [
    ({"code": "basic-2"}, "code"),
    ({"colour": "blue"}, "colour"),
    ({"prices": {"month": -5}}, "prices.month"),
    ({"rules": {"max_addons": "many"}}, "rules.max_addons"),
    ({"rules": None}, "rules"),
])
def test_updates_are_validated(service, changes, field):
    service.ops_create("packages", package())
    assert field in invalid(service.ops_update, "packages", "basic", changes)
    assert service.get_package("basic")["prices"] == {"month": 1499, "year": 14990}


def test_an_update_is_checked_against_the_whole_entry(service):
    service.ops_create("packages", package(code="family", name="Family"))
    service.ops_create("promotions", promotion())
    assert "valid_until" in invalid(service.ops_update, "promotions", "family-10",
                                    {"valid_until": "2025-06-01T00:00:00Z"})
    assert "currency" in invalid(service.ops_update, "promotions", "family-10",
                                 {"kind": "fixed"})
    changed = service.ops_update("promotions", "family-10",
                                 {"kind": "fixed", "value": 300, "currency": "EUR"})
    assert changed["value"] == 300


def test_retiring_hides_an_entry_from_sale_but_keeps_it(service):
    service.ops_create("packages", package())
    retired = service.ops_retire("packages", "basic")
    assert retired["active"] is False
    assert service.list_packages() == []
    assert service.get_package("basic")["active"] is False
    with pytest.raises(errors.Conflict) as exc:
        service.quote("EUR", "month", "basic")
    assert exc.value.code == "PACKAGE_NOT_AVAILABLE"
    service.ops_retire("packages", "basic")  # again: nothing changes
    assert [e[1]["change"] for e in events(service)] == ["created", "retired"]
    service.ops_update("packages", "basic", {"active": True})
    assert [p["code"] for p in service.list_packages()] == ["basic"]
    with pytest.raises(errors.NotFound) as exc:
        service.ops_retire("packages", "gold")
    assert exc.value.code == "PACKAGE_NOT_FOUND"


# --- public reads -----------------------------------------------------------------------------

def test_get_package_of_an_unknown_code_is_not_found(service):
    for code in ("gold", None, 42):
        with pytest.raises(errors.NotFound) as exc:
            service.get_package(code)
        assert exc.value.code == "PACKAGE_NOT_FOUND"


def test_add_ons_are_listed_for_a_package(demo):
    assert [a["code"] for a in demo.list_addons()] == [
        "international", "kids-extra", "movies", "sports"]
    assert [a["code"] for a in demo.list_addons("basic")] == ["international", "movies"]
    sports = demo.list_addons("premium")[-1]
    assert sports["price"] == {"amount": 999, "currency": "EUR"}
    assert sports["billing_period"] == "month" and sports["packages"] == ["family", "premium"]


def test_shown_prices_carry_the_tax_of_the_customers_region_as_billing_charges_it(demo):
    """Premium at €39.99 net is €47.59 with German VAT: the catalog shows what billing will
    charge (tax per line, half-even), for every period, add-on and device."""
    premium = next(p for p in demo.list_packages("DE") if p["code"] == "premium")
    assert premium["tax"] == {"region": "DE", "rate_bp": 1900, "name": "VAT (MwSt.)"}
    month = premium["taxed_prices"]["month"]
    assert month == {"net": {"amount": 3999, "currency": "EUR"},
                     "tax": {"amount": 760, "currency": "EUR"},
                     "gross": {"amount": 4759, "currency": "EUR"}}
    assert set(premium["taxed_prices"]) == set(premium["prices"])
    for period, net in premium["prices"].items():
        shown = premium["taxed_prices"][period]
        assert shown["gross"]["amount"] == net + tax_of(net, 1900)
    # Austria's 20 %, another customer's region; a region without a rate is untaxed
    sports = next(a for a in demo.list_addons("premium", "AT") if a["code"] == "sports")
    assert sports["taxed_prices"]["month"]["gross"] == {"amount": 1199, "currency": "EUR"}
    for nowhere in (None, "ZZ"):
        basic = next(p for p in demo.list_packages(nowhere) if p["code"] == "basic")
        assert basic["tax"]["rate_bp"] == 0
        assert basic["taxed_prices"]["month"]["gross"]["amount"] == basic["prices"]["month"]
    box = next(d for d in demo.list_devices("DE") if d["code"] == "stb-4k")
    assert box["taxed_sale_price"]["gross"]["amount"] == 9900 + tax_of(9900, 1900)
    # the same numbers a quote's lines get in billing
    quote = demo.quote("EUR", "month", "premium", [], [], "DE")
    assert quote["tax"]["rate_bp"] == premium["tax"]["rate_bp"]
    assert tax_of(quote["package"]["price"], quote["tax"]["rate_bp"]) == month["tax"]["amount"]


# --- quote ------------------------------------------------------------------------------------

def test_the_demo_catalog_loads_completely_and_quotes(demo):
    assert [p["code"] for p in demo.list_packages()] == ["basic", "family", "kids", "premium"]
    basic = demo.get_package("basic")
    assert len(basic["channels"]) == 40 and basic["prices"] == {"month": 1499, "year": 14990}
    assert demo.get_package("premium")["rules"]["downgrades_to"] == ["family", "basic"]
    assert len(demo.ops_list("tax_rates")) == 4 and len(demo.ops_list("promotions")) == 1
    again = seed.load(demo, json.loads(DEMO_CATALOG.read_text(encoding="utf-8")))
    assert again == {"created": 0, "existing": 15, "paths": 0}

    quote = demo.quote("EUR", "month", "family", ["sports", "movies"], ["stb-4k"], "DE")
    assert quote == {
        "currency": "EUR", "period": "month",
        "package": {"code": "family", "name": "Family", "price": 2499,
                    "discount": {"promotion": "family-10",
                                 "description": "Family welcome offer: 10 % off",
                                 "amount": 250}},
        "addons": [{"code": "sports", "name": "Sports Plus", "price": 999, "discount": None},
                   {"code": "movies", "name": "Movies & Series", "price": 1299,
                    "discount": None}],
        "devices": [{"code": "stb-4k", "model": "StreamBox 4K", "kind": "set_top_box",
                     "sale_price": 9900, "rental_price": 499, "included": False}],
        "tax": {"region": "DE", "rate_bp": 1900, "name": "VAT (MwSt.)"},
        "rules": demo.get_package("family")["rules"],
    }


def test_a_yearly_quote_uses_yearly_prices_and_twelve_months_of_rental(demo):
    quote = demo.quote("EUR", "year", "premium", ["sports"], ["stb-4k", "router-wifi6"], "CH")
    assert quote["package"] == {"code": "premium", "name": "Premium", "price": 39990,
                                "discount": None}
    assert quote["addons"][0]["price"] == 9990
    assert [(d["rental_price"], d["sale_price"], d["included"]) for d in quote["devices"]] == [
        (5988, 9900, True), (4788, None, False)]
    assert quote["tax"] == {"region": "CH", "rate_bp": 810, "name": "VAT (MWST)"}


def test_an_unknown_or_missing_tax_region_is_not_taxed(demo):
    assert demo.quote("EUR", "month", "basic", tax_region="US")["tax"] == {
        "region": "US", "rate_bp": 0, "name": "No tax"}
    assert demo.quote("EUR", "month", "basic")["tax"] == {
        "region": None, "rate_bp": 0, "name": "No tax"}
    demo.ops_retire("tax_rates", "AT")
    assert demo.quote("EUR", "month", "basic", tax_region="AT")["tax"]["rate_bp"] == 0


def test_the_best_valid_promotion_applies_by_the_clock(demo):
    demo.ops_create("promotions", {"code": "family-5eur", "name": "5 EUR off Family",
                                   "kind": "fixed", "value": 500, "currency": "EUR",
                                   "packages": ["family", "kids"],
                                   "valid_from": "2026-03-01T00:00:00Z"})
    demo.ops_create("promotions", {"code": "kids-chf", "name": "CHF offer", "kind": "fixed",
                                   "value": 9999, "currency": "CHF", "packages": ["kids"],
                                   "valid_from": "2026-03-01T00:00:00Z"})
    assert demo.quote("EUR", "month", "family")["package"]["discount"]["promotion"] == \
        "family-5eur"  # 500 beats 10 % of 2499
    assert demo.quote("EUR", "year", "family")["package"]["discount"] == {
        "promotion": "family-10", "description": "Family welcome offer: 10 % off",
        "amount": 2499}  # 10 % of 24990 beats 500
    kids = demo.quote("EUR", "month", "kids")["package"]["discount"]
    assert kids["promotion"] == "family-5eur" and kids["amount"] == 500  # CHF one ignored
    demo.clock.set(dt.datetime(2028, 1, 1, tzinfo=dt.UTC))
    demo.ops_retire("promotions", "family-5eur")
    assert demo.quote("EUR", "month", "family")["package"]["discount"] is None
    demo.clock.set(dt.datetime(2025, 12, 31, 23, 59, tzinfo=dt.UTC))
    assert demo.quote("EUR", "month", "family")["package"]["discount"] is None


def test_a_fixed_promotion_never_exceeds_the_price(demo):
    demo.ops_create("promotions", {"code": "kids-free", "name": "Kids for free", "kind": "fixed",
                                   "value": 5000, "currency": "EUR", "packages": ["kids"],
                                   "valid_from": "2026-01-01T00:00:00Z"})
    assert demo.quote("EUR", "month", "kids")["package"]["discount"]["amount"] == 999


@pytest.mark.parametrize(("args", "error", "code", "message"), [
    (("EUR", "month", "gold"), errors.NotFound, "PACKAGE_NOT_FOUND",
     "There is no package with the code gold."),
    (("EUR", "month", "family", ["golf"]), errors.NotFound, "ADDON_NOT_FOUND",
     "There is no add-on with the code golf."),
    (("EUR", "month", "family", [], ["stb-8k"]), errors.NotFound, "DEVICE_NOT_FOUND",
     "There is no device with the code stb-8k."),
    (("USD", "month", "family"), errors.Conflict, "CURRENCY_NOT_OFFERED",
     "Family is not offered in USD."),
    (("EUR", "month", "basic", ["sports"]), errors.Conflict, "ADDON_NOT_ALLOWED",
     "Sports Plus cannot be added to Basic."),
    (("EUR", "month", "kids", ["kids-extra", "international"]), errors.Conflict,
     "ADDON_NOT_ALLOWED", "International cannot be added to Kids."),
    (("EUR", "month", "basic", ["movies", "international"]), None, None, None),
])
def test_quote_errors_say_what_is_wrong(demo, args, error, code, message):
    if error is None:
        assert len(demo.quote(*args)["addons"]) == 2
        return
    with pytest.raises(error) as exc:
        demo.quote(*args)
    assert exc.value.code == code and exc.value.message == message


def test_quote_refuses_a_period_without_a_price_and_too_many_add_ons(demo):
    demo.ops_update("addons", "movies", {"prices": {"month": 1299}})
    with pytest.raises(errors.Conflict) as exc:
        demo.quote("EUR", "year", "family", ["movies"])
    assert exc.value.code == "PERIOD_NOT_OFFERED"
    assert exc.value.message == "Movies & Series is not offered with yearly billing."
    demo.ops_update("packages", "basic", {"rules": {"max_addons": 1}})
    with pytest.raises(errors.Conflict) as exc:
        demo.quote("EUR", "month", "basic", ["movies", "international"])
    assert exc.value.code == "TOO_MANY_ADDONS"
    assert exc.value.message == "Basic allows at most 1 add-on."
    demo.ops_retire("addons", "movies")
    with pytest.raises(errors.Conflict) as exc:
        demo.quote("EUR", "month", "family", ["movies"])
    assert exc.value.code == "ADDON_NOT_AVAILABLE"


@pytest.mark.parametrize(("args", "field"), [
    (("EUR", "month", "family", ["sports", "sports"]), "addons"),
    (("EUR", "month", "family", [], ["stb-4k", "stb-4k"]), "devices"),
    (("EUR", "week", "family"), "period"),
    (("EURO", "month", "family"), "currency"),
    (("EUR", "month", "Family!"), "package"),
    (("EUR", "month", "family", "sports"), "addons"),
])
def test_quote_arguments_are_validated(demo, args, field):
    assert field in invalid(demo.quote, *args)


def test_a_price_change_leaves_an_earlier_quote_as_it_was(demo):
    earlier = demo.quote("EUR", "month", "basic", ["movies"], ["stb-4k"], "DE")
    kept = copy.deepcopy(earlier)
    demo.ops_update("packages", "basic", {"prices": {"month": 1799, "year": 17990},
                                          "rules": {"max_addons": 3}})
    demo.ops_update("devices", "stb-4k", {"rental_price": 599})
    assert earlier == kept
    fresh = demo.quote("EUR", "month", "basic", ["movies"], ["stb-4k"], "DE")
    assert fresh["package"]["price"] == 1799 and fresh["devices"][0]["rental_price"] == 599
    assert fresh["rules"]["max_addons"] == 3 and earlier["rules"]["max_addons"] == 2


def test_every_change_lands_in_the_outbox(demo):
    demo.ops_update("packages", "basic", {"prices": {"month": 1599, "year": 15990}})
    demo.ops_retire("addons", "international")
    changes = events(demo)
    assert len(changes) == 15 + 4 + 2  # created, package paths, update, retire
    assert {t for t, _ in changes} == {"catalog_changed"}
    assert changes[0][1] == {"kind": "devices", "code": "stb-4k", "change": "created"}
    assert changes[-2:] == [
        ("catalog_changed", {"kind": "packages", "code": "basic", "change": "updated"}),
        ("catalog_changed", {"kind": "addons", "code": "international", "change": "retired"})]


# --- check_change through the service -----------------------------------------------------

SUBSCRIPTION = {"id": "sub_1", "status": "active",  # billing's own keys are ignored
                "package": "premium", "addons": ["sports"],
                "activation_date": "2026-01-15T09:30:00Z",
                "current_period": {"start": "2026-03-01T00:00:00Z",
                                   "end": "2026-04-01T00:00:00Z"}}


def test_check_change_answers_from_the_catalog_rules(demo):
    assert demo.check_change(SUBSCRIPTION, {"action": "change_package", "package": "family"}) \
        == {"allowed": True, "code": None, "reason": None, "effective": "period_end"}
    assert demo.check_change(SUBSCRIPTION, {"action": "change_package", "package": "kids"}) == {
        "allowed": False, "code": "CHANGE_NOT_ALLOWED",
        "reason": "Premium cannot be changed to Kids.", "effective": None,
        "params": {"current": "Premium", "target": "Kids"}}
    basic = {**SUBSCRIPTION, "package": "basic", "addons": []}
    assert demo.check_change(basic, {"action": "add_addon", "addon": "sports"})["reason"] == \
        "Sports Plus cannot be added to Basic."
    paused = demo.check_change(SUBSCRIPTION, {"action": "pause", "until": None})
    assert paused["allowed"] and paused["until_latest"] == "2026-05-09"
    cancel = demo.check_change(SUBSCRIPTION, {"action": "cancel", "when": "period_end",
                                              "reason": "Moving abroad"})
    assert cancel["code"] == "MINIMUM_TERM" and "2027-01-15" in cancel["reason"]
    demo.ops_retire("packages", "family")
    assert demo.check_change(SUBSCRIPTION, {"action": "change_package", "package": "family"})[
        "code"] == "PACKAGE_NOT_AVAILABLE"
    assert demo.check_change({**SUBSCRIPTION, "package": "family"}, {"action": "resume"})[
        "allowed"]  # a retired current package still has its rules


def test_package_options_answer_every_package_by_the_rules_a_change_meets(demo):
    options = {o["package"]: o for o in demo.package_options(SUBSCRIPTION)}
    assert list(options) == ["basic", "family", "kids", "premium"]
    assert options["premium"] == {
        "package": "premium", "kind": None, "current": True, "allowed": False,
        "code": "SAME_PACKAGE", "reason": "You already have Premium.", "effective": None,
        "params": {"current": "Premium"}}
    assert options["family"]["allowed"] and options["family"]["kind"] == "downgrade"
    assert options["family"]["effective"] == "period_end"
    # each answer is the one a change to that package gets
    for code, option in options.items():
        asked = demo.check_change(SUBSCRIPTION, {"action": "change_package", "package": code})
        assert {k: option[k] for k in ("allowed", "code", "reason", "effective")} == \
            {k: asked[k] for k in ("allowed", "code", "reason", "effective")}
    assert options["kids"]["code"] == "CHANGE_NOT_ALLOWED"
    assert options["kids"]["params"] == {"current": "Premium", "target": "Kids"}
    demo.ops_retire("packages", "basic")
    assert "basic" not in {o["package"] for o in demo.package_options(SUBSCRIPTION)}
    demo.ops_retire("packages", "premium")  # the current package is always an option
    assert demo.package_options(SUBSCRIPTION)[0]["package"] == "premium"


@pytest.mark.parametrize(("subscription", "target", "field"), [
    ({**SUBSCRIPTION, "activation_date": "yesterday"}, {"action": "resume"},
     "subscription.activation_date"),
    ({k: v for k, v in SUBSCRIPTION.items() if k != "current_period"}, {"action": "resume"},
     "subscription.current_period"),
    ({**SUBSCRIPTION, "package": "gold"}, {"action": "resume"}, "subscription.package"),
    ({**SUBSCRIPTION, "addons": ["golf"]}, {"action": "resume"}, "subscription.addons"),
    ({**SUBSCRIPTION, "addons": ["sports", "sports"]}, {"action": "resume"},
     "subscription.addons"),
    (SUBSCRIPTION, {"action": "upgrade"}, "target.action"),
    (SUBSCRIPTION, {"action": "change_package"}, "target.package"),
    (SUBSCRIPTION, {"action": "change_package", "package": "family", "when": "soon"},
     "target.when"),
    (SUBSCRIPTION, {"action": "cancel"}, "target.when"),
    (SUBSCRIPTION, {"action": "pause", "until": "2026-03-01"}, "target.until"),
    (SUBSCRIPTION, {"action": "resume", "force": True}, "target.force"),
    (SUBSCRIPTION, "resume", "target._schema"),
    (None, {"action": "resume"}, "subscription._schema"),
])
def test_check_change_refuses_malformed_input(demo, subscription, target, field):
    assert field in invalid(demo.check_change, subscription, target)


def test_health_says_the_database_answers(service):
    assert service.health() == {"service": "catalog", "database": "ok"}


# --- translations -------------------------------------------------------------------------

def test_customers_read_names_and_descriptions_in_their_language_where_translated(demo):
    german = {p["code"]: p for p in demo.list_packages("DE", "de")}
    assert german["basic"]["description"].startswith("Das Wichtigste: 40 Sender")
    assert german["basic"]["name"] == "Basic"  # no German name given: as entered
    assert "translations" not in german["basic"]
    assert german["premium"]["tax"]["name"] == "MwSt."
    movies = next(a for a in demo.list_addons("premium", "DE", "th") if a["code"] == "movies")
    assert movies["name"] == "ภาพยนตร์และซีรีส์"
    # English, an unknown language or none: as entered
    for language in ("en", "fr", None):
        basic = next(p for p in demo.list_packages("DE", language) if p["code"] == "basic")
        assert basic["description"].startswith("The essentials")
        assert basic["tax"]["name"] == "VAT (MwSt.)"
    # ops see and change every translation; a language the portal does not speak is refused
    assert demo.ops_get("packages", "basic")["translations"]["it"]["description"]
    changed = demo.ops_update("packages", "basic", {"translations": {
        "de": {"name": "Basis", "description": "Das Nötigste."}}})
    assert changed["translations"] == {"de": {"name": "Basis", "description": "Das Nötigste."}}
    assert next(p for p in demo.list_packages(None, "de")
                if p["code"] == "basic")["name"] == "Basis"
    for bad, field in (({"fr": {"name": "Base"}}, "translations"),
                       ({"de": {"name": ""}}, "translations"),
                       ({"de": {"colour": "blau"}}, "translations")):
        with pytest.raises(errors.InvalidArgument) as exc:
            demo.ops_update("packages", "basic", {"translations": bad})
        assert any(key.startswith(field) for key in exc.value.fields), exc.value.fields
    with pytest.raises(errors.InvalidArgument):  # a tax rate's translation is a name only
        demo.ops_update("tax_rates", "DE", {"translations": {"de": {"description": "x"}}})


def test_translations_are_added_to_an_existing_catalog_by_migration(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/catalog.db")
    migrate(engine, [KERNEL, Component("catalog", Base.metadata)])  # version 1: as deployed
    with engine.begin() as conn:
        for table in TRANSLATED:
            conn.execute(text(f"ALTER TABLE {table} DROP COLUMN translations"))
    migrate(engine, [KERNEL, Component("catalog", Base.metadata, MIGRATIONS)])
    columns = {t: {c["name"] for c in inspect(engine).get_columns(t)} for t in TRANSLATED}
    assert all("translations" in names for names in columns.values()), columns
