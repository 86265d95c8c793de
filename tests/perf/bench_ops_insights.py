"""Benchmark: the operators' figures (billing's and tickets' `ops_insights`, issue #17) at
1,000,000 subscriptions on PostgreSQL, beside plain scans of the same tables in the same run.

What it does:
- fresh PostgreSQL databases (`bench_billing_<random>`, `bench_tickets_<random>`, dropped at
  the end) with billing's and tickets' schemas, migrated as the `Database` provider does (so
  the indexes are the ones production has);
- loads them set-based (`INSERT … SELECT … FROM generate_series`), one statement per table:
  N subscriptions over three years (1 in 8 cancelled, with one of five reasons; half prepaid,
  half postpaid; 1 in 20 in USD), their package items (four packages; 1 in 10 changed package
  once, so it has a removed item), an add-on item for half of them, C charges per
  subscription spread over the last twelve months (`--history-months`), two invoices per
  postpaid subscription (2 % overdue, 2 % open past due), a credit note on 1 % of those, a
  wallet per prepaid subscription, and N/10 tickets in six categories over the year (80 %
  resolved); then VACUUM ANALYZE;
- times each figure (`services/billing/insights/analytics.py`, `services/tickets/
  analytics.py`) as the service runs it (a SQLAlchemy session, the same functions), the
  median of R runs after one warm-up, and the whole `ops_insights` of each service;
- the baseline, measured in the same run: `SELECT count(*)` over each table a figure reads
  (a plain scan of the same rows), and the ratio figure / scan.
Only 2 cores are shared by everything on the machine: other work running meanwhile makes
every figure worse (the load average is printed).

    .venv/bin/python tests/perf/bench_ops_insights.py [--subscriptions 1000000]
        [--charges-per-subscription 12] [--history-months 12] [--repeat 3] [--keep]
    DATABASE_URL as for make test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pathlib
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore", message="(?s).*Eventlet is deprecated")
ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from services.billing.insights import analytics, months  # noqa: E402
from services.billing.models import MIGRATIONS as BILLING_MIGRATIONS  # noqa: E402
from services.billing.models import Base as BillingBase  # noqa: E402
from services.common.db import KERNEL, Component, make_engine, migrate  # noqa: E402
from services.tickets import analytics as ticket_analytics  # noqa: E402
from services.tickets.models import MIGRATIONS as TICKETS_MIGRATIONS  # noqa: E402
from services.tickets.models import Base as TicketsBase  # noqa: E402
from tests.perf.harness import create_databases, drop_databases  # noqa: E402

# every row is a function of its number g (and, for charges, k): the same data every run
SUBSCRIPTIONS = """
INSERT INTO subscriptions (id, customer_id, status, currency, billing_type, billing_period,
  tax_region, tax_rate_bp, tax_name, activation_date, anchor_day, current_period_start,
  current_period_end, cancelled_at, cancel_reason, created_at, updated_at, version)
SELECT 'sub_' || g, 'cus_' || g, CASE WHEN g % 8 = 0 THEN 'cancelled' ELSE 'active' END,
  CASE WHEN g % 20 = 0 THEN 'USD' ELSE 'EUR' END,
  CASE WHEN g % 2 = 1 THEN 'prepaid' ELSE 'postpaid' END, 'month', 'DE', 1900, 'VAT',
  act, extract(day FROM act)::int, act, act + interval '1 month',
  CASE WHEN g % 8 = 0 THEN least(act + ((g * 13) % 500) * interval '1 day',
                                 :now - interval '1 hour') END,
  CASE WHEN g % 8 = 0 THEN (ARRAY['Too expensive', 'Moving abroad', 'Not watching enough',
                                  'Switched provider', 'Service problems'])[1 + (g / 8) % 5] END,
  act, act, 1
FROM (SELECT g, :now - ((g * 7919) % 1095) * interval '1 day'
                 - (g % 86400) * interval '1 second' AS act
      FROM generate_series(1::bigint, :n) g) s
"""

ITEMS = """
INSERT INTO subscription_items (id, subscription_id, kind, code, name, list_price, discount,
  charged, charged_since, added_at, removed_at)
SELECT 'si_p_' || s.id, s.id, 'package', p.code, p.code, 1499, 0, 1499, s.activation_date,
  CASE WHEN s.id LIKE '%3' THEN s.activation_date + interval '15 days'
       ELSE s.activation_date END, s.cancelled_at
FROM subscriptions s
CROSS JOIN LATERAL (SELECT (ARRAY['basic', 'family', 'premium', 'kids'])[
    1 + abs(hashtext(s.id)::bigint) % 4] AS code) p
