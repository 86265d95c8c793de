"""Benchmark: voucher batches and redemptions on PostgreSQL, beside raw SQL in the same run.

The system runs as `make run` starts it, with every service's database on the local PostgreSQL
(and TRUST_PROXY_HEADERS on, so each client can say which address it comes from).
1. Creating batches (default 100,000 and 1,000,000 vouchers) through the ops API: wall time
   from the POST until the batch is `active`, vouchers/s; the raw baseline inserts the same
   rows (serial, code hash) into a copy of the table with the same indexes, with psycopg2's
   execute_values (multi-row INSERTs) and with COPY.
2. Exporting them as CSV through the gateway (streamed): wall time, rows/s, and the peak
   resident memory of the gateway and vouchers processes *during* the export above what they
   held before it (flat as the batch grows = streaming).
3. Redemptions (`POST /api/v1/vouchers/redeem`: gateway → billing.redeem_voucher →
   vouchers.redeem → the wallet credit) at 1 and 20 concurrent clients, each client its own
   prepaid customer, beside the raw redemption transaction (conditional UPDATE + INSERT, one
   commit) from as many psycopg2 threads and `vouchers.redeem` called over RPC alone (billing
   credits those from the event), measured in the same run:
   - 20 customers, each from its own address;
   - 20 customers behind ONE shared address that has wrong guesses on record (its throttle
     counter exists) while guessers at the same address keep guessing (below the address's
     limit): a correct code must not wait for other people's requests.
   It ends with `/api/v1/ops/ledger/verify` clean, every 201 credited exactly once, and no 5xx
   (asserted). `--profile DIR` records the gateway, billing and vouchers processes with py-spy
   during the 20-client run and prints their top entries.
The whole machine (clients, broker, services, database) shares 2 cores: figures are noisy, and
Python client threads cost the system under test CPU too.

    .venv/bin/python tests/perf/bench_vouchers.py [--sizes 100000,1000000] [--redeem 1000]
        [--profile /tmp/prof]     (--sizes "" skips batches and exports)
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import hashlib
import io
import itertools
import os
import pathlib
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import psycopg2
import psycopg2.extras
import requests
from nameko.standalone.rpc import ClusterRpcProxy

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from services.vouchers.codes import ALPHABET, RANDOM_SYMBOLS, check_symbol  # noqa: E402
from tests.perf.harness import HEADER, create_databases, drop_databases, row, run  # noqa: E402  # noqa: E402
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (robust to the machine being busy)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuUse:
    """CPU seconds each process used between construction and `per_call(calls)`, in ms/call."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids, self.start = pids, {name: cpu_seconds(pid) for name, pid in pids.items()}

    def per_call(self, calls: int) -> dict[str, float]:
        return {name: 1000 * (cpu_seconds(pid) - self.start[name]) / calls
                for name, pid in self.pids.items()}


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
    batch = requests.post(f"{url}/api/v1/ops/voucher-batches", timeout=60, headers={
        **admin, "Idempotency-Key": f"bench-batch-{time.time_ns()}"}, json={
        "type": "print", "value": {"amount": 1000, "currency": "EUR"}, "count": count,
        "valid_until": until}).json()
    if "status" not in batch:
        raise RuntimeError(f"batch not created: {batch}")
    while batch["status"] != "active":
        time.sleep(0.25)
        batch = requests.get(f"{url}/api/v1/ops/voucher-batches/{batch['id']}", headers=admin,
                             timeout=30).json()
    return batch, time.perf_counter() - began


def export(url: str, admin: dict, batch: dict, keep: int = 5000) -> tuple[list[str], float, int]:
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
            if len(first_codes) < keep:
                first_codes += [c.split(b",")[1].decode() for c in complete if c
                                and not c.startswith(b"serial")][:keep - len(first_codes)]
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


class Codes:
    """The exported codes, handed out one by one to whichever client thread asks."""

    def __init__(self, codes: list[str]) -> None:
        self._codes, self._lock = iter(codes), threading.Lock()

    def take(self) -> str:
        with self._lock:
            return next(self._codes)


