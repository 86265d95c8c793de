"""Benchmark: voucher batches and redemptions on PostgreSQL, beside raw SQL in the same run.

The system runs as `make run` starts it, with every service's database on the local PostgreSQL.
1. Creating batches (default 100,000 and 1,000,000 vouchers) through the ops API: wall time
   from the POST until the batch is `active`, vouchers/s; the raw baseline inserts the same
   rows (serial, code hash) into a copy of the table with the same indexes, with psycopg2's
   execute_values (multi-row INSERTs) and with COPY.
2. Exporting them as CSV through the gateway (streamed): wall time, rows/s, and the peak
   resident memory of the gateway and vouchers processes *during* the export above what they
   held before it (flat as the batch grows = streaming).
3. Redemptions per second at 20 concurrent clients (20 prepaid customers, each its own codes)
   through the gateway, beside the raw redemption transaction (conditional UPDATE + INSERT,
   one commit) from 20 psycopg2 threads.

    .venv/bin/python tests/perf/bench_vouchers.py [--sizes 100000,1000000] [--redeem 1000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import pathlib
import sys
import tempfile
import threading
import time
import uuid

import psycopg2
import psycopg2.extras
import requests

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from tests.perf.bench_topup import create_databases, drop_databases  # noqa: E402
from tests.perf.harness import HEADER, row, run  # noqa: E402
from tests.stack import Stack  # noqa: E402

ADMIN = {"email": "admin@example.com", "password": "portal admin demo passphrase"}


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class PeakRss(threading.Thread):
    """Samples a process's resident memory every 50 ms; `growth` = peak − start, in MiB."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.start_kib, self.peak_kib, self.running = pid, rss_kib(pid), 0, True
        self.start()

    def run(self) -> None:
        while self.running:
            self.peak_kib = max(self.peak_kib, rss_kib(self.pid))
            time.sleep(0.05)

    def stop(self) -> float:
        self.running = False
        self.join()
        return max(0, self.peak_kib - self.start_kib) / 1024


def process_of(stack: Stack, module: str) -> int:
    for pid in stack.children():
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            if module.encode() in fh.read():
                return pid
    raise RuntimeError(f"no process runs {module}")


def login(url: str, email: str, password: str) -> dict:
    token = requests.post(f"{url}/api/v1/auth/login", timeout=30,
                          json={"email": email, "password": password}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def create_batch(url: str, admin: dict, count: int) -> tuple[dict, float]:
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(days=365)).isoformat()
    began = time.perf_counter()
    batch = requests.post(f"{url}/api/v1/ops/voucher-batches", headers=admin, timeout=60, json={
        "type": "print", "value": {"amount": 1000, "currency": "EUR"}, "count": count,
        "valid_until": until}).json()
    if "status" not in batch:
        raise RuntimeError(f"batch not created: {batch}")
    while batch["status"] != "active":
        time.sleep(0.25)
        batch = requests.get(f"{url}/api/v1/ops/voucher-batches/{batch['id']}", headers=admin,
                             timeout=30).json()
    return batch, time.perf_counter() - began


def export(url: str, admin: dict, batch: dict) -> tuple[list[str], float, int]:
    began = time.perf_counter()
    with requests.get(f"{url}/api/v1/ops/voucher-batches/{batch['id']}/export.csv",
                      headers=admin, stream=True, timeout=600) as response:
        response.raise_for_status()
        lines, rest = 0, b""
        first_codes: list[str] = []
        for block in response.iter_content(1 << 16):
            rest += block
            *complete, rest = rest.split(b"\n")
            lines += len(complete)
            if len(first_codes) < 5000:
                first_codes += [c.split(b",")[1].decode() for c in complete if c
                                and not c.startswith(b"serial")][:5000 - len(first_codes)]
    return first_codes, time.perf_counter() - began, lines - 1


def raw_inserts(url: str, count: int) -> dict:
    """The same rows into a copy of `vouchers` (same indexes): execute_values, then COPY."""
    out = {}
    for method in ("execute_values", "copy"):
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS raw_vouchers")
            cur.execute("CREATE TABLE raw_vouchers (LIKE vouchers INCLUDING ALL)")
            conn.commit()
            rows = [("vb_raw", f"99999{n:07d}",
                     hashlib.sha256(f"raw:{method}:{n}".encode()).hexdigest(), 0, "active")
                    for n in range(count)]
            began = time.perf_counter()
            for first in range(0, count, 50_000):
                part = rows[first:first + 50_000]
                if method == "copy":
                    buf = io.StringIO("".join("\t".join(map(str, r)) + "\n" for r in part))
                    cur.copy_expert("COPY raw_vouchers (batch_id, serial, code_hash, variant, "
                                    "status) FROM STDIN", buf)
                else:
                    psycopg2.extras.execute_values(
                        cur, "INSERT INTO raw_vouchers (batch_id, serial, code_hash, variant, "
                        "status) VALUES %s", part, page_size=1000)
                conn.commit()
            out[method] = time.perf_counter() - began
            cur.execute("DROP TABLE raw_vouchers")
    return out


class Redeemer:
    """One customer redeeming its own codes through the gateway."""

    def __init__(self, url: str, headers: dict, codes: list[str]) -> None:
        self.session = requests.Session()
        self.session.headers.update(headers)
        self.url, self.codes = url + "/api/v1/vouchers/redeem", iter(codes)

    def __enter__(self):
        def call():
            answer = self.session.post(self.url, json={"code": next(self.codes)}, timeout=30)
            assert answer.status_code == 201, answer.text
        return call

    def __exit__(self, *exc):
        self.session.close()


