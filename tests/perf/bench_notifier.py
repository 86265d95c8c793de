"""Benchmark: notification latency and broadcast throughput, on PostgreSQL, beside baselines
measured in the same run.

The system runs as `make run` starts it (every database on the local PostgreSQL, e-mail to a
local catcher). Measured:
1. Event → portal inbox: `payment_failed` events published to the bus at a steady rate (as
   billing's outbox would); latency = the notification row's `created_at` − the publish time.
   Baseline: a raw nameko RPC round trip (`notifier.health`).
2. Alert → webhook: alerts raised through the ops API at a steady rate to a team whose channel
   is a real local HTTP receiver; latency = arrival − request time.
3. Broadcast throughput: a promotion to N customers (default 100,000; inserted directly into
   the accounts database), from the POST until `done`; notifications/s. Baseline: inserting
   the same number of inbox rows directly (execute_values) in the same database.

    .venv/bin/python tests/perf/bench_notifier.py [--customers 100000] [--rate 20] [--seconds 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.server
import json
import pathlib
import statistics
import sys
import tempfile
import threading
import time
import uuid

import psycopg2
import psycopg2.extras
import requests
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ClusterRpcProxy

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from services.common.events import make_envelope  # noqa: E402
from tests.perf.harness import (  # noqa: E402
    create_databases,
    drop_databases,
    percentile,  # noqa: E402
)
from tests.stack import Stack, free_port  # noqa: E402

ADMIN = {"email": "admin@example.com", "password": "portal admin demo passphrase"}


def login(url: str, email: str, password: str) -> dict:
    token = requests.post(f"{url}/api/v1/auth/login", timeout=30,
                          json={"email": email, "password": password}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


class Receiver:
    """A local webhook receiver recording the arrival time of each alert by its title."""

    def __init__(self) -> None:
        self.port = free_port()
        self.arrivals: dict[str, float] = {}
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.arrivals[json.loads(body)["alert"]["title"]] = time.time()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def stats(samples_ms: list[float]) -> str:
    return (f"p50 {statistics.median(samples_ms):7.1f} ms   p99 {percentile(samples_ms, 0.99):7.1f}"
            f" ms   n={len(samples_ms)}")


def steady(rate: float, seconds: float, action) -> None:
    interval, began = 1.0 / rate, time.monotonic()
    for n in range(int(rate * seconds)):
        wait = began + n * interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        action(n)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=20.0, help="events (and alerts) per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    urls = create_databases(["accounts", "catalog", "billing", "vouchers", "notifier", "sandbox"])
    env = {f"{k.upper()}_DATABASE_URL": v for k, v in urls.items() if k != "sandbox"}
    env["PAYMENT_SANDBOX_URL"] = urls["sandbox"]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            stack = Stack(pathlib.Path(tmp), env).start()
            try:
                results = measure(stack, urls, args)
            finally:
                stack.stop()
    finally:
        drop_databases(urls)
    rpc, portal, webhook, broadcast = results
    print(f"\nNotification latency at {args.rate:.0f}/s for {args.seconds:.0f} s (PostgreSQL)")
    print(f"  raw RPC notifier.health        {stats(rpc)}")
    print(f"  event → portal inbox           {stats(portal)}")
    print(f"  alert → webhook received       {stats(webhook)}")
    print(f"  inbox p50 ÷ RPC p50: {statistics.median(portal) / statistics.median(rpc):.1f}")
    n, wall, raw = broadcast
    print(f"\nBroadcast (promotion, inbox) to {n:,} customers")
    print(f"  through the notifier: {wall:6.1f} s  {n / wall:8,.0f} notifications/s")
    print(f"  raw inbox inserts:    {raw:6.1f} s  {n / raw:8,.0f} rows/s")
    print(f"  ratio (notifier ÷ raw time): {wall / raw:.1f}")
    return 0


def measure(stack: Stack, urls: dict, args) -> tuple:
    config = {"AMQP_URI": stack.env["AMQP_URI"]}
    rpc = []
    with ClusterRpcProxy(config) as cluster:
        for _ in range(200):
            began = time.perf_counter()
            cluster.notifier.health()
            rpc.append(1000 * (time.perf_counter() - began))
    customer = requests.post(f"{stack.url}/api/v1/accounts", timeout=30, json={
        "email": f"bench-{uuid.uuid4().hex[:8]}@example.com", "password": "a long enough pw x",
        "name": "Bench", "billing_type": "prepaid", "currency": "EUR"}).json()
    dispatch = event_dispatcher(config)
    sent: dict[str, float] = {}

    def publish(n: int) -> None:
        envelope = make_envelope("payment", {
            "id": f"pay_bench{n}", "customer_id": customer["id"], "status": "failed",
            "purpose": "top_up", "amount": {"amount": 1000 + n, "currency": "EUR"},
            "decline_code": "card_declined"}, dt.datetime.now(dt.UTC))
        sent[envelope["event_id"]] = time.time()
        dispatch("billing", "payment_failed", envelope)
    steady(args.rate, args.seconds, publish)
    time.sleep(3)
    portal = []
    with psycopg2.connect(urls["notifier"]) as conn, conn.cursor() as cur:
        cur.execute("SELECT dedup_key, created_at FROM notifications WHERE customer_id = %s",
                    (customer["id"],))
        for key, created in cur.fetchall():
            event_id = key.split(":")[0]
            if event_id in sent:
                portal.append(1000 * (created.timestamp() - sent[event_id]))

    admin = login(stack.url, ADMIN["email"], ADMIN["password"])
    receiver = Receiver()
    requests.post(f"{stack.url}/api/v1/ops/teams/bench/channels", headers=admin, timeout=30,
                  json={"type": "webhook", "url": f"http://127.0.0.1:{receiver.port}/hook"}
                  ).raise_for_status()
    raised: dict[str, float] = {}
    session = requests.Session()
    session.headers.update(admin)

    def alert(n: int) -> None:
        title = f"bench alert {n}"
        raised[title] = time.time()
        session.post(f"{stack.url}/api/v1/ops/teams/bench/alerts", timeout=30, json={
            "severity": "warning", "title": title, "text": "latency probe",
            "dedup_key": f"bench-{n}"}).raise_for_status()
    steady(args.rate, args.seconds, alert)
    time.sleep(3)
    webhook = [1000 * (receiver.arrivals[t] - raised[t]) for t in raised if t in receiver.arrivals]
    receiver.server.shutdown()

    with psycopg2.connect(urls["accounts"]) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO customers (id, email, email_normalized, password_hash, name, language, "
            "billing_type, currency, tax_region, role, created_at, updated_at, "
            "password_changed_at) SELECT 'cus_bulk' || lpad(g::text, 7, '0'), "
            "'bulk' || g || '@example.com', 'bulk' || g || '@example.com', 'x', 'Bulk', 'en', "
            "'prepaid', 'EUR', 'DE', 'customer', now(), now(), now() "
            "FROM generate_series(1, %s) g", (args.customers,))
    began = time.perf_counter()
    broadcast = requests.post(f"{stack.url}/api/v1/ops/broadcasts", headers=admin, timeout=30,
                              json={"kind": "promotion", "title": "Bench", "body": "Hello"}
                              ).json()
    while broadcast["status"] != "done":
        time.sleep(0.5)
        broadcast = requests.get(f"{stack.url}/api/v1/ops/broadcasts/{broadcast['id']}",
                                 headers=admin, timeout=30).json()
    wall = time.perf_counter() - began
    rows = [(f"ntf_raw{n}", f"cus_raw{n}", "promotions", "Bench", "Hello", "{}",
             f"raw:{n}") for n in range(broadcast["recipients"])]
    with psycopg2.connect(urls["notifier"]) as conn, conn.cursor() as cur:
        began = time.perf_counter()
        for first in range(0, len(rows), 500):
            psycopg2.extras.execute_values(
                cur, "INSERT INTO notifications (id, customer_id, topic, title, body, data, "
                "dedup_key, created_at) VALUES %s", rows[first:first + 500],
                template="(%s, %s, %s, %s, %s, %s, %s, now())")
            conn.commit()
        raw = time.perf_counter() - began
    return rpc, portal, webhook, (broadcast["recipients"], wall, raw)


if __name__ == "__main__":
    sys.exit(main())
