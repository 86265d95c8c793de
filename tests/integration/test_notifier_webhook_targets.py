"""Team webhooks cannot be aimed at the portal's own network (SSRF), through the real services,
RabbitMQ and PostgreSQL: a channel to a loopback, link-local or private address is a 400 with a
`url` field error unless `WEBHOOK_ALLOWED_HOSTS` lists it, and nothing is created."""

import pytest

from deploy import demo
from tests.integration.test_notifier_delivery import WebhookReceiver

TARGETS = [
    ("http://169.254.169.254/latest/meta-data/iam/security-credentials/",
     "169.254.169.254 is not a public address (link-local)"),  # cloud metadata
    ("http://127.0.0.1:15672/api/definitions",
     "127.0.0.1 is not a public address (loopback)"),  # the broker's management API
    ("http://10.0.0.5/hook", "10.0.0.5 is not a public address (private)"),
    ("http://localhost:5432/", "localhost resolves to an address that is not public"),
]


@pytest.fixture
def admin(start_portal):
    portal = start_portal()  # WEBHOOK_ALLOWED_HOSTS not set: public addresses only
    return portal, demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])


def url_error(response) -> str:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] and error["message"]
    [message] = error["fields"]["url"]
    return message


def test_a_channel_to_a_special_address_is_refused_and_a_public_one_accepted(admin):
    portal, token = admin
    portal.ok("POST", "/api/v1/ops/teams", token, status=201, json={"name": "network"})
    for url, says in TARGETS:
        message = url_error(portal("POST", "/api/v1/ops/teams/network/channels", token,
                                   json={"type": "webhook", "url": url}))
        assert says in message and "WEBHOOK_ALLOWED_HOSTS" in message
    assert portal.ok("GET", "/api/v1/ops/teams/network/channels", token)["data"] == []
    created = portal.ok("POST", "/api/v1/ops/teams/network/channels", token, status=201,
                        json={"type": "webhook", "url": "https://8.8.8.8/hooks/T0001"})
    assert created["url"] == "https://8.8.8.8/hooks/T0001"


def test_a_team_with_a_channel_to_a_special_address_is_not_created(admin):
    portal, token = admin
    message = url_error(portal("POST", "/api/v1/ops/teams", token, json={
        "name": "sneaky", "channels": [{"type": "bus"},
                                       {"type": "webhook", "url": TARGETS[0][0]}]}))
    assert TARGETS[0][1] in message
    assert portal("GET", "/api/v1/ops/teams/sneaky", token).status_code == 404


def test_an_allow_listed_loopback_receiver_is_accepted(start_portal):
    receiver = WebhookReceiver()
    try:
        portal = start_portal(WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
        token = demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])
        portal.ok("POST", "/api/v1/ops/teams", token, status=201, json={
            "name": "local", "channels": [{"type": "webhook", "url": receiver.url}]})
        # what the list does not name is refused as before
        message = url_error(portal("POST", "/api/v1/ops/teams/local/channels", token,
                                   json={"type": "webhook", "url": TARGETS[0][0]}))
        assert TARGETS[0][1] in message
    finally:
        receiver.close()
