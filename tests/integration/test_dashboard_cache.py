"""The dashboard's read cache through the real services, RabbitMQ and PostgreSQL: the second
view asks no service; the writer reads their own writes at once (a top-up, a plan change, a
read notification); and every other gateway hears of each change by the services' events.

The cache's time limit is an hour here, so only an eviction can explain a fresh answer."""

import re

import pytest
import requests
import sqlalchemy as sa
from nameko.events import EventHandler
from nameko.testing.utils import get_container, get_extension

from gateway.readcache import ReadCacheProvider
from gateway.service import GatewayService
from services.common.db import normalize_url
from services.notifier.service import NotifierService
from tests.integration.conftest import Portal, eventually
from tests.stack import free_port

HOUR = 3600
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "913",
        "holder": "Ann"}


@pytest.fixture
def portal(start_portal, monkeypatch):
    portal = start_portal(DASHBOARD_CACHE_SECONDS=HOUR)
    notifier = get_container(portal.runner, NotifierService)
    # the events the notifier handled: each event id, once its handler finished without error
    portal.notified, worker_result = set(), notifier._worker_result

    def record(worker_ctx, result, exc_info):
        if exc_info is None and isinstance(worker_ctx.entrypoint, EventHandler):
            portal.notified.add(worker_ctx.args[0].get("event_id"))
        return worker_result(worker_ctx, result, exc_info)
    monkeypatch.setattr(notifier, "_worker_result", record)
    # the events it listens to, by service, and each one's outbox position now: those emitted
    # after this (its queues are declared by now) all reach it
    portal.engines, portal.wanted, portal.since = {}, {}, {}
    for handler in notifier.entrypoints:
        if isinstance(handler, EventHandler):
            portal.wanted.setdefault(handler.source_service, set()).add(handler.event_type)
    for source in portal.wanted:
        portal.engines[source] = sa.create_engine(
            normalize_url(portal.database_urls[source]), poolclass=sa.pool.NullPool)
        with portal.engines[source].connect() as conn:
            portal.since[source] = conn.execute(sa.text(
                "SELECT coalesce(max(id), 0) FROM outbox_messages")).scalar()
    yield portal
    for engine in portal.engines.values():
        engine.dispose()


def rpc_calls(portal, service, method):
    """How many `service.method` calls this process's gateways made (their metrics)."""
    text = requests.get(portal.url + "/metrics", timeout=10).text
    pattern = (rf'portal_rpc_duration_seconds_count\{{method="{method}",outcome="ok",'
               rf'service="{service}"\}} ([0-9.e+]+)')
    found = re.search(pattern, text)
    return float(found.group(1)) if found else 0.0


def sent_to_the_notifier(portal) -> set[str]:
    """The ids of the events for the notifier that the services emitted since the portal
    started (the rows of their outboxes, published or not)."""
    ids: set[str] = set()
    for source, types in portal.wanted.items():
        with portal.engines[source].connect() as conn:
            ids.update(conn.execute(sa.text(
                "SELECT event_id FROM outbox_messages WHERE id > :since AND event_type IN :types"
            ).bindparams(sa.bindparam("types", expanding=True)),
                {"since": portal.since[source], "types": sorted(types)}).scalars())
    return ids


def settled_unread(portal, token):
    """The unread count once the notifications of earlier events have all arrived: the
    notifier has handled every event for it that the services emitted so far."""
    def unhandled():
        return sent_to_the_notifier(portal) - portal.notified
    assert eventually(lambda: not unhandled()), \
        f"events the notifier did not handle: {sorted(unhandled())}"
    unread = portal.ok("GET", "/api/v1/notifications", token)["unread_count"]
    assert unread >= 1
    return unread


def funded_customer(portal):
    token = portal.customer("prepaid")
    portal.ok("POST", "/api/v1/me/payment-methods", token, status=201, json=CARD)
    portal.ok("POST", "/api/v1/wallet/top-ups", token, status=201,
              json={"amount": {"amount": 5000, "currency": "EUR"}},
              headers={"Idempotency-Key": "fund"})
    sub = portal.ok("POST", "/api/v1/subscriptions", token, status=201, json={"package": "basic"})
    return token, sub["id"]


