r"""Routing a ticket to teams: an ordered tree of rules, the way Prometheus Alertmanager routes
alerts.

A rule has matchers on the ticket's attributes and decides the team, the priority and the
escalation policy. Rules are tried in `position` order; the first that matches decides, unless
it says `continue`, in which case its decision is kept and the next matching rule decides too
(a ticket can page two teams). No match: the default route.

Matchers (all of a rule's must hold), on attributes `category`, `priority`, `region`,
`package`, `billing_type`, `subscription`, and `keywords` (the subject and description):
- `=` equals, `!=` differs (a missing attribute is the empty string);
- `=~` matches the regular expression, `!~` does not. As in Alertmanager the expression is
  anchored (it must match the whole value), except on `keywords`, where it is searched for
  (case-insensitive) in the text.
Expressions are compiled once, when the rules are loaded (`compile_rule`), and a bad one is a
field error then, never at routing time.

Expressions run on RE2 (the `google-re2` package), not Python's `re`: RE2 matches in time
linear in the text whatever the expression, so no rule can make routing a ticket (subject and
description, up to 5,200 characters) take seconds, as `(\w+\s?)+$` does with a backtracking
matcher. RE2's syntax is Python's minus backreferences and lookaround (`\1`, `(?=…)`,
`(?<!…)`): those, and expressions whose compiled program is larger than `MAX_PROGRAM_SIZE`
(huge counted repetitions like `\w{1000}`), are refused when the rule is saved. Differences to
know: `\w`, `\d`, `\s` and `\b` are ASCII (`\pL` for any letter); `$` is the end of the text
only (use `(?m)` for line ends); `\Z` is written `\z`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import re2

from services.common.contract.tickets import OPERATORS, PRIORITIES, ROUTING_FIELDS

MAX_PROGRAM_SIZE = 2000  # RE2 instructions: `outage|st.rung|no signal` is 40, `\w{200}` 1,600
MAX_MEMORY = 1 << 20  # bytes per compiled expression (RE2's default is 8 MiB)

# a matcher's attributes; they, OPERATORS and PRIORITIES are the contract's (the gateway's too)
FIELDS = ROUTING_FIELDS


class InvalidRule(ValueError):
    def __init__(self, problems: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in problems.items()))
        self.problems = problems


@dataclass(frozen=True)
class Matcher:
    field: str
    op: str
    value: str
    pattern: object | None = None  # a compiled RE2 expression for =~ and !~

    def holds(self, attributes: dict[str, str]) -> bool:
        actual = attributes.get(self.field) or ""
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        # as UTF-8 bytes, made once here: RE2 reads UTF-8, and a lone surrogate (which JSON
        # can carry) becomes U+FFFD instead of an encoding error at routing time
        text = actual.encode("utf-8", "replace")
        found = (self.pattern.search(text) if self.field == "keywords"
                 else self.pattern.fullmatch(text)) is not None
        return found if self.op == "=~" else not found


@dataclass(frozen=True)
class Rule:
    id: str
    position: int
    matchers: tuple[Matcher, ...]
    team: str
    priority: str | None = None
    escalation_policy: str | None = None
    continue_: bool = False

    def matches(self, attributes: dict[str, str]) -> bool:
        return all(m.holds(attributes) for m in self.matchers)


@dataclass(frozen=True)
class Decision:
    team: str
    priority: str | None
    escalation_policy: str | None
    rule_id: str | None  # None: the default route


@dataclass(frozen=True)
class DefaultRoute:
    team: str
    escalation_policy: str | None = None


@dataclass
class RuleSet:
    rules: list[Rule] = field(default_factory=list)
    default: DefaultRoute = DefaultRoute("support")

    def __post_init__(self) -> None:
        self.rules = sorted(self.rules, key=lambda r: (r.position, r.id))  # once, not per ticket


class InvalidExpression(ValueError):
    """A regular expression RE2 cannot run (bad syntax, backreference, lookaround, too big)."""


@functools.lru_cache(maxsize=4096)
def compile_expression(value: str, ignore_case: bool = False):
    """The RE2 expression for a matcher's value (cached: incident rules are compiled per
    ticket). Raises InvalidExpression with a message fit for a field error."""
    options = re2.Options()
    options.case_sensitive = not ignore_case  # Unicode case folding, like re.IGNORECASE
    options.never_capture = True  # a yes/no answer: no submatches to track
    options.log_errors = False  # a refused expression is the caller's answer, not a log line
    options.max_mem = MAX_MEMORY
    try:
        compiled = re2.compile(value.encode("utf-8"), options)
    except UnicodeEncodeError:
        raise InvalidExpression("is not valid text (a lone surrogate)") from None
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        reason = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        hint = (" (RE2 has no backreferences or lookaround)"
                if "escape sequence" in reason or "perl operator" in reason else "")
        raise InvalidExpression("is not a regular expression the linear-time matcher (RE2) "
                                f"accepts: {reason}{hint}") from None
    if compiled.programsize > MAX_PROGRAM_SIZE:
        raise InvalidExpression(
            f"is too complex a regular expression (RE2 program size {compiled.programsize}, "
            f"at most {MAX_PROGRAM_SIZE}): use smaller counted repetitions")
    return compiled


def compile_matcher(spec: dict, where: str) -> Matcher:
    """`{"field": "region", "op": "=~", "value": "DE|AT"}`."""
    problems: dict[str, list[str]] = {}
    name, op, value = spec.get("field"), spec.get("op", "="), spec.get("value")
    if name not in FIELDS:
        problems[f"{where}.field"] = [f"must be one of {', '.join(FIELDS)}"]
    if op not in OPERATORS:
        problems[f"{where}.op"] = [f"must be one of {' '.join(OPERATORS)}"]
    if not isinstance(value, str) or len(value) > 500:
        problems[f"{where}.value"] = ["must be text of at most 500 characters"]
    pattern = None
    if not problems and op in ("=~", "!~"):
        try:
            pattern = compile_expression(value, ignore_case=name == "keywords")
        except InvalidExpression as exc:
            problems[f"{where}.value"] = [str(exc)]
    if problems:
        raise InvalidRule(problems)
    return Matcher(name, op, value, pattern)


def compile_rule(spec: dict) -> Rule:
    match = spec.get("match") or []
    if not isinstance(match, list):
        raise InvalidRule({"match": ["must be a list of {field, op, value}"]})
    matchers = tuple(compile_matcher(m if isinstance(m, dict) else {}, f"match.{n}")
                     for n, m in enumerate(match))
    if spec.get("priority") not in (None, *PRIORITIES):
        raise InvalidRule({"priority": [f"must be one of {', '.join(PRIORITIES)}"]})
    return Rule(id=str(spec.get("id") or ""), position=int(spec.get("position") or 0),
                matchers=matchers, team=str(spec["team"]), priority=spec.get("priority"),
                escalation_policy=spec.get("escalation_policy"),
                continue_=bool(spec.get("continue")))


def route(rule_set: RuleSet, attributes: dict[str, str]) -> list[Decision]:
    """The decisions for a ticket: the first matching rule's, plus those after each matching
    `continue` rule; the default route when nothing matches. Never empty."""
    decisions: list[Decision] = []
    for rule in rule_set.rules:
        if rule.matches(attributes):
            decisions.append(Decision(rule.team, rule.priority, rule.escalation_policy,
                                      rule.id))
            if not rule.continue_:
                break
    return decisions or [Decision(rule_set.default.team, None,
                                  rule_set.default.escalation_policy, None)]


def attributes_of(ticket: dict) -> dict[str, str]:
    """What rules can see of a ticket (its own fields and the context captured at creation)."""
    context = ticket.get("context") or {}
    return {
        "category": ticket.get("category") or "",
        "priority": ticket.get("priority") or "",
        "region": context.get("tax_region") or "",
        "package": context.get("package") or "",
        "billing_type": context.get("billing_type") or "",
        "subscription": ticket.get("subscription_id") or "",
        "keywords": f"{ticket.get('subject') or ''}\n{ticket.get('description') or ''}",
    }


def priority_of(urgency: str, impact: str) -> str:
    """ITIL's matrix: urgency × impact (high, medium, low) → P1 … P4."""
    score = {"high": 0, "medium": 1, "low": 2}
    total = score.get(urgency, 1) + score.get(impact, 1)
    return PRIORITIES[min(total, 3)]
