"""Routing rules as ops manage them, and the compiled rule set routing uses.

Rules are kept as ops wrote them (`match`: `[{field, op, value}]`); a bad matcher (unknown
field or operator, a regular expression that does not compile) is a field error when the rule
is saved, never at routing time. Every change bumps `rules_version`; each process keeps the
compiled rule set until the version moves, so routing a ticket costs one small query, not a
recompilation of the whole tree.

The functions flush; the caller (the entrypoint in service.py) commits.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import errors, pages
from services.common.clock import isoformat
from services.common.contract.tickets import DefaultRouteIn, RouteTestIn, RuleIn
from services.common.ids import new_id
from services.common.schemas import load_or_raise
from services.tickets import counters, exceptions, routing, teams
from services.tickets.models import EscalationPolicy, RoutingRule, Setting

log = logging.getLogger(__name__)
MAX_RULES = 10_000
# a rule's columns as RuleIn loads them (its `continue` is the column `continue_`)
COLUMNS = ("position", "match", "team", "priority", "escalation_policy")


def dump(rule: RoutingRule) -> dict:
    return {"id": rule.id, "position": rule.position, "description": rule.description,
            "match": rule.match, "team": rule.team, "priority": rule.priority,
            "escalation_policy": rule.escalation_policy, "continue": rule.continue_,
            "updated_at": isoformat(rule.updated_at)}


def default_route(session: Session, policy) -> dict:
    stored = session.get(Setting, "default_route")
    value = dict(stored.value) if stored else {}
    return {"team": value.get("team") or policy.default_team,
            "escalation_policy": value.get("escalation_policy")}


def listing(session: Session, policy) -> dict:
    rows = session.scalars(select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id))
    return {**pages.whole([dump(r) for r in rows]), "default": default_route(session, policy)}


def _check(session: Session, values: dict) -> None:
    """The rule's regular expressions compile, its team and policy exist."""
    try:
        routing.compile_rule(values)
    except routing.InvalidRule as bad:
        raise errors.InvalidArgument(fields=bad.problems) from None
    problems = {}
    if not teams.exists(session, values["team"]):
        problems["team"] = ["no such team"]
    wanted = values.get("escalation_policy")
    if wanted and session.get(EscalationPolicy, wanted) is None:
        problems["escalation_policy"] = ["no such escalation policy"]
    if problems:
        raise errors.InvalidArgument(fields=problems)


def _bump(session: Session) -> None:
    """A new rules version (atomic: two concurrent changes give two versions, so no process
    keeps a rule set compiled between them)."""
    counters.bump(session, "rules_version")


def create(session: Session, request: dict, now: dt.datetime) -> dict:
    values = load_or_raise(RuleIn(), request)
    _check(session, values)
    if session.query(RoutingRule).count() >= MAX_RULES:
        raise errors.Conflict(f"At most {MAX_RULES} routing rules.", code=exceptions.TOO_MANY_RULES)
    rule = RoutingRule(id=new_id("rule"), description=values.get("description") or "",
                       continue_=values["continue"], created_at=now, updated_at=now,
                       **{k: values.get(k) for k in COLUMNS})
    session.add(rule)
    _bump(session)
    session.flush()
    return dump(rule)


def _find(session: Session, rule_id) -> RoutingRule:
    rule = session.get(RoutingRule, rule_id) if isinstance(rule_id, str) else None
    if rule is None:
        raise errors.NotFound("No such routing rule.", code=exceptions.RULE_NOT_FOUND)
    return rule


def replace(session: Session, rule_id: str, request: dict, now: dt.datetime) -> dict:
    values = load_or_raise(RuleIn(), request)
    rule = _find(session, rule_id)
    _check(session, values)
    for name in COLUMNS:
        setattr(rule, name, values.get(name))
    rule.continue_ = values["continue"]
    rule.description, rule.updated_at = values.get("description") or "", now
    _bump(session)
    session.flush()
    return dump(rule)


def delete(session: Session, rule_id: str) -> None:
    session.delete(_find(session, rule_id))
    _bump(session)
    session.flush()


def set_default(session: Session, request: dict, policy) -> dict:
    values = load_or_raise(DefaultRouteIn(), request)
    problems = {}
    if not teams.exists(session, values["team"]):
        problems["team"] = ["no such team"]
    if values.get("escalation_policy") and session.get(
            EscalationPolicy, values["escalation_policy"]) is None:
        problems["escalation_policy"] = ["no such escalation policy"]
    if problems:
        raise errors.InvalidArgument(fields=problems)
    stored = session.get(Setting, "default_route")
    value = {"team": values["team"], "escalation_policy": values.get("escalation_policy")}
    if stored is None:
        session.add(Setting(name="default_route", value=value))
    else:
        stored.value = value
    _bump(session)
    session.flush()
    return default_route(session, policy)


# the compiled rule set ------------------------------------------------------------------------

_cache: dict = {}
_cache_lock = threading.Lock()


def rule_set(session: Session, policy) -> routing.RuleSet:
    """The compiled rules and default route, recompiled only after a change."""
    key = (id(session.get_bind()), counters.current(session, "rules_version"),
           policy.default_team)
    cached = _cache.get("set")
    if cached is not None and cached[0] == key:
        return cached[1]
    rows = session.scalars(select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id))
    compiled = []
    for r in rows:
        try:
            compiled.append(routing.compile_rule({
                "id": r.id, "position": r.position, "match": r.match, "team": r.team,
                "priority": r.priority, "escalation_policy": r.escalation_policy,
                "continue": r.continue_}))
        except routing.InvalidRule as bad:
            # saved before expressions ran on RE2 (a backreference, lookaround): skipped, not
            # a failure of every ticket; ops see it refused when they next save the rule
            log.warning("routing rule %s skipped: %s", r.id, bad)
    default = default_route(session, policy)
    result = routing.RuleSet(compiled, routing.DefaultRoute(default["team"],
                                                            default["escalation_policy"]))
    with _cache_lock:
        _cache["set"] = (key, result)
    return result


def test(session: Session, request: dict, policy) -> dict:
    """Where a ticket with these attributes would go (ops try rules before relying on them)."""
    values = load_or_raise(RouteTestIn(), request)
    attributes = routing.attributes_of({
        "category": values.get("category"), "priority": values.get("priority"),
        "subscription_id": values.get("subscription"), "subject": values.get("subject"),
        "description": values.get("description"),
        "context": {"tax_region": values.get("region"), "package": values.get("package"),
                    "billing_type": values.get("billing_type")}})
    decisions = routing.route(rule_set(session, policy), attributes)
    return {"decisions": [{"team": d.team, "priority": d.priority,
                           "escalation_policy": d.escalation_policy, "rule_id": d.rule_id}
                          for d in decisions]}
