"""Consents through the gateway, against the real services on RabbitMQ and PostgreSQL: each
purpose starts without consent; giving it is recorded with when and how; viewing is stored and
used only with it, and withdrawing it deletes what was stored."""

import datetime as dt

import pytest
from nameko.standalone.rpc import ClusterRpcProxy


@pytest.fixture
def portal(start_portal):
    return start_portal(RPC_TIMEOUT_SECONDS=5)


def consents(portal, token) -> dict:
    return {c["purpose"]: c for c in portal.ok("GET", "/api/v1/me/consents", token)["data"]}


def test_consents_are_opt_in_recorded_with_when_and_how_and_withdrawn(portal):
    token = portal.customer("prepaid")
    me = portal.ok("GET", "/api/v1/me", token)
    assert consents(portal, token) == {
        purpose: {"purpose": purpose, "granted": False, "changed_at": None, "source": None}
        for purpose in ("promotions", "viewing_recommendations")}

    record = {"customer_id": me["id"], "channel": "Kids Club HD", "minutes": 30,
              "day": (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()}
    with ClusterRpcProxy({"AMQP_URI": portal.config["AMQP_URI"]}, timeout=30) as cluster:
        before = cluster.insights.report_viewing(f"c1-{me['id']}", [record])
        assert (before["opted_out"], before["stored"]) == (1, 0)  # no consent: not stored
        given = portal.ok("PUT", "/api/v1/me/consents/viewing_recommendations", token,
                          json={"granted": True})
        assert given["granted"] is True and given["source"] == "settings" and given["changed_at"]
        after = cluster.insights.report_viewing(f"c2-{me['id']}", [record])
        assert after["stored"] == 1
        assert portal.ok("GET", "/api/v1/insights/viewing", token)["channels"][0]["minutes"] == 30

        withdrawn = portal.ok("PUT", "/api/v1/me/consents/viewing_recommendations", token,
                              json={"granted": False})
        assert withdrawn["granted"] is False
        assert portal.ok("GET", "/api/v1/insights/viewing", token)["channels"] == []
        assert cluster.insights.report_viewing(f"c3-{me['id']}", [record])["stored"] == 0

    promotions = portal.ok("PUT", "/api/v1/me/consents/promotions", token,
                           json={"granted": True})
    assert consents(portal, token)["promotions"] == promotions
    other = portal.customer("prepaid")
    assert consents(portal, other)["promotions"]["granted"] is False  # each their own

    unknown = portal("PUT", "/api/v1/me/consents/profiling", token, json={"granted": True})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "CONSENT_NOT_FOUND"
    assert portal("PUT", "/api/v1/me/consents/promotions", token,
                  json={"granted": "yes"}).status_code == 400
    assert portal("GET", "/api/v1/me/consents", None).status_code == 401
