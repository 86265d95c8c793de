"""Benchmark: a billing run over N postpaid subscriptions on PostgreSQL (issue #5, "Measure"),
beside a raw bulk insert of the same invoice and line rows in the same run.

What it does:
- a fresh PostgreSQL database (`bench_billing_<random>`, dropped at the end) with billing's
  schema (migrated as the `Database` provider does), and a fresh RabbitMQ vhost;
- N postpaid subscriptions, one per account, loaded by COPY, each with its period's charges: the
  package fee, an add-on fee and, for about half of them, the package's promotion (a negative
  `discount` line); one account in ten has its own payment terms (a billing profile);
- billing as real `nameko run` processes with deploy/config.yaml (the configuration `make run`
  uses; the timer is pushed out to an hour so only the run bills); catalog and accounts are not
  started: issuing invoices asks neither;
- the run is started by RPC (`billing.start_billing_run(date)`) and `billing_runs` is polled
  until it is completed: wall time from the call to completion, invoices per second, CPU
  seconds of the billing processes, PostgreSQL, RabbitMQ and everything else on the machine;
  then (informational) how long until the outbox relays have published every `invoice_issued`
  event (the notifier consumes them; it is not started here) and until billing's own consumers
  (autopay's `invoice_autopay_due`, for the accounts with autopay on) have handled theirs;
- exactly-once checks (one invoice per account, numbers gapless, every charge on one line, due
  dates by the accounts' terms, totals equal to their lines);
- the raw baseline: the run's own invoice and line rows, read back, bulk-inserted into scratch
  tables with the same columns and indexes (`LIKE … INCLUDING ALL`) by COPY (the fastest plain
  way), and by multi-row INSERTs of 500 rows;
- then everything is reset (invoices, lines, outbox, runs emptied; charges unsettled; the series
  back to 1) and the same run is done with two billing processes.
The machine's two cores are shared by everything: other work running meanwhile shows in the
"other" CPU column and makes every figure worse.

    .venv/bin/python tests/perf/bench_billing_run.py [--subscriptions 100000] [--processes 1,2]
        [--chunk-size N] [--max-workers N] [--pool-size N]   (configuration overrides)
        [--published-only]  (do not wait for the events' consumers)
        [--service module:Class]  (another service to start, e.g. to try a variant)
    DATABASE_URL, AMQP_URI and RABBIT_API_URI as for make test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import pathlib
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
import warnings

import psycopg2
import psycopg2.extras
import requests

warnings.filterwarnings("ignore", message="(?s).*Eventlet is deprecated")
ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.stack import create_vhost, delete_vhost, management_uri  # noqa: E402

ADMIN_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CHUNK_QUEUE = "evt-billing-billing_run_chunk_ready--billing.on_chunk_ready"
PACKAGES = [("basic", "Basic", 1499), ("family", "Family", 2499), ("premium", "Premium", 3999)]
ADDONS = [("sports", "Sports Plus", 999), ("movies", "Movies", 799), ("kids", "Kids", 499)]
TAX = [("DE", 1900, "VAT 19%"), ("AT", 2000, "VAT 20%"), ("NL", 2100, "VAT 21%")]
AIM_RATE, AIM_RATIO = 2000.0, 5.0


# the database ---------------------------------------------------------------------------------

def create_database() -> str:
    name = f"bench_billing_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    conn.close()


def migrate(url: str) -> None:
    """billing's schema, created exactly as the `Database` provider does at start."""
    from services.billing.models import MIGRATIONS, Base
    from services.common.db import KERNEL, Component, make_engine
    from services.common.db import migrate as run_migrations

    engine = make_engine(url)
    run_migrations(engine, [KERNEL, Component("billing", Base.metadata, MIGRATIONS)])
    engine.dispose()


def tax_of(amount: int, rate_bp: int) -> int:
    from services.billing.subscriptions.proration import tax_of as exact

    return exact(amount, rate_bp)


def copy_rows(cur, table: str, columns: list[str], rows) -> int:
    """COPY rows (tuples; None is NULL) into `table` (text format; values hold no tabs)."""
    buf = io.StringIO()
    count = 0
    for row in rows:
        buf.write("\t".join("\\N" if v is None else str(v) for v in row))
        buf.write("\n")
        count += 1
    buf.seek(0)
    cur.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buf)
    return count


