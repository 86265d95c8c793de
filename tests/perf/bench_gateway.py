"""Benchmark: GET /api/v1/me through the gateway vs. a raw nameko RPC round trip.

Both measured in the same run against the same running system (`python -m deploy.run`, the
SQLite default, as `make run` starts it). The raw baseline calls `accounts.authenticate(token)`,
the one RPC that /me costs (the gateway answers /me from the authenticated account), so the
ratio is the price of HTTP, routing, validation, auth checks and JSON in the gateway.

    make bench            # or: .venv/bin/python tests/perf/bench_gateway.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import pathlib
import statistics
import sys
import tempfile
import threading
import time

import requests
from nameko.standalone.rpc import ClusterRpcProxy

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from tests.stack import Stack  # noqa: E402


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(clients: int, total: int, make_call) -> dict:
    """`total` calls spread over `clients` threads, each with its own client object."""
    per_client = total // clients
    latencies: list[float] = []
    lock = threading.Lock()

    def worker():
        with make_call() as call:
            for _ in range(10):  # warm-up
                call()
            mine = []
            barrier.wait()
            for _ in range(per_client):
                t0 = time.perf_counter()
                call()
                mine.append(time.perf_counter() - t0)
        with lock:
            latencies.extend(mine)

    barrier = threading.Barrier(clients + 1)
    with cf.ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(worker) for _ in range(clients)]
        barrier.wait()
        began = time.perf_counter()
        for f in futures:
            f.result()
        elapsed = time.perf_counter() - began
    return {"p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * percentile(latencies, 0.99),
            "rps": len(latencies) / elapsed, "n": len(latencies)}


class RawRpc:
    def __init__(self, amqp_uri: str, token: str) -> None:
        self.proxy = ClusterRpcProxy({"AMQP_URI": amqp_uri})
        self.token = token

    def __enter__(self):
        cluster = self.proxy.start()
        return lambda: cluster.accounts.authenticate(self.token)

    def __exit__(self, *exc):
        self.proxy.stop()


class Gateway:
    def __init__(self, url: str, token: str) -> None:
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.url = url + "/api/v1/me"

    def __enter__(self):
        def call():
            response = self.session.get(self.url, timeout=10)
            if response.status_code != 200:
                raise RuntimeError(response.text)
        return call

    def __exit__(self, *exc):
        self.session.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(pathlib.Path(tmp)).start()
        try:
            token = requests.post(f"{stack.url}/api/v1/auth/login", timeout=10, json={
                "email": "prepaid@example.com", "password": "prepaid demo passphrase"}
            ).json()["token"]
            amqp_uri = stack.env["AMQP_URI"]
            rows = []
            for clients in (1, 20):
                raw = run(clients, args.requests, lambda: RawRpc(amqp_uri, token))
                gw = run(clients, args.requests, lambda: Gateway(stack.url, token))
                rows.append((clients, raw, gw))
        finally:
            stack.stop()
    print(f"\nGET /api/v1/me through the gateway vs raw RPC accounts.authenticate "
          f"({args.requests} calls per row)")
    print(f"{'clients':>7} {'path':<8} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}")
    for clients, raw, gw in rows:
        for name, r in (("raw rpc", raw), ("gateway", gw)):
            print(f"{clients:>7} {name:<8} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
                  f"{r['rps']:>8.0f}")
        print(f"{clients:>7} ratio of p50s (gateway / raw rpc): {gw['p50_ms'] / raw['p50_ms']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
