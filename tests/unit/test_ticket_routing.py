"""Routing tickets to teams by an ordered rule tree: a table of ticket attributes → the teams,
priorities and escalation policies expected, with `continue`, regex matchers and the default
route; and the urgency × impact priority matrix."""

import time

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


# the matcher: RE2, linear in the text ------------------------------------------------------

CATASTROPHIC = r"(\w+\s?)+$"  # exponential on a backtracking matcher (1.2 s on 22 characters)


def test_a_catastrophic_expression_runs_on_5000_characters_at_once():
    rule = routing.compile_rule({"id": "r", "team": "t", "match": [
        {"field": "keywords", "op": "=~", "value": CATASTROPHIC}]})
    # words then a character `\w` and `\s` do not match: the worst case for backtracking
    subject = "Picture freezes every few minutes"
    description = ("word " * 1000)[:4999] + "!"
    assert len(description) == 5000  # the longest a ticket's description can be
    attributes = ticket(subject=subject, description=description)
    # this test's subject is a deadline: a backtracking matcher takes 1.2 s on 22 characters
    # and doubles with each one more; a linear one takes milliseconds on 5,000. The bound is
    # far above the second and far below the first, so a busy machine cannot make it flaky.
    started = time.perf_counter()
    decisions = routing.route(routing.RuleSet([rule]), attributes)
    assert time.perf_counter() - started < 1.0
    assert decisions[0].rule_id is None  # no match: `$` follows "!"
    # and it still matches what it should
    assert routing.route(routing.RuleSet([rule]), ticket(
        subject="no picture", description="since this morning"))[0].rule_id == "r"


@pytest.mark.parametrize("value, text, expected", [
    (r"STÖRUNG", "eine Störung seit heute", True),  # case-insensitive, beyond ASCII
    (r"\bcancel\b", "Please CANCEL now", True),
    (r"\bcancel\b", "cancelled flight", False),
    (r"(?-i:CANCEL)", "cancel", False),  # inline flags work as in Python
    (r"refund$", "subject\nI want a refund", True),
    (r"picture", "bad \ud8d4 picture", True),  # a lone surrogate is not an error
])
def test_keywords_are_searched_case_insensitively(value, text, expected):
    matcher = routing.compile_matcher({"field": "keywords", "op": "=~", "value": value}, "m")
    assert matcher.holds({"keywords": text}) is expected


def test_other_fields_are_matched_whole_and_case_sensitively():
    matcher = routing.compile_matcher({"field": "region", "op": "=~", "value": "DE|AT"}, "m")
    assert matcher.holds({"region": "AT"})
    assert not matcher.holds({"region": "DEU"}) and not matcher.holds({"region": "de"})
    assert routing.compile_matcher({"field": "region", "op": "!~", "value": "DE|AT"},
                                   "m").holds({"region": "FR"})


@pytest.mark.parametrize("value, says", [
    (r"(a+)\1", "backreferences or lookaround"),
    (r"refund(?!ed)", "backreferences or lookaround"),
    (r"(?<=no )signal", "backreferences or lookaround"),
    (r"(unclosed", "missing )"),
    (r"\w{1000}", "too complex"),
    ("bad \ud8d4", "not valid text"),
])
def test_an_expression_re2_cannot_run_is_a_field_error_that_says_why(value, says):
    with pytest.raises(routing.InvalidRule) as refused:
        routing.compile_rule({"team": "t", "match": [
            {"field": "category", "op": "=", "value": "general"},
            {"field": "keywords", "op": "=~", "value": value}]})
    [message] = refused.value.problems["match.1.value"]
    assert says in message