def load(url: str, subscriptions: int, run_date: dt.date, seed: int = 5) -> int:
    """N postpaid accounts, one subscription each, with the charges of their current period
    (made ten days before the run date); returns the number of charges."""
    rnd = random.Random(seed)
    start = dt.datetime.combine(run_date - dt.timedelta(days=10), dt.time(), dt.UTC)
    end = start + dt.timedelta(days=30)
    span = f"{start:%-d %b %Y} – {end:%-d %b %Y}"
    subs, charges, profiles = [], [], []
    for i in range(subscriptions):
        customer, sub = f"cus_bench{i:015d}", f"sub_bench{i:015d}"
        region, rate, tax_name = TAX[i % len(TAX)]
        made = start + dt.timedelta(seconds=rnd.randrange(86400))
        subs.append((sub, customer, "active", "EUR", "postpaid", "monthly", region, rate,
                     tax_name, start, start.day, start, end, made, made, 1))
        code, name, price = PACKAGES[i % len(PACKAGES)]
        addon_code, addon_name, addon_price = ADDONS[rnd.randrange(len(ADDONS))]
        lines = [("fee", f"{name} ({span})", code, price),
                 ("fee", f"{addon_name} ({span})", addon_code, addon_price)]
        if rnd.random() < 0.5:
            lines.insert(1, ("discount", f"Promotion on {name}", code, -(price // 10)))
        for n, (kind, description, item, amount) in enumerate(lines):
            charges.append((f"chg_bench{i:015d}{n}", customer, sub, kind, description, item,
                            amount, rate, tax_of(amount, rate), "EUR", start, end,
                            f"renew:{sub}:{start.isoformat()}:{n}", made, "false"))
        if i % 10 == 0:
            profiles.append((customer, 30, "false", made))
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        copy_rows(cur, "subscriptions", [
            "id", "customer_id", "status", "currency", "billing_type", "billing_period",
            "tax_region", "tax_rate_bp", "tax_name", "activation_date", "anchor_day",
            "current_period_start", "current_period_end", "created_at", "updated_at",
            "version"], subs)
        copy_rows(cur, "charges", [
            "id", "customer_id", "subscription_id", "kind", "description", "item_code",
            "amount", "tax_rate_bp", "tax", "currency", "period_start", "period_end",
            "operation_key", "created_at", "settled"], charges)
        copy_rows(cur, "billing_profiles", [
            "customer_id", "payment_terms_days", "autopay_enabled", "updated_at"], profiles)
    vacuum(conn)
    conn.close()
    return len(charges)


def vacuum(conn) -> None:
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    conn.autocommit = False


def reset(url: str) -> None:
    """Back to the state before the run: no invoices, lines, events or runs; charges unsettled;
    the series at 1."""
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute("TRUNCATE invoices, invoice_lines, outbox_messages, processed_events, "
                    "billing_runs, billing_run_chunks RESTART IDENTITY")
        cur.execute("UPDATE charges SET settled = false, invoice_id = NULL")
        cur.execute("DELETE FROM invoice_series")
    vacuum(conn)
    conn.close()


def scalar(url: str, sql: str):
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()[0]
    finally:
        conn.close()


def check_exactly_once(url: str, accounts: int, charges: int) -> list[str]:
    """What is wrong with the run's result (empty when nothing is)."""
    conn = psycopg2.connect(url)
    problems = []
    with conn, conn.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT customer_id), count(number), "
                    "min(substring(number from '[0-9]+$')::int), "
                    "max(substring(number from '[0-9]+$')::int), "
                    "count(DISTINCT number) FROM invoices")
        count, customers, numbered, low, high, distinct = cur.fetchone()
        if not count == customers == numbered == distinct == accounts:
            problems.append(f"invoices {count}, accounts {customers}, numbered {numbered}, "
                            f"distinct numbers {distinct}; expected {accounts}")
        if (low, high) != (1, accounts):
            problems.append(f"numbers from {low} to {high}, expected 1 to {accounts}")
        cur.execute("SELECT count(*), count(DISTINCT charge_id) FROM invoice_lines")
        lines, distinct_charges = cur.fetchone()
        if not lines == distinct_charges == charges:
            problems.append(f"lines {lines} ({distinct_charges} charges), expected {charges}")
        cur.execute("SELECT count(*) FROM charges WHERE settled = false OR invoice_id IS NULL")
        if cur.fetchone()[0]:
            problems.append("charges left unsettled")
        cur.execute("SELECT count(*) FROM outbox_messages WHERE event_type = 'invoice_issued'")
        events = cur.fetchone()[0]
        if events != accounts:
            problems.append(f"{events} invoice_issued events, expected {accounts}")
        cur.execute("SELECT count(*) FROM invoices i JOIN (SELECT invoice_id, sum(amount) a, "
                    "sum(tax) t FROM invoice_lines GROUP BY invoice_id) l ON l.invoice_id = "
                    "i.id WHERE i.subtotal - i.discount <> l.a OR i.tax <> l.t "
                    "OR i.total <> l.a + l.t")
        if cur.fetchone()[0]:
            problems.append("invoice totals differ from their lines")
        cur.execute("SELECT count(*) FROM invoices i JOIN billing_profiles p USING "
                    "(customer_id) WHERE i.due_date::date - i.issue_date::date "
                    "<> p.payment_terms_days")
        if cur.fetchone()[0]:
            problems.append("due dates ignore the accounts' payment terms")
    conn.close()
    return problems


# the raw baseline ---------------------------------------------------------------------------

INVOICE_COLUMNS = ["id", "customer_id", "period_key", "number", "run_id", "status", "currency",
                   "issue_date", "due_date", "period_start", "period_end", "subtotal",
                   "discount", "tax", "total", "amount_paid", "amount_credited", "created_at"]
LINE_COLUMNS = ["invoice_id", "position", "description", "kind", "amount", "tax_rate_bp",
                "tax", "charge_id"]


def raw_insert(url: str) -> dict:
    """The run's invoice and line rows, written again into scratch tables shaped like the real
    ones (same columns, defaults and indexes): by COPY, then by multi-row INSERTs of 500 rows.
    Only the writes and their commit are timed."""
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        dumps = {}
        for table, columns in (("invoices", INVOICE_COLUMNS), ("invoice_lines", LINE_COLUMNS)):
            buf = io.StringIO()
            cur.copy_expert(f"COPY {table} ({', '.join(columns)}) TO STDOUT", buf)
            dumps[table] = buf.getvalue()
        cur.execute(f"SELECT {', '.join(INVOICE_COLUMNS)} FROM invoices")  # noqa: S608
        invoice_rows = cur.fetchall()
        cur.execute(f"SELECT {', '.join(LINE_COLUMNS)} FROM invoice_lines")  # noqa: S608
        line_rows = cur.fetchall()
    timings = {}
    for method in ("copy", "insert"):
        with conn, conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS raw_invoices, raw_invoice_lines")
            cur.execute("CREATE TABLE raw_invoices (LIKE invoices INCLUDING ALL)")
            cur.execute("CREATE TABLE raw_invoice_lines (LIKE invoice_lines INCLUDING ALL)")
        began = time.perf_counter()
        with conn, conn.cursor() as cur:
            if method == "copy":
                cur.copy_expert(f"COPY raw_invoices ({', '.join(INVOICE_COLUMNS)}) FROM STDIN",
                                io.StringIO(dumps["invoices"]))
                cur.copy_expert(f"COPY raw_invoice_lines ({', '.join(LINE_COLUMNS)}) "
                                f"FROM STDIN", io.StringIO(dumps["invoice_lines"]))
            else:
                psycopg2.extras.execute_values(
                    cur, f"INSERT INTO raw_invoices ({', '.join(INVOICE_COLUMNS)}) "  # noqa: S608
                    "VALUES %s",
                    invoice_rows, page_size=500)
                psycopg2.extras.execute_values(
                    cur, f"INSERT INTO raw_invoice_lines ({', '.join(LINE_COLUMNS)}) "  # noqa: S608
                    "VALUES %s",
                    line_rows, page_size=500)
        timings[method] = time.perf_counter() - began
    with conn, conn.cursor() as cur:
        cur.execute("DROP TABLE raw_invoices, raw_invoice_lines")
    conn.close()
    timings["rows"] = (len(invoice_rows), len(line_rows))
    return timings


# the billing processes ------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu_by_process() -> dict[int, tuple[str, float]]:
    """Every process's program name and CPU seconds so far, its own and its ended children's
    (PostgreSQL's postmaster thus counts the backends that have ended)."""
    found = {}
    tick = os.sysconf("SC_CLK_TCK")
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        fields = tail.split()
        found[int(stat.parent.name)] = (head.split("(", 1)[1],
                                        sum(map(int, fields[11:15])) / tick)
    return found


def cpu_used(before: dict, after: dict, program: str) -> float:
    """CPU seconds `program`'s processes used between two snapshots (those that ended
    meanwhile are not counted)."""
    return sum(cpu - (before[pid][1] if pid in before else 0.0)
               for pid, (name, cpu) in after.items() if name == program)


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine since boot."""
    values = [int(v) for v in pathlib.Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def queue_consumers(vhost: str, queue: str) -> int:
    api = urllib.parse.urlparse(management_uri())
    response = requests.get(
        f"{api.scheme}://{api.hostname}:{api.port}/api/queues/{urllib.parse.quote(vhost)}/"
        f"{queue}", auth=(api.username or "guest", api.password or "guest"), timeout=5)
    return response.json().get("consumers", 0) if response.status_code == 200 else 0


class Billing:
    """`count` billing processes started as `make run` starts them (deploy/config.yaml)."""

    def __init__(self, count: int, env: dict, log_dir: pathlib.Path, vhost: str,
                 service: str = "services.billing.service") -> None:
        self.count, self.env, self.log_dir, self.vhost = count, env, log_dir, vhost
        self.service = service
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> Billing:
        nameko = pathlib.Path(sys.executable).with_name("nameko")
        for n in range(self.count):
            log = open(self.log_dir / f"billing-{self.count}-{n}.log", "ab")  # noqa: SIM115
            self.procs.append(subprocess.Popen(
                [str(nameko), "run", "--config", str(ROOT / "deploy" / "config.yaml"),
                 self.service], cwd=ROOT, env=self.env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 60
        while queue_consumers(self.vhost, CHUNK_QUEUE) < self.count:
            dead = [p for p in self.procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"billing did not start:\n{self.tail()}")
            time.sleep(0.3)
        return self

    def cpu(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.procs)

    def tail(self, lines: int = 40) -> str:
        out = []
        for path in sorted(self.log_dir.glob(f"billing-{self.count}-*.log")):
            out.append(f"--- {path.name}")
            out.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(out)

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def start_run(amqp_uri: str, run_date: dt.date) -> dict:
    from nameko.standalone.rpc import ServiceRpcProxy

    with ServiceRpcProxy("billing", {"AMQP_URI": amqp_uri}, timeout=120) as billing:
        return billing.start_billing_run(run_date.isoformat())


def queued_messages(vhost: str) -> int:
    """Messages in the vhost's queues, delivered or not, not yet acknowledged."""
    api = urllib.parse.urlparse(management_uri())
    response = requests.get(
        f"{api.scheme}://{api.hostname}:{api.port}/api/queues/{urllib.parse.quote(vhost)}",
        auth=(api.username or "guest", api.password or "guest"), timeout=5)
    return sum(q.get("messages", 0) for q in response.json())


class Phase:
    """Wall time and CPU seconds (billing processes, PostgreSQL, RabbitMQ, the whole machine)
    from one moment to the next."""

    def __init__(self, billing: Billing) -> None:
        self.billing = billing
        self.began, self.cpu, self.processes = time.perf_counter(), billing.cpu(), \
            cpu_by_process()
        self.busy = machine_busy()

    def end(self) -> dict:
        processes, (busy, total) = cpu_by_process(), machine_busy()
        used = {"billing": self.billing.cpu() - self.cpu,
                "postgres": cpu_used(self.processes, processes, "postgres"),
                "rabbitmq": cpu_used(self.processes, processes, "beam.smp")}
        busy_seconds = (busy - self.busy[0]) / os.sysconf("SC_CLK_TCK")
        return {"wall": time.perf_counter() - self.began, **used,
                "others": max(0.0, busy_seconds - sum(used.values())),
                "machine": (busy - self.busy[0]) / max(1, total - self.busy[1])}


def wait_for(what: str, check, deadline: float, poll: float = 0.02) -> None:
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within the time allowed")
        time.sleep(poll)


def bill(url: str, amqp_uri: str, vhost: str, processes: int, env: dict,
         log_dir: pathlib.Path, run_date: dt.date, accounts: int, charges: int,
         timeout: float, service: str, wait_handled: bool = True) -> dict:
    """One run with `processes` billing processes: the run (start RPC → completed), then the
    events (completed → every event published and billing's own handled)."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    cur = conn.cursor()

    def one(sql: str, *args):
        cur.execute(sql, args)
        return cur.fetchone()

    deadline = time.monotonic() + timeout
    with Billing(processes, env, log_dir, vhost, service) as billing:
        sessions = "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        sessions_before = one(sessions)[0]
        phase = Phase(billing)
        run = start_run(amqp_uri, run_date)
        wait_for("the run", lambda: one("SELECT status FROM billing_runs WHERE id = %s",
                                        run["id"])[0] == "completed", deadline)
        ran = phase.end()
        ran["connections"] = one(sessions)[0] - sessions_before
        unpublished = one("SELECT count(*) FROM outbox_messages WHERE published_at IS NULL")[0]
        phase = Phase(billing)
        wait_for("the outbox", lambda: one("SELECT count(*) FROM outbox_messages "
                                           "WHERE published_at IS NULL")[0] == 0, deadline)
        published = time.perf_counter() - phase.began
        if wait_handled:
            wait_for("the events' consumers", lambda: queued_messages(vhost) == 0, deadline,
                     0.2)
        events = phase.end()
        events["connections"] = one(sessions)[0] - sessions_before - ran["connections"]
        issued = one("SELECT invoices_issued, chunks_total FROM billing_runs WHERE id = %s",
                     run["id"])
        log_problems = [line for line in billing.tail(100000).splitlines()
                        if "ERROR" in line or "WARNING" in line or "Traceback" in line]
    conn.close()
    if not wait_handled:
        events["wall"] = float("nan")
    return {"processes": processes, "run": ran, "events": events, "published": published,
            "issued": issued[0], "chunks": issued[1], "rate": issued[0] / ran["wall"],
            "unpublished": unpublished, "log_problems": log_problems,
            "problems": check_exactly_once(url, accounts, charges)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--processes", default="1,2",
                        help="billing process counts, one run each, in this order")
    parser.add_argument("--chunk-size", type=int, help="BILLING_RUN_CHUNK_SIZE (else config)")
    parser.add_argument("--max-workers", type=int, help="MAX_WORKERS (else config)")
    parser.add_argument("--pool-size", type=int, help="DB_POOL_SIZE (else config)")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--published-only", action="store_true",
                        help="after the run, wait until the events are published, not handled")
    parser.add_argument("--service", default="services.billing.service",
                        help="the module `nameko run` starts (to try a variant)")
    args = parser.parse_args()
    counts = [int(c) for c in args.processes.split(",")]

    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")  # clean up: processes, database, vhost

    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    run_date = dt.datetime.now(dt.UTC).date()
    vhost = f"bench-billing-{uuid.uuid4().hex[:8]}"
    amqp_uri = create_vhost(vhost)
    url = create_database()
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            began = time.perf_counter()
            migrate(url)
            charges = load(url, args.subscriptions, run_date)
            print(f"loaded {args.subscriptions} postpaid subscriptions, {charges} charges in "
                  f"{time.perf_counter() - began:.1f}s", flush=True)
            env = {k: v for k, v in os.environ.items() if not k.endswith("_DATABASE_URL")}
            env.update({"AMQP_URI": amqp_uri, "BILLING_DATABASE_URL": url, "DATA_DIR": tmp,
                        "BILLING_TIMER_SECONDS": "3600", "LOG_LEVEL": "WARNING",
                        "PYTHONUNBUFFERED": "1", "DEMO_MODE": "true",  # a bench, not production
                        "SECRET_KEY": "bench-only secret key"})
            for flag, key in ((args.chunk_size, "BILLING_RUN_CHUNK_SIZE"),
                              (args.max_workers, "MAX_WORKERS"),
                              (args.pool_size, "DB_POOL_SIZE")):
                if flag:
                    env[key] = str(flag)
            for n, processes in enumerate(counts):
                if n:
                    reset(url)
                result = bill(url, amqp_uri, vhost, processes, env, pathlib.Path(tmp),
                              run_date, args.subscriptions, charges, args.timeout,
                              args.service, not args.published_only)
                result["raw"] = raw_insert(url)
                results.append(result)
                run, events, raw = result["run"], result["events"], result["raw"]
                print(f"{processes} billing process(es): run {run['wall']:.1f}s, "
                      f"{result['rate']:.0f} invoices/s (raw COPY {raw['copy']:.2f}s, "
                      f"INSERT {raw['insert']:.2f}s); {result['unpublished']} events "
                      f"unpublished then, all published {result['published']:.1f}s"
                      + ("" if args.published_only else
                         f" and handled {events['wall']:.1f}s") + " later; exactly once: "
                      f"{'yes' if not result['problems'] else result['problems']}", flush=True)
                print(f"  database connections opened during the run: {run['connections']}, "
                      f"after it: {events['connections']}", flush=True)
                for name, ph in (("run", run), ("events after", events)):
                    print(f"  CPU s during the {name}: billing {ph['billing']:.1f}, postgres "
                          f"{ph['postgres']:.1f}, rabbitmq {ph['rabbitmq']:.1f}, other "
                          f"processes {ph['others']:.1f}; machine busy {ph['machine']:.0%}",
                          flush=True)
                for line in result["log_problems"][:10]:
                    print(f"  billing log: {line}", flush=True)
    finally:
        drop_database(url)
        delete_vhost(vhost)

    invoices, lines = results[0]["raw"]["rows"]
    print(f"\nBilling run on PostgreSQL: {args.subscriptions} postpaid subscriptions, "
          f"{invoices} invoices, {lines} lines, {results[0]['chunks']} chunks "
          f"(machine: {os.cpu_count()} cores)")
    print(f"{'procs':>5} {'run s':>6} {'inv/s':>6} {'COPY s':>6} {'run/COPY':>8} "
          f"{'INSERT s':>8} {'run/INSERT':>10} {'CPU billing/pg/mq/other s':>25} {'busy':>5} "
          f"{'events s':>8} {'once':>4}")
    for r in results:
        run, raw = r["run"], r["raw"]
        cpu = (f"{run['billing']:.0f}/{run['postgres']:.0f}/{run['rabbitmq']:.0f}/"
               f"{run['others']:.0f}")
        print(f"{r['processes']:>5} {run['wall']:>6.1f} {r['rate']:>6.0f} {raw['copy']:>6.2f} "
              f"{run['wall'] / raw['copy']:>8.1f} {raw['insert']:>8.2f} "
              f"{run['wall'] / raw['insert']:>10.1f} {cpu:>25} {run['machine']:>5.0%} "
              f"{r['events']['wall']:>8.1f} {'yes' if not r['problems'] else 'NO':>4}")
    print("run: from the start RPC to the run completed. raw: the same invoice and line rows "
          "bulk-inserted (COPY; multi-row INSERTs of 500). events: from then until every "
          "event is published and billing's own are handled (autopay). CPU: the billing "
          "processes / the PostgreSQL server (all its databases) / RabbitMQ / every other "
          "process (not the bench's: a busy machine makes every figure worse).")
    print(f"aims: >= {AIM_RATE:.0f} invoices/s: "
          + " ".join("yes" if r["rate"] >= AIM_RATE else "NO" for r in results)
          + f"; run within {AIM_RATIO:.0f}x raw COPY: "
          + " ".join("yes" if r["run"]["wall"] <= AIM_RATIO * r["raw"]["copy"] else "NO"
                     for r in results)
          + f"; within {AIM_RATIO:.0f}x raw INSERT: "
          + " ".join("yes" if r["run"]["wall"] <= AIM_RATIO * r["raw"]["insert"] else "NO"
                     for r in results))
    walls = {r["processes"]: r["run"]["wall"] for r in results}
    if 1 in walls and 2 in walls:
        print(f"two processes vs one: {walls[1] / walls[2]:.2f}x "
              f"({'faster' if walls[2] < walls[1] else 'NOT faster'})")
    return 0 if all(not r["problems"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
