"""tickets' rules as plain functions on an in-memory world (SQLite, a TestClock, hand-written
accounts and billing fakes): opening and routing with its pages, silences, escalation steps on
the clock, the status machine and what each move tells, history as customers and agents see
it, incidents (grouping, acknowledging, resolving with service credits), and the limits on what
one customer may raise. Routing's matcher table is tests/unit/test_ticket_routing.py; the same
flows through RabbitMQ and PostgreSQL are tests/integration/test_tickets_*.py."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from services.common import errors
from services.tickets import (
    categories,
    escalation,
    events,
    exceptions,
    history,
    incidents,
    lifecycle,
    rules,
    silences,
    teams,
    tickets,
    transactions,
    views,
)
from services.tickets.models import MIGRATIONS, Base, IncidentCredit, Ticket
from tests.unit.service_world import World

START = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)
POLICY = views.Policy(reopen_days=7, default_team="support", public_url="https://portal.test")
AGENT = {"id": "agt_1", "name": "Ada"}
NETWORK_AGENT = {"id": "agt_2", "name": "Nils", "teams": ["network"]}


class FakeAccounts:
    """accounts.get_account for the customers a test declares (others are NotFound)."""

    def __init__(self) -> None:
        self.accounts: dict[str, dict] = {}
        self.down = False

    def add(self, customer_id: str, region: str = "DE", billing_type: str = "prepaid") -> None:
        self.accounts[customer_id] = {"id": customer_id, "name": f"Name of {customer_id}",
                                      "language": "en", "billing_type": billing_type,
                                      "currency": "EUR", "tax_region": region}

    def get_account(self, customer_id: str) -> dict:
        if self.down:
            raise TimeoutError("accounts did not answer")
        if customer_id not in self.accounts:
            raise errors.NotFound("No such customer.", code="CUSTOMER_NOT_FOUND")
        return self.accounts[customer_id]


class FakeBilling:
    """billing.dashboard (one subscription per customer) and grant_service_credit."""

    def __init__(self) -> None:
        self.down = False
        self.refuse: errors.ServiceError | None = None
        self.grants: list[tuple[str, dict]] = []

    def dashboard(self, customer_id: str, currency: str, billing_type: str) -> dict:
        if self.down:
            raise TimeoutError("billing did not answer")
        return {"subscriptions": [{"id": f"sub_{customer_id}", "package": {"code": "family"}}],
                "wallet": {"balance": {"amount": 1200, "currency": currency}}}

    def grant_service_credit(self, customer_id: str, request: dict, source: str) -> dict:
        if self.down:
            raise TimeoutError("billing did not answer")
        if self.refuse is not None:
            raise self.refuse
        self.grants.append((customer_id, request))
        return {"kind": "wallet_credit"}


class TicketsWorld(World):
    def __init__(self) -> None:
        super().__init__("tickets", Base.metadata, MIGRATIONS, start=START)
        self.accounts = FakeAccounts()
        self.billing = FakeBilling()
        for customer in ("cus_a", "cus_b", "cus_c"):
            self.accounts.add(customer)

    def open(self, customer="cus_a", category="general", subject="Hello",
             description="Something is odd.", key=None, **request) -> dict:
        return transactions.open_ticket(self.session, self.accounts, self.billing, customer, {
            "category": category, "subject": subject, "description": description, **request},
            key, self.now(), POLICY)

    def ticket(self, ticket_id: str) -> Ticket:
        return self.session.get(Ticket, ticket_id, populate_existing=True)

    def alerts(self) -> list[dict]:
        return [p["alert"] for _, p in self.events(events.ALERT_REQUESTED)]

    def kinds(self, ticket_id: str) -> list[str]:
        return [e["kind"] for e in history.of(self.session, ticket_id, for_customer=False)]


@pytest.fixture
def world():
    rules._cache.clear()  # keyed by the engine's id(): a new in-memory engine may reuse one
    w = TicketsWorld()
    yield w
    w.close()


def team(world, name):
    return teams.create(world.session, {"name": name}, world.now())


def rule(world, position, team_name, *match, **extra):
    if not teams.exists(world.session, team_name):
        team(world, team_name)
    return rules.create(world.session, {
        "position": position, "team": team_name,
        "match": [dict(zip(("field", "op", "value"), m, strict=True)) for m in match],
        **extra}, world.now())


def policy(world, *steps, repeat=0):
    return escalation.create(world.session, {
        "name": "noc", "repeat": repeat,
        "steps": [{"delay_minutes": minutes, "target": target} for minutes, target in steps]},
        world.now())


def refused(kind, call, *args, **kwargs):
    with pytest.raises(kind) as exc:
        call(*args, **kwargs)
    return exc.value


def change(world, ticket_id, actor=AGENT, **request):
    return tickets.change(world.session, ticket_id, request, actor, POLICY, world.now())


def resolve(world, ticket_id, text="Fixed the line."):
    return tickets.resolve(world.session, ticket_id, {"resolution": text}, AGENT, POLICY,
                           world.now())


def comment(world, ticket_id, text="Any news?", customer="cus_a"):
    return tickets.customer_comment(world.session, customer, ticket_id, {"text": text}, POLICY,
                                    world.now())


# opening and routing ----------------------------------------------------------------------------

def test_a_new_ticket_is_numbered_prioritised_routed_and_its_team_paged_in_one_go(world):
    rule(world, 1, "network", ("category", "=", "service_interruption"))
    opened = world.open(category="service_interruption", subscription_id="sub_cus_a")
    assert (opened["number"], opened["status"], opened["team"]) == (1, "routed", "network")
    assert opened["priority"] == "P2"  # urgency high × impact medium
    assert world.kinds(opened["id"]) == ["created", "routed", "alerted"]
    assert [kind for kind, _ in world.events()] == [events.ALERT_REQUESTED,
                                                    events.TICKET_ROUTED, events.TICKET_OPENED]
    [alert] = world.alerts()
    assert alert["dedup_key"] == f"ticket:{opened['id']}:routed:network"
    assert (alert["team"], alert["severity"]) == ("network", "critical")
    assert alert["fields"]["url"] == f"https://portal.test/#/ops/support/{opened['id']}"
    assert world.open()["number"] == 2


def test_the_customers_context_is_captured_and_rules_route_on_it(world):
    world.accounts.add("cus_at", region="AT")
    rule(world, 1, "network-at", ("region", "=", "AT"))
    rule(world, 2, "wallet", ("package", "=", "family"), ("billing_type", "=", "prepaid"))
    routed_at = world.open("cus_at")
    assert routed_at["team"] == "network-at"
    routed = world.open("cus_b")
    assert routed["team"] == "wallet"
    context = world.ticket(routed["id"]).context
    assert (context["package"], context["open_balance"]["amount"], context["unavailable"]) == (
        "family", 1200, [])


@pytest.mark.parametrize("down, missing", [("billing", ["billing"]), ("accounts", ["account"])])
def test_a_part_of_the_context_that_does_not_answer_is_listed_and_the_ticket_still_taken(
        world, down, missing):
    getattr(world, down).down = True
    opened = world.open()
    context = world.ticket(opened["id"]).context
    assert context["unavailable"] == missing and opened["status"] == "routed"


def test_a_continue_rule_pages_both_teams_but_the_customer_sees_no_routing_internals(world):
    rule(world, 1, "network-de", ("category", "=", "service_interruption"),
         ("region", "=~", "DE|AT"), priority="P1", **{"continue": True})
    rule(world, 2, "network", ("category", "=", "service_interruption"))
    opened = world.open(category="service_interruption", subscription_id="sub_cus_a")
    assert (opened["team"], opened["priority"]) == ("network-de", "P1")
    assert sorted(a["team"] for a in world.alerts()) == ["network", "network-de"]
    routed = next(e for e in history.of(world.session, opened["id"], False)
                  if e["kind"] == "routed")
    assert routed["data"]["also"] == ["network"] and len(routed["data"]["rule_ids"]) == 2
    seen = tickets.customer_view(world.session, "cus_a", opened["id"], POLICY, world.now())
    assert [e["kind"] for e in seen["history"]] == ["created", "routed"]
    assert seen["history"][1]["data"] == {"team": "network-de"} and "rules" not in seen


def test_without_a_matching_rule_the_default_route_decides_and_a_new_rule_applies_at_once(world):
    assert world.open()["team"] == "support"
    team(world, "frontdesk")
    rules.set_default(world.session, {"team": "frontdesk"}, POLICY)
    assert world.open()["team"] == "frontdesk"
    rule(world, 1, "retention", ("keywords", "=~", r"\bcancel"))
    assert world.open(subject="I want to CANCEL")["team"] == "retention"


def test_a_rule_for_a_missing_team_or_with_an_expression_re2_refuses_is_not_saved(world):
    error = refused(errors.InvalidArgument, rules.create, world.session, {
        "position": 1, "team": "ghosts", "match": []}, world.now())
    assert error.fields == {"team": ["no such team"]}
    team(world, "network")
    error = refused(errors.InvalidArgument, rules.create, world.session, {
        "position": 1, "team": "network",
        "match": [{"field": "keywords", "op": "=~", "value": r"(a)\1"}]}, world.now())
    assert "match.0.value" in error.fields
    assert rules.listing(world.session, POLICY)["data"] == []


def test_a_category_that_needs_a_subscription_and_a_foreign_subscription_are_refused(world):
    error = refused(errors.InvalidArgument, world.open, category="service_interruption")
    assert "subscription_id" in error.fields
    error = refused(errors.InvalidArgument, world.open, category="service_interruption",
                    subscription_id="sub_cus_b")
    assert error.fields == {"subscription_id": ["is not one of yours"]}
    assert world.session.scalar(select(func.count()).select_from(Ticket)) == 0


def test_an_idempotency_key_answers_the_same_ticket_and_refuses_another_request(world):
    first = world.open(key="k-1")
    assert world.open(key="k-1")["id"] == first["id"]
    assert world.open("cus_b", key="k-1")["id"] != first["id"]  # keys are per customer
    error = refused(errors.Conflict, world.open, key="k-1", subject="Another thing")
    assert error.code == "IDEMPOTENCY_KEY_REUSED"
    assert world.session.scalar(select(func.count()).select_from(Ticket)) == 2


def test_a_customer_may_have_ten_open_tickets_at_once(world):
    for _ in range(10):
        world.open()
        world.advance(minutes=7)  # spread over more than an hour: the count, not the rate
    error = refused(errors.Conflict, world.open)
    assert error.code == exceptions.TOO_MANY_OPEN_TICKETS
    assert world.open("cus_b")["status"] == "routed"


def test_a_customer_may_raise_ten_tickets_an_hour_even_if_all_are_resolved(world):
    for _ in range(10):
        resolve(world, world.open()["id"])
        world.advance(minutes=1)
    error = refused(errors.RateLimited, world.open)
    assert error.retry_after == 3600 - 10 * 60  # until the first leaves the hour
    world.advance(seconds=error.retry_after)
    assert world.open()["status"] == "routed"


# silences ---------------------------------------------------------------------------------------

def test_an_active_silence_of_the_team_holds_its_page_and_the_history_says_which(world):
    rule(world, 1, "network", ("category", "=", "complaint"))
    silence = silences.create(world.session, {
        "team": "network", "ends_at": (START + dt.timedelta(hours=2)).isoformat(),
        "reason": "planned works"}, AGENT, world.now())
    held = world.open(category="complaint")
    assert world.alerts() == []
    entry = history.of(world.session, held["id"], False)[-1]
    assert entry["kind"] == "silenced" and entry["data"]["silence_id"] == silence["id"]
    world.advance(hours=2)
    world.open(category="complaint")
    assert [a["team"] for a in world.alerts()] == ["network"]


def test_a_silence_of_a_rule_mutes_only_what_that_rule_matched(world):
    matched = rule(world, 1, "network", ("category", "=", "complaint"))
    silences.create(world.session, {"rule_id": matched["id"], "reason": "noisy rule",
                                    "ends_at": (START + dt.timedelta(days=1)).isoformat()},
                    AGENT, world.now())
    world.open(category="complaint")
    assert world.alerts() == []
    world.open(category="general")  # the default route: no silenced rule matched
    assert [a["team"] for a in world.alerts()] == ["support"]


def test_a_silence_ends_in_the_future_within_ninety_days_and_can_be_ended_early(world):
    for ends, says in ((START - dt.timedelta(minutes=1), "must be in the future"),
                       (START + dt.timedelta(days=91), "a silence lasts at most 90 days")):
        error = refused(errors.InvalidArgument, silences.create, world.session, {
            "team": "network", "ends_at": ends.isoformat(), "reason": "works"}, AGENT,
            world.now())
        assert error.fields == {"ends_at": [says]}
    made = silences.create(world.session, {"team": "network", "reason": "works", "ends_at": (
        START + dt.timedelta(hours=3)).isoformat()}, AGENT, world.now())
    world.advance(minutes=10)
    ended = silences.expire(world.session, made["id"], AGENT, world.now())
    assert not ended["active"] and ended["ends_at"] == "2026-06-01T08:10:00Z"
    assert ended["reason"] == "works (ended early by Ada)"
    assert silences.holding(world.session, "network", [], world.now()) is None
    error = refused(errors.NotFound, silences.expire, world.session, "sil_nope", AGENT,
                    world.now())
    assert error.code == exceptions.SILENCE_NOT_FOUND


# escalation -------------------------------------------------------------------------------------

def escalated(world):
    return [(a["team"], a["dedup_key"].rsplit(":", 2)[-2:]) for a in world.alerts()
            if ":escalation:" in a["dedup_key"]]


def test_escalation_steps_fire_at_their_delays_counted_from_the_previous_step(world):
    team(world, "noc")
    noc = policy(world, (5, {"type": "team", "team": "noc"}), (10, {"type": "lead"}))
    rule(world, 1, "network", ("category", "=", "complaint"), escalation_policy=noc["id"])
    opened = world.open(category="complaint")
    world.advance(minutes=4, seconds=59)
    assert transactions.escalate_due(world.session, world.now()) == 0
    world.advance(seconds=1)
    assert transactions.escalate_due(world.session, world.now()) == 1
    assert transactions.escalate_due(world.session, world.now()) == 0  # each step once
    assert world.ticket(opened["id"]).escalation_due_at == START + dt.timedelta(minutes=15)
    world.advance(minutes=20)  # the timer was late: the step is still due at minute 15
    assert transactions.escalate_due(world.session, world.now()) == 1
    assert escalated(world) == [("noc", ["0", "0"]), ("network-lead", ["0", "1"])]
    last = [e for e in history.of(world.session, opened["id"], False)
            if e["kind"] == "escalated"][-1]
    assert last["data"]["due_at"] == "2026-06-01T08:15:00Z"
    assert world.ticket(opened["id"]).escalation_due_at is None  # no repeat: stopped


def test_a_repeating_policy_starts_over_as_many_times_as_it_says(world):
    noc = policy(world, (5, {"type": "lead"}), repeat=2)
    rule(world, 1, "network", ("category", "=", "complaint"), escalation_policy=noc["id"])
    world.open(category="complaint")
    fired = 0
    for _ in range(6):
        world.advance(minutes=5)
        fired += transactions.escalate_due(world.session, world.now())
    assert fired == 3
    assert [step for _, step in escalated(world)] == [["0", "0"], ["1", "0"], ["2", "0"]]


def test_acknowledging_stops_the_escalation_and_takes_the_ticket(world):
    noc = policy(world, (5, {"type": "lead"}))
    rule(world, 1, "network", ("category", "=", "complaint"), escalation_policy=noc["id"])
    opened = world.open(category="complaint")
    world.advance(minutes=2)
    seen = tickets.acknowledge(world.session, opened["id"], AGENT, POLICY, world.now())
    assert (seen["status"], seen["assignee"], seen["escalation"]["next_at"]) == (
        "acknowledged", "agt_1", None)
    world.advance(minutes=10)
    assert transactions.escalate_due(world.session, world.now()) == 0 and escalated(world) == []
    [(_, envelope)] = world.events(events.TICKET_UPDATED)
    assert envelope["ticket"]["change"] == "acknowledged"


def test_an_escalation_to_a_silenced_team_is_held_and_written_down(world):
    team(world, "noc")
    noc = policy(world, (5, {"type": "team", "team": "noc"}))
    rule(world, 1, "network", ("category", "=", "complaint"), escalation_policy=noc["id"])
    opened = world.open(category="complaint")
    silences.create(world.session, {"team": "noc", "reason": "drill", "ends_at": (
        START + dt.timedelta(hours=1)).isoformat()}, AGENT, world.now())
    world.advance(minutes=5)
    assert transactions.escalate_due(world.session, world.now()) == 1
    assert escalated(world) == [] and world.kinds(opened["id"])[-2:] == ["escalated", "silenced"]


def test_resolving_stops_the_escalation(world):
    noc = policy(world, (5, {"type": "lead"}))
    rule(world, 1, "network", ("category", "=", "complaint"), escalation_policy=noc["id"])
    opened = world.open(category="complaint")
    world.advance(minutes=1)
    resolve(world, opened["id"])
    assert world.ticket(opened["id"]).escalation_due_at is None
    assert world.ticket(opened["id"]).acknowledged_at == world.now()
    world.advance(minutes=10)
    assert transactions.escalate_due(world.session, world.now()) == 0 and escalated(world) == []


def test_a_policy_names_existing_teams_and_one_in_use_cannot_be_deleted(world):
    error = refused(errors.InvalidArgument, policy, world, (5, {"type": "team", "team": "x"}))
    assert error.fields == {"steps.0.target.team": ["no such team"]}
    noc = policy(world, (5, {"type": "lead"}))
    rule(world, 1, "network", ("category", "=", "complaint"), escalation_policy=noc["id"])
    error = refused(errors.Conflict, escalation.delete, world.session, noc["id"])
    assert error.code == exceptions.POLICY_IN_USE


# the status machine -----------------------------------------------------------------------------

@pytest.mark.parametrize("path, wanted", [
    ([], "resolved"),  # resolving needs its resolution: its own call
    ([], "closed"),
    (["in_progress"], "acknowledged"),
    (["in_progress", "waiting_on_customer"], "closed"),
])
def test_the_status_machine_refuses_moves_it_does_not_have(world, path, wanted):
    opened = world.open()
    for status in path:
        change(world, opened["id"], status=status)
    assert wanted not in lifecycle.AGENT_MOVES[world.ticket(opened["id"]).status]
    error = refused(errors.Conflict, change, world, opened["id"], status=wanted)
    assert error.code == exceptions.INVALID_STATUS_CHANGE
    assert world.ticket(opened["id"]).status == (path[-1] if path else "routed")


def test_waiting_on_the_customer_tells_them_and_their_answer_puts_it_back_in_progress(world):
    opened = world.open()
    change(world, opened["id"], status="waiting_on_customer")
    [(_, told)] = world.events(events.TICKET_UPDATED)
    assert told["ticket"]["change"] == "waiting_on_customer"
    comment(world, opened["id"])
    assert world.ticket(opened["id"]).status == "in_progress"
    assert world.ticket(opened["id"]).acknowledged_at == START


def test_a_resolved_ticket_reopens_on_a_comment_within_the_window_and_not_after(world):
    first, second = world.open()["id"], world.open()["id"]
    resolve(world, first)
    resolve(world, second)
    assert len(world.events(events.TICKET_RESOLVED)) == 2
    error = refused(errors.Conflict, resolve, world, first)
    assert error.code == exceptions.INVALID_STATUS_CHANGE
    world.advance(days=7)
    comment(world, first)
    reopened = world.ticket(first)
    assert (reopened.status, reopened.resolved_at, reopened.resolution) == ("in_progress", None,
                                                                            None)
    assert world.kinds(first)[-2:] == ["reopened", "comment"]
    world.advance(seconds=1)
    error = refused(errors.Conflict, comment, world, second)
    assert error.code == exceptions.TICKET_CLOSED


def test_the_timer_closes_resolved_tickets_past_the_reopen_window_once(world):
    old, fresh = world.open()["id"], world.open()["id"]
    resolve(world, old)
    world.advance(days=3)
    resolve(world, fresh)
    world.advance(days=4, seconds=1)
    assert tickets.close_expired(world.session, POLICY, world.now()) == 1
    assert tickets.close_expired(world.session, POLICY, world.now()) == 0
    assert (world.ticket(old).status, world.ticket(fresh).status) == ("closed", "resolved")
    [(_, envelope)] = world.events(events.TICKET_CLOSED)
    assert envelope["ticket"]["id"] == old


def test_a_closed_ticket_takes_internal_notes_only_and_customers_never_see_them(world):
    opened = world.open()["id"]
    resolve(world, opened)
    change(world, opened, status="closed")
    error = refused(errors.Conflict, tickets.agent_comment, world.session, opened,
                    {"text": "Sorry!"}, AGENT, POLICY, world.now())
    assert error.code == exceptions.TICKET_CLOSED
    updates = len(world.events(events.TICKET_UPDATED))
    tickets.agent_comment(world.session, opened, {"text": "customer was rude", "internal": True},
                          AGENT, POLICY, world.now())
    assert len(world.events(events.TICKET_UPDATED)) == updates  # an internal note tells nobody
    agents = [e["kind"] for e in history.of(world.session, opened, for_customer=False)]
    customers = [e["kind"] for e in history.of(world.session, opened, for_customer=True)]
    assert agents == ["created", "routed", "alerted", "resolved", "status_changed", "comment"]
    assert customers == ["created", "routed", "resolved", "status_changed"]


def test_a_customer_may_comment_twenty_times_an_hour_on_a_ticket(world):
    opened = world.open()["id"]
    for _ in range(20):
        comment(world, opened)
        world.advance(minutes=1)
    error = refused(errors.RateLimited, comment, world, opened)
    assert error.retry_after == 40 * 60


def test_a_ticket_is_not_found_for_another_customer_or_an_agent_of_other_teams(world):
    rule(world, 1, "billing", ("category", "=", "billing"))
    opened = world.open(category="billing")["id"]
    error = refused(errors.NotFound, tickets.customer_view, world.session, "cus_b", opened,
                    POLICY, world.now())
    assert error.code == exceptions.TICKET_NOT_FOUND
    refused(errors.NotFound, tickets.ops_view, world.session, opened, POLICY, world.now(),
            NETWORK_AGENT)
    refused(errors.NotFound, change, world, opened, actor=NETWORK_AGENT, priority="P1")
    assert tickets.ops_view(world.session, opened, POLICY, world.now(), AGENT)["id"] == opened


# incidents --------------------------------------------------------------------------------------

def outage_rule(world, window=30):
    return incidents.create_rule(world.session, {
        "name": "Outage", "match": [{"field": "category", "value": "complaint"}],
        "group_by": ["region"], "window_minutes": window}, world.now())


def test_similar_tickets_within_the_window_are_one_incident_paged_once(world):
    outage_rule(world)
    world.accounts.add("cus_at", region="AT")
    first = world.open("cus_a", category="complaint")
    world.advance(minutes=20)
    second = world.open("cus_b", category="complaint")
    other_region = world.open("cus_at", category="complaint")
    assert first["incident"]["id"] == second["incident"]["id"] != other_region["incident"]["id"]
    assert first["incident"]["title"] == "Outage (region DE)"
    assert [a["dedup_key"] for a in world.alerts()] == [
        f"incident:{first['incident']['id']}:opened",
        f"incident:{other_region['incident']['id']}:opened"]
    assert len(world.events(events.INCIDENT_OPENED)) == 2
    world.advance(minutes=25)  # 45 minutes after the first, 25 after the last: it joins
    third = world.open("cus_c", category="complaint")
    assert third["incident"]["id"] == first["incident"]["id"]
    world.advance(minutes=31)  # the window runs from the incident's last ticket
    later = world.open("cus_c", category="complaint")
    assert later["incident"]["id"] != first["incident"]["id"]
    shown = incidents.get(world.session, first["incident"]["id"], POLICY, world.now())
    assert [t["id"] for t in shown["tickets"]] == [first["id"], second["id"], third["id"]]
    assert (shown["ticket_count"], shown["customer_count"]) == (3, 3)


def test_a_ticket_joining_an_open_incident_neither_pages_nor_escalates_on_its_own(world):
    noc = policy(world, (5, {"type": "lead"}))
    rule(world, 1, "network", ("category", "=", "complaint"), escalation_policy=noc["id"])
    outage_rule(world)
    first = world.open("cus_a", category="complaint")
    joined = world.open("cus_b", category="complaint")
    assert world.ticket(first["id"]).escalation_due_at == START + dt.timedelta(minutes=5)
    assert world.ticket(joined["id"]).escalation_due_at is None
    assert world.kinds(joined["id"]) == ["created", "routed", "incident"]


def test_acknowledging_an_incident_acknowledges_its_tickets_and_stops_their_escalation(world):
    noc = policy(world, (5, {"type": "lead"}))
    rule(world, 1, "network", ("category", "=", "complaint"), escalation_policy=noc["id"])
    outage_rule(world)
    first = world.open("cus_a", category="complaint")
    world.open("cus_b", category="complaint")
    incident_id = first["incident"]["id"]
    shown = incidents.acknowledge(world.session, incident_id, AGENT, world.now())
    assert shown["acknowledged_at"] == "2026-06-01T08:00:00Z"
    statuses = world.session.scalars(select(Ticket.status).where(
        Ticket.incident_id == incident_id)).all()
    assert statuses == ["acknowledged", "acknowledged"]
    assert len(world.events(events.TICKET_UPDATED)) == 2
    world.advance(minutes=10)
    assert transactions.escalate_due(world.session, world.now()) == 0


def test_resolving_an_incident_resolves_its_tickets_and_credits_each_customer_once(world):
    outage_rule(world)
    a1 = world.open("cus_a", category="complaint")
    world.open("cus_a", category="complaint", subject="Still down")
    world.open("cus_b", category="complaint")
    incident_id = a1["incident"]["id"]
    request = {"resolution": "Fibre repaired.", "credit": {"amount": 500, "currency": "EUR"}}
    assert incidents.resolve(world.session, incident_id, request, AGENT, POLICY,
                             world.now()) is None
    resolved = world.events(events.TICKET_RESOLVED)
    assert len(resolved) == 3
    assert {p["ticket"]["service_credit"]["amount"] for _, p in resolved} == {500}
    assert transactions.grant_due_credits(world.session, world.billing, world.now()) == 2
    assert sorted((c, r["reference"]) for c, r in world.billing.grants) == [
        ("cus_a", f"incident:{incident_id}:cus_a"), ("cus_b", f"incident:{incident_id}:cus_b")]
    incidents.resolve(world.session, incident_id, request, AGENT, POLICY, world.now())
    assert transactions.grant_due_credits(world.session, world.billing, world.now()) == 0
    assert len(world.events(events.INCIDENT_RESOLVED)) == 1
    assert world.kinds(a1["id"])[-1] == "credited"


def test_a_credit_billing_did_not_answer_is_retried_later_and_one_it_refused_fails(world):
    outage_rule(world)
    a = world.open("cus_a", category="complaint")
    world.open("cus_b", category="complaint")
    incident_id = a["incident"]["id"]
    world.billing.down = True
    incidents.resolve(world.session, incident_id, {
        "resolution": "Repaired.", "credit": {"amount": 300, "currency": "EUR"}}, AGENT, POLICY,
        world.now())
    assert transactions.grant_due_credits(world.session, world.billing, world.now()) == 0
    world.billing.down = False
    world.advance(seconds=29)
    assert transactions.grant_due_credits(world.session, world.billing, world.now()) == 0  # not due
    world.billing.refuse = errors.NotFound("No such customer.", code="CUSTOMER_NOT_FOUND")
    world.advance(seconds=1)
    assert transactions.grant_due_credits(world.session, world.billing, world.now()) == 0
    credits = {c.customer_id: (c.status, c.attempts) for c in world.session.scalars(
        select(IncidentCredit).execution_options(populate_existing=True))}
    assert credits == {"cus_a": ("failed", 2), "cus_b": ("failed", 2)}
    assert incidents.get(world.session, incident_id, POLICY, world.now())["credits"] == {
        "granted": 0, "pending": 0, "failed": 2}


def test_a_credit_must_be_positive_and_an_unknown_incident_is_not_found(world):
    outage_rule(world)
    incident_id = world.open(category="complaint")["incident"]["id"]
    error = refused(errors.InvalidArgument, incidents.resolve, world.session, incident_id, {
        "resolution": "Done.", "credit": {"amount": 0, "currency": "EUR"}}, AGENT, POLICY,
        world.now())
    assert "credit.amount" in error.fields
    error = refused(errors.NotFound, incidents.get, world.session, "inc_nope", POLICY,
                    world.now())
    assert error.code == exceptions.INCIDENT_NOT_FOUND


# teams ------------------------------------------------------------------------------------------

def test_a_team_name_is_taken_once_and_a_team_in_use_is_not_deleted(world):
    team(world, "network")
    error = refused(errors.Conflict, team, world, "network")
    assert error.code == exceptions.TEAM_EXISTS
    rule(world, 1, "network", ("category", "=", "complaint"))
    error = refused(errors.Conflict, teams.delete, world.session, "network")
    assert error.code == exceptions.TEAM_IN_USE
    team(world, "spare")
    teams.delete(world.session, "spare")
    error = refused(errors.NotFound, teams.get, world.session, "spare")
    assert error.code == exceptions.TEAM_NOT_FOUND


def test_customers_read_categories_in_their_language_where_translated(world):
    german = {c["code"]: c for c in categories.listing(world.session, language="de")["data"]}
    assert german["billing"]["name"] == "Frage zur Rechnung"
    assert german["general"]["description"] == "Alles andere."
    assert "translations" not in german["billing"]
    for language in ("en", "fr"):  # English, or a language without a text: as entered
        assert categories.listing(world.session, language=language)["data"][0]["name"] == \
            "Service interruption"
    ops = categories.listing(world.session)["data"]  # ops see every translation
    assert ops[0]["translations"]["th"]["name"] == "บริการขัดข้อง"
    changed = categories.update(world.session, "general", {"translations": {
        "it": {"name": "Altro"}}})
    assert changed["translations"] == {"it": {"name": "Altro"}}
    assert next(c for c in categories.listing(world.session, language="it")["data"]
                if c["code"] == "general")["name"] == "Altro"
    with pytest.raises(errors.InvalidArgument) as refused:
        categories.update(world.session, "general", {"translations": {"xx": {"name": "?"}}})
    assert any(key.startswith("translations") for key in refused.value.fields)
