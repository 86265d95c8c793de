"""Billing runs on PostgreSQL: exactly one invoice per account and period when a run is
repeated, when runs overlap, when two billing instances share a run, and when the billing
process is killed half way and started again."""

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time

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
    deadline = time.monotonic() + seconds
    with ServiceRpcProxy("billing", config) as billing:
        while time.monotonic() < deadline:
            run = billing.get_billing_run(run_id)
            if run["status"] == "completed":
                return run
            time.sleep(0.2)
    raise AssertionError(f"run not completed: {run}")


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
        world, container_factory):
    config = world
    setup, engine = populate(config, container_factory, 40)
    container_factory(BillingService, config).start()  # a second instance: both take chunks
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
    time.sleep(0.5)
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
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # wait until it answers
                assert proc.poll() is None, "the billing process did not start"
                try:
                    billing.health()
                    break
                except Exception:  # noqa: BLE001 - not up yet
                    time.sleep(0.3)
            run = billing.start_billing_run()
        deadline = time.monotonic() + 60
        while True:  # let it invoice some chunks, then kill it mid-run
            assert proc.poll() is None, "the billing process stopped by itself"
            assert time.monotonic() < deadline, "no chunk was invoiced in 60 s"
            with engine.connect() as conn:
                done = conn.execute(text("SELECT chunks_done FROM billing_runs")).scalar()
            if done and done >= 2:
                break
            time.sleep(0.02)
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
