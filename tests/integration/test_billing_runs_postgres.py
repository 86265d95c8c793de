"""Billing runs on PostgreSQL: exactly one invoice per account and period when a run is
repeated, when runs overlap, when two billing instances share a run, and when the billing
process is killed half way and started again."""

import datetime as dt
import json
import os
import signal
import subprocess
import sys

import pytest
import yaml
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import create_engine, text

from deploy import demo
from services.accounts.service import AccountsService
from services.billing.service import BillingService
from services.catalog import seed
from services.catalog.service import CatalogService
from services.common.db import normalize_url
from tests.integration.conftest import eventually

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PASSWORD = "a long enough passphrase"


@pytest.fixture
def world(new_pg_url, rabbit_config, tmp_path):
    urls = {"accounts": new_pg_url(), "catalog": new_pg_url(), "billing": new_pg_url()}
    config = {**rabbit_config, "DATABASE_URLS": urls, "BILLING_TIMER_SECONDS": 3600,
              "PAYMENT_SANDBOX_URL": f"sqlite:///{tmp_path}/sandbox.db",
              "BILLING_RUN_CHUNK_SIZE": 7, "max_workers": 10}
    return config


def populate(config, container_factory, accounts_count):
    """Postpaid customers with a subscription each; returns the billing DB engine."""
    for cls in (AccountsService, CatalogService):
        container_factory(cls, config).start()
    setup_billing = container_factory(BillingService, config)
    setup_billing.start()
    with ServiceRpcProxy("catalog", config) as catalog, \
            ServiceRpcProxy("accounts", config) as accounts, \
            ServiceRpcProxy("billing", config) as billing:
        seed.load(catalog, json.loads(demo.CATALOG_FILE.read_text()))
        for n in range(accounts_count):
            customer = accounts.register({"email": f"p{n}@example.com", "password": PASSWORD,
                                          "name": f"P{n}", "billing_type": "postpaid",
                                          "currency": "EUR"})["id"]
            billing.subscribe(customer, {"package": "family" if n % 2 else "basic"})
    return setup_billing, create_engine(normalize_url(config["DATABASE_URLS"]["billing"]))


def invoices_of(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT customer_id, period_key, number, total FROM invoices "
                                 "ORDER BY number")).all()


def wait_completed(config, run_id, seconds=60):
    with ServiceRpcProxy("billing", config) as billing:
        run = eventually(lambda: (lambda r: r["status"] == "completed" and r)(
            billing.get_billing_run(run_id)), timeout=seconds, pause=0.2)
        assert run, f"run not completed: {billing.get_billing_run(run_id)}"
    return run


def chunks_sent(engine) -> set[str]:
    """The ids of every chunk message the runs sent (each is an outbox row, in the same
    transaction as the run's change)."""
    with engine.connect() as conn:
        return set(conn.execute(text("SELECT event_id FROM outbox_messages WHERE event_type = "
                                     "'billing_run_chunk_ready'")).scalars())


def chunks_done_by(monkeypatch, *containers) -> set[str]:
    """The ids of the chunk messages these billing instances handle from now on (a set that
    fills as their handlers finish without error; a failed one comes back and counts then)."""
    done: set[str] = set()
    for container in containers:
        def record(worker_ctx, result, exc_info, original=container._worker_result):
            if exc_info is None and worker_ctx.entrypoint.method_name == "on_chunk_ready":
                done.add(worker_ctx.args[0]["event_id"])
            return original(worker_ctx, result, exc_info)
        monkeypatch.setattr(container, "_worker_result", record)
    return done


def check_exactly_once(engine, accounts_count):
    rows = invoices_of(engine)
    assert len(rows) == accounts_count
    assert len({r.customer_id for r in rows}) == accounts_count
    numbers = sorted(int(r.number.rsplit("-", 1)[1]) for r in rows)
    assert numbers == list(range(1, accounts_count + 1))  # gapless
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM charges WHERE settled = false")
                            ).scalar() == 0
        assert conn.execute(text(
            "SELECT count(*) FROM invoice_lines GROUP BY charge_id HAVING count(*) > 1")
        ).all() == []


def test_repeated_overlapping_runs_and_two_instances_invoice_each_account_once(
        world, container_factory, monkeypatch):
    config = world
    setup, engine = populate(config, container_factory, 40)
    second = container_factory(BillingService, config)  # a second instance: both take chunks
    second.start()
    done = chunks_done_by(monkeypatch, setup, second)
    today = dt.date.today().isoformat()
    tomorrow_is_not_allowed = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    with ServiceRpcProxy("billing", config) as billing:
        first = billing.start_billing_run(today)
        again = billing.start_billing_run(today)  # overlapping repeat: the same run
        assert again["id"] == first["id"]
        with pytest.raises(Exception):  # noqa: B017 - a future date is refused
            billing.start_billing_run(tomorrow_is_not_allowed)
    run = wait_completed(config, first["id"])
    assert run["progress"]["invoices_issued"] == 40
    assert run["progress"]["chunks_done"] == run["progress"]["chunks_total"] == 6
    check_exactly_once(engine, 40)
    with ServiceRpcProxy("billing", config) as billing:
        repeat = billing.start_billing_run(today)  # after completion: nothing new
    assert repeat["id"] == first["id"]
    # every chunk message sent (those the overlapping repeat sent again too) was handled
    assert eventually(lambda: chunks_sent(engine) <= done), chunks_sent(engine) - done
    check_exactly_once(engine, 40)
    engine.dispose()


def test_a_run_whose_billing_process_is_killed_half_way_completes_once_when_restarted(
        world, container_factory, tmp_path):
    config = world
    setup, engine = populate(config, container_factory, 70)
    setup.stop()  # from now on only the real process below bills
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump({k: v for k, v in config.items()
                                           if k in ("AMQP_URI", "DATABASE_URLS",
                                                    "BILLING_TIMER_SECONDS",
                                                    "PAYMENT_SANDBOX_URL",
                                                    "BILLING_RUN_CHUNK_SIZE", "DEMO_MODE",
                                                    "SECRET_KEY")}))

    def billing_process():
        return subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--config", str(config_file),
             "services.billing.service"], cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)

    proc = billing_process()
    try:
        with ServiceRpcProxy("billing", config, timeout=30) as billing:  # never wait forever
            def answers():
                assert proc.poll() is None, "the billing process did not start"
                try:
                    return billing.health()
                except Exception:  # noqa: BLE001 - not up yet
                    return None
            assert eventually(answers, timeout=30, pause=0.3), "billing did not answer in 30 s"
            run = billing.start_billing_run()

        def some_chunks_invoiced():  # then it is killed mid-run
            assert proc.poll() is None, "the billing process stopped by itself"
            with engine.connect() as conn:
                done = conn.execute(text("SELECT chunks_done FROM billing_runs")).scalar()
            return done and done >= 2
        assert eventually(some_chunks_invoiced, timeout=60, pause=0.02), \
            "no chunk was invoiced in 60 s"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        with engine.connect() as conn:
            partial = conn.execute(text("SELECT status, chunks_done FROM billing_runs")).one()
        assert partial.status == "running" and partial.chunks_done < 10
        proc = billing_process()  # unacknowledged chunks come back to the new process
        completed = wait_completed(config, run["id"])
        assert completed["progress"]["invoices_issued"] == 70
        check_exactly_once(engine, 70)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
        engine.dispose()
