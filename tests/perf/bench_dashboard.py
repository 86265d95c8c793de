"""Benchmark: GET /api/v1/dashboard, cold (every part asked of its service) and warm (the
gateway's read cache), beside the raw RPC of each part and GET /api/v1/me, in the same run, on
the `make run` default (SQLite) and on PostgreSQL.

The system runs as `make run` starts it (demo data loaded); the prepaid demo customer also gets
an open ticket, so every part the page shows has content: wallet and services (billing), open
tickets (tickets), unread notifications (notifier). Per database:
- raw RPC p50/p99 of each part (`billing.dashboard`, `tickets.open_tickets`,
  `notifier.unread_count`), one standalone nameko client per Python thread;
- `GET /api/v1/me` (authentication from the gateway's cache, no other RPC): the floor of any
  authenticated view;
- the dashboard cold: `Cache-Control: no-cache`, which makes the gateway ask every part afresh
  (what a first view, or the view after a change, costs);
- the dashboard warm: the parts from the read cache.
HTTP load comes from wrk (Debian package `wrk`; a separate, light process); at 1 client the
dashboard is also timed from a Python client. Every dashboard answer under wrk is checked for a
part shown `unavailable` (a part later than its deadline): the count is printed, and a run with
any is reported as such.
Ratios: at 1 client, dashboard p50 / the slowest part's raw p50 (aim ≤ 1.5); at 20 clients,
views/s (aim ≥ 400, p99 ≤ 100 ms) and views/s / `GET /api/v1/me`'s req/s.
The 2 cores are shared by client, broker, services and database (and anything else running):
figures are noisy; compare the rows of one run.

    .venv/bin/python tests/perf/bench_dashboard.py [--requests 1000] [--seconds 10]
        [--databases sqlite,postgresql]      (DATABASE_URL as make test, for PostgreSQL)
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import requests

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from tests.perf.harness import (  # noqa: E402
    HEADER,
    RawRpc,
    create_databases,
    drop_databases,
    row,
    run,
)
from tests.stack import Stack  # noqa: E402

SERVICES = ["accounts", "catalog", "billing", "vouchers", "tickets", "notifier"]
NO_CACHE = {"Cache-Control": "no-cache"}

# counts the answers in which a part is shown unavailable (each wrk thread has its own state)
WRK_SCRIPT = """
degraded = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function response(status, headers, body)
  if string.find(body, '"unavailable":%s*true') then degraded = degraded + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("degraded") end
  io.write("degraded: " .. total .. "\\n")
end
"""


class Http:
    """GET `path` with a bearer token (and `headers`); anything but 200 is an error."""

    def __init__(self, url: str, token: str, headers: dict | None = None) -> None:
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {token}", **(headers or {})})
        self.url = url

    def __enter__(self):
        def call():
            response = self.session.get(self.url, timeout=10)
            if response.status_code != 200 or '"unavailable":true' in response.text:
                raise RuntimeError(f"{response.status_code} {response.text[:300]}")
        return call

    def __exit__(self, *exc):
        self.session.close()


def wrk(url: str, token: str, clients: int, seconds: int, headers: dict | None = None,
        script: str | None = None) -> dict | None:
    """Load from wrk; None if it is not installed."""
    if not shutil.which("wrk"):
        return None
    command = ["wrk", f"-t{min(2, clients)}", f"-c{clients}", f"-d{seconds}s", "--latency",
               "-H", f"Authorization: Bearer {token}"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", script]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    degraded = re.search(r"degraded: (\d+)", out)
    return {"p50_ms": ms("50%"), "p99_ms": ms("99%"),
            "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "n": int(re.search(r"(\d+) requests in", out).group(1)),
            "degraded": int(degraded.group(1)) if degraded else None}


def prepare(stack: Stack) -> tuple[str, str]:
    """The prepaid demo customer's token and id, with an open ticket and unread notifications."""
    login = requests.post(f"{stack.url}/api/v1/auth/login", timeout=10, json={
        "email": "prepaid@example.com", "password": "prepaid demo passphrase"}).json()
    token, customer = login["token"], login["account"]["id"]
    headers = {"Authorization": f"Bearer {token}"}
    opened = requests.post(f"{stack.url}/api/v1/tickets", headers=headers, timeout=30, json={
        "category": "general", "subject": "Where is the sports channel?",
        "description": "Sports Plus is on my subscription but I cannot find the channel."})
    opened.raise_for_status()
    board = requests.get(f"{stack.url}/api/v1/dashboard", headers={**headers, **NO_CACHE},
                         timeout=10).json()
    missing = [name for name, part in board.items() if part.get("unavailable")]
    assert not missing, f"parts unavailable before the run: {missing}"
    assert board["subscriptions"]["data"] and board["open_tickets"]["count"] >= 1, board
    assert "wallet" in board and board["unread_notifications"]["count"] >= 0, board
    return token, customer


