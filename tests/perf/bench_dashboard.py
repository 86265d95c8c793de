"""Benchmark: GET /api/v1/dashboard under load, beside the raw round trip of each RPC it makes.

Python client threads share the 2 cores with the system under test, so the dashboard is also
loaded from wrk (a separate, light process) when it is installed (`apt-get install wrk`).
Against the system as `make run` starts it (SQLite default, demo data: the prepaid demo customer
has a subscription). The dashboard authenticates (accounts.authenticate; cached by the gateway
for AUTH_CACHE_SECONDS) and asks billing.dashboard; later parts (tickets, notifier) join the
same parallel fan-out.

    .venv/bin/python tests/perf/bench_dashboard.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile

import requests

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from tests.perf.harness import HEADER, Http, RawRpc, row, run, wrk  # noqa: E402
from tests.stack import Stack  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(pathlib.Path(tmp)).start()
        try:
            login = requests.post(f"{stack.url}/api/v1/auth/login", timeout=10, json={
                "email": "prepaid@example.com", "password": "prepaid demo passphrase"}).json()
            token, customer = login["token"], login["account"]["id"]
            amqp = stack.env["AMQP_URI"]
            rpcs = {"accounts.authenticate": ("accounts", "authenticate", token),
                    "billing.dashboard": ("billing", "dashboard", customer)}
            results = []
            for clients in (1, 20):
                raw = {name: run(clients, args.requests, lambda a=call: RawRpc(amqp, *a))
                       for name, call in rpcs.items()}
                view = run(clients, args.requests,
                           lambda: Http(stack.url, "/api/v1/dashboard", token))
                loaded = wrk(f"{stack.url}/api/v1/dashboard", token, clients)
                results.append((clients, raw, view, loaded))
        finally:
            stack.stop()
    print(f"\nGET /api/v1/dashboard and the RPCs behind it ({args.requests} calls per row)")
    print(HEADER)
    for clients, raw, view, loaded in results:
        for name, result in raw.items():
            print(row(clients, f"raw rpc {name}", result))
        print(row(clients, "gateway GET /api/v1/dashboard", view))
        if loaded:
            print(row(clients, "  the same, load from wrk", loaded))
        slowest = max(r["p50_ms"] for r in raw.values())
        print(f"{clients:>7} dashboard p50 / slowest RPC p50: {view['p50_ms'] / slowest:.2f}"
              f" (Python client)" + (f", {loaded['p50_ms'] / slowest:.2f} (wrk)" if loaded
                                      else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
