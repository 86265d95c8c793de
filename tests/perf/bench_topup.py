"""Benchmark: the card payment paths through the gateway on PostgreSQL (wallet top-ups, invoice
payments, online voucher purchases), beside raw ledger rows written in the same run; a load test
at 20 clients that must end with no error and the ledger verified.

The system runs as `make run` starts it, but with every service's database (and the sandbox
provider's store) on the local PostgreSQL. Many customers pay (each client thread its own
customer, as on pay day), with a fresh Idempotency-Key per call. A top-up through the gateway
is: HTTP, auth (cached), one RPC to billing, the attempt committed, the sandbox provider's charge
(its own store), then payment, ledger entry, events and the key's outcome in one transaction.
The raw baseline is only the ledger part: one transaction per row that updates a wallet and
inserts the entry, with psycopg2 from Python threads (one wallet per thread).

Besides req/s and latency, each phase prints the CPU every process spent per call (tests/perf/
cpu.py): on a 2-core machine shared with the client, the broker and the database, that is what
bounds throughput. `--profile` samples the busiest processes of each 20-client phase with py-spy
and prints where they spend it.

    .venv/bin/python tests/perf/bench_topup.py [--requests 600] [--profile]
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures as cf
import datetime as dt
import itertools
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import psycopg2
import requests

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from tests.perf.cpu import CpuMeter, format_cpu, stack_processes  # noqa: E402
from tests.perf.harness import (  # noqa: E402
    HEADER,
    create_databases,
    drop_databases,
    row,
    run,
)
from tests.stack import Stack  # noqa: E402

ADMIN = ("admin@example.com", "portal admin demo passphrase")
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123",
        "holder": "Bench Customer"}


class Customer:
    """A signed-up customer with a bearer token and a card."""

    def __init__(self, url: str, billing_type: str, n: int) -> None:
        email = f"bench-{billing_type}-{n}-{uuid.uuid4().hex[:6]}@example.com"
        password = f"bench passphrase {uuid.uuid4().hex}"
        answer = requests.post(f"{url}/api/v1/accounts", timeout=30, json={
            "email": email, "password": password, "name": f"Bench {n}",
            "billing_type": billing_type, "currency": "EUR"})
        if answer.status_code != 201:
            raise RuntimeError(answer.text)
        self.url, self.email, self.password = url, email, password
        self.login()
        self.card = requests.post(f"{url}/api/v1/me/payment-methods", headers=self.headers,
                                  json=CARD, timeout=30).json()["id"]


    def login(self) -> None:
        answer = requests.post(f"{self.url}/api/v1/auth/login", timeout=30, json={
            "email": self.email, "password": self.password})
        if answer.status_code != 200:
            raise RuntimeError(f"login: {answer.status_code} {answer.text}")
        token = answer.json()["token"]
        self.headers = {"Authorization": f"Bearer {token}"}


def sign_up(url: str, billing_type: str, count: int) -> list[Customer]:
    with cf.ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda n: Customer(url, billing_type, n), range(count)))


def payer_of(item):
    """The customer who pays: the item itself, or the first of (customer, invoice id)."""
    return item[0] if isinstance(item, tuple) else item


class Payer:
    """A client thread: POSTs `path(customer)` with `body(customer)` and a fresh
    Idempotency-Key; anything but 201 is an error (and ends the benchmark)."""

    def __init__(self, url: str, customers, path, body) -> None:
        self.url, self.customers, self.path, self.body = url, customers, path, body

    def __enter__(self):
        session = requests.Session()
        self.session = session

        def call():
            customer = next(self.customers)
            response = session.post(self.url + self.path(customer), timeout=30,
                                    json=self.body(customer), headers={
                                        **payer_of(customer).headers,
                                        "Idempotency-Key": uuid.uuid4().hex})
            if response.status_code != 201:
                raise RuntimeError(f"{response.status_code} {response.text}")
        return call

    def __exit__(self, *exc):
        self.session.close()


def one_each(customers: list) -> collections.abc.Callable:
    """A factory of per-thread iterators: thread i pays as customer i (many customers at once,
    none of them contended)."""
    counter = itertools.count()
    lock = threading.Lock()

    def next_customer_iterator():
        with lock:
            i = next(counter)
        return itertools.repeat(customers[i % len(customers)])
    return next_customer_iterator


def each_once(items: list) -> collections.abc.Callable:
    """Every thread draws from one shared supply (each invoice is paid once)."""
    supply = iter(items)
    lock = threading.Lock()

    class Draw:
        def __iter__(self):
            return self

        def __next__(self):
            with lock:
                return next(supply)
    return lambda: Draw()


class RawLedger:
    """The same ledger rows, written straight to PostgreSQL: one transaction per row, each
    thread its own wallet."""

    def __init__(self, url: str, wallets) -> None:
        self.url, self.wallets = url, wallets

    def __enter__(self):
        self.conn = psycopg2.connect(self.url)
        customer = next(self.wallets)

        def call():
            with self.conn, self.conn.cursor() as cur:
                cur.execute("UPDATE wallets SET balance = balance + 100, entries = entries + 1 "
                            "WHERE customer_id = %s RETURNING balance, entries", (customer,))
                balance, seq = cur.fetchone()
                cur.execute(
                    "INSERT INTO wallet_transactions (id, customer_id, seq, direction, type, "
                    "amount, currency, balance_after, description, source, created_at) VALUES "
                    "(%s, %s, %s, 'credit', 'top_up', 100, 'EUR', %s, 'raw', %s, now())",
                    ("txn_" + uuid.uuid4().hex[:24], customer, seq, balance,
                     "raw:" + uuid.uuid4().hex))
        return call

    def __exit__(self, *exc):
        self.conn.close()


def raw_wallets(url: str, count: int):
    names = [f"cus_raw{n}" for n in range(count)]
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        for name in names:
            cur.execute("INSERT INTO wallets (customer_id, currency, balance, entries, "
                        "low_balance_threshold, low_balance_alerted, created_at) "
                        "VALUES (%s, 'EUR', 0, 0, 0, false, now())", (name,))
    lock, it = threading.Lock(), itertools.cycle(names)

    class Wallets:
        def __next__(self):
            with lock:
                return next(it)
    return Wallets()


def admin_headers(url: str) -> dict:
    token = requests.post(f"{url}/api/v1/auth/login", timeout=30,
                          json={"email": ADMIN[0], "password": ADMIN[1]}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def bill_everyone(url: str, offset_file: pathlib.Path) -> None:
    """A day passes (the test clock; the demo billed today already), then ops run billing
    for the new day: every postpaid bench customer gets an open invoice."""
    offset_file.write_text(str(86400))
    admin = admin_headers(url)
    started = requests.post(f"{url}/api/v1/ops/billing-runs", headers=admin, json={},
                            timeout=60)
    if started.status_code != 202:
        raise RuntimeError(started.text)
    run_, deadline = started.json(), time.monotonic() + 120
    while run_["status"] == "running" and time.monotonic() < deadline:
        time.sleep(0.3)
        run_ = requests.get(f"{url}/api/v1/ops/billing-runs/{run_['id']}", headers=admin,
                            timeout=30).json()
    if run_["status"] != "completed":
        raise RuntimeError(f"the billing run did not complete: {run_}")


def open_invoices(url: str, customers: list[Customer]) -> list[tuple[Customer, str]]:
    found = []
    for customer in customers:
        page = requests.get(f"{url}/api/v1/invoices", headers=customer.headers,
                            timeout=30).json()
        found += [(customer, i["id"]) for i in page["data"] if i["status"] == "open"]
    return found


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-")


def profile(procs: dict[str, list[int]], names: tuple[str, ...], seconds: int,
            out: pathlib.Path) -> list[subprocess.Popen]:
    out.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or str(pathlib.Path(sys.executable).with_name("py-spy"))
    if not pathlib.Path(spy).exists():
        print("py-spy is not installed (.venv/bin/pip install py-spy): no profile")
        return []
    return [subprocess.Popen([spy, "record", "-p", str(procs[name][0]), "-d", str(seconds),
                              "-r", "250", "-f", "raw", "-o", str(out / f"{name}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for name in names if name in procs]


def print_profile(path: pathlib.Path, top: int = 10) -> None:
    """py-spy's collapsed stacks: our frames with the most samples (inclusive), and the
    library modules the process spends its own time in (the leaf frame's file)."""
    inclusive, leaves, total = collections.Counter(), collections.Counter(), 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        total += int(count)
        frames = stack.split(";")
        for frame in set(frames):
            if "services/" in frame or "gateway/" in frame:
                inclusive[frame] += int(count)
        leaf = frames[-1]
        where = leaf[leaf.find("(") + 1:leaf.rfind(":")] if "(" in leaf else leaf
        leaves[where.split("site-packages/")[-1].split("/python3.11/")[-1]] += int(count)
    print(f"    {path.stem}: {total} samples; our frames with the most (inclusive):")
    for frame, count in inclusive.most_common(top):
        print(f"      {100 * count / max(total, 1):5.1f}% {frame[:110]}")
    print("      own time by file (leaf frames):")
    for where, count in leaves.most_common(6):
        print(f"      {100 * count / max(total, 1):5.1f}% {where[:110]}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=600, help="top-ups per row")
    parser.add_argument("--invoices", type=int, default=300,
                        help="invoice payments at 20 clients (a customer each)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    urls = create_databases(["accounts", "catalog", "billing", "sandbox"])
    env = {f"{k.upper()}_DATABASE_URL": v for k, v in urls.items() if k != "sandbox"}
    env["PAYMENT_SANDBOX_URL"] = urls["sandbox"]
    verify = None
    with tempfile.TemporaryDirectory() as tmp:
        offset = pathlib.Path(tmp) / "clock-offset"
        offset.write_text("0")
        env["TEST_CLOCK_OFFSET_FILE"] = str(offset)
        stack = Stack(pathlib.Path(tmp), env).start()
        try:
            prepaid = sign_up(stack.url, "prepaid", 20)
            small = max(20, args.invoices // 5)
            postpaid = sign_up(stack.url, "postpaid", small + 2 + args.invoices + 2 * 20)
            for customer in postpaid:
                made = requests.post(f"{stack.url}/api/v1/subscriptions",
                                     headers=customer.headers, json={"package": "basic"},
                                     timeout=30)
                if made.status_code != 201:
                    raise RuntimeError(made.text)
            bill_everyone(stack.url, offset)
            with cf.ThreadPoolExecutor(4) as pool:  # a day later every session has expired
                list(pool.map(Customer.login, prepaid + postpaid))
            admin = admin_headers(stack.url)
            invoices = open_invoices(stack.url, postpaid)
            procs = stack_processes(stack.proc.pid)
            meter = CpuMeter(procs)
            wallets = raw_wallets(urls["billing"], 20)

            print(f"\nCard payments through the gateway on PostgreSQL vs raw ledger rows "
                  f"({args.requests} top-ups per row; {dt.date.today()})")
            print(HEADER)
            raw = {}

            def phase(name, clients, total, make, warmup=10, spy_on=()):
                spies = (profile(procs, spy_on, 8, pathlib.Path(tmp) / slug(name))
                         if args.profile and clients == 20 else [])
                meter.start()
                result = run(clients, total, make, warmup)
                per_call = meter.stop(result["n"] + clients * warmup)
                for spy in spies:
                    spy.wait()
                print(row(clients, name, result))
                if name.startswith("raw"):
                    raw[clients] = result["rps"]
                else:
                    print(f"{clients:>7} {'÷ raw ledger rows/s':<28} "
                          f"{result['rps'] / raw[clients]:>26.3f}")
                print(format_cpu(f"{name}, {clients} client(s)", per_call), flush=True)
                return result

            top_up = {"amount": {"amount": 100, "currency": "EUR"}}
            for clients in (1, 20):
                phase("raw ledger row (SQL)", clients, args.requests,
                      lambda: RawLedger(urls["billing"], wallets))
                pick = one_each(prepaid)
                phase("POST wallet/top-ups", clients, args.requests, lambda pick=pick: Payer(
                    stack.url, pick(), lambda c: "/api/v1/wallet/top-ups",
                    lambda c: {**top_up, "payment_method_id": c.card}),
                    spy_on=("billing", "notifier", "gateway"))
                pick = one_each(prepaid)
                phase("POST vouchers/purchases", clients, args.requests // 2,
                      lambda pick=pick: Payer(
                          stack.url, pick(), lambda c: "/api/v1/vouchers/purchases",
                          lambda c: {"offer": "topup-10", "payment_method_id": c.card}),
                      spy_on=("vouchers", "billing"))
            supply = each_once(invoices)
            for clients, total in ((1, small), (20, args.invoices)):
                phase("POST invoices/{id}/pay", clients, total, lambda: Payer(
                    stack.url, supply(), lambda ci: f"/api/v1/invoices/{ci[1]}/pay",
                    lambda ci: {"payment_method_id": ci[0].card}), warmup=2,
                    spy_on=("billing",))
            verify = requests.get(f"{stack.url}/api/v1/ops/ledger/verify", headers=admin,
                                  timeout=60).json()
            if args.profile:
                print("\nProfiles at 20 clients (py-spy, 8 s of each phase):")
                for path in sorted(pathlib.Path(tmp).glob("*/*.txt")):
                    print(f"  {path.parent.name}:")
                    print_profile(path)
        finally:
            stack.stop()
            drop_databases(urls)
    print(f"every call answered 201 (any other answer ends the run); ledger verify after the "
          f"run: ok={verify['ok']} wallets={verify['wallets_checked']} "
          f"differences={len(verify['differences'])}")
    return 0 if verify["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
