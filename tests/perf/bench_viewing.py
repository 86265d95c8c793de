"""Benchmark: viewing ingestion (insights.report_viewing) on PostgreSQL, beside a raw upsert of
the same rows measured in the same run.

The system runs as `make run` starts it, every database on the local PostgreSQL. 1,000
customers are inserted straight into the accounts database; the records are theirs, on 20
channels of the demo catalog over 10 days (200,000 records by default), sent in batches of
10,000 by RPC from one client (as a TV platform's exporter would), twice: new rows (insert),
then new batch ids with the same keys (every row updated). Each batch through the service is:
the RPC (the JSON of 10,000 records across the broker), the batch's check, accounts asked which
customers exist, the catalog's channels (cached), then one transaction: the opt-out read, the
batch id's row, one `INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE`.
Baseline: the same rows, pre-aggregated, with the same upsert statement from psycopg2 into a
copy of the table (one transaction per 10,000), and `COPY` into an empty copy.

    .venv/bin/python tests/perf/bench_viewing.py [--records 200000] [--batch 10000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import pathlib
import sys
import tempfile
import time

import psycopg2
from nameko.standalone.rpc import ClusterRpcProxy

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from tests.perf.harness import create_databases, drop_databases  # noqa: E402
from tests.stack import Stack  # noqa: E402

CUSTOMERS = 1000
DAYS = 10
SERVICES = ["accounts", "catalog", "billing", "vouchers", "tickets", "notifier", "insights"]
UPSERT = (
    "INSERT INTO {table} (customer_id, channel, day, minutes) "
    "SELECT * FROM unnest(%s::varchar[], %s::varchar[], %s::date[], %s::integer[]) "
    "ORDER BY 1, 2, 3 ON CONFLICT (customer_id, channel, day) "
    "DO UPDATE SET minutes = {table}.minutes + excluded.minutes")


def records(total: int, channels: list[str]) -> list[dict]:
    today = dt.date.today()
    per_customer = max(1, total // CUSTOMERS)
    out = []
    for c in range(CUSTOMERS):
        for n in range(per_customer):
            out.append({"customer_id": f"cus_bench{c:05d}", "channel": channels[n % len(
                channels)], "day": (today - dt.timedelta(days=1 + (n // len(channels)) % DAYS))
                .isoformat(), "minutes": 1 + (c + n) % 90})
    return out[:total]


def through_rpc(config: dict, rows: list[dict], batch: int, prefix: str) -> tuple[float, int]:
    stored = 0
    with ClusterRpcProxy(config, timeout=300) as cluster:
        began = time.perf_counter()
        for first in range(0, len(rows), batch):
            answer = cluster.insights.report_viewing(f"{prefix}-{first}",
                                                     rows[first:first + batch])
            assert answer["status"] == "accepted", answer
            stored += answer["stored"]
        return time.perf_counter() - began, stored


def raw_upsert(url: str, rows: list[dict], batch: int, table: str) -> float:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        began = time.perf_counter()
        for first in range(0, len(rows), batch):
            sums: dict[tuple, int] = {}
            for r in rows[first:first + batch]:
                key = (r["customer_id"], r["channel"], r["day"])
                sums[key] = sums.get(key, 0) + r["minutes"]
            keys = sorted(sums)
            cur.execute(UPSERT.format(table=table), ([k[0] for k in keys], [k[1] for k in keys],
                                                     [k[2] for k in keys],
                                                     [sums[k] for k in keys]))
            conn.commit()
        return time.perf_counter() - began


def raw_copy(url: str, rows: list[dict]) -> float:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE bench_copy (LIKE viewing_daily INCLUDING ALL)")
        conn.commit()
        began = time.perf_counter()
        buffer = io.StringIO("".join(f"{r['customer_id']}\t{r['channel']}\t{r['day']}\t"
                                     f"{r['minutes']}\n" for r in rows))
        cur.copy_from(buffer, "bench_copy", columns=("customer_id", "channel", "day",
                                                      "minutes"))
        conn.commit()
        return time.perf_counter() - began


def count(url: str, table: str) -> tuple[int, int]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT count(*), coalesce(sum(minutes), 0) FROM {table}")  # noqa: S608
        return cur.fetchone()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=10_000)
    args = parser.parse_args()
    urls = create_databases(SERVICES + ["sandbox"])
    env = {f"{k.upper()}_DATABASE_URL": v for k, v in urls.items() if k != "sandbox"}
    env["PAYMENT_SANDBOX_URL"] = urls["sandbox"]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            stack = Stack(pathlib.Path(tmp), env).start()
            try:
                measure(stack, urls, args)
            finally:
                stack.stop()
    finally:
        drop_databases(urls)
    return 0


def measure(stack: Stack, urls: dict, args) -> None:
    config = {"AMQP_URI": stack.env["AMQP_URI"]}
    with psycopg2.connect(urls["accounts"]) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO customers (id, email, email_normalized, password_hash, name, language, "
            "billing_type, currency, tax_region, role, created_at, updated_at, "
            "password_changed_at) SELECT 'cus_bench' || lpad(g::text, 5, '0'), "
            "'bench' || g || '@example.com', 'bench' || g || '@example.com', 'x', 'Bench', "
            "'en', 'prepaid', 'EUR', 'DE', 'customer', now(), now(), now() "
            "FROM generate_series(0, %s) g", (CUSTOMERS - 1,))
    with ClusterRpcProxy(config) as cluster:
        channels = sorted({c for p in cluster.catalog.list_packages() for c in p["channels"]})
    rows = records(args.records, channels[:20])
    with psycopg2.connect(urls["insights"]) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE bench_raw (LIKE viewing_daily INCLUDING ALL)")
    before = count(urls["insights"], "viewing_daily")
    size = len(json.dumps(rows[:args.batch]))
    print(f"\nViewing ingestion on PostgreSQL: {len(rows):,} records in batches of "
          f"{args.batch:,} ({size / 1e6:.1f} MB of JSON a batch), one client")
    results = []
    for phase in ("new rows", "same keys again (updates)"):
        rpc, stored = through_rpc(config, rows, args.batch, phase.split()[0])
        raw = raw_upsert(urls["insights"], rows, args.batch, "bench_raw")
        assert stored == len(rows), stored
        results.append((phase, rpc, raw))
    service_rows, service_minutes = count(urls["insights"], "viewing_daily")
    raw_rows, raw_minutes = count(urls["insights"], "bench_raw")
    assert (service_rows - before[0], service_minutes - before[1]) == (raw_rows, raw_minutes), \
        ((service_rows, service_minutes), (raw_rows, raw_minutes))
    copy = raw_copy(urls["insights"], rows)
    with ClusterRpcProxy(config, timeout=300) as cluster:
        began = time.perf_counter()
        for first in range(0, len(rows), args.batch):
            assert cluster.insights.report_viewing(
                f"new-{first}", rows[first:first + args.batch])["status"] == "duplicate"
        repeat = time.perf_counter() - began
    print(f"  {'phase':<28}{'service':>14}{'raw upsert':>14}{'ratio':>8}")
    for phase, rpc, raw in results:
        print(f"  {phase:<28}{len(rows) / rpc:>10,.0f} r/s{len(rows) / raw:>10,.0f} r/s"
              f"{rpc / raw:>8.1f}")
    print(f"  raw COPY into an empty table: {len(rows) / copy:,.0f} records/s")
    print(f"  repeated batches (duplicates): {len(rows) / repeat:,.0f} records/s")
    print(f"  rows stored: {raw_rows:,} (the same in both tables, minutes too)")


if __name__ == "__main__":
    raise SystemExit(main())
