"""The catalog service in a real nameko container, on the real RabbitMQ and PostgreSQL,
called over RPC the way billing and the gateway call it."""

import json
import pathlib

import eventlet
import pytest
from kombu import Connection, Queue
from nameko.standalone.rpc import ServiceRpcProxy

from services.catalog import seed
from services.catalog.service import CatalogService
from services.common import errors
from services.common.outbox import event_exchange

DEMO_CATALOG = pathlib.Path(__file__).resolve().parents[2] / "deploy" / "demo_catalog.json"


@pytest.fixture
def catalog(pg_url, rabbit_config, container_factory):
    config = {**rabbit_config, "DATABASE_URLS": {"catalog": pg_url},
              "OUTBOX_POLL_SECONDS": 0.2}
    container = container_factory(CatalogService, config)
    container.start()
    return rabbit_config


def changes_queue(amqp_uri):
    queue = Queue("test-catalog-changed", exchange=event_exchange("catalog"),
                  routing_key="catalog_changed", durable=False, auto_delete=False)
    with Connection(amqp_uri) as conn:
        queue(conn.default_channel).declare()
    return queue


def drain(amqp_uri, queue, expected, timeout=10.0):
    bodies = []
    with Connection(amqp_uri) as conn:
        with conn.Consumer(queue, callbacks=[lambda body, msg: (bodies.append(body), msg.ack())]):
            deadline = eventlet.Timeout(timeout, False)
            with deadline:
                while len(bodies) < expected:
                    try:
                        conn.drain_events(timeout=0.5)
                    except TimeoutError:
                        pass
    return bodies


def test_the_demo_catalog_loads_over_rpc_and_answers_quotes_and_rules(catalog):
    queue = changes_queue(catalog["AMQP_URI"])
    with ServiceRpcProxy("catalog", catalog) as rpc:
        report = seed.load(rpc, json.loads(DEMO_CATALOG.read_text(encoding="utf-8")))
        assert report == {"created": 15, "existing": 0, "paths": 4}
        assert [p["code"] for p in rpc.list_packages()] == ["basic", "family", "kids", "premium"]

        quote = rpc.quote("EUR", "month", "family", ["sports", "movies"], ["stb-4k"], "DE")
        assert quote["package"]["price"] == 2499
        assert [a["price"] for a in quote["addons"]] == [999, 1299]
        assert quote["devices"][0]["rental_price"] == 499
        assert quote["tax"] == {"region": "DE", "rate_bp": 1900, "name": "VAT (MwSt.)"}

        with pytest.raises(errors.Conflict) as exc:  # typed errors cross RPC intact
            rpc.quote("EUR", "month", "basic", ["sports"])
        assert exc.value.code == "ADDON_NOT_ALLOWED"
        assert exc.value.message == "Sports Plus cannot be added to Basic."
        with pytest.raises(errors.InvalidArgument) as exc:
            rpc.ops_create("packages", {"code": "gold", "name": "Gold", "prices": {"month": 9.99},
                                        "currency": "EUR"})
        assert set(exc.value.fields) == {"prices.month"}

        answer = rpc.check_change(
            {"package": "premium", "addons": [], "activation_date": "2026-01-15T00:00:00Z",
             "current_period": {"start": "2026-11-15T00:00:00Z", "end": "2026-12-15T00:00:00Z"}},
            {"action": "change_package", "package": "kids"})
        assert answer == {"allowed": False, "code": "CHANGE_NOT_ALLOWED",
                          "reason": "Premium cannot be changed to Kids.", "effective": None,
                          "params": {"current": "Premium", "target": "Kids"}}
        assert rpc.health() == {"service": "catalog", "database": "ok"}

    published = drain(catalog["AMQP_URI"], queue, expected=19)
    assert len(published) == 19  # 15 entries created, 4 packages given their paths
    assert published[0]["catalog"] == {"kind": "devices", "code": "stb-4k", "change": "created"}


def test_concurrent_creates_of_one_code_make_one_entry_and_clean_conflicts(catalog):
    def create(i):
        with ServiceRpcProxy("catalog", catalog) as rpc:
            try:
                rpc.ops_create("devices", {"code": "stb-4k", "model": f"Box {i}",
                                           "kind": "set_top_box", "rental_price": 499,
                                           "currency": "EUR"})
                return "created"
            except errors.Conflict as exc:
                return exc.code

    outcomes = list(eventlet.GreenPool(10).imap(create, range(10)))
    assert outcomes.count("created") == 1
    assert outcomes.count("ALREADY_EXISTS") == 9
    with ServiceRpcProxy("catalog", catalog) as rpc:
        assert len(rpc.ops_list("devices")) == 1