class Statuses:
    """Every HTTP status the benchmark saw (a 5xx anywhere fails it)."""

    def __init__(self) -> None:
        self.seen: collections.Counter = collections.Counter()
        self.examples: list[str] = []
        self._lock = threading.Lock()

    def add(self, status: int) -> None:
        with self._lock:
            self.seen[status] += 1

    def note(self, text: str) -> None:
        if len(self.examples) < 5:
            self.examples.append(text[:300])

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.seen.items() if status >= 500)


class Redeemer:
    """One customer redeeming codes through the gateway from `address`."""

    def __init__(self, url: str, headers: dict, codes: Codes, address: str,
                 statuses: Statuses) -> None:
        self.session = requests.Session()
        self.session.headers.update({**headers, "X-Forwarded-For": address})
        self.url, self.codes, self.statuses = url + "/api/v1/vouchers/redeem", codes, statuses

    def __enter__(self):
        def call():  # every answer is recorded (and checked at the end): a raise here would
            # leave harness.run's other threads waiting at its barrier
            try:
                answer = self.session.post(self.url, json={"code": self.codes.take()},
                                           timeout=30)
            except requests.RequestException:
                self.statuses.add(599)
                return
            self.statuses.add(answer.status_code)
            if answer.status_code != 201:
                self.statuses.note(answer.text)
        return call

    def __exit__(self, *exc):
        self.session.close()


def wrong_code() -> str:
    """A well-formed code (valid check symbol) that no voucher has (65 random bits)."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_SYMBOLS))
    return body + check_symbol(body)


class Guessers(threading.Thread):
    """Other people at the shared address guessing codes now and then (404s, then 429s as
    their accounts get blocked), `count` guesses in all, one every `pause` seconds."""

    def __init__(self, url: str, tokens: list[dict], address: str, count: int, pause: float,
                 statuses: Statuses) -> None:
        super().__init__(daemon=True)
        self.url, self.tokens, self.address = url + "/api/v1/vouchers/redeem", tokens, address
        self.count, self.pause, self.statuses = count, pause, statuses
        self.answers: collections.Counter = collections.Counter()
        self.running = True

    def guess(self, headers: dict) -> int:
        answer = requests.post(self.url, json={"code": wrong_code()}, timeout=30,
                               headers={**headers, "X-Forwarded-For": self.address})
        self.statuses.add(answer.status_code)
        self.answers[answer.status_code] += 1
        assert answer.status_code in (404, 429), answer.text
        return answer.status_code

    def run(self) -> None:
        for n in range(self.count):
            if not self.running:
                break
            self.guess(self.tokens[n % len(self.tokens)])
            time.sleep(self.pause)


class Counter:
    def __init__(self) -> None:
        self.value, self._lock = 0, threading.Lock()

    def add(self, n: int = 1) -> None:
        with self._lock:
            self.value += n


class VoucherRpc:
    """vouchers.redeem straight over RPC, as billing calls it (no gateway, no wallet credit in
    the answer: billing credits these from the voucher_redeemed event)."""

    def __init__(self, amqp_uri: str, customer_id: str, codes: Codes, done: Counter,
                 statuses: Statuses) -> None:
        self.proxy = ClusterRpcProxy({"AMQP_URI": amqp_uri})
        self.customer_id, self.codes, self.done, self.statuses = customer_id, codes, done, \
            statuses

    def __enter__(self):
        vouchers = self.proxy.start().vouchers

        def call():
            try:
                vouchers.redeem(self.customer_id, self.codes.take(),
                                {"currency": "EUR", "billing_type": "prepaid"}, "10.3.0.1")
                self.done.add()
            except Exception as exc:  # noqa: BLE001 - recorded, and fails the benchmark
                self.statuses.add(598)
                self.statuses.note(repr(exc))
        return call

    def __exit__(self, *exc):
        self.proxy.stop()


class RawRedemption:
    """The redemption's own SQL: claim one active voucher, insert the redemption, commit."""

    def __init__(self, url: str, ids: Codes) -> None:
        self.conn = psycopg2.connect(url)
        self.ids = ids

    def __enter__(self):
        def call():
            with self.conn.cursor() as cur:
                voucher = self.ids.take()
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


