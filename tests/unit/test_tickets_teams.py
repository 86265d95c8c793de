"""Whole teams, as the tickets service answers and writes them (transactions.py): its row here,
its members in accounts, its channels in the notifier, both faked here as BoundedRpcProxy gives
them (`start(...).wait(until)`). No transaction of tickets is open while either is asked; a
team exists whole or not at all; channels are replaced new-first; a missing team is NotFound
and a team in use is refused before anything changes. The same through the gateway on the real
services: tests/integration/test_gateway_support.py."""

import datetime as dt

import pytest
from sqlalchemy import select

from services.common import errors
from services.tickets import exceptions, rules, teams, transactions
from services.tickets.models import MIGRATIONS, Base, Team
from tests.unit.service_world import World

START = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)


class Answer:
    def __init__(self, call) -> None:
        self.call = call

    def wait(self, until: float):
        return self.call()


class FakeService:
    """A proxy: `timeout`, and `start(method, *args)` run at once (what the method raises is
    raised by `wait`). Every call asserts that tickets holds no transaction open."""

    timeout = 3.0

    def __init__(self, session) -> None:
        self.session = session
        self.calls: list[str] = []

    def start(self, method: str, *args) -> Answer:
        assert not self.session.in_transaction(), f"a transaction is open across {method}"
        self.calls.append(method)
        return Answer(lambda: getattr(self, method)(*args))


class FakeAccounts(FakeService):
    def __init__(self, session) -> None:
        super().__init__(session)
        self.roles = {"agt_1": "agent", "agt_2": "admin", "cus_1": "customer"}
        self.members: dict[str, list[str]] = {}

    def get_account(self, account_id):
        if account_id not in self.roles:
            raise errors.NotFound("No such customer.", code="CUSTOMER_NOT_FOUND")
        return {"id": account_id, "role": self.roles[account_id]}

    def team_members(self, names):
        return {n: [{"id": m, "name": m, "email": f"{m}@example.com"}
                    for m in self.members.get(n, [])] for n in names}

    def set_team_members(self, name, ids):
        self.members[name] = sorted(set(ids))
        return self.team_members([name])[name]


class FakeNotifier(FakeService):
    def __init__(self, session) -> None:
        super().__init__(session)
        self.channels: list[dict] = []
        self.fail_after: int | None = None  # create_channel answers this many, then is down
        self.made = 0

    def create_channel(self, team, request):
        if self.fail_after is not None and self.made >= self.fail_after:
            raise errors.ServiceUnavailable("The notifier service did not answer in time.")
        self.made += 1
        channel = {"id": f"ch_{self.made}", "team": team, **request}
        self.channels.append(channel)
        return channel

    def list_channels(self, team=None):
        return {"data": [c for c in self.channels if team is None or c["team"] == team],
                "has_more": False, "next_cursor": None}

    def delete_channel(self, channel_id):
        self.channels = [c for c in self.channels if c["id"] != channel_id]


class TeamsWorld(World):
    def __init__(self) -> None:
        super().__init__("tickets", Base.metadata, MIGRATIONS, start=START)
        self.accounts = FakeAccounts(self.session)
        self.notifier = FakeNotifier(self.session)

    def create(self, **request) -> dict:
        return transactions.create_team(self.session, self.accounts, self.notifier, request,
                                        self.now())

    def update(self, name, **request) -> dict:
        return transactions.update_team(self.session, self.accounts, self.notifier, name,
                                        request)

    def get(self, name) -> dict:
        return transactions.get_team(self.session, self.accounts, self.notifier, name)

    def rows(self) -> list[str]:
        names = list(self.session.scalars(select(Team.name)))
        self.session.commit()
        return names


@pytest.fixture
def world():
    rules._cache.clear()
    w = TeamsWorld()
    yield w
    w.close()


def test_a_team_is_made_and_answered_whole(world):
    made = world.create(name="noc", description="Network", lead="agt_1",
                        members=["agt_1", "agt_2"], channels=[{"type": "bus"},
                                                             {"type": "email",
                                                              "address": "noc@example.com"}])
    assert made["id"] == made["name"] == "noc" and made["lead"] == "agt_1"
    assert [m["id"] for m in made["members"]] == ["agt_1", "agt_2"]
    assert [c["type"] for c in made["channels"]] == ["bus", "email"]
    assert world.get("noc") == made
    world.create(name="billing")
    listed = transactions.list_teams(world.session, world.accounts, world.notifier)["data"]
    assert [(t["name"], len(t["members"]), len(t["channels"])) for t in listed] == [
        ("billing", 0, 0), ("noc", 2, 2)]
    error = pytest.raises(errors.Conflict, world.create, name="noc").value
    assert error.code == exceptions.TEAM_EXISTS


