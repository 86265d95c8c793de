"""Benchmark: GET /api/v1/me through the gateway vs. a raw nameko RPC round trip.

Both measured in the same run against the same running system (`python -m deploy.run`, the
SQLite default, as `make run` starts it). The raw baseline calls `accounts.authenticate(token)`,
the RPC behind /me. The gateway is measured twice: with its auth cache off
(`AUTH_CACHE_SECONDS=0`: HTTP, auth and one RPC per request, the issue's definition) and with
the default cache (no RPC while the cached authentication is fresh).

    make bench            # or: .venv/bin/python tests/perf/bench_gateway.py [--requests 2000]
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tempfile

import requests

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from tests.perf.harness import HEADER, Http, RawRpc, row, run  # noqa: E402
from tests.stack import Stack  # noqa: E402


def measure(requests_per_row: int, cache_seconds: str) -> list[tuple[int, dict, dict]]:
    with tempfile.TemporaryDirectory() as tmp:
        stack = Stack(pathlib.Path(tmp), {"AUTH_CACHE_SECONDS": cache_seconds}).start()
        try:
            token = requests.post(f"{stack.url}/api/v1/auth/login", timeout=10, json={
                "email": "prepaid@example.com", "password": "prepaid demo passphrase"}
            ).json()["token"]
            rows = []
            for clients in (1, 20):
                raw = run(clients, requests_per_row, lambda: RawRpc(
                    stack.env["AMQP_URI"], "accounts", "authenticate", token))
                gw = run(clients, requests_per_row, lambda: Http(stack.url, "/api/v1/me", token))
                rows.append((clients, raw, gw))
            return rows
        finally:
            stack.stop()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    for label, cache in (("auth cache off", "0"), ("auth cache on (default)", "5")):
        rows = measure(args.requests, cache)
        print(f"\nGET /api/v1/me vs raw RPC accounts.authenticate, {label} "
              f"({args.requests} calls per row)")
        print(HEADER)
        for clients, raw, gw in rows:
            print(row(clients, "raw rpc authenticate", raw))
            print(row(clients, "gateway GET /api/v1/me", gw))
            print(f"{clients:>7} ratio of p50s (gateway / raw rpc): "
                  f"{gw['p50_ms'] / raw['p50_ms']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
