"""Viewing reported by the TV platform, as insights' functions store it (SQLite in memory; the
same statements' PostgreSQL form and concurrent batches are in
tests/integration/test_viewing_postgres.py)."""

import datetime as dt

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select

from services.common import errors
from services.common.db import unit_of_work
from services.insights import transactions, viewing
from services.insights.models import MIGRATIONS, Base, ViewingBatch, ViewingDay
from services.insights.service import InsightsService, retention_days
from tests.unit.service_world import World

NOW = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
CHANNELS = {"Sport 1", "Kids", "News"}


@pytest.fixture
def world():
    """Customers a, b and c consented to the use of their viewing (d never did)."""
    w = World("insights", Base.metadata, MIGRATIONS, start=NOW)
    with unit_of_work(w.session):
        for customer in ("cus_a", "cus_b", "cus_c"):
            viewing.set_use(w.session, customer, True, NOW, "settings")
    yield w
    w.close()


def test_without_consent_nothing_is_stored_and_the_consent_says_when_and_how(world):
    out = report(world, "b1", [rec(customer="cus_d"), rec()],
                 acc=accounts(known=("cus_a", "cus_d")))
    assert (out["opted_out"], out["stored"]) == (1, 1)
    assert viewing.consent(world.session, "cus_d") == {
        "purpose": "viewing_recommendations", "granted": False, "changed_at": None,
        "source": None}
    assert viewing.consent(world.session, "cus_a") == {
        "purpose": "viewing_recommendations", "granted": True,
        "changed_at": NOW.isoformat().replace("+00:00", "Z"), "source": "settings"}
    # days stored before consent was asked for (insights migration 2) are pruned
    viewing.add_minutes(world.session, {("cus_d", "Kids", TODAY): 5})
    world.session.commit()
    assert transactions.prune(world.session, world.now(), 90)["opted_out"] == 1


def day(n: int) -> str:
    return (TODAY - dt.timedelta(days=n)).isoformat()


def rec(customer="cus_a", channel="Sport 1", when=None, minutes=30):
    return {"customer_id": customer, "channel": channel, "day": when or day(1),
            "minutes": minutes}


class Pending:
    def __init__(self, value):
        self.value, self.started = value, 0.0

    def wait(self, until):
        if isinstance(self.value, Exception):
            raise self.value
        return self.value


class FakeService:
    """A BoundedServiceProxy's `start` and `timeout`, answering canned values, counting calls."""

    timeout = 5.0

    def __init__(self, **answers):
        self.answers, self.calls = answers, []

    def start(self, method, *args):
        self.calls.append((method, args))
        answer = self.answers[method]
        return Pending(answer(*args) if callable(answer) else answer)


def accounts(known=("cus_a", "cus_b", "cus_c")):
    return FakeService(known_customers=lambda ids: {"known": [i for i in ids if i in known]})


def catalog():
    return FakeService(list_packages=[{"code": "basic", "channels": ["News", "Kids"]}],
                       list_addons=[{"code": "sport", "channels": ["Sport 1"]}])


def report(world, batch_id, records, acc=None, cat=None, cache=None, retention=90):
    return transactions.report_viewing(
        world.session, acc or accounts(), cat or catalog(), cache or viewing.ChannelCache(),
        batch_id, records, world.now(), retention)


def minutes(world, customer="cus_a", channel="Sport 1", when=None):
    return world.session.scalar(select(ViewingDay.minutes).where(
        ViewingDay.customer_id == customer, ViewingDay.channel == channel,
        ViewingDay.day == dt.date.fromisoformat(when or day(1))))


def rows(world):
    return world.session.scalar(select(func.count()).select_from(ViewingDay))