UNION ALL  -- 1 in 10 changed package once: the package it had first, removed
SELECT 'si_o_' || s.id, s.id, 'package', 'basic', 'basic', 1499, 0, 1499, s.activation_date,
  s.activation_date, s.activation_date + interval '15 days'
FROM subscriptions s WHERE s.id LIKE '%3'
UNION ALL
SELECT 'si_a_' || s.id, s.id, 'addon', 'sports', 'sports', 999, 0, 999, s.activation_date,
  s.activation_date, s.cancelled_at
FROM subscriptions s WHERE right(s.id, 1) IN ('0', '2', '4', '6', '8')
"""

CHARGES = """
INSERT INTO charges (id, customer_id, subscription_id, kind, description, item_code, amount,
  tax_rate_bp, tax, currency, period_start, period_end, operation_key, created_at, settled)
SELECT 'chg_' || s.id || '_' || k, s.customer_id, s.id, 'fee', 'Package', 'basic',
  999 + (abs(hashtext(s.id)::bigint) + k * 37) % 3000, 1900, 190, s.currency, NULL, NULL,
  'op:' || s.id || ':' || k,
  :now - (k * :days / :per) * interval '1 day'
       - (abs(hashtext(s.id)::bigint) % 86400) * interval '1 s',
  true
FROM subscriptions s, generate_series(0, :per - 1) k
"""

INVOICES = """
INSERT INTO invoices (id, customer_id, period_key, number, run_id, status, currency,
  issue_date, due_date, period_start, period_end, subtotal, discount, tax, total, amount_paid,
  amount_credited, created_at)
SELECT 'inv_' || s.id || '_' || m, s.customer_id, to_char(issued, 'YYYY-MM-DD'),
  'INV-' || s.id || '-' || m, NULL,
  CASE WHEN h % 50 = 0 THEN 'overdue' WHEN h % 50 IN (1, 2) THEN 'open' ELSE 'paid' END,
  s.currency, to_char(issued, 'YYYY-MM-DD'),
  to_char(issued + CASE WHEN h % 50 = 2 THEN 400 ELSE 14 END * interval '1 day', 'YYYY-MM-DD'),
  NULL, NULL, 2000, 0, 380, 2380,
  CASE WHEN h % 50 IN (0, 1, 2) THEN 0 ELSE 2380 END, 0, issued
FROM subscriptions s, generate_series(1, 2) m,
  LATERAL (SELECT :now - (m * 30) * interval '1 day' AS issued,
                  abs(hashtext(s.id || m)::bigint) AS h) x
WHERE s.billing_type = 'postpaid'
"""

CREDIT_NOTES = """
INSERT INTO credit_notes (id, number, invoice_id, customer_id, amount, tax, currency, reason,
  applied_to, created_by, operation_key, created_at)
SELECT 'cn_' || i.id, 'CN-' || i.id, i.id, i.customer_id, 238, 38, i.currency, 'Outage',
  CASE WHEN i.status = 'paid' THEN 'next_invoice' ELSE 'invoice' END, 'ops', 'cn:' || i.id,
  i.created_at + interval '3 days'
FROM invoices i WHERE abs(hashtext(i.id)::bigint) % 100 = 5
"""

WALLETS = """
INSERT INTO wallets (customer_id, currency, balance, entries, low_balance_threshold,
  low_balance_alerted, created_at)
SELECT s.customer_id, s.currency, (abs(hashtext(s.id)::bigint) % 5000), 1, 500, false,
  s.activation_date
FROM subscriptions s WHERE s.billing_type = 'prepaid'
"""

TICKETS = """
INSERT INTO tickets (id, number, customer_id, category, subject, description, context,
  urgency, impact, priority, status, rules, escalation_round, escalation_step, created_at,
  updated_at, resolved_at)
SELECT 'tk_' || g, g, 'cus_' || g * 10,
  (ARRAY['billing', 'technical', 'outage', 'device', 'account', 'other'])[1 + g % 6],
  'subject', 'description', '{}', 'low', 'low', 'P4',
  CASE WHEN g % 5 = 0 THEN 'new' ELSE 'resolved' END, '[]', 0, 0, opened, opened,
  CASE WHEN g % 5 <> 0 THEN opened + ((g * 7) % 4320) * interval '1 minute' END
FROM (SELECT g, :now - ((g * 31) % 365) * interval '1 day' - (g % 1440) * interval '1 minute'
             AS opened FROM generate_series(1::bigint, :tickets) g) t
