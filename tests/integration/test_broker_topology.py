"""The queues every service declares on the real broker: durable quorum queues for RPC and
events (replicated on a RabbitMQ cluster; here a single node, where they work the same), the
dead-letter queue for events that keep failing, exclusive transient reply and broadcast queues;
RPC requests that expire with their caller's deadline; and /health/ready, /metrics on the
services' health port."""

from __future__ import annotations

import os
import urllib.parse

import requests

from tests.integration.conftest import eventually
from tests.stack import free_port

SERVICES = ("accounts", "catalog", "billing", "vouchers", "tickets", "notifier")


def queues(amqp_uri: str) -> dict[str, dict]:
    api = urllib.parse.urlparse(os.environ.get("RABBIT_API_URI",
                                               "http://guest:guest@127.0.0.1:15672"))
    vhost = urllib.parse.quote(urllib.parse.urlparse(amqp_uri).path[1:], safe="")
    response = requests.get(f"{api.scheme}://{api.hostname}:{api.port}/api/queues/{vhost}",
                            auth=(api.username, api.password), timeout=10)
    response.raise_for_status()
    return {q["name"]: q for q in response.json()}


def test_service_queues_are_durable_quorum_queues_and_replies_stay_exclusive(start_portal):
    portal = start_portal()
    def settled():  # declared, and the management statistics caught up
        found = queues(portal.config["AMQP_URI"])
        return found if "portal.dead-letters" in found and all(
            found.get(f"rpc-{s}", {}).get("consumers") for s in SERVICES) else None

    found = eventually(settled, timeout=30, pause=0.5)
    assert found, queues(portal.config["AMQP_URI"])

    for service in SERVICES:
        rpc = found[f"rpc-{service}"]
        assert rpc["type"] == "quorum" and rpc["durable"] and not rpc["exclusive"], rpc
    events = {name: q for name, q in found.items()
              if name.startswith("evt-") and "--gateway." not in name}
    assert len(events) >= 10, sorted(found)
    for name, queue in events.items():
        assert queue["type"] == "quorum" and queue["durable"], name
        assert queue["arguments"]["x-dead-letter-exchange"] == "portal.dead-letters", name
        assert queue["arguments"]["x-delivery-limit"] == 20, name
    dead = found["portal.dead-letters"]
    assert dead["type"] == "quorum" and dead["durable"]

    replies = [q for name, q in found.items() if name.startswith("rpc.reply-")]
    broadcasts = [q for name, q in found.items() if "--gateway." in name]
    assert replies and broadcasts
    for queue in replies + broadcasts:
        assert queue["type"] == "classic" and queue["exclusive"] and not queue["durable"], queue


def test_a_request_nobody_takes_within_the_callers_deadline_is_dropped_by_the_broker(
        start_portal, rabbit_config):
    """The gateway's request to a service whose consumers are gone waits in the quorum queue
    only as long as the caller does (`expiration` = RPC_TIMEOUT_SECONDS): it is not run long
    after its caller gave up (a top-up charged minutes after the customer saw an error)."""
    portal = start_portal(RPC_TIMEOUT_SECONDS=1)
    customer = portal.customer()
    catalog = next(c for c in portal.runner.containers if c.service_name == "catalog")
    catalog.stop()  # its queue stays; nobody consumes it
    response = portal("GET", "/api/v1/catalog/packages", customer)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    drained = eventually(lambda: queues(portal.config["AMQP_URI"])["rpc-catalog"]
                         .get("messages", 1) == 0, timeout=15, pause=0.5)
    assert drained, queues(portal.config["AMQP_URI"])["rpc-catalog"]


def test_each_service_answers_its_health_and_metrics_on_its_health_port(start_portal):
    port = free_port()
    portal = start_portal(HEALTH_PORT=port, HEALTH_HOST="127.0.0.1")
    # one process runs all the containers here, so the first one to start holds the port;
    # it answers for itself (in a deployment each process is one service)
    ready = requests.get(f"http://127.0.0.1:{port}/health/ready", timeout=5)
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["ready"] and body["services"]["billing"] == {"broker": "ok", "database": "ok"}
    assert body["services"]["gateway"] == {"broker": "ok"}
    assert requests.get(f"http://127.0.0.1:{port}/health/live", timeout=5).status_code == 200
    customer = portal.customer(billing_type="prepaid")
    portal.ok("GET", "/api/v1/wallet", customer)
    metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    for name in ("portal_entrypoint_duration_seconds_count", "portal_outbox_backlog",
                 "portal_outbox_published_total", "portal_broker_connected",
                 "portal_rpc_duration_seconds_count"):
        assert name in metrics, name
    assert 'kind="rpc"' in metrics and 'service="billing"' in metrics


def test_make_run_replaces_empty_classic_queues_of_an_earlier_version_and_stops_on_full_ones():
    import uuid

    from kombu import Connection, Exchange, Queue

    from deploy.run import migrate_classic_queues
    from tests.stack import create_vhost, delete_vhost

    vhost = f"migrate-{uuid.uuid4().hex[:8]}"
    uri = create_vhost(vhost)
    try:
        exchange = Exchange("nameko-rpc", type="topic", durable=True)
        with Connection(uri) as connection:
            channel = connection.default_channel
            for name in ("rpc-accounts", "evt-billing-invoice_issued--notifier.on_invoice"):
                Queue(name, exchange=exchange, routing_key=name, durable=True)(channel).declare()
            connection.Producer(channel).publish({"left": "behind"}, exchange=exchange,
                                                 routing_key="rpc-accounts", declare=[exchange])
        eventually(lambda: queues(uri)["rpc-accounts"].get("messages") == 1, timeout=15,
                   pause=0.5)
        try:
            migrate_classic_queues(uri)
            raise AssertionError("a classic queue holding a message was not refused")
        except RuntimeError as refused:
            assert "rpc-accounts" in str(refused) and "evt-billing" not in str(refused)
        assert set(queues(uri)) >= {"rpc-accounts"}  # nothing deleted while one is full
        with Connection(uri) as connection:
            Queue("rpc-accounts", exchange=exchange, routing_key="rpc-accounts",
                  durable=True)(connection.default_channel).purge()
        eventually(lambda: queues(uri)["rpc-accounts"].get("messages") == 0, timeout=15,
                   pause=0.5)
        notes = migrate_classic_queues(uri)
        assert notes and "2 empty classic queue(s)" in notes[0]
        assert not {"rpc-accounts", "evt-billing-invoice_issued--notifier.on_invoice"} & set(
            queues(uri))
    finally:
        delete_vhost(vhost)
