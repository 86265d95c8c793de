"""A ticket's SLA (services/tickets/sla.py): minutes per priority from the operator's
configuration, the due time, what is left or how late, and how agents' views carry it."""

import datetime as dt

import pytest

from services.tickets import sla, tickets
from tests.unit.test_tickets_rules import AGENT, POLICY, START, world  # noqa: F401 (fixture)

MINUTES = {"P1": 240, "P2": 480, "P3": 1440, "P4": 4320}
AT = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)


def status(ticket_status="routed", priority="P2", now=AT, resolved_at=None, closed_at=None,
           minutes=MINUTES):
    return sla.status(created_at=AT, priority=priority, ticket_status=ticket_status,
                      resolved_at=resolved_at, closed_at=closed_at, now=now, minutes=minutes)


def test_an_open_ticket_has_its_priority_s_minutes_left_counted_by_the_given_clock():
    fresh = status(now=AT)
    assert fresh == {"minutes": 480, "due_at": "2026-06-01T16:00:00Z", "state": "running",
                     "remaining_seconds": 8 * 3600, "breached": False}
    later = status(now=AT + dt.timedelta(hours=5, minutes=50))
    assert later["remaining_seconds"] == 2 * 3600 + 10 * 60 and later["breached"] is False
    assert status(priority="P1", now=AT)["remaining_seconds"] == 4 * 3600


def test_past_the_due_time_an_open_ticket_is_overdue_by_the_difference():
    late = status(now=AT + dt.timedelta(hours=8, minutes=35))
    assert late["state"] == "running" and late["breached"] is True
    assert late["remaining_seconds"] == -35 * 60
    exactly = status(now=AT + dt.timedelta(hours=8))
    assert exactly["remaining_seconds"] == 0 and exactly["breached"] is False


def test_a_resolved_ticket_keeps_the_margin_it_was_resolved_with_whatever_the_time_now():
    met = status("resolved", resolved_at=AT + dt.timedelta(hours=7), now=AT + dt.timedelta(days=9))
    assert met["state"] == "met" and met["remaining_seconds"] == 3600
    late = status("closed", resolved_at=AT + dt.timedelta(hours=9), now=AT + dt.timedelta(days=9))
    assert late["state"] == "breached" and late["remaining_seconds"] == -3600
    # closed by an agent without a resolution: the closing time counts
    closed = status("closed", closed_at=AT + dt.timedelta(hours=1), now=AT + dt.timedelta(days=1))
    assert closed["state"] == "met" and closed["remaining_seconds"] == 7 * 3600


def test_the_configuration_sets_some_priorities_and_the_others_keep_their_default():
    assert sla.minutes_from_config(None) == sla.DEFAULT_MINUTES
    assert sla.minutes_from_config("") == sla.DEFAULT_MINUTES
    assert sla.minutes_from_config("{P1: 60}") == {**sla.DEFAULT_MINUTES, "P1": 60}
    assert sla.minutes_from_config({"P4": 10_000}) == {**sla.DEFAULT_MINUTES, "P4": 10_000}


@pytest.mark.parametrize("bad", ["[1, 2]", "{P9: 60}", "{P1: 0}", "{P1: 1.5}", "{P1: yes}",
                                 "{P1: '60'}", {"P2": 200_000}])
def test_a_bad_configuration_is_refused_naming_the_setting(bad):
    with pytest.raises(ValueError, match="TICKETS_SLA_MINUTES"):
        sla.minutes_from_config(bad)


def test_agents_views_carry_the_sla_by_the_service_s_clock_and_a_priority_change_moves_it(
        world):  # noqa: F811 (the fixture)
    opened = world.open(category="general")
    world.advance(minutes=50)
    view = tickets.ops_view(world.session, opened["id"], POLICY, world.now())
    minutes = dict(POLICY.sla_minutes)[view["priority"]]
    assert view["sla"]["minutes"] == minutes
    assert view["sla"]["remaining_seconds"] == minutes * 60 - 50 * 60
    page = tickets.queue(world.session, {}, 10, None, POLICY, world.now())
    assert page["data"][0]["sla"] == view["sla"]
    changed = tickets.change(world.session, opened["id"], {"priority": "P1"}, AGENT, POLICY,
                             world.now())
    assert changed["sla"]["minutes"] == 240
    assert changed["sla"]["remaining_seconds"] == 240 * 60 - 50 * 60
    # the customer's view has no SLA
    assert "sla" not in tickets.customer_view(world.session, "cus_a", opened["id"], POLICY,
                                              world.now())


def test_an_escalation_entry_says_the_step_as_people_count_it_and_the_minutes_since_routing(
        world):  # noqa: F811 (the fixture)
    from services.tickets import escalation, history, rules, teams, transactions

    teams.create(world.session, {"name": "noc"}, world.now())
    teams.create(world.session, {"name": "network"}, world.now())
    noc = escalation.create(world.session, {"name": "noc", "repeat": 0, "steps": [
        {"delay_minutes": 30, "target": {"type": "team", "team": "noc"}},
        {"delay_minutes": 15, "target": {"type": "lead"}}]}, world.now())
    rules.create(world.session, {"position": 1, "team": "network", "escalation_policy": noc["id"],
                                 "match": [{"field": "category", "op": "=",
                                            "value": "complaint"}]}, world.now())
    opened = world.open(category="complaint")
    world.advance(minutes=50)  # both steps due: at 30 and at 45 minutes (a round each)
    assert transactions.escalate_due(world.session, world.now()) == 1
    assert transactions.escalate_due(world.session, world.now()) == 1
    steps = [e["data"] for e in history.of(world.session, opened["id"], False)
             if e["kind"] == "escalated"]
    assert [(d["number"], d["of"], d["after_minutes"], d["team"]) for d in steps] == [
        (1, 2, 30, "noc"), (2, 2, 45, "network-lead")]
    assert [(d["step"], d["round"]) for d in steps] == [(0, 0), (1, 0)]  # the position, kept
