"""Routing tickets to teams by an ordered rule tree: a table of ticket attributes → the teams,
priorities and escalation policies expected, with `continue`, regex matchers and the default
route; and the urgency × impact priority matrix."""

import pytest

from services.tickets import routing

RULES = [
    {"id": "r1", "position": 1, "team": "network-de", "priority": "P1",
     "escalation_policy": "noc-fast", "continue": True,
     "match": [{"field": "category", "op": "=", "value": "service_interruption"},
               {"field": "region", "op": "=~", "value": "DE|AT"}]},
    {"id": "r2", "position": 2, "team": "network", "escalation_policy": "noc",
     "match": [{"field": "category", "op": "=", "value": "service_interruption"}]},
    {"id": "r3", "position": 3, "team": "billing", "escalation_policy": "office-hours",
     "match": [{"field": "category", "op": "=", "value": "billing_question"},
               {"field": "billing_type", "op": "!=", "value": "prepaid"}]},
    {"id": "r4", "position": 4, "team": "wallet",
     "match": [{"field": "category", "op": "=", "value": "billing_question"}]},
    {"id": "r5", "position": 5, "team": "retention", "priority": "P2",
     "match": [{"field": "keywords", "op": "=~", "value": r"\bcancel(l?ing|lation)?\b"},
               {"field": "package", "op": "!~", "value": "kids.*"}]},
]
RULE_SET = routing.RuleSet([routing.compile_rule(r) for r in reversed(RULES)],
                           routing.DefaultRoute("support", "office-hours"))


def ticket(category="general", region="", billing_type="postpaid", package="family",
           subject="Hello", description=""):
    return routing.attributes_of({
        "category": category, "subject": subject, "description": description,
        "context": {"tax_region": region, "billing_type": billing_type, "package": package}})


@pytest.mark.parametrize("attrs, expected", [
    # continue: the regional team and then the general network team
    (ticket("service_interruption", "DE"), [("network-de", "P1", "noc-fast", "r1"),
                                            ("network", None, "noc", "r2")]),
    # the regex is anchored: "DEU" is not DE
    (ticket("service_interruption", "DEU"), [("network", None, "noc", "r2")]),
    (ticket("service_interruption", "FR"), [("network", None, "noc", "r2")]),
    # != : postpaid billing questions go to billing, prepaid ones fall through to wallet
    (ticket("billing_question", billing_type="postpaid"),
     [("billing", None, "office-hours", "r3")]),
    (ticket("billing_question", billing_type="prepaid"), [("wallet", None, None, "r4")]),
    # keywords are searched, case-insensitively, in subject and description
    (ticket(subject="Please CANCEL my plan"), [("retention", "P2", None, "r5")]),
    (ticket(description="thinking about cancellation"), [("retention", "P2", None, "r5")]),
    (ticket(subject="cancel", package="kids"), [("support", None, "office-hours", None)]),
    (ticket(subject="cancelled flight"), [("support", None, "office-hours", None)]),
    # nothing matches: the default route
    (ticket(), [("support", None, "office-hours", None)]),
])
def test_routing_table(attrs, expected):
    decisions = routing.route(RULE_SET, attrs)
    assert [(d.team, d.priority, d.escalation_policy, d.rule_id) for d in decisions] == expected


def test_a_missing_attribute_is_empty_for_equals_and_differs():
    rule = routing.compile_rule({"id": "x", "team": "t", "match": [
        {"field": "subscription", "op": "!=", "value": "sub_1"}]})
    assert rule.matches({})
    assert not routing.compile_rule({"id": "y", "team": "t", "match": [
        {"field": "subscription", "op": "=", "value": "sub_1"}]}).matches({})


@pytest.mark.parametrize("bad, field", [
    ({"field": "colour", "op": "=", "value": "red"}, "match.0.field"),
    ({"field": "region", "op": "~~", "value": "DE"}, "match.0.op"),
    ({"field": "region", "op": "=~", "value": "(unclosed"}, "match.0.value"),
    ({"field": "region", "op": "=", "value": 7}, "match.0.value"),
])
def test_a_bad_matcher_is_refused_when_the_rule_is_saved(bad, field):
    with pytest.raises(routing.InvalidRule) as refused:
        routing.compile_rule({"team": "t", "match": [bad]})
    assert field in refused.value.problems


def test_priority_from_urgency_and_impact():
    assert routing.priority_of("high", "high") == "P1"
    assert routing.priority_of("high", "medium") == routing.priority_of("medium", "high") == "P2"
    assert routing.priority_of("medium", "medium") == "P3"
    assert routing.priority_of("low", "low") == "P4"
