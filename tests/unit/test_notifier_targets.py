"""Where team webhooks may connect (SSRF): special addresses are refused at channel creation
and at every send unless allow-listed (`WEBHOOK_ALLOWED_HOSTS`), and a host name is resolved
once per send and connected to by the checked address, so a DNS answer that changes between
creation and send, or between check and connect, leads nowhere private. In process: SQLite in
memory, a scripted resolver standing in for DNS, a real HTTP server on loopback as the private
service an attacker would aim at. The sending paths' real-part tests are in
tests/integration/test_notifier_delivery.py."""

import datetime as dt
import http.server
import ipaddress
import threading

import pytest
from sqlalchemy.orm import Session

from services.common import errors
from services.common.db import KERNEL, Component, make_engine, migrate
from services.notifier import alerts, deliveries, senders, transactions
from services.notifier.models import MIGRATIONS, Base, Delivery
from services.notifier.targets import TargetRefused, WebhookTargets, special_kind

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
PUBLIC = "93.184.215.14"  # a globally routable address (nothing connects to it here)


@pytest.fixture
def session():
    engine = make_engine("sqlite://")
    migrate(engine, [KERNEL, Component("notifier", Base.metadata, MIGRATIONS)])
    with Session(engine, expire_on_commit=False) as s:
        yield s
    engine.dispose()