def test_without_members_agents_already_in_the_team_stay(world):
    world.accounts.members["early"] = ["agt_1"]
    assert [m["id"] for m in world.create(name="early")["members"]] == ["agt_1"]
    assert "set_team_members" not in world.accounts.calls


def test_a_bad_request_or_member_is_refused_before_anything_is_written(world):
    error = pytest.raises(errors.InvalidArgument, world.create, name="noc",
                          members=["agt_1", "cus_1", "cus_nope"], lead="cus_1").value
    assert error.fields == {"members": ["cus_1 is not a staff account",
                                        "cus_nope is not a staff account"],
                            "lead": ["cus_1 is not a staff account"]}
    for request in ({"name": "no spaces"}, {"name": "noc", "colour": "red"},
                    {"name": "noc", "members": "agt_1"}):
        pytest.raises(errors.InvalidArgument, world.create, **request)
    assert world.rows() == [] and world.accounts.members == {} and world.notifier.channels == []
    assert set(world.accounts.calls) == {"get_account"}


def test_a_team_half_written_is_undone_whole_and_the_failure_answered(world):
    world.accounts.members["noc"] = ["agt_2"]  # listed the team before it was made
    world.notifier.fail_after = 1
    with pytest.raises(errors.ServiceUnavailable):
        world.create(name="noc", members=["agt_1"], channels=[{"type": "bus"}, {"type": "bus"}])
    assert world.rows() == []
    assert world.accounts.members["noc"] == ["agt_2"]  # as it was
    assert world.notifier.channels == []  # the one made is removed
    pytest.raises(errors.NotFound, world.get, "noc")


def test_an_update_replaces_channels_new_first_and_keeps_the_old_ones_if_that_fails(world):
    world.create(name="noc", members=["agt_1"], channels=[{"type": "bus"}])
    changed = world.update("noc", description="NOC", members=[],
                           channels=[{"type": "email", "address": "a@example.com"}])
    assert changed["description"] == "NOC" and changed["members"] == []
    assert [c["type"] for c in changed["channels"]] == ["email"]
    assert [c["type"] for c in world.notifier.channels] == ["email"]

    world.notifier.fail_after = world.notifier.made + 1
    with pytest.raises(errors.ServiceUnavailable):
        world.update("noc", channels=[{"type": "bus"}, {"type": "bus"}])
    assert [c["type"] for c in world.get("noc")["channels"]] == ["email"]

    world.accounts.calls.clear()
    error = pytest.raises(errors.NotFound, world.update, "gone", members=["agt_1"]).value
    assert error.code == exceptions.TEAM_NOT_FOUND
    world.session.rollback()  # a refusal's worker ends so
    assert "set_team_members" not in world.accounts.calls and "gone" not in world.accounts.members
    pytest.raises(errors.InvalidArgument, world.update, "noc", members=["cus_1"])
    assert world.accounts.members["noc"] == []


def test_a_team_in_use_is_refused_and_a_deleted_one_leaves_nothing_behind(world):
    world.create(name="noc", members=["agt_1"], channels=[{"type": "bus"}])
    rules.create(world.session, {"position": 1, "team": "noc", "match": []}, world.now())
    world.session.commit()
    error = pytest.raises(errors.Conflict, transactions.delete_team, world.session,
                          world.accounts, world.notifier, "noc").value
    assert error.code == exceptions.TEAM_IN_USE
    world.session.rollback()
    assert world.accounts.members["noc"] == ["agt_1"] and len(world.notifier.channels) == 1

    world.create(name="spare", members=["agt_2"], channels=[{"type": "bus"}])
    transactions.delete_team(world.session, world.accounts, world.notifier, "spare")
    assert world.rows() == ["noc"]
    assert world.accounts.members["spare"] == []
    assert [c["team"] for c in world.notifier.channels] == ["noc"]
    pytest.raises(errors.NotFound, transactions.delete_team, world.session, world.accounts,
                  world.notifier, "spare")
    assert teams.exists(world.session, "noc")