class RawRedemption:
    """The redemption's own SQL: claim one active voucher, insert the redemption, commit."""

    def __init__(self, url: str, ids: list[int]) -> None:
        self.conn = psycopg2.connect(url)
        self.ids = iter(ids)

    def __enter__(self):
        def call():
            with self.conn.cursor() as cur:
                voucher = next(self.ids)
                cur.execute("UPDATE vouchers SET status = 'redeemed', changed_at = now() "
                            "WHERE id = %s AND status = 'active'", (voucher,))
                assert cur.rowcount == 1
                cur.execute("INSERT INTO redemptions (id, voucher_id, serial, customer_id, "
                            "value, currency, created_at) VALUES (%s, %s, 'raw', 'cus_raw', "
                            "1000, 'EUR', now())", (f"red_{uuid.uuid4().hex}", voucher))
            self.conn.commit()
        return call

    def __exit__(self, *exc):
        self.conn.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--redeem", type=int, default=1000, help="redemptions per side")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    clients = 20
    urls = create_databases(["accounts", "catalog", "billing", "vouchers", "sandbox"])
    env = {f"{k.upper()}_DATABASE_URL": v for k, v in urls.items() if k != "sandbox"}
    env["PAYMENT_SANDBOX_URL"] = urls["sandbox"]
    created, exported, redeemed = [], [], None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            stack = Stack(pathlib.Path(tmp), env).start()
            try:
                admin = login(stack.url, ADMIN["email"], ADMIN["password"])
                gateway_pid = process_of(stack, "gateway.service")
                vouchers_pid = process_of(stack, "services.vouchers.service")
                for size in sizes:
                    batch, wall = create_batch(stack.url, admin, size)
                    raw = raw_inserts(urls["vouchers"], size)
                    created.append((size, wall, raw))
                    print(f"created {size:,} in {wall:.1f} s", flush=True)
                    watch = [PeakRss(gateway_pid), PeakRss(vouchers_pid)]
                    _, took, lines = export(stack.url, admin, batch)
                    growth = [w.stop() for w in watch]
                    assert lines == size, (lines, size)
                    exported.append((size, took, growth))
                    print(f"exported {size:,} in {took:.1f} s", flush=True)

                need = clients * (10 + args.redeem // clients)
                batch, _ = create_batch(stack.url, admin, need * 2)
                codes, _, _ = export(stack.url, admin, batch)
                codes = codes[:need]
                customers = []
                for _ in range(clients):
                    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
                    requests.post(f"{stack.url}/api/v1/accounts", timeout=30, json={
                        "email": email, "password": "a long enough passphrase", "name": "B",
                        "billing_type": "prepaid", "currency": "EUR"}).raise_for_status()
                    customers.append(login(stack.url, email, "a long enough passphrase"))
                share = len(codes) // clients
                slices = iter([codes[i * share:(i + 1) * share] for i in range(clients)])
                lock = threading.Lock()

                def next_redeemer():
                    with lock:
                        mine = next(slices)
                        headers = customers.pop()
                    return Redeemer(stack.url, headers, mine)
                gateway = run(clients, args.redeem, next_redeemer)
                with psycopg2.connect(urls["vouchers"]) as conn, conn.cursor() as cur:
                    cur.execute("SELECT id FROM vouchers WHERE status = 'active' AND batch_id = "
                                "%s ORDER BY id LIMIT %s", (batch["id"], need))
                    ids = [r[0] for r in cur.fetchall()]
                id_slices = iter([ids[i * share:(i + 1) * share] for i in range(clients)])

                def next_raw():
                    with lock:
                        return RawRedemption(urls["vouchers"], next(id_slices))
                raw = run(clients, args.redeem, next_raw)
                redeemed = (raw, gateway)
            finally:
                stack.stop()
    finally:
        drop_databases(urls)

    print("\nVoucher batches on PostgreSQL (created through the ops API until `active`)")
    print(f"{'vouchers':>10} {'wall s':>8} {'vouchers/s':>11} {'raw values s':>13} "
          f"{'raw COPY s':>11} {'÷ values':>9} {'÷ COPY':>7}")
    for size, wall, raw in created:
        print(f"{size:>10,} {wall:>8.1f} {size / wall:>11,.0f} {raw['execute_values']:>13.1f} "
              f"{raw['copy']:>11.1f} {wall / raw['execute_values']:>9.2f} "
              f"{wall / raw['copy']:>7.2f}")
    print("\nCSV export through the gateway (streamed)")
    print(f"{'vouchers':>10} {'wall s':>8} {'rows/s':>9} {'gateway +MiB':>13} "
          f"{'vouchers +MiB':>14}")
    for size, took, (gw_mib, v_mib) in exported:
        print(f"{size:>10,} {took:>8.1f} {size / took:>9,.0f} {gw_mib:>13.1f} {v_mib:>14.1f}")
    raw, gateway = redeemed
    print(f"\nRedemptions, {clients} concurrent clients")
    print(HEADER)
    print(row(clients, "raw redemption (SQL)", raw))
    print(row(clients, "gateway POST redeem", gateway))
    print(f"{clients:>7} redemptions/s ÷ raw/s: {gateway['rps'] / raw['rps']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
