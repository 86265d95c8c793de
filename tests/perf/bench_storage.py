"""Benchmark: what a subscriber's month costs in PostgreSQL storage, per service, for sizing
(docs/capacity.md).

The system runs as `make run` starts it, every service's database on the local PostgreSQL
(fresh ones, dropped at the end). Every table's size (`pg_total_relation_size`: rows, TOAST and
indexes) and row count is read after start-up, then N prepaid and N postpaid customers live a
month through the gateway, then the sizes are read again; the difference divided by the
customers is the cost per subscriber and month. A prepaid month: sign-up, a card, 4 top-ups, a
subscription with an add-on, a voucher redeemed, a ticket raised. A postpaid month: sign-up, a
card, a subscription with an add-on, the billing run's invoice, its payment, a ticket. Each
with the notifications and e-mails they cause, the events in the outboxes (kept
OUTBOX_RETENTION_DAYS after publication) and the consumers' processed-event marks. Baseline in
the same run: the bytes the same rows need as plain text (`pg_column_size` of each row), to see
what the indexes and page overhead add.

    .venv/bin/python tests/perf/bench_storage.py [--customers 150]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import csv
import io
import pathlib
import sys
import tempfile
import time
import uuid

import psycopg2
import requests

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from deploy import demo  # noqa: E402
from tests.perf.harness import create_databases, drop_databases  # noqa: E402
from tests.stack import Stack  # noqa: E402

SERVICES = ["accounts", "catalog", "billing", "vouchers", "tickets", "notifier"]
PASSWORD = "a long enough bench passphrase"


def sizes(url: str) -> dict[str, tuple[int, int, int]]:
    """table → (total bytes with indexes and TOAST, rows, bytes of the rows' data)"""
    conn = psycopg2.connect(url)
    out = {}
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for (table,) in cur.fetchall():
            # table names from the catalog, not from input
            cur.execute(f'SELECT pg_total_relation_size(\'"{table}"\'), count(*), '  # noqa: S608
                        f'coalesce(sum(pg_column_size(t.*)), 0) FROM "{table}" t')
            out[table] = tuple(int(v) for v in cur.fetchone())
    conn.close()
    return out


def call(method: str, url: str, token: str | None = None, status: int = 200, **kwargs) -> dict:
    headers = kwargs.pop("headers", {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    response = requests.request(method, url, headers=headers, timeout=60, **kwargs)
    if response.status_code != status:
        raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:300]}")
    return response.json() if response.content else {}


def key() -> dict:
    return {"Idempotency-Key": uuid.uuid4().hex}


def a_month(url: str, billing_type: str, code: str | None) -> None:
    email = f"storage-{uuid.uuid4().hex[:10]}@example.com"
    call("POST", f"{url}/api/v1/accounts", status=201, json={
        "email": email, "password": PASSWORD, "name": "Storage Bench", "phone": "+49 30 123456",
        "billing_type": billing_type, "currency": "EUR", "address": {
            "line1": "Hauptstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"}})
    token = demo.login(url, email, PASSWORD)
    card = call("POST", f"{url}/api/v1/me/payment-methods", token, status=201, json={
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123",
        "holder": "Storage Bench"})["id"]
    if billing_type == "prepaid":
        for _ in range(4):
            call("POST", f"{url}/api/v1/wallet/top-ups", token, status=201, headers=key(),
                 json={"amount": {"amount": 2500, "currency": "EUR"},
                       "payment_method_id": card})
        if code:
            call("POST", f"{url}/api/v1/vouchers/redeem", token, status=201, json={"code": code})
    call("POST", f"{url}/api/v1/subscriptions", token, status=201, headers=key(),
         json={"package": "family", "addons": ["sports"]})
    call("POST", f"{url}/api/v1/tickets", token, status=201, json={
        "category": "general", "subject": "A question", "description": "How do I record?"})
    return token


def until(check, what: str, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise RuntimeError(f"{what}: not within {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=150, help="of each billing type")
    args = parser.parse_args()
    urls = create_databases([*SERVICES, "sandbox"])
    env = {f"{k.upper()}_DATABASE_URL": v for k, v in urls.items() if k != "sandbox"}
    env["PAYMENT_SANDBOX_URL"] = urls["sandbox"]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            # no demo data: the demo's billing run for today would leave nothing to invoice
            env.update({"DEMO_MODE": "true", "ADMIN_EMAIL": demo.ADMIN["email"],
                        "ADMIN_PASSWORD": demo.ADMIN["password"]})
            stack = Stack(pathlib.Path(tmp), env, args=("--no-demo",)).start()
            try:
                return measure(stack, urls, args.customers)
            finally:
                stack.stop()
    finally:
        drop_databases(urls)


def measure(stack: Stack, urls: dict[str, str], customers: int) -> int:
    url = stack.url
    demo.load_catalog(url)
    admin = demo.admin_login(url, demo.ADMIN)
    batch = call("POST", f"{url}/api/v1/ops/voucher-batches", admin, status=202, headers=key(),
                 json={"type": "print", "value": {"amount": 1000, "currency": "EUR"},
                       "count": customers, "valid_until": "2030-12-31T23:59:59Z"})
    until(lambda: call("GET", f"{url}/api/v1/ops/voucher-batches/{batch['id']}",
                       admin)["status"] == "active", "the voucher batch")
    rows = list(csv.DictReader(io.StringIO(requests.get(
        f"{url}/api/v1/ops/voucher-batches/{batch['id']}/export.csv", timeout=60,
        headers={"Authorization": f"Bearer {admin}"}).text)))
    before = {s: sizes(urls[s]) for s in SERVICES}
    with cf.ThreadPoolExecutor(8) as pool:
        prepaid = [pool.submit(a_month, url, "prepaid", row["code"]) for row in rows]
        postpaid = [pool.submit(a_month, url, "postpaid", None) for _ in range(customers)]
        tokens = [f.result() for f in postpaid]
        for f in prepaid:
            f.result()
    # the month's bill: the run invoices the postpaid accounts, each pays
    call("POST", f"{url}/api/v1/ops/billing-runs", admin, status=202, json={})
    for token in tokens:
        invoices = until(lambda t=token: call("GET", f"{url}/api/v1/invoices", t)["data"],
                         "the customer's invoice")
        call("POST", f"{url}/api/v1/invoices/{invoices[0]['id']}/pay", token, status=201,
             headers=key(), json={})
    after = {s: sizes(urls[s]) for s in SERVICES}

    total = 2 * customers
    print(f"\nStorage per subscriber-month on PostgreSQL ({customers} prepaid + {customers} "
          f"postpaid customers, a month each; bytes)")
    print(f"{'service':<10} {'table':<28} {'rows/sub':>9} {'bytes/sub':>10} {'data/sub':>9}")
    grand = grand_data = 0
    for service in SERVICES:
        service_total = 0
        for table, (size, count, data) in sorted(after[service].items(),
                                                  key=lambda kv: -kv[1][0]):
            size0, count0, data0 = before[service].get(table, (0, 0, 0))
            grew, added, data_grew = size - size0, count - count0, data - data0
            if added <= 0 and grew <= 0:
                continue
            service_total += grew
            grand_data += data_grew
            if grew >= 8192:
                print(f"{service:<10} {table:<28} {added / total:>9.1f} {grew / total:>10.0f} "
                      f"{data_grew / total:>9.0f}")
        grand += service_total
        print(f"{service:<10} {'(all its tables)':<28} {'':>9} {service_total / total:>10.0f}")
    print(f"all services: {grand / total:.0f} bytes per subscriber-month with indexes "
          f"(the rows' data alone: {grand_data / total:.0f}); × 1,000,000 subscribers = "
          f"{grand / total * 1e6 / 2**30:.1f} GiB a month")
    return 0


if __name__ == "__main__":
    sys.exit(main())
