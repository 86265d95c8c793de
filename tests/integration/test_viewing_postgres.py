"""Viewing reported by the TV platform, on the real RabbitMQ and PostgreSQL: accounts, catalog
(the demo catalog) and insights in nameko containers, batches sent by RPC and as the
`tv_platform.viewing_reported` event. A batch id counts once, under repeats and 20 concurrent
callers; different batches add, concurrently too; what is unknown, invalid or opted out is
counted and not stored; the retention timer deletes old days as the clock moves."""

import datetime as dt
import json
import pathlib
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.utils import get_container, get_extension

from deploy import demo
from services.accounts.service import AccountsService
from services.catalog import seed
from services.catalog.service import CatalogService
from services.common.clock import ClockProvider, TestClock
from services.common.db import normalize_url
from services.insights.service import InsightsService
from tests.integration.conftest import after_timer_rounds, eventually

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
TODAY = NOW.date()


class Stack:
    def __init__(self, runner, cluster, insights_url, clock):
        self.runner, self.cluster, self.clock = runner, cluster, clock
        self.engine = sa.create_engine(normalize_url(insights_url), poolclass=sa.pool.NullPool)
        self.customers: list[str] = []

    def customer(self, consent: bool = True) -> str:
        """A new customer who agreed to the use of their viewing (unless `consent` is off)."""
        account = self.cluster.accounts.register({
            "email": f"{uuid.uuid4().hex[:8]}@example.com", "password": "a long passphrase!",
            "name": "Ann", "billing_type": "postpaid", "currency": "EUR"})
        if consent:
            self.cluster.insights.set_viewing_use(account["id"], True, "signup")
        return account["id"]

    def minutes(self, customer, channel, day) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(
                "SELECT minutes FROM viewing_daily WHERE customer_id = :c AND channel = :ch "
                "AND day = :d"), {"c": customer, "ch": channel, "d": day}).scalar()

    def rows(self, customer=None) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(
                "SELECT count(*) FROM viewing_daily WHERE :c IS NULL OR customer_id = :c"),
                {"c": customer}).scalar()


@pytest.fixture
def stack(rabbit_config, runner_factory, new_pg_url):
    insights_url = new_pg_url()
    config = {**rabbit_config, "DATABASE_URLS": {
        "accounts": new_pg_url(), "catalog": new_pg_url(), "insights": insights_url},
        "INSIGHTS_TIMER_SECONDS": 0.2, "VIEWING_RETENTION_DAYS": 90}
    runner = runner_factory(config, AccountsService, CatalogService, InsightsService)
    runner.start()
    clock = TestClock(NOW)
    get_extension(get_container(runner, InsightsService), ClockProvider).clock = clock
    with ClusterRpcProxy(config, timeout=60) as cluster:
        seed.load(cluster.catalog, json.loads(demo.CATALOG_FILE.read_text()))
        s = Stack(runner, cluster, insights_url, clock)
        s.config = config
        yield s
        s.engine.dispose()


def day(n: int) -> str:
    return (TODAY - dt.timedelta(days=n)).isoformat()


def rec(customer, channel="Football TV", when=None, minutes=30):
    return {"customer_id": customer, "channel": channel, "day": when or day(1),
            "minutes": minutes}


def test_a_repeated_batch_is_counted_once(stack):
    ann = stack.customer()
    batch = [rec(ann, minutes=30), rec(ann, minutes=15), rec(ann, "News 24", day(2), 60)]
    first = stack.cluster.insights.report_viewing("b-1", batch)
    assert first == {"batch_id": "b-1", "status": "accepted", "records": 3, "stored": 3,
                     "unknown_customers": 0, "unknown_channels": 0, "opted_out": 0,
                     "too_old": 0, "invalid": 0}
    again = stack.cluster.insights.report_viewing("b-1", batch + [rec(ann, minutes=500)])
    assert again == {**first, "status": "duplicate"}
    assert stack.minutes(ann, "Football TV", day(1)) == 45
    assert stack.minutes(ann, "News 24", day(2)) == 60


def test_twenty_concurrent_callers_with_one_batch_id_make_one_effect(stack):
    ann, bob = stack.customer(), stack.customer()
    batch = [rec(who, channel, day(n), 7) for who in (ann, bob)
             for channel in ("Football TV", "News 24", "Kids Club") for n in range(1, 31)]
    calls = [stack.cluster.insights.report_viewing.call_async("same-batch", batch)
             for _ in range(20)]
    answers = [call.result() for call in calls]
    assert sorted(a["status"] for a in answers) == ["accepted"] + ["duplicate"] * 19
    assert {json.dumps({**a, "status": None}, sort_keys=True) for a in answers} == {
        json.dumps({"batch_id": "same-batch", "status": None, "records": 180, "stored": 180,
                    "unknown_customers": 0, "unknown_channels": 0, "opted_out": 0,
                    "too_old": 0, "invalid": 0}, sort_keys=True)}
    assert stack.rows() == 180
    assert stack.minutes(ann, "News 24", day(30)) == 7 == stack.minutes(bob, "Kids Club", day(1))


