"""The catalog's service rules as pure functions: one test per rule, with its code and reason."""

import datetime as dt

import pytest

from services.catalog import rules
from services.catalog.rules import AddonInfo, PackageInfo, Rules, Subscription
from services.common import errors

UTC = dt.UTC
NOW = dt.datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

BASIC = PackageInfo("basic", "Basic", Rules(upgrades_to=("family", "premium"), max_addons=2))
FAMILY = PackageInfo("family", "Family", Rules(
    upgrades_to=("premium",), downgrades_to=("basic", "kids"), downgrade_timing="now",
    max_addons=3, pause_allowed=True, max_pause_days=60))
PREMIUM = PackageInfo("premium", "Premium", Rules(
    downgrades_to=("family", "basic"), downgrade_timing="period_end", max_addons=4,
    min_term_months=12, pause_allowed=True, max_pause_days=60))
KIDS = PackageInfo("kids", "Kids", Rules(upgrades_to=("family",), max_addons=1))
SPORTS = AddonInfo("sports", "Sports Plus", frozenset({"family", "premium"}))
MOVIES = AddonInfo("movies", "Movies & Series", frozenset({"basic", "family", "premium"}))
INTERNATIONAL = AddonInfo("international", "International",
                          frozenset({"basic", "family", "premium", "kids"}))


def subscription(package=PREMIUM, addons=(), activated=dt.datetime(2026, 1, 15, 9, 30,
                                                                   tzinfo=UTC)):
    return Subscription(package, tuple(addons), activated,
                        dt.datetime(2026, 3, 1, tzinfo=UTC), dt.datetime(2026, 4, 1, tzinfo=UTC))


def refused(decision, code):
    assert decision.allowed is False and decision.effective is None
    assert decision.code == code
    return decision.reason


# --- change_package -------------------------------------------------------------------------

def test_changing_to_the_same_package_is_refused():
    reason = refused(rules.change_package(subscription(), PREMIUM, "premium"), "SAME_PACKAGE")
    assert reason == "You already have Premium."


def test_changing_to_an_unknown_or_retired_package_is_refused():
    reason = refused(rules.change_package(subscription(BASIC), None, "gold"),
                     "PACKAGE_NOT_AVAILABLE")
    assert reason == "The package gold is not available."
    retired = PackageInfo("family", "Family", FAMILY.rules, active=False)
    reason = refused(rules.change_package(subscription(BASIC), retired, "family"),
                     "PACKAGE_NOT_AVAILABLE")
    assert reason == "Family is no longer available."


def test_an_upgrade_takes_effect_now_unless_asked_for_period_end():
    sub = subscription(BASIC, [MOVIES])
    assert rules.change_package(sub, FAMILY, "family").as_dict() == {
        "allowed": True, "code": None, "reason": None, "effective": "now"}
    assert rules.change_package(sub, FAMILY, "family", "now").effective == "now"
    assert rules.change_package(sub, PREMIUM, "premium", "period_end").effective == "period_end"


def test_a_downgrade_takes_effect_when_its_rule_says():
    assert rules.change_package(subscription(PREMIUM), FAMILY, "family").effective == "period_end"
    decision = rules.change_package(subscription(FAMILY), BASIC, "basic")
    assert decision.allowed and decision.effective == "now"
    assert rules.change_package(subscription(FAMILY), BASIC, "basic",
                                "period_end").effective == "period_end"


def test_a_downgrade_now_is_refused_when_the_rule_says_period_end():
    reason = refused(rules.change_package(subscription(PREMIUM), FAMILY, "family", "now"),
                     "DOWNGRADE_AT_PERIOD_END")
    assert reason == ("Premium can be changed to Family only at the end of the current period, "
                      "on 2026-04-01.")


def test_a_change_outside_the_paths_is_refused():
    reason = refused(rules.change_package(subscription(PREMIUM), KIDS, "kids"),
                     "CHANGE_NOT_ALLOWED")
    assert reason == "Premium cannot be changed to Kids."


def test_a_change_is_refused_while_an_add_on_is_not_allowed_on_the_target():
    sub = subscription(PREMIUM, [MOVIES, SPORTS])
    reason = refused(rules.change_package(sub, BASIC, "basic", "period_end"), "ADDON_NOT_ALLOWED")
    assert reason == "Sports Plus is not available with Basic. Remove Sports Plus first."


def test_a_change_is_refused_while_the_target_allows_fewer_add_ons():
    sub = subscription(FAMILY, [MOVIES, INTERNATIONAL, SPORTS])
    target = PackageInfo("premium", "Premium", Rules(max_addons=2))
    reason = refused(rules.change_package(sub, target, "premium"), "TOO_MANY_ADDONS")
    assert reason == "Premium allows at most 2 add-ons. Remove 1 add-on first."


# --- add-ons ----------------------------------------------------------------------------------

def test_adding_an_add_on_takes_effect_now():
    decision = rules.add_addon(subscription(FAMILY, [MOVIES]), SPORTS, "sports")
    assert decision.allowed and decision.effective == "now"


def test_adding_an_add_on_twice_is_refused():
    reason = refused(rules.add_addon(subscription(FAMILY, [SPORTS]), SPORTS, "sports"),
                     "ADDON_ALREADY_ADDED")
    assert reason == "Sports Plus is already part of your subscription."


def test_adding_an_unknown_or_retired_add_on_is_refused():
    reason = refused(rules.add_addon(subscription(FAMILY), None, "golf"), "ADDON_NOT_AVAILABLE")
    assert reason == "The add-on golf is not available."
    retired = AddonInfo("sports", "Sports Plus", SPORTS.packages, active=False)
    reason = refused(rules.add_addon(subscription(FAMILY), retired, "sports"),
                     "ADDON_NOT_AVAILABLE")
    assert reason == "Sports Plus is no longer available."