@pytest.fixture
def private_service():
    """What an attacker aims at: an HTTP service on loopback that records every request."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"AccessKeyId": "ASIA-not-for-you"}')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port, hits
    server.shutdown()
    server.server_close()


class ScriptedDns:
    """DNS whose answer for a name the test changes (a rebinding attacker's server)."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers, self.asked = answers, []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.answers:
            raise OSError(f"{host}: no such name")
        return list(self.answers[host])


@pytest.mark.parametrize("address, kind", [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("169.254.169.254", "link-local"),
    ("fe80::1", "link-local"), ("10.1.2.3", "private"), ("192.168.0.9", "private"),
    ("172.16.5.5", "private"), ("fd00::7", "private"), ("0.0.0.0", "unspecified"),  # noqa: S104
    ("224.0.0.1", "multicast"), ("100.64.0.1", "not globally routable"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
    ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
    ("2002:a00:1::", "private"),  # 6to4 of 10.0.0.1
    ("8.8.8.8", None), ("2001:4860:4860::8888", None), (PUBLIC, None),
])
def test_special_addresses_are_named_and_public_ones_pass(address, kind):
    assert special_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize("url, says", [
    ("http://169.254.169.254/latest/meta-data/iam/security-credentials/",
     "169.254.169.254 is not a public address (link-local)"),
    ("http://127.0.0.1:15672/api/definitions", "127.0.0.1 is not a public address (loopback)"),
    ("http://[::1]:15672/", "::1 is not a public address (loopback)"),
    ("http://10.0.0.5/hook", "10.0.0.5 is not a public address (private)"),
    ("http://2130706433/", "127.0.0.1 is not a public address (loopback)"),  # spelt otherwise
    ("http://localhost:15672/", "localhost resolves to an address that is not public"),
    ("http://admin.localhost/", "admin.localhost resolves to an address that is not public"),
    # spellings the URL check already refuses (a resolver might read them as 127.0.0.1)
    ("http://[::ffff:127.0.0.1]/", "URL"), ("http://0x7f.1/", "URL"),
    ("http://127.1:15672/", "URL"),
])
def test_a_channel_to_a_special_address_is_refused_with_a_url_field_error(session, url, says):
    targets = WebhookTargets(resolve=ScriptedDns({"localhost": ["127.0.0.1"]}))
    with pytest.raises(errors.InvalidArgument) as refused:
        alerts.create_channel(session, "network", {"type": "webhook", "url": url}, NOW, targets)
    [message] = refused.value.fields["url"]
    assert says in message
    assert alerts.list_channels(session)["data"] == []


@pytest.mark.parametrize("host", ["[::ffff:127.0.0.1]", "0x7f.1", "127.1", "2130706433",
                                  "[64:ff9b::a9fe:a9fe]", "0.0.0.0"])  # noqa: S104
def test_every_spelling_of_a_special_address_is_refused_by_the_target_check(host):
    with pytest.raises(TargetRefused, match="WEBHOOK_ALLOWED_HOSTS"):
        WebhookTargets(resolve=ScriptedDns({})).check_url(f"http://{host}:15672/")


def test_a_host_name_resolving_to_a_private_address_is_refused_without_saying_which(session):
    dns = ScriptedDns({"metadata.attacker.example": ["8.8.8.8", "169.254.169.254"]})
    with pytest.raises(errors.InvalidArgument) as refused:
        alerts.create_channel(session, "network", {
            "type": "webhook", "url": "https://metadata.attacker.example/x"}, NOW,
            WebhookTargets(resolve=dns))
    [message] = refused.value.fields["url"]
    assert "resolves to an address that is not public (link-local)" in message
    assert "169.254" not in message  # the private network's map stays private


def test_allow_listed_addresses_networks_and_names_are_accepted(session):
    targets = WebhookTargets.from_config(
        "127.0.0.1, 10.20.0.0/16 fd00::/8,alerts.corp.example *.ops.example",
        resolve=ScriptedDns({"alerts.corp.example": ["10.99.0.1"],
                             "pager.ops.example": ["192.168.1.1"],
                             "other.example": ["10.21.0.1"]}))
    for url in ("http://127.0.0.1:9000/hook", "http://10.20.3.4/", "http://[fd00::5]/",
                "https://alerts.corp.example/hook", "https://pager.ops.example/"):
        alerts.create_channel(session, "network", {"type": "webhook", "url": url}, NOW,
                              targets)
    for url in ("http://127.0.0.2/", "http://10.21.0.1/", "https://other.example/",
                "http://169.254.169.254/"):
        with pytest.raises(errors.InvalidArgument):
            alerts.create_channel(session, "network", {"type": "webhook", "url": url}, NOW,
                                  targets)


def test_a_name_that_does_not_resolve_yet_is_accepted_and_checked_at_send(session):
    created = alerts.create_channel(session, "network", {
        "type": "webhook", "url": "https://hooks.later.example/x"}, NOW,
        WebhookTargets(resolve=ScriptedDns({})))
    assert created["url"] == "https://hooks.later.example/x"


@pytest.mark.parametrize("entry", ["not a host!", "10.0.0.0/33", "http://x.example/"])
def test_an_allow_list_entry_that_is_nothing_valid_stops_the_service(entry):
    with pytest.raises(ValueError, match="WEBHOOK_ALLOWED_HOSTS"):
        senders.Senders({"WEBHOOK_ALLOWED_HOSTS": entry})


def test_a_name_rebound_to_loopback_after_creation_is_refused_at_send_and_nothing_connects(
        session, private_service):
    port, hits = private_service
    dns = ScriptedDns({"hooks.attacker.example": [PUBLIC]})
    targets = WebhookTargets(resolve=dns)
    alerts.create_channel(session, "network", {
        "type": "webhook", "url": f"http://hooks.attacker.example:{port}/steal"}, NOW, targets)
    alerts.raise_alert(session, "network", "critical", "Down", "", {}, "k1", NOW)
    session.commit()

    dns.answers["hooks.attacker.example"] = ["127.0.0.1"]  # the attacker's DNS changes
    sender = senders.Senders({"WEBHOOK_TIMEOUT_SECONDS": 2})
    sender.targets = targets
    counts = transactions.send_due(session, sender, NOW)
    assert counts["dead"] == 1 and hits == []
    [row] = session.query(Delivery).all()
    assert row.status == "dead" and row.attempts == 1
    assert row.last_error.startswith(f"webhook http://hooks.attacker.example:{port}/… refused:")
    assert "resolves to an address that is not public (loopback)" in row.last_error
    assert "ASIA" not in row.last_error


def test_a_name_with_one_private_address_among_public_ones_is_refused_at_send(
        private_service):
    port, hits = private_service
    sender = senders.Senders({"WEBHOOK_TIMEOUT_SECONDS": 2})
    sender.targets = WebhookTargets(resolve=ScriptedDns({"mixed.example": [PUBLIC,
                                                                           "127.0.0.1"]}))
    delivery = deliveries.Outgoing("dlv_1", "alert", "webhook",
                                   f"http://mixed.example:{port}/x", "", "", {}, None, "k", 0)
    with pytest.raises(senders.DeliveryFailed) as failed:
        sender.send(delivery)
    assert failed.value.permanent and hits == []


def test_an_allow_listed_name_is_connected_to_by_the_address_it_resolved_to(private_service):
    """The name is resolved once: the sender connects to that address (never the name
    again), with the name in the Host header."""
    port, hits = private_service
    dns = ScriptedDns({"alerts.corp.example": ["127.0.0.1"]})
    sender = senders.Senders({"WEBHOOK_TIMEOUT_SECONDS": 2})
    sender.targets = WebhookTargets.from_config("alerts.corp.example", resolve=dns)
    delivery = deliveries.Outgoing("dlv_1", "alert", "webhook",
                                   f"http://alerts.corp.example:{port}/hook?x=1", "", "",
                                   {"text": "hi"}, "whsec_x", "k", 0)
    sender.send(delivery)
    assert hits == ["/hook?x=1"] and dns.asked == ["alerts.corp.example"]


def test_check_url_refuses_what_is_not_http_with_a_host():
    for url in ("ftp://x.example/", "http:///nohost", "http://[::1/"):
        with pytest.raises(TargetRefused):
            WebhookTargets().check_url(url)
