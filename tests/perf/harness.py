"""Shared by the benchmarks: N calls over C client threads, each with its own client (one
standalone RPC proxy per thread, as nameko needs), percentiles and throughput."""

from __future__ import annotations

import concurrent.futures as cf
import os
import statistics
import threading
import time
import uuid

import psycopg2
import requests
from nameko.standalone.rpc import ClusterRpcProxy

ADMIN_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def create_databases(names) -> dict[str, str]:
    """A fresh PostgreSQL database per name (`bench_<name>_<random>`): their URLs."""
    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    urls = {}
    with conn.cursor() as cur:
        for name in names:
            db = f"bench_{name}_{uuid.uuid4().hex[:6]}"
            cur.execute(f'CREATE DATABASE "{db}"')
            urls[name] = ADMIN_URL.rsplit("/", 1)[0] + "/" + db
    conn.close()
    return urls


def drop_databases(urls: dict[str, str]) -> None:
    """Drop what `create_databases` made (connections still open are ended)."""
    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        for url in urls.values():
            cur.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    conn.close()


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run(clients: int, total: int, make_client, warmup: int = 10) -> dict:
    """`total` calls spread over `clients` threads, after `warmup` calls each;
    `make_client()` is a context manager that yields a zero-argument call. A client thread's
    failure ends the run with that error (never leaves the others waiting at the barrier)."""
    per_client = max(1, total // clients)
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(clients + 1, timeout=300)

    def worker():
        try:
            with make_client() as call:
                for _ in range(warmup):
                    call()
                barrier.wait()
                mine = []
                for _ in range(per_client):
                    t0 = time.perf_counter()
                    call()
                    mine.append(time.perf_counter() - t0)
        except BaseException:
            barrier.abort()
            raise
        with lock:
            latencies.extend(mine)

    with cf.ThreadPoolExecutor(clients) as pool:
        futures = [pool.submit(worker) for _ in range(clients)]
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            cf.wait(futures)
            failures = [f.exception() for f in futures]
            raise next((e for e in failures if e and not isinstance(
                e, threading.BrokenBarrierError)), RuntimeError("a client failed")) from None
        began = time.perf_counter()
        for future in futures:
            future.result()
        elapsed = time.perf_counter() - began
    return {"p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * percentile(latencies, 0.99),
            "rps": len(latencies) / elapsed, "n": len(latencies)}


class RawRpc:
    """A raw nameko RPC round trip: `service.method(*args)`."""

    def __init__(self, amqp_uri: str, service: str, method: str, *args) -> None:
        self.proxy = ClusterRpcProxy({"AMQP_URI": amqp_uri})
        self.service, self.method, self.args = service, method, args

    def __enter__(self):
        cluster = self.proxy.start()
        target = getattr(getattr(cluster, self.service), self.method)
        return lambda: target(*self.args)

    def __exit__(self, *exc):
        self.proxy.stop()


class Http:
    """GET `path` through the gateway with a bearer token; anything but 200 is an error."""

    def __init__(self, url: str, path: str, token: str) -> None:
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.url = url + path

    def __enter__(self):
        def call():
            response = self.session.get(self.url, timeout=10)
            if response.status_code != 200:
                raise RuntimeError(response.text)
        return call

    def __exit__(self, *exc):
        self.session.close()


def row(clients: int, name: str, result: dict) -> str:
    return (f"{clients:>7} {name:<28} {result['p50_ms']:>8.2f} {result['p99_ms']:>8.2f} "
            f"{result['rps']:>8.0f}")


HEADER = f"{'clients':>7} {'path':<28} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}"


def wrk(url: str, token: str, clients: int, seconds: int = 10) -> dict | None:
    """Load from a second process with wrk (Debian package `wrk`), which costs the machine far
    less than Python client threads; None if wrk is not installed."""
    import re
    import shutil
    import subprocess

    if not shutil.which("wrk"):
        return None
    out = subprocess.run(
        ["wrk", f"-t{min(2, clients)}", f"-c{clients}", f"-d{seconds}s", "--latency",
         "-H", f"Authorization: Bearer {token}", url],
        capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"p50_ms": ms("50%"), "p99_ms": ms("99%"), "rps": rps, "n": None}