def measure(database: str, args, script: str) -> list[tuple]:
    urls = create_databases(SERVICES) if database == "postgresql" else {}
    env = {f"{name.upper()}_DATABASE_URL": url for name, url in urls.items()}
    rows: list[tuple] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            stack = Stack(pathlib.Path(tmp), env).start()
            try:
                token, customer = prepare(stack)
                amqp = stack.env["AMQP_URI"]
                rpcs = {"billing.dashboard": ("billing", "dashboard", customer, "EUR",
                                              "prepaid"),
                        "tickets.open_tickets": ("tickets", "open_tickets", customer),
                        "notifier.unread_count": ("notifier", "unread_count", customer)}
                board = f"{stack.url}/api/v1/dashboard"
                for clients in (1, 20):
                    raw = {name: run(clients, args.requests, lambda a=call: RawRpc(amqp, *a))
                           for name, call in rpcs.items()}
                    loads = {"GET /api/v1/me": wrk(f"{stack.url}/api/v1/me", token, clients,
                                                   args.seconds)}
                    python = {}
                    if clients == 1:
                        python["cold"] = run(1, args.requests, lambda: Http(board, token,
                                                                            NO_CACHE))
                        python["warm"] = run(1, args.requests, lambda: Http(board, token))
                    loads["dashboard cold"] = wrk(board, token, clients, args.seconds,
                                                  NO_CACHE, script)
                    loads["dashboard warm"] = wrk(board, token, clients, args.seconds,
                                                  None, script)
                    rows.append((clients, raw, python, loads))
            finally:
                stack.stop()
    finally:
        if urls:
            drop_databases(urls)
    return rows


def report(database: str, rows: list[tuple], requests_per_row: int) -> None:
    print(f"\n== {database}: GET /api/v1/dashboard and its baselines "
          f"({requests_per_row} calls per Python row; wrk rows for the given seconds)")
    print(HEADER + "  unavailable")
    for clients, raw, python, loads in rows:
        for name, result in raw.items():
            print(row(clients, f"raw rpc {name}", result))
        for name, result in python.items():
            print(row(clients, f"dashboard {name} (python)", result))
        for name, result in loads.items():
            if result:
                extra = "" if result["degraded"] is None else f"  {result['degraded']}"
                print(row(clients, f"{name} (wrk)", result) + extra)
        slowest = max(r["p50_ms"] for r in raw.values())
        if clients == 1:
            figures = [f"{name} {result['p50_ms'] / slowest:.2f}"
                       for name, result in [*((f"{k} (python)", v) for k, v in python.items()),
                                            *((f"{k} (wrk)", v) for k, v in loads.items()
                                              if v and k.startswith("dashboard"))]]
            print(f"{clients:>7} p50 / slowest part's raw p50 ({slowest:.2f} ms; aim ≤ 1.5): "
                  + ", ".join(figures))
        else:
            me = loads["GET /api/v1/me"]
            for name in ("dashboard cold", "dashboard warm"):
                result = loads[name]
                if result and me:
                    aims = "met" if result["rps"] >= 400 and result["p99_ms"] <= 100 and \
                        not result["degraded"] else "NOT met"
                    print(f"{clients:>7} {name}: {result['rps']:.0f} views/s, p99 "
                          f"{result['p99_ms']:.0f} ms (aim ≥ 400/s, p99 ≤ 100 ms: {aims}); "
                          f"{result['rps'] / me['rps']:.2f} × GET /api/v1/me")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk): only the Python client rows run",
              file=sys.stderr)
    load = os.getloadavg()[0]
    results = {}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(WRK_SCRIPT)
    try:
        for database in args.databases.split(","):
            results[database] = measure(database, args, lua.name)
    finally:
        os.unlink(lua.name)
    for database, rows in results.items():
        report(database, rows, args.requests)
    print(f"\nload average before the run {load:.2f}, after {os.getloadavg()[0]:.2f} "
          f"({os.cpu_count()} CPUs, shared by everything)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