def test_different_batches_for_the_same_days_add_even_concurrently(stack):
    ann = stack.customer()
    batch = [rec(ann, channel, day(n), 3) for channel in ("Football TV", "News 24")
             for n in range(1, 11)]
    calls = [stack.cluster.insights.report_viewing.call_async(f"part-{n}", batch)
             for n in range(20)]
    assert [call.result()["stored"] for call in calls] == [20] * 20
    late = stack.cluster.insights.report_viewing("late", [rec(ann, "News 24", day(10), 1)])
    assert late["stored"] == 1
    assert stack.minutes(ann, "Football TV", day(1)) == 60
    assert stack.minutes(ann, "News 24", day(10)) == 61 and stack.rows(ann) == 20


def test_unknown_customers_and_channels_and_invalid_records_are_counted_not_stored(stack):
    ann = stack.customer()
    answer = stack.cluster.insights.report_viewing("mixed", [
        rec(ann), rec("cus_nobody"), rec("cus_nobody", "No Such TV"), rec(ann, "No Such TV"),
        rec(ann, minutes=1441), rec(ann, when="2026-13-01"), {"customer_id": ann},
        rec(ann, when=day(91))])
    assert answer == {"batch_id": "mixed", "status": "accepted", "records": 8, "stored": 1,
                      "unknown_customers": 2, "unknown_channels": 1, "opted_out": 0,
                      "too_old": 1, "invalid": 3}
    assert stack.rows() == 1


def test_a_customer_who_never_agreed_is_dropped(stack):
    ann, bob = stack.customer(consent=False), stack.customer()
    answer = stack.cluster.insights.report_viewing("first", [rec(ann), rec(bob)])
    assert (answer["opted_out"], answer["stored"]) == (1, 1)
    assert stack.rows(ann) == 0
    assert stack.cluster.insights.viewing(ann)["consent"] == {
        "purpose": "viewing_recommendations", "granted": False, "changed_at": None,
        "source": None}


def test_a_customer_who_switched_viewing_off_is_dropped_and_forgotten(stack):
    ann, bob = stack.customer(), stack.customer()
    stack.cluster.insights.report_viewing("before", [rec(ann), rec(bob)])
    view = stack.cluster.insights.set_viewing_use(ann, False)
    assert view["use_viewing"] is False and view["channels"] == []
    assert stack.rows(ann) == 0 and stack.rows(bob) == 1
    answer = stack.cluster.insights.report_viewing("after", [rec(ann), rec(bob)])
    assert (answer["opted_out"], answer["stored"]) == (1, 1)
    assert stack.rows(ann) == 0 and stack.minutes(bob, "Football TV", day(1)) == 60
    assert stack.cluster.insights.viewing(bob)["channels"] == [
        {"channel": "Football TV", "minutes": 60, "days": 1}]


def test_a_batch_published_as_an_event_is_stored_once(stack):
    ann = stack.customer()
    dispatch = event_dispatcher(stack.config)
    payload = {"batch_id": "evt-1", "records": [rec(ann, minutes=20)]}
    dispatch("tv_platform", "viewing_reported", payload)
    assert eventually(lambda: stack.minutes(ann, "Football TV", day(1)) == 20)
    dispatch("tv_platform", "viewing_reported", payload)  # the platform sent it again
    again = stack.cluster.insights.report_viewing("evt-1", payload["records"])
    assert again["status"] == "duplicate" and again["stored"] == 1
    dispatch("tv_platform", "viewing_reported", {"batch_id": "", "records": "nonsense"})
    dispatch("tv_platform", "viewing_reported", {"batch_id": "evt-2", "records": [
        rec(ann, minutes=1)]})
    # the repeat adds nothing, whenever it is handled; the bad batch is dropped
    assert eventually(lambda: stack.minutes(ann, "Football TV", day(1)) == 21)
    assert stack.cluster.insights.report_viewing("evt-2", [])["status"] == "duplicate"


def test_the_retention_timer_deletes_days_older_than_the_retention(stack):
    ann = stack.customer()
    stack.cluster.insights.report_viewing("old-and-new", [
        rec(ann, when=day(n)) for n in (1, 30, 85, 89)])
    assert stack.rows(ann) == 4
    after_timer_rounds("insights", "tick")
    assert stack.rows(ann) == 4, "nothing is old yet"
    stack.clock.advance(days=3)  # day(89) is 92 days old now, day(85) 88
    after_timer_rounds("insights", "tick")
    assert stack.rows(ann) == 3
    stack.clock.advance(days=60)  # day(30) is 93 days old
    after_timer_rounds("insights", "tick")
    assert stack.rows(ann) == 1 and stack.minutes(ann, "Football TV", day(1)) == 30


def test_the_integrator_example_reports_by_event_and_by_rpc(stack):
    ann = stack.customer()
    script = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "report_viewing.py"

    def run(*args):
        done = subprocess.run([sys.executable, str(script), "--amqp-uri",
                               stack.config["AMQP_URI"], "--customer", ann, "--channel",
                               "News 24", "--days", "3", "--minutes", "25", *args],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "tv_platform.events" in run("--via", "event", "--batch-id", "doc-1")
    assert eventually(lambda: stack.rows(ann) == 3)
    answer = json.loads(run("--via", "rpc", "--batch-id", "doc-1"))
    assert answer["status"] == "duplicate" and answer["stored"] == 3
    assert json.loads(run("--via", "rpc", "--batch-id", "doc-2"))["status"] == "accepted"
    assert stack.minutes(ann, "News 24", day(1)) == 50