class Profiler:
    """py-spy recording some processes (on-CPU samples only) until `stop()`."""

    def __init__(self, folder: pathlib.Path, pids: dict[str, int]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.files = {name: folder / f"{name}.txt" for name in pids}
        spy = shutil.which("py-spy") or str(pathlib.Path(sys.executable).with_name("py-spy"))
        self.procs = [subprocess.Popen(
            [spy, "record", "--nonblocking", "-r", "200", "--format", "raw", "-o",
             str(self.files[name]), "-p", str(pid)], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL) for name, pid in pids.items()]
        time.sleep(1)

    def stop(self) -> dict[str, str]:
        for proc in self.procs:
            proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            proc.wait(60)
        return {name: summarize(path) for name, path in self.files.items() if path.exists()}


FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def _frame_name(frame: str) -> str:
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match['func']} ({path})"


def summarize(path: pathlib.Path, top: int = 12) -> str:
    """py-spy's collapsed stacks → the top functions by own samples and, for the project's
    code, by samples spent inside them (inclusive)."""
    own: collections.Counter = collections.Counter()
    inside: collections.Counter = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame_name(f) for f in stack.split(";")]
        total += n
        own[frames[-1]] += n
        for name in set(frames):
            inside[name] += n
    if not total:
        return "  (no samples)"
    lines = [f"  {total} on-CPU samples; own time:"]
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in own.most_common(top)]
    lines.append("  inside (inclusive), project code and SQL:")
    ours = [(name, n) for name, n in inside.most_common()
            if any(p in name for p in ("(services/", "(gateway/", "sqlalchemy/orm/session",
                                       "psycopg2", "sqlalchemy/engine/base"))]
    lines += [f"    {100 * n / total:5.1f}%  {name}" for name, n in ours[:top]]
    return "\n".join(lines)


def make_customers(url: str, count: int) -> list[dict]:
    tokens = []
    for _ in range(count):
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        requests.post(f"{url}/api/v1/accounts", timeout=30, json={
            "email": email, "password": "a long enough passphrase", "name": "B",
            "billing_type": "prepaid", "currency": "EUR"}).raise_for_status()
        tokens.append(login(url, email, "a long enough passphrase"))
    return tokens


