"""Benchmark: wallet top-ups per second through the gateway, on PostgreSQL, beside a raw insert
of the same ledger rows in the same run.

The system runs as `make run` starts it, but with every service's database (and the sandbox
provider's store) on the local PostgreSQL. A top-up through the gateway is: HTTP, auth, the
payment attempt committed, the idempotency key, the provider's charge (its own transaction),
the ledger entry with the wallet's balance, the outbox events. The raw baseline is only the
ledger part: one transaction per row that updates the wallet and inserts the entry, with
psycopg2 from Python threads.

    .venv/bin/python tests/perf/bench_topup.py [--requests 600]   (DATABASE_URL as make test)
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import uuid

import psycopg2
import requests

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from tests.perf.harness import HEADER, row, run  # noqa: E402
from tests.stack import Stack  # noqa: E402

ADMIN_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def create_databases(names: list[str]) -> dict[str, str]:
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
    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        for url in urls.values():
            cur.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
    conn.close()


class TopUps:
    def __init__(self, url: str, token: str, card: str) -> None:
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.url, self.card = url + "/api/v1/wallet/top-ups", card

    def __enter__(self):
        def call():
            response = self.session.post(self.url, timeout=30, headers={
                "Idempotency-Key": uuid.uuid4().hex}, json={
                "amount": {"amount": 100, "currency": "EUR"}, "payment_method_id": self.card})
            if response.status_code != 201:
                raise RuntimeError(response.text)
        return call

    def __exit__(self, *exc):
        self.session.close()


class RawLedger:
    """The same ledger rows, written straight to PostgreSQL: one transaction per row."""

    def __init__(self, url: str, customer: str) -> None:
        self.url, self.customer = url, customer

    def __enter__(self):
        self.conn = psycopg2.connect(self.url)

        def call():
            with self.conn, self.conn.cursor() as cur:
                cur.execute("UPDATE wallets SET balance = balance + 100, entries = entries + 1 "
                            "WHERE customer_id = %s RETURNING balance, entries",
                            (self.customer,))
                balance, seq = cur.fetchone()
                cur.execute(
                    "INSERT INTO wallet_transactions (id, customer_id, seq, direction, type, "
                    "amount, currency, balance_after, description, source, created_at) VALUES "
                    "(%s, %s, %s, 'credit', 'top_up', 100, 'EUR', %s, 'raw', %s, now())",
                    ("txn_" + uuid.uuid4().hex[:24], self.customer, seq, balance,
                     "raw:" + uuid.uuid4().hex))
        return call

    def __exit__(self, *exc):
        self.conn.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=600)
    args = parser.parse_args()
    urls = create_databases(["accounts", "catalog", "billing", "sandbox"])
    env = {f"{k.upper()}_DATABASE_URL": v for k, v in urls.items() if k != "sandbox"}
    env["PAYMENT_SANDBOX_URL"] = urls["sandbox"]
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            stack = Stack(pathlib.Path(tmp), env).start()
            try:
                token = requests.post(f"{stack.url}/api/v1/auth/login", timeout=10, json={
                    "email": "prepaid@example.com",
                    "password": "prepaid demo passphrase"}).json()["token"]
                headers = {"Authorization": f"Bearer {token}"}
                card = requests.get(f"{stack.url}/api/v1/me/payment-methods", headers=headers,
                                    timeout=10).json()["data"][0]["id"]
                raw_customer = "cus_rawbench"
                with psycopg2.connect(urls["billing"]) as conn, conn.cursor() as cur:
                    cur.execute("INSERT INTO wallets (customer_id, currency, balance, entries, "
                                "low_balance_threshold, low_balance_alerted, created_at) "
                                "VALUES (%s, 'EUR', 0, 0, 0, false, now())", (raw_customer,))
                for clients in (1, 20):
                    raw = run(clients, args.requests, lambda: RawLedger(urls["billing"],
                                                                         raw_customer))
                    gw = run(clients, args.requests, lambda: TopUps(stack.url, token, card))
                    results.append((clients, raw, gw))
                verify = requests.get(f"{stack.url}/api/v1/ops/ledger/verify", timeout=30,
                                      headers={"Authorization": "Bearer " + requests.post(
                                          f"{stack.url}/api/v1/auth/login", timeout=10, json={
                                              "email": "admin@example.com",
                                              "password": "portal admin demo passphrase"}
                                      ).json()["token"]}).json()
            finally:
                stack.stop()
    finally:
        drop_databases(urls)
    print(f"\nWallet top-ups through the gateway vs raw ledger rows, PostgreSQL "
          f"({args.requests} per row)")
    print(HEADER)
    for clients, raw, gw in results:
        print(row(clients, "raw ledger row (SQL)", raw))
        print(row(clients, "gateway POST top-up", gw))
        print(f"{clients:>7} top-ups/s ÷ raw rows/s: {gw['rps'] / raw['rps']:.3f}")
    print(f"ledger verify after the run: ok={verify['ok']} "
          f"wallets={verify['wallets_checked']} differences={len(verify['differences'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