def test_a_batch_is_stored_as_daily_sums_per_customer_channel_and_day(world):
    out = report(world, "b1", [rec(minutes=30), rec(minutes=45), rec(channel="Kids", minutes=5),
                               rec(customer="cus_b", when=day(2), minutes=60)])
    assert out == {"batch_id": "b1", "status": "accepted", "records": 4, "stored": 4,
                   "unknown_customers": 0, "unknown_channels": 0, "opted_out": 0,
                   "too_old": 0, "invalid": 0}
    assert minutes(world) == 75 and minutes(world, channel="Kids") == 5
    assert minutes(world, "cus_b", when=day(2)) == 60 and rows(world) == 3


def test_a_repeated_batch_is_counted_once_and_answers_the_first_outcome(world):
    first = report(world, "b1", [rec(minutes=30), rec(customer="cus_zz")])
    acc = accounts()
    again = report(world, "b1", [rec(minutes=999)], acc=acc)
    assert again == {**first, "status": "duplicate"}
    assert minutes(world) == 30 and acc.calls == []  # a repeat costs no RPC


def test_two_batches_for_the_same_day_add_and_a_late_batch_adds_to_its_old_day(world):
    report(world, "b1", [rec(minutes=30), rec(when=day(40), minutes=10)])
    report(world, "b2", [rec(minutes=20)])
    late = report(world, "b3", [rec(when=day(40), minutes=5), rec(when=day(89), minutes=7)])
    assert late["stored"] == 2
    assert minutes(world) == 50 and minutes(world, when=day(40)) == 15
    assert minutes(world, when=day(89)) == 7


@pytest.mark.parametrize("bad", [
    "not a record", {"channel": "Kids", "day": day(1), "minutes": 1},
    {"customer_id": "cus_a", "day": day(1), "minutes": 1},
    rec(when="2026-02-30"), rec(when="04.12.2026"), rec(when="20261203"), rec(when=None) | {
        "day": None}, rec(when=(TODAY + dt.timedelta(days=2)).isoformat()),
    rec(minutes=-1), rec(minutes=1441), rec(minutes=1.5), rec(minutes="30"), rec(minutes=True),
    rec(customer=""), rec(customer="c" * 41), rec(channel=""), rec(channel="x" * 101),
    rec(customer=7),
])
def test_an_invalid_record_is_counted_and_not_stored(world, bad):
    out = report(world, "b1", [bad, rec(minutes=10)])
    assert (out["invalid"], out["stored"], out["records"]) == (1, 1, 2)
    assert rows(world) == 1


def test_limits_of_a_valid_record_are_accepted(world):
    tomorrow = (TODAY + dt.timedelta(days=1)).isoformat()
    with unit_of_work(world.session):
        viewing.set_use(world.session, "c" * 40, True, NOW)
    out = report(world, "b1", [rec(minutes=0), rec(minutes=1440, when=tomorrow),
                               rec(customer="c" * 40), rec(when=day(90))],
                 acc=accounts(known=("cus_a", "c" * 40)))
    assert out["stored"] == 4 and out["invalid"] == 0
    assert minutes(world, when=tomorrow) == 1440


def test_unknown_customers_and_channels_are_counted_not_fatal(world):
    out = report(world, "b1", [rec(customer="cus_x"), rec(customer="cus_y", channel="Nope"),
                               rec(channel="Nope"), rec(channel="Nope", when=day(3)),
                               rec(minutes=1)])
    assert (out["unknown_customers"], out["unknown_channels"], out["stored"]) == (2, 2, 1)
    assert rows(world) == 1


def test_records_older_than_the_retention_are_too_old(world):
    out = report(world, "b1", [rec(when=day(91)), rec(when=day(30))], retention=30)
    assert (out["too_old"], out["stored"]) == (1, 1)
    assert report(world, "b2", [rec(when=day(30))], retention=29)["too_old"] == 1