"""


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def timed(session: Session, action, repeat: int) -> float:
    """The median seconds of `repeat` runs of `action()`, after one warm-up; each run ends its
    read transaction, as an RPC does."""
    action()
    session.rollback()
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        action()
        samples.append(time.perf_counter() - t0)
        session.rollback()
    return statistics.median(samples)


def count(session: Session, table: str):
    """A plain scan of `table` (one of the names above, never input)."""
    sql = text(f"SELECT count(*) FROM {table}")  # noqa: S608 - a table name of this file
    return lambda: session.execute(sql).scalar()


def load(engine, statements, params) -> None:
    for name, sql in statements:
        t0 = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            rows = conn.execute(text(sql), params).rowcount
        print(f"  loaded {name:<20} {rows:>11,} rows in {time.perf_counter() - t0:6.1f} s",
              flush=True)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=1_000_000)
    parser.add_argument("--charges-per-subscription", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--history-months", type=int, default=12,
                        help="the charges are spread over this many months before now")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    args = parser.parse_args()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    urls = create_databases(["billing", "tickets"])
    try:
        engines = {}
        for name, base, migrations in (("billing", BillingBase, BILLING_MIGRATIONS),
                                       ("tickets", TicketsBase, TICKETS_MIGRATIONS)):
            engines[name] = make_engine(urls[name])
            migrate(engines[name], [KERNEL, Component(name, base.metadata, migrations)])
        n, per = args.subscriptions, args.charges_per_subscription
        print(f"Loading {n:,} subscriptions, {per} charges each, into {urls['billing']} …",
              flush=True)
        load(engines["billing"], [("subscriptions", SUBSCRIPTIONS),
                                  ("subscription_items", ITEMS), ("charges", CHARGES),
                                  ("invoices", INVOICES), ("credit_notes", CREDIT_NOTES),
                                  ("wallets", WALLETS)], {"now": now, "n": n, "per": per,
                                   "days": args.history_months * 365 // 12})
        load(engines["tickets"], [("tickets", TICKETS)], {"now": now, "tickets": n // 10})

        billing, tickets = Session(engines["billing"]), Session(engines["tickets"])
        bounds = months.window(now, args.months)
        tbounds = ticket_analytics.window(now, args.months)
        rows = [
            ("subscribers_by_package", "subscription_items",
             lambda: analytics.subscribers_by_package(billing, bounds), billing),
            ("churn", "subscriptions", lambda: analytics.churn(billing, bounds), billing),
            ("cancellation_reasons", "subscriptions",
             lambda: analytics.cancellation_reasons(billing, bounds), billing),
            ("arpa", "charges", lambda: analytics.arpa(billing, bounds), billing),
            ("wallet_float", "wallets", lambda: analytics.wallet_float(billing), billing),
            ("overdue", "invoices", lambda: analytics.overdue(billing, now), billing),
            ("tickets_by_category", "tickets",
             lambda: ticket_analytics.tickets_by_category(tickets, tbounds), tickets),
            ("time_to_resolve", "tickets",
             lambda: ticket_analytics.time_to_resolve(tickets, tbounds), tickets),
        ]
        print(f"\nops_insights over {args.months} months, PostgreSQL, median of {args.repeat} "
              f"runs after a warm-up ({load_average()})")
        print(f"{'figure':<24} {'table':<20} {'rows':>11} {'figure':>9} {'count(*)':>9} "
              f"{'ratio':>6}")
        for name, table, action, session in rows:
            size = count(session, table)()
            took = timed(session, action, args.repeat)
            scan = timed(session, count(session, table), args.repeat)
            print(f"{name:<24} {table:<20} {size:>11,} {took * 1000:>7.0f}ms {scan * 1000:>7.0f}ms "
                  f"{took / scan:>6.2f}")
        whole = timed(billing, lambda: analytics.ops_insights(billing, args.months, now),
                      args.repeat)
        scans = sum(timed(billing, count(billing, t), args.repeat) for t in (
            "subscriptions", "subscription_items", "charges", "wallets", "invoices"))
        print(f"{'billing ops_insights':<24} {'(all of the above)':<20} {'':>11} "
              f"{whole * 1000:>7.0f}ms {scans * 1000:>7.0f}ms {whole / scans:>6.2f}")
        whole = timed(tickets, lambda: ticket_analytics.ops_insights(tickets, args.months, now),
                      args.repeat)
        scan = timed(tickets, count(tickets, "tickets"), args.repeat)
        print(f"{'tickets ops_insights':<24} {'tickets':<20} {'':>11} {whole * 1000:>7.0f}ms "
              f"{scan * 1000:>7.0f}ms {whole / scan:>6.2f}")
        print("(count(*): a plain scan of the figure's table in the same run; ratio = figure / "
              "scan)")
        billing.close()
        tickets.close()
        for engine in engines.values():
            engine.dispose()
    finally:
        if not args.keep:
            drop_databases(urls)
        else:
            print("kept:", urls)
    return 0


if __name__ == "__main__":
    sys.exit(main())