def test_adding_an_add_on_the_package_does_not_allow_is_refused():
    reason = refused(rules.add_addon(subscription(BASIC), SPORTS, "sports"), "ADDON_NOT_ALLOWED")
    assert reason == "Sports Plus cannot be added to Basic."


def test_adding_more_add_ons_than_the_package_allows_is_refused():
    sub = subscription(BASIC, [MOVIES, INTERNATIONAL])
    extra = AddonInfo("news", "News Extra", frozenset({"basic"}))
    reason = refused(rules.add_addon(sub, extra, "news"), "TOO_MANY_ADDONS")
    assert reason == "Basic allows at most 2 add-ons."


def test_removing_an_add_on_takes_effect_now():
    decision = rules.remove_addon(subscription(FAMILY, [SPORTS]), SPORTS, "sports")
    assert decision.allowed and decision.effective == "now"


def test_removing_an_add_on_that_is_not_there_is_refused():
    reason = refused(rules.remove_addon(subscription(FAMILY, [MOVIES]), SPORTS, "sports"),
                     "ADDON_NOT_PRESENT")
    assert reason == "Sports Plus is not part of your subscription."
    reason = refused(rules.remove_addon(subscription(FAMILY), None, "golf"), "ADDON_NOT_PRESENT")
    assert reason == "The add-on golf is not part of your subscription."


# --- pause, resume, cancel ----------------------------------------------------------------

def test_pausing_a_package_without_pauses_is_refused():
    reason = refused(rules.pause(subscription(BASIC), None, NOW), "PAUSE_NOT_ALLOWED")
    assert reason == "Basic cannot be paused."


def test_a_pause_longer_than_the_limit_is_refused_naming_the_latest_date():
    decision = rules.pause(subscription(PREMIUM), dt.date(2026, 5, 10), NOW)
    reason = refused(decision, "PAUSE_TOO_LONG")
    assert reason == "Premium can be paused for at most 60 days, until 2026-05-09 at the latest."
    assert decision.as_dict()["until_latest"] == "2026-05-09"


def test_a_pause_within_the_limit_or_open_ended_is_allowed_with_the_latest_date():
    assert rules.pause(subscription(PREMIUM), dt.date(2026, 5, 9), NOW).as_dict() == {
        "allowed": True, "code": None, "reason": None, "effective": "now",
        "until_latest": "2026-05-09"}
    open_ended = rules.pause(subscription(PREMIUM), None, NOW).as_dict()
    assert open_ended["allowed"] and open_ended["until_latest"] == "2026-05-09"


def test_a_pause_limit_of_zero_days_means_no_limit():
    unlimited = PackageInfo("flex", "Flex", Rules(pause_allowed=True, max_pause_days=0))
    decision = rules.pause(subscription(unlimited), dt.date(2030, 1, 1), NOW).as_dict()
    assert decision["allowed"] and decision["until_latest"] is None


@pytest.mark.parametrize("until", [dt.date(2026, 3, 9), dt.date(2026, 3, 10)])
def test_a_pause_must_end_after_today(until):
    with pytest.raises(errors.InvalidArgument) as exc:
        rules.pause(subscription(PREMIUM), until, NOW)
    assert "target.until" in exc.value.fields


def test_resuming_is_always_allowed_by_the_catalog():
    assert rules.resume(subscription(BASIC)).as_dict() == {
        "allowed": True, "code": None, "reason": None, "effective": "now"}


def test_cancelling_now_inside_the_minimum_term_is_refused_naming_its_end():
    reason = refused(rules.cancel(subscription(PREMIUM), "now", NOW), "MINIMUM_TERM")
    assert reason == ("The minimum term of Premium runs until 2027-01-15: "
                      "you can cancel from that day on.")


def test_cancelling_at_period_end_is_refused_when_the_period_ends_inside_the_term():
    sub = subscription(PREMIUM, activated=dt.datetime(2025, 4, 2, tzinfo=UTC))
    assert refused(rules.cancel(sub, "period_end", NOW), "MINIMUM_TERM").endswith(
        "runs until 2026-04-02: you can cancel from that day on.")
    sub = subscription(PREMIUM, activated=dt.datetime(2025, 4, 1, tzinfo=UTC))
    assert rules.cancel(sub, "period_end", NOW).effective == "period_end"


def test_cancelling_after_the_minimum_term_or_without_one_is_allowed():
    sub = subscription(PREMIUM, activated=dt.datetime(2025, 3, 10, 12, 0, tzinfo=UTC))
    assert rules.cancel(sub, "now", NOW).effective == "now"
    assert rules.cancel(subscription(BASIC, activated=NOW), "now", NOW).allowed


@pytest.mark.parametrize(("start", "months", "end"), [
    (dt.datetime(2026, 1, 31, tzinfo=UTC), 1, dt.datetime(2026, 2, 28, tzinfo=UTC)),
    (dt.datetime(2027, 1, 31, tzinfo=UTC), 13, dt.datetime(2028, 2, 29, tzinfo=UTC)),
    (dt.datetime(2026, 12, 15, 8, tzinfo=UTC), 1, dt.datetime(2027, 1, 15, 8, tzinfo=UTC)),
    (dt.datetime(2026, 5, 31, tzinfo=UTC), 0, dt.datetime(2026, 5, 31, tzinfo=UTC)),
])
def test_the_minimum_term_counts_calendar_months(start, months, end):
    assert rules.add_months(start, months) == end