def test_the_counts_always_add_up_to_the_records(world):
    batch = [rec(), rec(customer="cus_x"), rec(channel="Nope"), rec(when=day(200)),
             rec(minutes=-5), rec(customer="cus_c")]
    viewing.set_use(world.session, "cus_c", False, NOW)
    world.session.commit()
    out = report(world, "b1", batch)
    assert sum(out[k] for k in viewing.COUNTS) == out["records"] == 6
    assert all(out[k] == 1 for k in viewing.COUNTS)


def test_switching_viewing_off_deletes_what_was_stored_and_drops_later_records(world):
    report(world, "b1", [rec(), rec(channel="Kids"), rec(customer="cus_b")])
    with unit_of_work(world.session):
        assert viewing.set_use(world.session, "cus_a", False, NOW) == 2
    later = report(world, "b2", [rec(), rec(customer="cus_b")])
    assert (later["opted_out"], later["stored"]) == (1, 1)
    assert viewing.view(world.session, "cus_a", 60, TODAY, 90)["channels"] == []
    assert viewing.view(world.session, "cus_a", 60, TODAY, 90)["use_viewing"] is False
    assert viewing.watched(world.session, "cus_a", TODAY - dt.timedelta(days=60), TODAY) == {}
    with unit_of_work(world.session):
        viewing.set_use(world.session, "cus_a", True, NOW)
    assert report(world, "b3", [rec(minutes=9)])["stored"] == 1 and minutes(world) == 9


def test_the_customer_sees_minutes_and_days_per_channel_most_watched_first(world):
    report(world, "b1", [rec(minutes=30), rec(when=day(2), minutes=30), rec(
        channel="Kids", minutes=100), rec(channel="News", when=day(70), minutes=500), rec(
        channel="News", minutes=0)])
    seen = viewing.view(world.session, "cus_a", 60, TODAY, 90)
    assert seen.pop("consent")["granted"] is True
    assert seen == {"use_viewing": True, "retention_days": 90,
                    "start": (TODAY - dt.timedelta(days=59)).isoformat(),
                    "end": (TODAY + dt.timedelta(days=1)).isoformat(),
                    "channels": [{"channel": "Kids", "minutes": 100, "days": 1},
                                 {"channel": "Sport 1", "minutes": 60, "days": 2}]}
    assert viewing.view(world.session, "cus_a", 365, TODAY, 90)["channels"][0] == {
        "channel": "News", "minutes": 500, "days": 1}
    with pytest.raises(errors.InvalidArgument):
        viewing.view(world.session, "cus_a", 0, TODAY, 90)


@pytest.mark.parametrize("batch_id, records", [
    ("", []), ("x" * 101, []), (None, []), (7, []), ("b1", None), ("b1", {"a": 1}),
    ("b1", [rec()] * 50_001)])
def test_a_batch_of_the_wrong_shape_is_refused_and_its_id_stays_free(world, batch_id, records):
    with pytest.raises(errors.InvalidArgument) as refused:
        report(world, batch_id, records)
    assert refused.value.code == "INVALID_BATCH"
    assert world.session.scalar(select(func.count()).select_from(ViewingBatch)) == 0


def test_a_batch_of_the_largest_size_and_id_is_taken(world):
    out = report(world, "x" * 100, [rec(minutes=1)] * 50_000)
    assert out["stored"] == 50_000 and minutes(world) == 50_000


def test_a_backing_service_that_does_not_answer_leaves_the_batch_unrecorded(world):
    down = FakeService(known_customers=errors.ServiceUnavailable("accounts is down"))
    with pytest.raises(errors.ServiceUnavailable):
        report(world, "b1", [rec()], acc=down)
    assert report(world, "b1", [rec()])["status"] == "accepted"  # a retry is the first


def test_the_catalog_channels_are_cached_for_a_while():
    now = [0.0]
    cache = viewing.ChannelCache(seconds=60, clock=lambda: now[0])
    asked = []

    def fetch():
        asked.append(1)
        return {"Kids"}

    assert cache.get(fetch) == {"Kids"} and cache.get(fetch) == {"Kids"} and len(asked) == 1
    now[0] = 61
    cache.get(fetch)
    assert len(asked) == 2