def wait_for_credits(billing_url: str, expected: int, timeout: float = 60) -> int:
    """The wallet credits of vouchers, once there are `expected` (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while True:
        with psycopg2.connect(billing_url) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM wallet_transactions WHERE type = 'voucher'")
            credits = cur.fetchone()[0]
        if credits >= expected or time.monotonic() > deadline:
            return credits
        time.sleep(0.5)


def redemptions(stack: Stack, urls: dict, admin: dict, clients: int, total: int,
                profile: pathlib.Path | None) -> dict:
    single = max(50, total // 5)
    warm = 10  # harness.run's warm-up calls per client
    need_gw = 2 * (warm + single) + 3 * (clients * warm + total) + 100
    need_raw = (warm + single) + clients * warm + total + 100
    gw_batch, _ = create_batch(stack.url, admin, need_gw)
    codes, _, _ = export(stack.url, admin, gw_batch, keep=need_gw)
    raw_batch, _ = create_batch(stack.url, admin, need_raw)
    with psycopg2.connect(urls["vouchers"]) as conn, conn.cursor() as cur:
        cur.execute("SELECT id FROM vouchers WHERE batch_id = %s ORDER BY id", (raw_batch["id"],))
        raw_ids = Codes([r[0] for r in cur.fetchall()])
    customers = make_customers(stack.url, clients)
    guessers = make_customers(stack.url, 3)
    rpc_customer = requests.get(f"{stack.url}/api/v1/me", headers=make_customers(stack.url, 1)[0],
                                timeout=30).json()["id"]
    pool, statuses, lock, rpc_done = Codes(codes), Statuses(), threading.Lock(), Counter()
    amqp = stack.env["AMQP_URI"]

    def raw_client():
        return RawRedemption(urls["vouchers"], raw_ids)

    def rpc_client():
        return VoucherRpc(amqp, rpc_customer, pool, rpc_done, statuses)

    def redeemers(address_of):
        numbered = itertools.count()

        def make():
            with lock:
                n = next(numbered)
            return Redeemer(stack.url, customers[n % clients], pool, address_of(n), statuses)
        return make

    pids = {name: process_of(stack, module) for name, module in (
        ("gateway", "gateway.service"), ("billing", "services.billing.service"),
        ("vouchers", "services.vouchers.service"), ("accounts", "services.accounts.service"),
        ("notifier", "services.notifier.service"))}
    per_client_calls = total // clients + warm  # what harness.run makes per client
    out: dict = {}
    out["raw 1"] = run(1, single, raw_client)
    out["rpc 1"] = run(1, single, rpc_client)
    out["gw 1"] = run(1, single, redeemers(lambda n: "10.1.0.1"))
    out["raw 20"] = run(clients, total, raw_client)
    cpu = CpuUse(pids)
    out["rpc 20"] = run(clients, total, rpc_client)
    calls = clients * per_client_calls
    out["cpu rpc"] = cpu.per_call(calls)
    spy = Profiler(profile, {k: v for k, v in pids.items()
                             if k in ("gateway", "billing", "vouchers")}) if profile else None
    wait_for_credits(urls["billing"], statuses.seen[201] + rpc_done.value)  # billing is idle
    cpu = CpuUse(pids)
    out["gw 20"] = run(clients, total, redeemers(lambda n: f"10.2.{n // 250}.{n % 250 + 1}"))
    out["cpu gw"] = cpu.per_call(calls)
    out["profile"] = spy.stop() if spy else None

    shared = "10.99.0.1"
    guessed = Statuses()
    crowd = Guessers(stack.url, guessers, shared, count=11, pause=0.3, statuses=guessed)
    for token in guessers:  # the address has wrong guesses on record before the crowd comes
        crowd.guess(token)
    crowd.start()
    out["gw shared"] = run(clients, total, redeemers(lambda n: shared))
    crowd.running = False
    crowd.join()
    out["guesses"] = dict(crowd.answers)
    out["statuses"], out["guessed"] = statuses, guessed

    # the RPC-only redemptions are credited from the voucher_redeemed event: wait for them
    expected = statuses.seen[201] + rpc_done.value
    credits = wait_for_credits(urls["billing"], expected)
    verify = requests.get(f"{stack.url}/api/v1/ops/ledger/verify", headers=admin,
                          timeout=60).json()
    with psycopg2.connect(urls["vouchers"]) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM redemptions WHERE customer_id <> 'cus_raw'")
        redeemed = cur.fetchone()[0]
    out["verify"], out["credits"], out["redeemed"] = verify, credits, redeemed
    out["expected"], out["rpc done"] = expected, rpc_done.value
    return out


def report_redemptions(r: dict, clients: int) -> bool:
    raw1, raw20 = r["raw 1"], r["raw 20"]
    print(f"\nRedemptions: POST /api/v1/vouchers/redeem vs the raw redemption SQL (PostgreSQL, "
          f"same run; {r['raw 20']['n']} calls per 20-client row)")
    print(HEADER)
    print(row(1, "raw redemption (SQL)", raw1))
    print(row(1, "rpc vouchers.redeem", r["rpc 1"]))
    print(row(1, "gateway, one customer", r["gw 1"]))
    print(row(clients, "raw redemption (SQL)", raw20))
    print(row(clients, "rpc vouchers.redeem", r["rpc 20"]))
    print(row(clients, "gateway, own addresses", r["gw 20"]))
    print(row(clients, "gateway, one shared address", r["gw shared"]))
    ok = True
    for name, key, raw in (("1 client, rpc", "rpc 1", raw1), ("1 client", "gw 1", raw1),
                           (f"{clients} clients, rpc", "rpc 20", raw20),
                           (f"{clients} clients", "gw 20", raw20),
                           (f"{clients} clients, shared address", "gw shared", raw20)):
        ratio = r[key]["rps"] / raw["rps"]
        print(f"  {name}: redemptions/s ÷ raw/s = {ratio:.3f}")
    for key in ("gw 20", "gw shared"):
        ratio, p99 = r[key]["rps"] / raw20["rps"], r[key]["p99_ms"]
        met = ratio >= 0.05 and p99 <= 200
        ok = ok and met
        print(f"  aim ({key}): ratio ≥ 0.05 and p99 ≤ 200 ms: "
              f"{'met' if met else 'NOT met'} ({ratio:.3f}, {p99:.0f} ms)")
    shared, own = r["gw shared"], r["gw 20"]
    print(f"  shared address vs own addresses: p50 × {shared['p50_ms'] / own['p50_ms']:.2f}, "
          f"p99 × {shared['p99_ms'] / own['p99_ms']:.2f}; the guessers there got "
          f"{r['guesses']}")
    print(f"  CPU ms per redemption at {clients} clients (user + system, from /proc; less "
          "sensitive to a busy machine than the rates):")
    for key, name in (("cpu rpc", "rpc vouchers.redeem"), ("cpu gw", "gateway POST redeem")):
        used = r[key]
        print(f"    {name:<22} " + "  ".join(f"{p} {ms:.2f}" for p, ms in used.items())
              + f"  (sum {sum(used.values()):.2f})")
    verify, statuses, guessed = r["verify"], r["statuses"], r["guessed"]
    print(f"ledger verify after the run: ok={verify['ok']} wallets={verify['wallets_checked']} "
          f"differences={len(verify['differences'])}")
    errors5xx = statuses.server_errors + guessed.server_errors
    print(f"redeemers' answers: {dict(sorted(statuses.seen.items()))}; guessers' answers: "
          f"{dict(sorted(guessed.seen.items()))}; 5xx: {errors5xx}")
    print(f"201s {statuses.seen[201]} + rpc {r['rpc done']} = redemptions {r['redeemed']} = "
          f"wallet credits {r['credits']}")
    assert verify["ok"] and not verify["differences"], verify
    assert set(statuses.seen) == {201}, (statuses.seen, statuses.examples)
    assert set(guessed.seen) <= {404, 429}, guessed.seen
    assert errors5xx == 0
    assert r["expected"] == r["redeemed"] == r["credits"], (statuses.seen, r)
    if r["profile"]:
        for name, text in r["profile"].items():
            print(f"\npy-spy, {name} process, during the {clients}-client run:\n{text}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000",
                        help="batch sizes to create and export ('' to skip)")
    parser.add_argument("--redeem", type=int, default=1000,
                        help="redemptions per 20-client row")
    parser.add_argument("--profile", type=pathlib.Path, default=None,
                        help="folder for py-spy recordings of the 20-client run")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    clients = 20
    urls = create_databases(["accounts", "catalog", "billing", "vouchers", "sandbox"])
    env = {f"{k.upper()}_DATABASE_URL": v for k, v in urls.items() if k != "sandbox"}
    env["PAYMENT_SANDBOX_URL"] = urls["sandbox"]
    env["TRUST_PROXY_HEADERS"] = "1"
    # the machine's PostgreSQL allows 100 connections, shared with whoever else runs a stack:
    # at most 2 × 5 per service here (a redemption holds one for a millisecond or two)
    env["DB_POOL_SIZE"] = os.environ.get("DB_POOL_SIZE", "5")
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
                redeemed = redemptions(stack, urls, admin, clients, args.redeem, args.profile)
            finally:
                stack.stop()
    finally:
        drop_databases(urls)

    if created:
        print("\nVoucher batches on PostgreSQL (created through the ops API until `active`)")
        print(f"{'vouchers':>10} {'wall s':>8} {'vouchers/s':>11} {'raw values s':>13} "
              f"{'raw COPY s':>11} {'÷ values':>9} {'÷ COPY':>7}")
        for size, wall, raw in created:
            print(f"{size:>10,} {wall:>8.1f} {size / wall:>11,.0f} "
                  f"{raw['execute_values']:>13.1f} {raw['copy']:>11.1f} "
                  f"{wall / raw['execute_values']:>9.2f} {wall / raw['copy']:>7.2f}")
        print("\nCSV export through the gateway (streamed)")
        print(f"{'vouchers':>10} {'wall s':>8} {'rows/s':>9} {'gateway +MiB':>13} "
              f"{'vouchers +MiB':>14}")
        for size, took, (gw_mib, v_mib) in exported:
            print(f"{size:>10,} {took:>8.1f} {size / took:>9,.0f} {gw_mib:>13.1f} "
                  f"{v_mib:>14.1f}")
    report_redemptions(redeemed, clients)
    print(f"\nload average after the run: {os.getloadavg()[0]:.1f} (2 cores, shared: "
          "other work on the machine moves these figures)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
