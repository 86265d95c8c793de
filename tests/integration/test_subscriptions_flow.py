"""Subscriptions end to end through the gateway on the real services, RabbitMQ and PostgreSQL;
and renewals with two billing instances running."""

import datetime as dt
import json
import time

import pytest
from nameko.testing.services import entrypoint_waiter
from nameko.testing.utils import get_container, get_extension

from deploy import demo
from services.accounts.service import AccountsService
from services.billing.service import BillingService
from services.catalog.service import CatalogService
from services.common.clock import ClockProvider, TestClock
from tests.integration.conftest import PASSWORD, eventually


@pytest.fixture
def portal(start_portal):
    return start_portal(RPC_TIMEOUT_SECONDS=2, DASHBOARD_DEADLINE_SECONDS=1)


def test_subscribe_upgrade_addon_pause_resume_cancel_and_the_dashboard_shows_each(portal):
    token = portal.customer()
    board = portal.ok("GET", "/api/v1/dashboard", token)
    assert board["subscriptions"] == {"unavailable": False, "data": []}
    assert board["account"]["billing_type"] == "postpaid" and "wallet" not in board

    packages = portal.ok("GET", "/api/v1/catalog/packages", token)["data"]
    assert {"basic", "family", "premium"} <= {p["code"] for p in packages}
    basic = next(p for p in packages if p["code"] == "basic")
    assert basic["price"] == {"amount": 1499, "currency": "EUR"} and basic["channels"]

    sub = portal.ok("POST", "/api/v1/subscriptions", token, status=201,
                    json={"package": "basic", "devices": [{"code": "stb-4k",
                                                           "acquisition": "rental"}]},
                    headers={"Idempotency-Key": "subscribe-1"})
    again = portal.ok("POST", "/api/v1/subscriptions", token, status=201,
                      json={"package": "basic", "devices": [{"code": "stb-4k",
                                                             "acquisition": "rental"}]},
                      headers={"Idempotency-Key": "subscribe-1"})
    assert again["id"] == sub["id"]
    assert sub["devices"][0]["serial_number"].startswith("STB-")
    sid = sub["id"]
    admin = demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])
    device = sub["devices"][0]["id"]
    replaced = portal.ok("POST", f"/api/v1/ops/devices/{device}/serial", admin,
                         json={"serial_number": "STB-FIELD-0042"})
    assert replaced["previous_serials"] == [sub["devices"][0]["serial_number"]]
    assert portal.ok("GET", f"/api/v1/subscriptions/{sid}", token)["devices"][0][
        "serial_number"] == "STB-FIELD-0042"
    assert portal("POST", f"/api/v1/ops/devices/{device}/serial", token,
                  json={"serial_number": "STB-MINE-0001"}).status_code == 403

    preview = portal.ok("POST", f"/api/v1/subscriptions/{sid}/change", token,
                        json={"package": "premium", "preview": True})
    assert [line["kind"] for line in preview["lines"]] == ["credit", "charge", "tax"]
    assert preview["amount_due"]["amount"] > 0
    assert portal.ok("GET", f"/api/v1/subscriptions/{sid}", token)["package"]["code"] == "basic"
    upgraded = portal.ok("POST", f"/api/v1/subscriptions/{sid}/change", token,
                         json={"package": "premium"})
    assert upgraded["amount_due"] == preview["amount_due"]
    board = portal.ok("GET", "/api/v1/dashboard", token)
    assert board["subscriptions"]["data"][0]["package"]["code"] == "premium"

    portal.ok("POST", f"/api/v1/subscriptions/{sid}/addons", token, json={"code": "sports"})
    board = portal.ok("GET", "/api/v1/dashboard", token)
    assert [a["code"] for a in board["subscriptions"]["data"][0]["addons"]] == ["sports"]

    paused = portal.ok("POST", f"/api/v1/subscriptions/{sid}/pause", token, json={})
    assert paused["status"] == "paused"
    assert portal.ok("GET", "/api/v1/dashboard", token)["subscriptions"]["data"][0][
        "status"] == "paused"
    refused = portal("POST", f"/api/v1/subscriptions/{sid}/addons", token,
                     json={"code": "movies"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "SUBSCRIPTION_NOT_ACTIVE"
    assert portal.ok("POST", f"/api/v1/subscriptions/{sid}/resume", token)["status"] == "active"

    minimum = portal("POST", f"/api/v1/subscriptions/{sid}/cancel", token,
                     json={"reason": "moving abroad", "when": "now"})
    assert minimum.status_code == 409 and minimum.json()["error"]["code"] == "MINIMUM_TERM"
    assert "minimum" in minimum.json()["error"]["message"].lower()

    removed = portal.ok("DELETE", f"/api/v1/subscriptions/{sid}/addons/sports", token)
    assert removed["lines"][0]["kind"] == "credit"
    portal.ok("POST", f"/api/v1/subscriptions/{sid}/change", token, json={"package": "family"})
    board = portal.ok("GET", "/api/v1/dashboard", token)
    assert board["subscriptions"]["data"][0]["scheduled_changes"][0]["package"] == "family"

    other = portal.customer()
    assert portal("GET", f"/api/v1/subscriptions/{sid}", other).status_code == 404
    assert portal("POST", f"/api/v1/subscriptions/{sid}/pause", other, json={}).status_code \
        == 404

    family = portal.ok("POST", "/api/v1/subscriptions", token, status=201,
                       json={"package": "family"})
    cancelled = portal.ok("POST", f"/api/v1/subscriptions/{family['id']}/cancel", token,
                          json={"reason": "too expensive", "when": "now"})
    assert cancelled["subscription"]["status"] == "cancelled"
    states = {s["id"]: s["status"] for s in
              portal.ok("GET", "/api/v1/dashboard", token)["subscriptions"]["data"]}
    assert states == {sid: "active"}  # the main page shows live services; the tab shows all
    assert {s["id"] for s in portal.ok("GET", "/api/v1/subscriptions", token)["data"]} == {
        sid, family["id"]}


def test_bad_subscription_input_is_a_400_and_unknown_codes_are_404(portal):
    token = portal.customer()
    for body, field in (({"package": "Basic!"}, "package"), ({}, "package"),
                        ({"package": "basic", "addons": "sports"}, "addons"),
                        ({"package": "basic", "colour": "red"}, "colour")):
        response = portal("POST", "/api/v1/subscriptions", token, json=body)
        assert response.status_code == 400 and field in response.json()["error"]["fields"]
    unknown = portal("POST", "/api/v1/subscriptions", token, json={"package": "gold"})
    assert unknown.status_code == 404
    key = portal("POST", "/api/v1/subscriptions", token, json={"package": "basic"},
                 headers={"Idempotency-Key": "x" * 300})
    assert key.status_code == 400 and "Idempotency-Key" in key.json()["error"]["fields"]


def test_the_dashboard_answers_within_its_deadline_when_billing_or_catalog_stops(portal):
    token = portal.customer()
    portal.ok("POST", "/api/v1/subscriptions", token, status=201, json={"package": "family"})
    get_container(portal.runner, CatalogService).stop()
    board = portal.ok("GET", "/api/v1/dashboard", token)
    assert board["subscriptions"]["unavailable"] is False
    assert board["subscriptions"]["data"][0]["package"]["name"] == "Family"

    get_container(portal.runner, BillingService).stop()
    started = time.monotonic()
    # asked afresh (not from the gateway's cache, which holds the answer just given)
    board = portal.ok("GET", "/api/v1/dashboard", token, headers={"Cache-Control": "no-cache"})
    # the 1 s deadline, not the 5 s RPC timeout (plus the round trip on a busy machine)
    assert time.monotonic() - started < 2.5
    assert board["subscriptions"] == {"unavailable": True, "data": []}
    assert board["account"]["name"] == "Ann"


def test_two_billing_instances_renew_end_pauses_and_apply_downgrades_once(
        new_pg_url, rabbit_config, container_factory):
    urls = {"accounts": new_pg_url(), "catalog": new_pg_url(), "billing": new_pg_url()}
    config = {**rabbit_config, "DATABASE_URLS": urls, "BILLING_TIMER_SECONDS": 0.2,
              "ADMIN_EMAIL": demo.ADMIN["email"], "ADMIN_PASSWORD": demo.ADMIN["password"]}
    clock = TestClock(dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC))
    containers = [container_factory(cls, config) for cls in (AccountsService, CatalogService)]
    billings = [container_factory(BillingService, config) for _ in range(2)]
    for container in containers + billings:
        container.start()
        get_extension(container, ClockProvider).clock = clock  # after setup() chose its own
    from nameko.standalone.rpc import ServiceRpcProxy

    from services.catalog import seed

    with ServiceRpcProxy("catalog", config) as catalog, \
            ServiceRpcProxy("accounts", config) as accounts, \
            ServiceRpcProxy("billing", config) as billing:
        seed.load(catalog, json.loads(demo.CATALOG_FILE.read_text()))
        customer = accounts.register({"email": "r@example.com", "password": PASSWORD,
                                      "name": "R", "billing_type": "postpaid",
                                      "currency": "EUR"})["id"]
        renewing = billing.subscribe(customer, {"package": "basic"})["id"]
        downgrading = billing.subscribe(customer, {"package": "premium"})["id"]
        billing.change_package(customer, downgrading, {"package": "family"})
        pausing = billing.subscribe(customer, {"package": "family"})["id"]
        billing.pause(customer, pausing, {"until": "2026-12-01"})

        clock.set(dt.datetime(2026, 12, 21, 10, 0, 1, tzinfo=dt.UTC))

        def renewed():
            views = {s: billing.get_subscription(customer, s) for s in
                     (renewing, downgrading, pausing)}
            return (views[renewing]["current_period"]["start"] == "2026-12-21T10:00:00Z"
                    and views[downgrading]["package"]["code"] == "family"
                    and views[pausing]["status"] == "active") and views

        views = eventually(renewed, timeout=15)
        assert views, "the due renewal, downgrade and pause end were not all applied"
        # each instance finishes two more timer rounds (the first may have begun before): a
        # second renewal or downgrade, had either instance made one, is among the charges now
        for instance in billings:
            for _ in range(2):
                with entrypoint_waiter(instance, "run_due", timeout=20):
                    pass
        charges = billing.list_charges(customer)
    renewals = [c for c in charges if c["operation"].startswith("renew:")]
    by_sub = {}
    for c in renewals:
        by_sub.setdefault(c["subscription_id"], []).append(c["operation"].rsplit(":", 1)[0])
    assert set(by_sub) == {renewing, downgrading}  # the paused one's period moved on resume
    for sub_id, operations in by_sub.items():
        assert len(set(operations)) == 1, (sub_id, operations)  # one renewal each
    assert [c["item"] for c in renewals if c["subscription_id"] == downgrading] == [
        "family", "family"]  # fee and its promotion, at the family price
    assert views[pausing]["current_period"]["end"] > "2026-12-21T10:00:00Z"