def test_the_writer_reads_their_own_writes_and_a_second_view_asks_no_service(portal):
    token, sid = funded_customer(portal)
    unread = settled_unread(portal, token)
    board = portal.ok("GET", "/api/v1/dashboard", token)
    assert not [name for name, part in board.items() if part.get("unavailable")]
    assert board["unread_notifications"]["count"] == unread
    calls = {m: rpc_calls(portal, s, m) for s, m in (
        ("billing", "dashboard"), ("tickets", "open_tickets"), ("notifier", "unread_count"))}
    assert portal.ok("GET", "/api/v1/dashboard", token) == board  # from the cache ...
    assert {m: rpc_calls(portal, s, m) for s, m in (
        ("billing", "dashboard"), ("tickets", "open_tickets"),
        ("notifier", "unread_count"))} == calls  # ... no RPC
    cache = get_extension(get_container(portal.runner, GatewayService), ReadCacheProvider).cache
    assert len(cache) == 3

    # a top-up: the next view shows the balance
    balance = board["wallet"]["balance"]["amount"]
    portal.ok("POST", "/api/v1/wallet/top-ups", token, status=201,
              json={"amount": {"amount": 1000, "currency": "EUR"}},
              headers={"Idempotency-Key": "more"})
    board = portal.ok("GET", "/api/v1/dashboard", token)
    assert board["wallet"]["balance"]["amount"] == balance + 1000

    # a plan change: the next view shows the new package (and what it cost)
    changed = portal.ok("POST", f"/api/v1/subscriptions/{sid}/change", token,
                        json={"package": "premium"})
    board = portal.ok("GET", "/api/v1/dashboard", token)
    [shown] = board["subscriptions"]["data"]
    assert shown["id"] == sid and shown["package"]["code"] == "premium"
    assert board["wallet"]["balance"]["amount"] == \
        balance + 1000 - changed["amount_due"]["amount"]

    # a read notification: the next view counts one less
    unread = settled_unread(portal, token)
    assert eventually(lambda: portal.ok("GET", "/api/v1/dashboard", token)[
        "unread_notifications"]["count"] == unread)
    note = portal.ok("GET", "/api/v1/notifications?unread=true", token)["data"][0]
    portal.ok("POST", f"/api/v1/notifications/{note['id']}/read", token)
    board = portal.ok("GET", "/api/v1/dashboard", token)
    assert board["unread_notifications"] == {"unavailable": False, "count": unread - 1}
    portal.ok("POST", "/api/v1/notifications/read-all", token)
    assert portal.ok("GET", "/api/v1/dashboard", token)["unread_notifications"]["count"] == 0

    # a ticket: the next view lists it
    ticket = portal.ok("POST", "/api/v1/tickets", token, status=201, json={
        "category": "general", "subject": "A question", "description": "About my package."})
    board = portal.ok("GET", "/api/v1/dashboard", token)
    assert [t["id"] for t in board["open_tickets"]["latest"]] == [ticket["id"]]


def test_every_gateway_evicts_on_the_services_events(portal, runner_factory):
    port = free_port()
    second = runner_factory({**portal.config, "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"},
                            GatewayService)
    second.start()
    other = Portal(f"http://127.0.0.1:{port}", second)
    token, sid = funded_customer(portal)
    unread = settled_unread(portal, token)

    def shown():  # the customer's dashboard as the second gateway answers it (cached)
        return other.ok("GET", "/api/v1/dashboard", token)

    board = shown()
    balance = board["wallet"]["balance"]["amount"]
    assert board["open_tickets"]["count"] == 0
    assert board["unread_notifications"]["count"] == unread
    cache = get_extension(get_container(second, GatewayService), ReadCacheProvider).cache
    assert len(cache) == 3

    # writes through the first gateway; the second hears of each from the owning service
    portal.ok("POST", "/api/v1/wallet/top-ups", token, status=201,
              json={"amount": {"amount": 700, "currency": "EUR"}},
              headers={"Idempotency-Key": "elsewhere"})
    assert eventually(lambda: shown()["wallet"]["balance"]["amount"] == balance + 700, 10)
    portal.ok("POST", f"/api/v1/subscriptions/{sid}/change", token, json={"package": "premium"})
    assert eventually(lambda: shown()["subscriptions"]["data"][0]["package"]["code"] ==
                      "premium", 10)
    portal.ok("POST", "/api/v1/tickets", token, status=201, json={
        "category": "general", "subject": "A question", "description": "About my package."})
    assert eventually(lambda: shown()["open_tickets"]["count"] == 1, 10)
    unread = settled_unread(portal, token)
    portal.ok("POST", "/api/v1/notifications/read-all", token)
    assert eventually(lambda: shown()["unread_notifications"]["count"] == 0, 10)
    assert unread >= 1
