"""Benchmark: support tickets on PostgreSQL — ticket → team webhook latency, and routing over a
tree of 1,000 rules — beside baselines measured in the same run.

1. Ticket created → alert received. The system runs as `make run` starts it (every database on
   the local PostgreSQL, fresh ones for this run, demo data loaded). As an admin, a team is
   created whose one channel is a real local HTTP receiver, with a routing rule sending category
   `general` to it; customers then raise `general` tickets through the gateway at a steady rate
   (default 10/s for 20 s) from a few threads, one customer each. Latency = the receiver's
   arrival time − the time the POST was sent, matched by `alert.fields.ticket_id` in the
   webhook's JSON (so it covers: HTTP, the context RPCs to accounts and billing, the ticket's
   transaction with routing and the `alert_requested` outbox row, the relay, the bus, the
   notifier's alert and delivery rows, the webhook POST). Also: the POST's own response time.
   Baselines: a raw nameko RPC round trip (`tickets.health`), and an alert raised through the
   ops API (`POST /api/v1/ops/teams/<team>/alerts`) → the same webhook, at the same rate
   from as many threads.
2. Routing, in-process (`services/tickets/routing.py`): compiling 1,000 varied rules (equals,
   not-equals, anchored regexes, keyword regexes, some `continue`; most match no ticket, so the
   walk goes deep), then routing N random tickets (`attributes_of` + `route`): tickets/s and
   µs per ticket. Baseline: the same loop building only the attribute dicts. And
   `rules.rule_set` loading those 1,000 rules from a fresh PostgreSQL database: cold (cache
   cleared) and cached, beside the raw SELECT of the same rows with psycopg2.

The stack is stopped and every database this run made is dropped, also on failure or Ctrl-C.

    .venv/bin/python tests/perf/bench_tickets.py [--rate 10] [--seconds 20] [--threads 4]
        [--rules 1000] [--route-tickets 20000] [--part all|latency|routing]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import http.server
import json
import os
import pathlib
import random
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid

import psycopg2
import requests
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy.orm import Session

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))
from deploy import demo  # noqa: E402
from services.common.db import KERNEL, Component, make_engine, migrate  # noqa: E402
from services.tickets import routing, rules  # noqa: E402
from services.tickets.models import MIGRATIONS, Base, RoutingRule, Setting  # noqa: E402
from services.tickets.tickets import Policy  # noqa: E402
from tests.perf import cpu  # noqa: E402
from tests.perf.harness import (  # noqa: E402
    create_databases,
    drop_databases,
    percentile,  # noqa: E402
)
from tests.stack import Stack, free_port  # noqa: E402

SERVICES = ["accounts", "catalog", "billing", "vouchers", "tickets", "notifier"]


def stats(samples_ms: list[float]) -> str:
    if not samples_ms:
        return "no samples"
    return (f"p50 {statistics.median(samples_ms):7.1f} ms   p99 {percentile(samples_ms, 0.99):7.1f}"
            f" ms   max {max(samples_ms):7.1f} ms   n={len(samples_ms)}")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} CPUs"


# 1. ticket → webhook ------------------------------------------------------------------------

class Receiver:
    """A local webhook receiver: the arrival time of each alert, keyed by the ticket id in its
    fields (a ticket's page) or else by its title (an alert raised through the ops API)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.arrivals: dict[str, float] = {}
        self.repeats = 0
        self.bad = 0
        lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                arrived = time.time()
                try:
                    alert = json.loads(body)["alert"]
                    key = (alert.get("fields") or {}).get("ticket_id") or alert["title"]
                except (ValueError, KeyError, TypeError):
                    key = None
                with lock:
                    if key is None:
                        receiver.bad += 1
                    elif key in receiver.arrivals:
                        receiver.repeats += 1
                    else:
                        receiver.arrivals[key] = arrived
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, keys, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(k not in self.arrivals for k in keys):
            time.sleep(0.1)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def steady(rate: float, seconds: float, threads: int, action) -> list[float]:
    """`rate × seconds` calls of `action(thread index, n)`, call n due at `n / rate` s, from
    `threads` threads (thread i makes calls i, i + threads, …). Returns how late each call
    started (s): a thread whose previous call was slow falls behind its schedule."""
    total = int(rate * seconds)
    began = time.monotonic() + 0.2
    lags: list[float] = []
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            for n in range(index, total, threads):
                wait = began + n / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                lags.append(max(0.0, -wait))
                action(index, n)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failures.append(exc)

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    if failures:
        raise failures[0]
    return lags


def ok(response: requests.Response, *codes: int) -> dict:
    if response.status_code not in (codes or (200, 201)):
        raise RuntimeError(f"{response.request.method} {response.request.path_url}: "
                           f"{response.status_code} {response.text[:500]}")
    return response.json() if response.content else {}


def customer_session(url: str) -> requests.Session:
    email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
    password = "a long enough bench passphrase"
    ok(requests.post(f"{url}/api/v1/accounts", timeout=30, json={
        "email": email, "password": password, "name": "Bench Customer",
        "billing_type": "prepaid", "currency": "EUR"}), 201)
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + demo.login(url, email, password)
    return session


def measure_latency(stack: Stack, args) -> dict:
    out: dict = {"load_before": load()}
    rpc: list[float] = []
    with ClusterRpcProxy({"AMQP_URI": stack.env["AMQP_URI"]}) as cluster:
        for _ in range(20):  # warm-up
            cluster.tickets.health()
        for _ in range(200):
            began = time.perf_counter()
            cluster.tickets.health()
            rpc.append(1000 * (time.perf_counter() - began))
    out["rpc"] = rpc

    token = demo.login(stack.url, demo.ADMIN["email"], demo.ADMIN["password"])
    admins = [requests.Session() for _ in range(args.threads)]  # one per client thread
    for session in admins:
        session.headers["Authorization"] = f"Bearer {token}"
    admin = admins[0]
    receiver = Receiver()
    try:
        team = f"bench-{uuid.uuid4().hex[:6]}"
        created = ok(admin.post(f"{stack.url}/api/v1/ops/teams", timeout=30, json={
            "name": team, "description": "bench_tickets receiver",
            "channels": [{"type": "webhook", "url": receiver.url}]}), 201)
        if [c["type"] for c in created["channels"]] != ["webhook"]:
            raise RuntimeError(f"the team's channels are not the one webhook: {created}")
        rule = ok(admin.post(f"{stack.url}/api/v1/ops/routing-rules", timeout=30, json={
            "position": 1, "team": team, "description": "bench: general → receiver",
            "match": [{"field": "category", "op": "=", "value": "general"}]}), 201)
        out["team"], out["rule"] = team, rule["id"]

        # baseline 2: an alert raised through the ops API → the same webhook, same rate
        raised: dict[str, float] = {}
        alert_errors: list[str] = []

        def alert(index: int, n: int) -> None:
            title = f"bench alert {n}"
            raised[title] = time.time()
            response = admins[index].post(f"{stack.url}/api/v1/ops/teams/{team}/alerts", timeout=30,
                                  json={"severity": "warning", "title": title,
                                        "text": "latency probe", "dedup_key": f"{team}-{n}"})
            if response.status_code >= 300:
                alert_errors.append(f"{response.status_code} {response.text[:200]}")

        alert(0, -1)  # warm-up
        receiver.wait_for(["bench alert -1"], 10)
        steady(args.rate, args.seconds, args.threads, alert)
        titles = [t for t in raised if t != "bench alert -1"]
        receiver.wait_for(titles, 30)
        out["ops_alert"] = [1000 * (receiver.arrivals[t] - raised[t]) for t in titles
                            if t in receiver.arrivals]
        out["ops_alert_lost"] = sum(t not in receiver.arrivals for t in titles)
        out["ops_alert_errors"] = alert_errors

        # the measurement: customers raise `general` tickets at the steady rate
        sessions = [customer_session(stack.url) for _ in range(args.threads)]
        warm = []
        for session in sessions:  # warm-up: one ticket each (connections, the rules' cache)
            ticket = ok(session.post(f"{stack.url}/api/v1/tickets", timeout=30, json={
                "category": "general", "subject": "warm-up", "description": "warm-up"}), 201)
            if ticket["team"] != team:
                raise RuntimeError(f"a general ticket went to {ticket['team']!r}, not {team!r}: "
                                   f"the bench's routing rule is not first")
            warm.append(ticket["id"])
        receiver.wait_for(warm, 15)
        # each ticket from the next of enough customers: a customer may hold 10 open tickets
        # and open 10 an hour (tickets' abuse limits), so no customer raises more than 8 here
        pool = [customer_session(stack.url)
                for _ in range(-(-int(args.rate * args.seconds) // 8))]
        sent: dict[str, float] = {}
        post_ms: list[float] = []
        slow: list[tuple[float, float, int]] = []  # (POST ms, s since the start, ticket n)
        started = time.time()
        ticket_errors: list[str] = []
        wrong_team: list[str] = []

        def raise_ticket(index: int, n: int) -> None:
            body = {"category": "general", "subject": f"Bench question {n}",
                    "description": f"Ticket {n} of the latency bench: how do I change my "
                                   f"package? (customer thread {index})"}
            at, began = time.time(), time.perf_counter()
            try:
                response = pool[n % len(pool)].post(f"{stack.url}/api/v1/tickets", json=body,
                                                    timeout=30)
            except requests.RequestException as exc:
                ticket_errors.append(f"{type(exc).__name__}: {exc}")
                return
            elapsed = 1000 * (time.perf_counter() - began)
            if response.status_code != 201:
                ticket_errors.append(f"{response.status_code} {response.text[:200]}")
                return
            post_ms.append(elapsed)
            slow.append((elapsed, at - started, n))
            ticket = response.json()
            sent[ticket["id"]] = at
            if ticket["team"] != team:
                wrong_team.append(ticket["id"])

        out["load_during"] = None
        sampler = threading.Timer(args.seconds / 2, lambda: out.update(load_during=load()))
        sampler.daemon = True
        sampler.start()
        meter = cpu.CpuMeter(cpu.stack_processes(stack.proc.pid))
        meter.start()
        lags = steady(args.rate, args.seconds, args.threads, raise_ticket)
        receiver.wait_for(list(sent), 60)
        # every process's CPU per ticket, its alert and the webhook delivery included
        out["cpu"] = meter.stop(len(sent))
        out["ticket_webhook"] = [1000 * (receiver.arrivals[t] - sent[t]) for t in sent
                                 if t in receiver.arrivals]
        out["post"], out["slowest"] = post_ms, sorted(slow, reverse=True)[:5]
        out["lost"] = [t for t in sent if t not in receiver.arrivals]
        out["ticket_errors"], out["wrong_team"] = ticket_errors, wrong_team
        out["lags"], out["tickets"] = lags, len(sent)
        out["repeats"], out["bad_bodies"] = receiver.repeats, receiver.bad
        out["delivery_problems"] = ok(admin.get(
            f"{stack.url}/api/v1/ops/deliveries?status=failing&limit=100", timeout=30),
            200, 404).get("data")
    finally:
        receiver.stop()
    return out


def run_latency(args) -> dict:
    urls = create_databases([*SERVICES, "sandbox"])
    env = {f"{k.upper()}_DATABASE_URL": v for k, v in urls.items() if k != "sandbox"}
    env["PAYMENT_SANDBOX_URL"] = urls["sandbox"]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            stack = Stack(pathlib.Path(tmp), env)
            try:
                stack.start()
                print(f"stack started in {stack.started_in:.1f} s", flush=True)
                return measure_latency(stack, args)
            except Exception:
                print(f"--- last lines of the stack's output ---\n{stack.log()[-3000:]}",
                      file=sys.stderr)
                raise
            finally:
                stack.stop()
    finally:
        drop_databases(urls)


def print_latency(result: dict, args) -> None:
    rpc, alert, ticket, post = (result["rpc"], result["ops_alert"], result["ticket_webhook"],
                                result["post"])
    print(f"\nTicket → webhook at {args.rate:g}/s for {args.seconds:g} s from {args.threads} "
          f"customers (PostgreSQL)")
    print(f"  {result['load_before']} before; {result['load_during']} during the tickets")
    print(f"  raw RPC tickets.health          {stats(rpc)}")
    print(f"  ops API alert → webhook         {stats(alert)}")
    print(f"  POST /api/v1/tickets (response) {stats(post)}")
    print(f"  ticket created → webhook        {stats(ticket)}")
    if ticket and alert:
        print(f"  ticket→webhook p50 ÷ ops alert→webhook p50: "
              f"{statistics.median(ticket) / statistics.median(alert):.1f}   "
              f"p99 ratio: {percentile(ticket, 0.99) / percentile(alert, 0.99):.1f}")
    if ticket and rpc:
        print(f"  ticket→webhook p50 ÷ raw RPC p50: "
              f"{statistics.median(ticket) / statistics.median(rpc):.0f}")
    if ticket and post:
        after = statistics.median(ticket) - statistics.median(post)
        print(f"  p50 from the POST's answer to the webhook (difference of p50s): {after:.1f} ms")
    if result.get("cpu"):
        print(cpu.format_cpu("ticket → routed, alerted, webhook delivered", result["cpu"]))
    print("  slowest POSTs: " + ", ".join(f"{ms:.0f} ms at {at:.1f} s (#{n})"
                                          for ms, at, n in result["slowest"]))
    lags = result["lags"]
    print(f"  schedule: {sum(lag > 0.05 for lag in lags)} of {len(lags)} tickets started more "
          f"than 50 ms late (max {1000 * max(lags, default=0):.0f} ms)")
    print(f"  tickets: {result['tickets']} created, {len(result['ticket_errors'])} errors, "
          f"{len(result['lost'])} alerts not received within 60 s, "
          f"{len(result['wrong_team'])} routed elsewhere, {result['repeats']} repeated "
          f"deliveries, {result['bad_bodies']} unreadable bodies")
    print(f"  ops alerts: {result['ops_alert_lost']} not received, "
          f"{len(result['ops_alert_errors'])} errors")
    for problem in (result["ticket_errors"][:5] + result["ops_alert_errors"][:5]):
        print(f"    error: {problem}")
    if result["lost"]:
        print(f"    not received, e.g.: {result['lost'][:5]}")
    if result.get("delivery_problems"):
        print(f"    failing deliveries: {len(result['delivery_problems'])}, e.g. "
              f"{result['delivery_problems'][0]}")


# 2. routing over 1,000 rules ----------------------------------------------------------------

REGIONS = ["DE", "AT", "CH", "FR", "NL", "BE", "PL", "IT", "ES", "DK"]
PACKAGES = ["basic", "family", "premium", "sports", "kids", "cinema"]
CATEGORIES = ["general", "billing", "complaint", "service_interruption"]
WORDS = ("picture freezes sound remote box router wifi channel bill invoice payment wallet "
         "refund voucher package upgrade downgrade contract cancel move address password "
         "login app smart tv signal outage again since yesterday morning evening please help "
         "thanks hello the a my is not and with for on at when after before every time "
         "recording replay catchup subtitles language hdmi cable reboot error code screen "
         "black slow buffering price charged twice discount offer sports movies kids").split()
RARE = ["chargeback", "lawyer", "cancel immediately", "fraud", "stolen", "outage in"]


def make_rules(count: int, rng: random.Random) -> tuple[list[dict], dict]:
    """`count` rule specs as ops would write them. Most match nothing real (values no ticket
    has, expressions nothing fits), so a ticket walks deep; a few rare-keyword and `continue`
    rules match some tickets on the way; catch-all-ish rules at the end decide for most
    categories; `general` falls through to the default route."""
    specs, mix = [], {"=": 0, "!=": 0, "=~": 0, "=~ keywords": 0, "!~": 0, "continue": 0}
    tail = max(4, count // 50)  # the deciding rules, at the end
    for n in range(count - tail):
        kind = rng.choices(["=", "!=", "=~", "kw", "!~"], weights=[30, 15, 20, 25, 10])[0]
        spec = {"id": f"rule_{n:05d}", "position": 10 * (n + 1), "team": f"team{n % 37}",
                "priority": rng.choice([None, None, "P2", "P3"]), "continue": False}
        if kind == "=":
            field = rng.choice(["category", "region", "package", "billing_type", "subscription"])
            spec["match"] = [{"field": field, "op": "=", "value": f"{field[:3]}_{n}"}]
            if rng.random() < 0.3:
                spec["match"].insert(0, {"field": "priority", "op": "=",
                                         "value": rng.choice(routing.PRIORITIES)})
        elif kind == "!=":  # holds for nearly every ticket; the second matcher does not
            spec["match"] = [{"field": "region", "op": "!=", "value": rng.choice(REGIONS)},
                             {"field": "package", "op": "=", "value": f"legacy_{n}"}]
        elif kind == "=~":
            field = rng.choice(["region", "package", "category"])
            spec["match"] = [{"field": field, "op": "=~",
                              "value": rng.choice([f"(x{n}|y{n})[A-Z]{{2}}",
                                                   f"{rng.choice(PACKAGES)}_v{n}.*",
                                                   f"legacy-{n}|old-[0-9]+-{n}"])}]
        elif kind == "kw":
            if rng.random() < 0.03:  # a rare real phrase: matches a few tickets
                value, spec["continue"] = rf"\b{rng.choice(RARE)}\b", rng.random() < 0.5
            else:  # three styles ops write: a word list, bounded words, a phrase
                value = rng.choice([f"zq{n}x|kw{n}|{rng.choice(WORDS)}zz{n}",
                                    rf"\b(zq{n}x|kw{n}(ed|ing)?)\b",
                                    rf"{rng.choice(WORDS)}\s+(zz{n}|qq{n})"])
            spec["match"] = [{"field": "keywords", "op": "=~", "value": value}]
        else:  # !~ on something every ticket has: never holds
            spec["match"] = [{"field": "billing_type", "op": "!~", "value": "prepaid|postpaid"},
                             {"field": "category", "op": "=", "value": f"cat_{n}"}]
        if rng.random() < 0.04 and kind in ("=", "=~"):  # `continue`: pages a second team
            spec["continue"] = True
            spec["match"] = [{"field": "priority", "op": "=", "value": "P1"},
                             {"field": "region", "op": "=~", "value": rng.choice(REGIONS)}]
        kind = "=~ keywords" if kind == "kw" else kind
        mix[kind] += 1
        mix["continue"] += spec["continue"]
        specs.append(spec)
    deciding = [[{"field": "category", "op": "=", "value": "billing"}],
                [{"field": "category", "op": "=", "value": "service_interruption"},
                 {"field": "region", "op": "=~", "value": "DE|AT|CH"}],
                [{"field": "category", "op": "=", "value": "service_interruption"}],
                [{"field": "category", "op": "=~", "value": "compl.*"},
                 {"field": "keywords", "op": "!~", "value": r"\bthanks\b"}]]
    for n in range(count - tail, count):
        match = deciding[(n - count + tail) % len(deciding)]
        specs.append({"id": f"rule_{n:05d}", "position": 10 * (n + 1), "team": "deciding",
                      "priority": None, "continue": False, "match": match})
        mix["=" if match[0]["op"] == "=" else "=~"] += 1
    return specs, mix


def make_tickets(count: int, rng: random.Random) -> list[dict]:
    """Tickets as `tickets.route` hands them to `attributes_of`."""
    out = []
    for n in range(count):
        words = [rng.choice(WORDS) for _ in range(rng.randint(20, 120))]
        if rng.random() < 0.05:
            words.insert(rng.randrange(len(words)), rng.choice(RARE))
        out.append({
            "category": rng.choices(CATEGORIES, weights=[40, 30, 15, 15])[0],
            "priority": rng.choice(routing.PRIORITIES), "subject": " ".join(words[:6]),
            "description": " ".join(words), "subscription_id": f"sub_{n:06d}"
            if rng.random() < 0.6 else None,
            "context": {"tax_region": rng.choice(REGIONS), "package": rng.choice(PACKAGES),
                        "billing_type": rng.choice(["prepaid", "postpaid"])}})
    return out


def timed(function, repeats: int) -> list[float]:
    """Seconds per call of `function()`, `repeats` times (garbage collection off)."""
    times = []
    gc.disable()
    try:
        for _ in range(repeats):
            began = time.perf_counter()
            function()
            times.append(time.perf_counter() - began)
    finally:
        gc.enable()
    return times


def measure_routing(args) -> dict:
    rng = random.Random(20261121)
    specs, mix = make_rules(args.rules, rng)
    tickets = make_tickets(args.route_tickets, rng)
    out: dict = {"mix": mix, "load": load()}

    def compile_all() -> list[routing.Rule]:
        re.purge()  # each compile pays for its regular expressions, as after a rule change
        return [routing.compile_rule(s) for s in specs]
    out["compile"] = timed(compile_all, 5)
    rule_set = routing.RuleSet(compile_all(), routing.DefaultRoute("support"))

    # what the walk looks like (outside the timing, on a sample): how deep, how many decisions
    order = {r.id: i for i, r in enumerate(sorted(rule_set.rules,
                                                  key=lambda r: (r.position, r.id)))}
    sample = tickets[:2000]
    depth, decided, defaulted = [], [], 0
    for ticket in sample:
        decisions = routing.route(rule_set, routing.attributes_of(ticket))
        decided.append(len(decisions))
        if decisions[-1].rule_id is None:
            defaulted += 1
            depth.append(len(order))
        else:  # the last decision is the one that stopped the walk (or the last rule)
            depth.append(order[decisions[-1].rule_id] + 1)
    out["depth"], out["decisions"], out["defaulted"] = depth, decided, defaulted / len(sample)
    out["by_kind"] = cost_by_kind(rule_set.rules, tickets[:300])

    def attributes_only() -> None:
        for ticket in tickets:
            routing.attributes_of(ticket)

    def attributes_and_route() -> None:
        for ticket in tickets:
            routing.route(rule_set, routing.attributes_of(ticket))
    out["baseline"] = timed(attributes_only, 3)
    out["route"] = timed(attributes_and_route, 1)  # tens of seconds: one pass
    out["rule_set"] = measure_rule_set(specs)
    return out


def kind_of(rule: routing.Rule) -> str:
    """What decides a rule's cost: its matchers' operators (keywords apart)."""
    return " & ".join(("kw " if m.field == "keywords" else "") + m.op for m in rule.matchers)


def cost_by_kind(compiled: list[routing.Rule], tickets: list[dict]) -> dict[str, tuple]:
    """Where a walk of every rule spends its time: per kind of rule, (rules, µs per ticket
    for all rules of that kind)."""
    attributes = [routing.attributes_of(t) for t in tickets]
    spent: dict[str, float] = {}
    counted: dict[str, int] = {}
    for rule in compiled:
        began = time.perf_counter()
        for attrs in attributes:
            rule.matches(attrs)
        kind = kind_of(rule)
        spent[kind] = spent.get(kind, 0.0) + time.perf_counter() - began
        counted[kind] = counted.get(kind, 0) + 1
    return {k: (counted[k], 1e6 * spent[k] / len(attributes))
            for k in sorted(spent, key=spent.get, reverse=True)}


def measure_rule_set(specs: list[dict]) -> dict:
    """`rules.rule_set` over the same rules stored in a fresh PostgreSQL database."""
    urls = create_databases(["tickets_rules"])
    engine = make_engine(urls["tickets_rules"])
    try:
        migrate(engine, [KERNEL, Component("tickets", Base.metadata, MIGRATIONS)])
        now = dt.datetime.now(dt.UTC)
        with Session(engine) as session:
            session.add_all(RoutingRule(
                id=s["id"], position=s["position"], description="bench", match=s["match"],
                team=s["team"], priority=s["priority"], escalation_policy=None,
                continue_=s["continue"], created_at=now, updated_at=now) for s in specs)
            session.add(Setting(name="rules_version", value={"n": 1}))
            session.add(Setting(name="default_route", value={"team": "support"}))
            session.commit()
        policy = Policy()

        def fresh(clear: bool) -> float:
            """One worker's call: a new session (as each nameko worker has)."""
            if clear:
                rules._cache.clear()
                re.purge()
            with Session(engine) as session:
                began = time.perf_counter()
                loaded = rules.rule_set(session, policy)
                elapsed = time.perf_counter() - began
            if len(loaded.rules) != len(specs):
                raise RuntimeError(f"rule_set loaded {len(loaded.rules)} of {len(specs)}")
            return elapsed

        fresh(True)  # warm the pool's connection
        cold = [fresh(True) for _ in range(15)]
        fresh(False)
        cached = [fresh(False) for _ in range(200)]
        raw = []
        with psycopg2.connect(urls["tickets_rules"]) as conn, conn.cursor() as cur:
            for _ in range(15):
                began = time.perf_counter()
                cur.execute('SELECT id, position, match, team, priority, escalation_policy, '
                            '"continue" FROM routing_rules ORDER BY position, id')
                cur.fetchall()
                raw.append(time.perf_counter() - began)
            conn.rollback()
        return {"cold": cold, "cached": cached, "raw": raw}
    finally:
        engine.dispose()
        rules._cache.clear()
        drop_databases(urls)


def print_routing(result: dict, args) -> None:
    n, mix = args.route_tickets, result["mix"]
    compile_ms = [1000 * t for t in result["compile"]]
    base, full = min(result["baseline"]), min(result["route"])
    print(f"\nRouting {args.rules:,} rules, {n:,} random tickets (in-process; baseline best of "
          f"3, routing one pass)")
    print(f"  {result['load']}")
    print("  rules: " + ", ".join(f"{v} {k}" for k, v in mix.items()))
    depth = result["depth"]
    print(f"  walk: rules tried until the deciding one p50 {statistics.median(depth):.0f}, mean "
          f"{statistics.mean(depth):.0f}; {result['defaulted']:.0%} to the default route; "
          f"{statistics.mean(d > 1 for d in result['decisions']):.1%} with more than one "
          f"decision (a sample of {len(depth):,})")
    print(f"  compile {args.rules:,} rules (re cache purged): median "
          f"{statistics.median(compile_ms):7.1f} ms  (min {min(compile_ms):.1f}, "
          f"{1000 * statistics.median(compile_ms) / args.rules:.0f} µs/rule)")
    print(f"  attributes only (baseline):  {1e6 * base / n:9.1f} µs/ticket  {n / base:>11,.0f}"
          " tickets/s")
    print(f"  attributes + route:          {1e6 * full / n:9.1f} µs/ticket  {n / full:>11,.0f}"
          " tickets/s")
    print(f"  routing alone (difference):  {1e6 * (full - base) / n:9.1f} µs/ticket"
          f"  ({1e9 * (full - base) / n / statistics.mean(depth):.0f} ns per rule tried)")
    print(f"  ratio (route ÷ baseline): {full / base:.0f}")
    total = sum(us for _, us in result["by_kind"].values())
    print("  where a walk of all rules goes (matchers' ops; µs per ticket, share):")
    for kind, (rules_, us) in list(result["by_kind"].items())[:6]:
        print(f"    {kind:<22} {rules_:>5} rules {us:9.0f} µs  {us / total:5.0%}")
    loaded = result["rule_set"]
    cold, cached, raw = ([1000 * t for t in loaded[k]] for k in ("cold", "cached", "raw"))
    print(f"\nrules.rule_set, {args.rules:,} rules from PostgreSQL (a fresh session per call)")
    print(f"  raw SELECT (psycopg2):        p50 {statistics.median(raw):8.2f} ms   "
          f"min {min(raw):8.2f} ms   n={len(raw)}")
    print(f"  cold (cache and re cleared):  p50 {statistics.median(cold):8.2f} ms   "
          f"min {min(cold):8.2f} ms   n={len(cold)}")
    print(f"  cached (version unchanged):   p50 {statistics.median(cached):8.2f} ms   "
          f"p99 {percentile(cached, 0.99):8.2f} ms   n={len(cached)}")
    print(f"  ratio cold ÷ cached: {statistics.median(cold) / statistics.median(cached):.0f};"
          f" cold ÷ raw SELECT: {statistics.median(cold) / statistics.median(raw):.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=10.0, help="tickets (and alerts) per s")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--threads", type=int, default=4, help="customers raising tickets")
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--route-tickets", type=int, default=20_000)
    parser.add_argument("--part", choices=["all", "latency", "routing"], default="all")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the stack is stopped and the databases dropped
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    routed = latency = None
    if args.part in ("all", "routing"):  # first, while the stack is not running
        routed = measure_routing(args)
        print_routing(routed, args)
    if args.part in ("all", "latency"):
        latency = run_latency(args)
        print_latency(latency, args)
    if latency is not None and (not latency["ticket_webhook"] or latency["lost"]
                                or latency["ticket_errors"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