def test_catalog_channels_are_the_union_of_packages_and_addons():
    assert transactions.catalog_channels(catalog()) == CHANNELS


def test_the_retention_deletes_old_days_opted_out_days_and_spent_batch_ids(world):
    report(world, "b1", [rec(when=day(n)) for n in (1, 30, 80, 81)] + [rec(customer="cus_b")])
    world.advance(days=10)  # day(80) is now 90 days old (kept), day(81) 91 (gone)
    # a switch-off that raced a batch: the batch stored a day after the switch's delete
    with unit_of_work(world.session):
        viewing.set_use(world.session, "cus_b", False, world.now())
    viewing.add_minutes(world.session, {("cus_b", "Kids", world.now().date()): 5})
    world.session.commit()
    assert transactions.prune(world.session, world.now(), 90) == {
        "days": 1, "opted_out": 1, "batches": 0}
    left = {d for _, d in world.session.execute(select(ViewingDay.customer_id, ViewingDay.day))}
    assert left == {TODAY - dt.timedelta(days=n) for n in (1, 30, 80)}
    assert transactions.prune(world.session, world.now(), 90)["days"] == 0
    world.advance(days=82)  # 92 days after the batch: every day it can carry is too old
    assert transactions.prune(world.session, world.now(), 90)["batches"] == 0
    world.advance(days=1)
    assert transactions.prune(world.session, world.now(), 90)["batches"] == 1
    again = report(world, "b1", [rec(when=day(1))])
    assert again["status"] == "accepted" and again["too_old"] == 1


def test_the_retention_works_in_batches_until_nothing_is_left(world, monkeypatch):
    monkeypatch.setattr(viewing, "CHUNK", 3)
    monkeypatch.setattr(viewing.prune_days, "__defaults__", (3,))
    viewing.add_minutes(world.session, {("cus_a", "Kids", TODAY - dt.timedelta(days=100 + n)):
                                        1 for n in range(10)})
    world.session.commit()
    assert transactions.prune(world.session, world.now(), 90)["days"] == 10
    assert rows(world) == 0


def service(world, **deps):
    return worker_factory(InsightsService, db=world.session, clock=world.clock,
                          config={"VIEWING_RETENTION_DAYS": 30},
                          **{"accounts": accounts(), "catalog": catalog(),
                             "channels": viewing.ChannelCache(), **deps})


def test_the_event_stores_a_batch_as_the_rpc_does_and_drops_one_that_is_not_valid(world):
    insights = service(world)
    assert insights.on_viewing_reported({"batch_id": "", "records": [rec()]}) is None
    assert insights.on_viewing_reported("nonsense") is None
    assert insights.on_viewing_reported({"batch_id": "e1", "records": [rec()]})["stored"] == 1
    assert insights.report_viewing("e1", [rec()])["status"] == "duplicate"
    # the configured retention (30 days) applies
    assert insights.report_viewing("e2", [rec(when=day(31))])["too_old"] == 1
    assert insights.viewing("cus_a", 60)["retention_days"] == 30


def test_the_event_comes_back_when_a_backing_service_does_not_answer(world):
    down = FakeService(known_customers=errors.ServiceUnavailable("accounts is down"))
    with pytest.raises(errors.ServiceUnavailable):
        service(world, accounts=down).on_viewing_reported({"batch_id": "e1",
                                                            "records": [rec()]})
    assert service(world).on_viewing_reported({"batch_id": "e1", "records": [rec()]})[
        "status"] == "accepted"


def test_the_retention_setting_must_be_a_positive_number_of_days():
    assert retention_days({}) == 90 and retention_days({"VIEWING_RETENTION_DAYS": "30"}) == 30
    with pytest.raises(ValueError, match="VIEWING_RETENTION_DAYS"):
        retention_days({"VIEWING_RETENTION_DAYS": 0})
