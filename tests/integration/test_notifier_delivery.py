"""The delivery engine and team alerts against real parts: PostgreSQL (a fresh database per
test), a real SMTP server (aiosmtpd, started and stopped by the test), a real HTTP webhook
receiver (http.server in a thread), RabbitMQ (a fresh vhost), a nameko container and the
`tail_alerts` console command in its own process. Time moves by injected `now`, never sleep."""

import datetime as dt
import email
import email.policy
import http.server
import json
import pathlib
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import pika
import pytest
import requests
from aiosmtpd.controller import Controller
from nameko.rpc import rpc
from nameko.testing.services import entrypoint_hook
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.common import errors
from services.common.db import KERNEL, Component, Database, find_database, make_engine, migrate
from services.notifier import alerts, deliveries, senders, transactions
from services.notifier.models import MIGRATIONS, Base, Delivery
from services.notifier.senders import Senders, SendersProvider
from services.notifier.targets import WebhookTargets
from tests.integration.conftest import eventually
from tests.stack import free_port, management_uri

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
LOOPBACK = "127.0.0.1"  # WEBHOOK_ALLOWED_HOSTS: the receivers these tests start
pytestmark = pytest.mark.postgres


# real parts ---------------------------------------------------------------------------------

class MailCatcher:
    """An SMTP server (aiosmtpd) on a fixed free port that keeps every message it accepts;
    `stop()` takes it down (connections refused), `start()` brings it back on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[email.message.EmailMessage] = []
        self.peers: list[tuple] = []  # the client (address, port) of each message: its session
        self.controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        self.peers.append(tuple(session.peer))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        # a Controller cannot be restarted (its loop is closed at stop): a new one each time
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def dedup_keys(self) -> list[str]:
        return [m["X-Portal-Dedup-Key"] for m in self.messages]


class WebhookReceiver:
    """A real HTTP server in a thread: answers POSTs with the statuses of `script` in turn,
    then `then`; records (headers, body, status) of every request."""

    def __init__(self, script=(), then=200, delay=0.0) -> None:
        self.script, self.then, self.delay = list(script), then, delay
        self.requests: list[tuple[dict, bytes, int]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.delay:  # a receiver's pace: the two senders overlap meanwhile
                    time.sleep(receiver.delay)
                with receiver.lock:
                    status = receiver.script.pop(0) if receiver.script else receiver.then
                    receiver.requests.append((dict(self.headers), body, status))
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"receiver says no")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/T0001/secret-part"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> list[tuple[dict, bytes, int]]:
        return [r for r in self.requests if 200 <= r[2] < 300]


@pytest.fixture
def db_url(new_pg_url):
    return new_pg_url()


@pytest.fixture
def Session(db_url):  # noqa: N802 - a session factory, named like one
    engine = make_engine(db_url)
    migrate(engine, [KERNEL, Component("notifier", Base.metadata, MIGRATIONS)])
    yield sessionmaker(bind=engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def smtp():
    catcher = MailCatcher()
    catcher.start()
    yield catcher
    catcher.stop()


@pytest.fixture
def receivers():
    made = []

    def make(**kwargs) -> WebhookReceiver:
        made.append(WebhookReceiver(**kwargs))
        return made[-1]
    yield make
    for receiver in made:
        receiver.close()


@pytest.fixture
def config(smtp):
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp.port,
            "SMTP_FROM": "Portal <noreply@portal.example>", "SMTP_TIMEOUT_SECONDS": 5,
            "WEBHOOK_TIMEOUT_SECONDS": 5, "WEBHOOK_ALLOWED_HOSTS": LOOPBACK}


@pytest.fixture
def make_senders(config):
    made = []

    def make(**overrides) -> Senders:
        made.append(Senders({**config, **overrides}))
        return made[-1]
    yield make
    for sender in made:
        sender.close()


def row(Session, delivery_id) -> Delivery:  # noqa: N803
    with Session() as s:
        return s.get(Delivery, delivery_id)


def enqueue_emails(Session, count, prefix="burst"):  # noqa: N803
    with Session() as s:
        ids = [deliveries.enqueue(s, kind="customer", channel="email",
                                  target=f"customer{n}@example.com",
                                  subject=f"Invoice {n} issued", body=f"Hello customer {n}",
                                  dedup_key=f"{prefix}:{n}", now=NOW, customer_id=f"cus_{n}")
               for n in range(count)]
        s.commit()
    return ids


def webhook_alert(Session, receiver, dedup_key="incident:42:open"):  # noqa: N803
    with Session() as s:
        channel = alerts.create_channel(s, "network", {"type": "webhook", "url": receiver.url},
                                        NOW, WebhookTargets.from_config(LOOPBACK))
        raised = alerts.raise_alert(s, "network", "critical", "Berlin north down",
                                    "12 customers without TV", {"region": "BE-N",
                                                                "tickets": 12}, dedup_key, NOW)
        s.commit()
    return channel, raised


# e-mail -------------------------------------------------------------------------------------

def test_smtp_down_during_a_burst_delays_every_email_and_sends_each_once(
        Session, smtp, make_senders):  # noqa: N803
    sender = make_senders()
    ids = enqueue_emails(Session, 30)
    with Session() as s:  # the first ten go out at once
        assert transactions.send_now(s, sender, ids[:10], NOW)["sent"] == 10
    assert len(smtp.messages) == 10

    smtp.stop()
    with Session() as s:
        counts = transactions.send_due(s, sender, NOW)
    assert (counts["sent"], counts["failed"], counts["dead"]) == (0, 20, 0)
    for delivery_id in ids[10:]:
        failed = row(Session, delivery_id)
        assert (failed.status, failed.attempts) == ("pending", 1)
        assert "unreachable" in failed.last_error
        low, high = deliveries.backoff_bounds(1)
        assert NOW + dt.timedelta(seconds=low) <= failed.next_attempt_at \
            <= NOW + dt.timedelta(seconds=high)
    with Session() as s:  # nothing is due before its backoff
        assert transactions.send_due(s, sender, NOW)["failed"] == 0

    smtp.start()
    later = NOW + dt.timedelta(seconds=deliveries.backoff_bounds(1)[1])
    with Session() as s:
        counts = transactions.send_due(s, sender, later)
    assert (counts["sent"], counts["failed"]) == (20, 0)
    with Session() as s:
        assert transactions.send_due(s, sender, later + dt.timedelta(hours=2))["sent"] == 0

    assert sorted(smtp.dedup_keys()) == sorted(f"burst:{n}" for n in range(30))
    by_key = {m["X-Portal-Dedup-Key"]: m for m in smtp.messages}
    assert by_key["burst:17"]["To"] == "customer17@example.com"
    assert by_key["burst:17"]["Subject"] == "Invoice 17 issued"
    assert by_key["burst:17"].get_content().strip() == "Hello customer 17"
    sent = row(Session, ids[17])
    assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 2, later)


def test_e_mails_share_an_smtp_session_and_one_the_server_closed_is_replaced(
        Session, smtp, make_senders):  # noqa: N803
    sender = make_senders()
    ids = enqueue_emails(Session, 6)
    with Session() as s:
        for delivery_id in ids[:3]:  # one after the other: each finds the session idle
            assert transactions.send_now(s, sender, [delivery_id], NOW)["sent"] == 1
    assert len(smtp.messages) == 3 and len(set(smtp.peers)) == 1  # one connection, one EHLO

    smtp.stop()  # the server goes away and comes back: the idle session is dead
    smtp.start()
    with Session() as s:
        assert transactions.send_now(s, sender, ids[3:5], NOW)["sent"] == 2
    assert len(smtp.messages) == 5 and len(set(smtp.peers)) == 2  # a new session, no loss
    sender.close()  # and the kept session ends with the process
    assert sender._smtp_idle == []


# webhooks -----------------------------------------------------------------------------------

def test_a_webhook_answering_500_three_times_gets_the_alert_on_the_fourth_try_signed_once(
        Session, receivers, make_senders):  # noqa: N803
    receiver = receivers(script=[500, 500, 500], then=200)
    sender = make_senders()
    channel, raised = webhook_alert(Session, receiver)
    [delivery_id] = raised["deliveries"]

    now = NOW
    with Session() as s:
        assert transactions.send_now(s, sender, [delivery_id], now)["failed"] == 1
    for attempt in (2, 3, 4):
        due = row(Session, delivery_id).next_attempt_at
        assert due > now
        with Session() as s:  # a moment before it is due: nothing is sent
            counts = transactions.send_due(s, sender, due - dt.timedelta(milliseconds=1))
            assert counts["sent"] + counts["failed"] == 0
        now = due
        with Session() as s:
            counts = transactions.send_due(s, sender, now)
        assert counts["sent" if attempt == 4 else "failed"] == 1
        assert len(receiver.requests) == attempt

    with Session() as s:
        assert transactions.send_due(s, sender, now + dt.timedelta(days=1))["sent"] == 0
    assert [status for _, _, status in receiver.requests] == [500, 500, 500, 200]
    [(headers, body, _)] = receiver.accepted()
    assert senders.verify(channel["secret"], headers["X-Portal-Timestamp"],
                          headers["X-Portal-Signature"], body)
    assert not senders.verify(channel["secret"], headers["X-Portal-Timestamp"],
                              headers["X-Portal-Signature"], body.replace(b"12", b"13"))
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Portal-Dedup-Key"] == f"incident:42:open:{channel['id']}"
    assert {h["X-Portal-Dedup-Key"] for h, _, _ in receiver.requests} == \
        {headers["X-Portal-Dedup-Key"]}
    sent = json.loads(body)
    assert sent["text"] == "[CRITICAL] Berlin north down: 12 customers without TV"
    assert sent["alert"] == raised["alert"]
    assert sent["alert"]["fields"] == {"region": "BE-N", "tickets": 12}

    done = row(Session, delivery_id)
    assert (done.status, done.attempts, done.sent_at) == ("sent", 4, now)
    assert "HTTP 500" in done.last_error and "secret-part" not in done.last_error


def test_a_delivery_failing_max_attempts_times_is_dead_and_retry_brings_it_back(
        Session, receivers, make_senders):  # noqa: N803
    receiver = receivers(then=503)
    sender = make_senders()
    _, raised = webhook_alert(Session, receiver, "ticket:9:routed")
    [delivery_id] = raised["deliveries"]

    now = NOW
    for attempt in range(1, deliveries.MAX_ATTEMPTS + 1):
        with Session() as s:
            counts = transactions.send_due(s, sender, now)
        current = row(Session, delivery_id)
        assert current.attempts == attempt
        if attempt < deliveries.MAX_ATTEMPTS:
            assert counts["failed"] == 1 and current.status == "pending"
            with Session() as s:
                failing = deliveries.page(s, status="failing")["data"]
            assert [d["id"] for d in failing] == [delivery_id]
            now = current.next_attempt_at
        else:
            assert counts["dead"] == 1 and current.status == "dead"
    assert len(receiver.requests) == deliveries.MAX_ATTEMPTS
    with Session() as s:  # dead stays dead
        assert transactions.send_due(s, sender, now + dt.timedelta(days=7))["failed"] == 0
        [listed] = deliveries.page(s, status="dead")["data"]
    assert listed["id"] == delivery_id and "HTTP 503" in listed["last_error"]
    assert "secret" not in json.dumps(listed)

    receiver.then = 200
    later = now + dt.timedelta(days=1)
    with Session() as s:
        retried = deliveries.retry(s, delivery_id, later)
        s.commit()
    assert (retried["status"], retried["attempts"]) == ("pending", 0)
    with Session() as s:
        assert transactions.send_due(s, sender, later)["sent"] == 1
    assert len(receiver.accepted()) == 1
    with Session() as s, pytest.raises(errors.Conflict):
        deliveries.retry(s, delivery_id, later)  # sent: nothing to retry


def test_two_concurrent_senders_never_send_one_delivery_twice(
        Session, receivers, make_senders):  # noqa: N803
    receiver = receivers(then=200, delay=0.002)
    items = [{"kind": "broadcast", "channel": "webhook", "target": receiver.url,
              "payload": {"n": n}, "secret": "whsec_x", "dedup_key": f"load:{n}",
              "priority": 1} for n in range(120)]
    with Session() as s:
        assert len(deliveries.enqueue_many(s, items[:50], NOW)) == 50
        assert len(deliveries.enqueue_many(s, items, NOW)) == 70  # the first 50 are known
        s.commit()
    start = threading.Barrier(2)
    sent_by = {}

    def instance(name):
        sender, total = make_senders(), 0
        start.wait()
        with Session() as s:
            while True:
                counts = transactions.send_due(s, sender, NOW, limit=10)
                total += counts["sent"]
                if counts["sent"] + counts["failed"] == 0:
                    break
        sent_by[name] = total

    threads = [threading.Thread(target=instance, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    keys = [headers["X-Portal-Dedup-Key"] for headers, _, _ in receiver.requests]
    assert sorted(keys) == sorted(f"load:{n}" for n in range(120))  # each exactly once
    assert sent_by["a"] + sent_by["b"] == 120
    assert sent_by["a"] > 0 and sent_by["b"] > 0  # they shared the work
    with Session() as s:
        assert {d.status for d in s.scalars(select(Delivery))} == {"sent"}


def test_a_delivery_left_sending_by_a_dead_instance_goes_out_after_its_lease(
        Session, smtp, make_senders):  # noqa: N803
    sender = make_senders()
    [delivery_id] = enqueue_emails(Session, 1, "orphan")
    with Session() as s:  # an instance claims it, then dies before sending
        [claimed] = deliveries.claim(s, NOW, 10)
        s.commit()
    assert claimed.id == delivery_id and row(Session, delivery_id).status == "sending"

    with Session() as s:  # inside the lease: left alone
        counts = transactions.send_due(s, sender, NOW + deliveries.LEASE / 2)
    assert counts["requeued"] == 0 and smtp.messages == []
    with Session() as s:
        counts = transactions.send_due(s, sender, NOW + deliveries.LEASE)
    assert (counts["requeued"], counts["sent"]) == (1, 1)
    assert smtp.dedup_keys() == ["orphan:0"]
    done = row(Session, delivery_id)
    assert (done.status, done.attempts) == ("sent", 2)
    assert done.last_error == deliveries.INTERRUPTED


# alerts -------------------------------------------------------------------------------------

# webhook targets and answers (SSRF) ---------------------------------------------------------

class StreamingReceiver:
    """A raw HTTP server on loopback that reads one POST, then answers as `mode` says:
    `endless` (the status, then body bytes as fast as the socket takes them), `drip` (the
    status, then a body byte every 0.1 s) or `drip_head` (the status line a byte every
    0.1 s). It stops when the client hangs up, or after `limit` bytes / 60 s (a client that
    reads everything must still finish). `sent` counts the body bytes it got out."""

    def __init__(self, mode: str, status: int = 500, limit: int = 256 * 1024 * 1024) -> None:
        self.mode, self.status, self.limit = mode, status, limit
        self.sent, self.requests, self.hung_up = 0, 0, threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks/T0001/secret-part"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(65536)
            self.requests += 1
            head = f"HTTP/1.1 {self.status} Answer\r\nContent-Type: text/plain\r\n\r\n".encode()
            ends = time.monotonic() + 60  # the receiver thread's life, should the client read on
            try:
                if self.mode == "drip_head":  # the slowness under test: one byte per 0.1 s
                    for byte in head:
                        conn.sendall(bytes([byte]))
                        time.sleep(0.1)
                    return
                conn.sendall(head)
                chunk = b"x" * 65536 if self.mode == "endless" else b"x"
                while self.sent < self.limit and time.monotonic() < ends:
                    conn.sendall(chunk)
                    self.sent += len(chunk)
                    if self.mode == "drip":  # a receiver that trickles (what is tested)
                        time.sleep(0.1)
            except OSError:
                self.hung_up.set()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def streaming():
    made = []

    def make(mode, **kwargs) -> StreamingReceiver:
        made.append(StreamingReceiver(mode, **kwargs))
        return made[-1]
    yield make
    for receiver in made:
        receiver.close()


def test_a_channel_to_loopback_is_refused_at_send_once_the_allow_list_no_longer_has_it(
        Session, receivers, make_senders):  # noqa: N803
    """A host name is resolved (really: `localhost` by the system's resolver) and checked at
    every send, whatever it was when the channel was created."""
    receiver = receivers()
    url = receiver.url.replace("127.0.0.1", "localhost")
    with Session() as s:
        alerts.create_channel(s, "network", {"type": "webhook", "url": url}, NOW,
                              WebhookTargets.from_config("127.0.0.0/8"))
        [delivery_id] = alerts.raise_alert(s, "network", "critical", "Down", "", {}, "k:1",
                                           NOW)["deliveries"]
        s.commit()
    with Session() as s:  # the operator has removed loopback from WEBHOOK_ALLOWED_HOSTS
        counts = transactions.send_due(s, make_senders(WEBHOOK_ALLOWED_HOSTS=""), NOW)
    assert counts["dead"] == 1 and receiver.requests == []
    done = row(Session, delivery_id)
    assert (done.status, done.attempts) == ("dead", 1)
    assert done.last_error == (
        f"webhook http://localhost:{receiver.server.server_port}/… refused: localhost resolves "
        "to an address that is not public (loopback); webhooks go to public addresses unless "
        "WEBHOOK_ALLOWED_HOSTS lists it")
    with Session() as s:
        assert deliveries.page(s, "dead")["data"][0]["last_error"] == done.last_error


def test_an_endless_answer_is_read_up_to_64_kib_and_its_body_is_not_echoed(
        Session, streaming, make_senders):  # noqa: N803
    receiver = streaming("endless", status=500)
    sender = make_senders(WEBHOOK_TIMEOUT_SECONDS=60)  # far off: only the cap can end it
    item = deliveries.Outgoing("dlv_1", "alert", "webhook", receiver.url, "", "", {}, None,
                               "k", 0)
    answer = sender.webhook_exchange(item)
    assert answer.status == 500 and len(answer.body) == senders.WEBHOOK_MAX_RESPONSE_BYTES
    assert receiver.hung_up.wait(10)  # the connection was closed, not read on:
    assert receiver.sent < receiver.limit  # the receiver still had more to send
    with pytest.raises(senders.DeliveryFailed) as failed:
        streaming_sender = make_senders(WEBHOOK_TIMEOUT_SECONDS=10)
        streaming_sender.send(deliveries.Outgoing(
            "dlv_2", "alert", "webhook", streaming("endless", status=500).url, "", "", {},
            None, "k2", 0))
    # a private (allow-listed loopback) service's answer is not shown: only its status
    assert failed.value.message.endswith("answered HTTP 500") and "xxx" not in str(failed.value)
    assert not failed.value.permanent


def test_an_endless_2xx_answer_is_a_delivery_at_once(streaming, make_senders):
    receiver = streaming("endless", status=200)
    make_senders(WEBHOOK_TIMEOUT_SECONDS=60).send(deliveries.Outgoing(  # no deadline ends it
        "dlv_1", "alert", "webhook", receiver.url, "", "", {}, None, "k", 0))
    assert receiver.requests == 1
    assert receiver.hung_up.wait(10)  # delivered on the status: the body was not read on
    assert receiver.sent < receiver.limit


def test_one_deadline_bounds_the_whole_request_not_each_read(streaming, make_senders):
    """A receiver that answers a byte every 0.1 s never trips a per-read timeout; the one
    deadline (1 s here) ends the exchange all the same."""
    sender = make_senders(WEBHOOK_TIMEOUT_SECONDS=1)

    # the status came, the body drips: cut at the deadline, a plain failed attempt
    body_drip = streaming("drip", status=503)
    started = time.monotonic()
    with pytest.raises(senders.DeliveryFailed) as failed:
        sender.send(deliveries.Outgoing("dlv_1", "alert", "webhook", body_drip.url, "", "",
                                        {}, None, "k1", 0))
    assert 0.9 < time.monotonic() - started < 3
    assert "answered HTTP 503" in failed.value.message and not failed.value.permanent

    # the status line itself drips: no answer within the deadline, the host's scope
    head_drip = streaming("drip_head", status=200)
    started = time.monotonic()
    with pytest.raises(senders.DeliveryFailed) as failed:
        sender.send(deliveries.Outgoing("dlv_2", "alert", "webhook", head_drip.url, "", "",
                                        {}, None, "k2", 0))
    assert 0.9 < time.monotonic() - started < 3
    assert "no answer within 1s" in failed.value.message
    assert failed.value.scope == f"webhook:http://127.0.0.1:{head_drip.port}"


def test_raising_an_alert_twice_with_one_dedup_key_enqueues_once_even_concurrently(
        Session, smtp, make_senders):  # noqa: N803
    with Session() as s:
        alerts.create_channel(s, "support", {"type": "email", "address": "l2@example.com"},
                              NOW)
        alerts.create_channel(s, "support", {"type": "bus"}, NOW)
        s.commit()
    start, answers = threading.Barrier(4), []

    def raise_it():
        with Session() as s:
            start.wait()
            answers.append(alerts.raise_alert(s, "support", "warning", "Ticket waiting",
                                              "tkt_1 unacknowledged for 30 min", {},
                                              "ticket:tkt_1:escalated:1", NOW))
            s.commit()

    threads = [threading.Thread(target=raise_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(a["duplicate"] for a in answers) == [False, True, True, True]
    assert len({a["alert"]["id"] for a in answers}) == 1
    with Session() as s:
        assert len(s.scalars(select(Delivery)).all()) == 2
        again = alerts.raise_alert(s, "support", "warning", "Ticket waiting", "", {},
                                   "ticket:tkt_1:escalated:1", NOW)
        s.commit()
    assert again["duplicate"] is True and again["deliveries"] == []

    with Session() as s:
        transactions.send_due(s, make_senders(), NOW)
    [mail] = smtp.messages
    assert mail["Subject"] == "[warning] Ticket waiting"
    assert "tkt_1 unacknowledged for 30 min" in mail.get_content()


class DeliveryWorker:
    """The delivery engine in a nameko container, as the notifier runs it (eventlet, green
    sockets): proves pika's BlockingConnection publishes with confirms there."""

    name = "notifier"
    db = Database(Base.metadata, MIGRATIONS)
    senders = SendersProvider()

    @rpc
    def send_due(self, now):
        return transactions.send_due(self.db, self.senders, dt.datetime.fromisoformat(now))


def test_a_bus_alert_reaches_consumers_bound_to_its_team_and_severity(
        rabbit_config, container_factory, db_url):
    amqp_uri = rabbit_config["AMQP_URI"]
    container = container_factory(DeliveryWorker, {**rabbit_config,
                                                   "DATABASE_URLS": {"notifier": db_url}})
    container.start()

    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.exchange_declare("alerts", exchange_type="topic", durable=True)
    queues = {}
    for key in ("network.critical", "network.*", "network.warning", "billing.*"):
        queues[key] = channel.queue_declare("", exclusive=True).method.queue
        channel.queue_bind(queues[key], "alerts", routing_key=key)
    tail = subprocess.Popen(  # the console command, in a plain process (no eventlet)
        [sys.executable, "-m", "services.notifier.tail_alerts", "--team", "network",
         "--severity", "critical", "--amqp-uri", amqp_uri, "--count", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "listening on alerts: network.critical" in tail.stderr.readline()

        with find_database(container).session() as s:
            bus = alerts.create_channel(s, "network", {"type": "bus"}, NOW)
            raised = alerts.raise_alert(s, "network", "critical", "Core router down",
                                        "fra-1 unreachable", {"site": "fra-1"},
                                        "incident:9:open", NOW)
            s.commit()
        with entrypoint_hook(container, "send_due") as send_due:
            assert send_due(NOW.isoformat())["sent"] == 1

        messages = {}

        def both_routed():
            for key in ("network.critical", "network.*"):
                method, properties, body = channel.basic_get(queues[key], auto_ack=True)
                if method:
                    messages[key] = (method, properties, body)
            return len(messages) == 2
        eventually(both_routed, timeout=10, pause=0.05)
        assert set(messages) == {"network.critical", "network.*"}
        method, properties, body = messages["network.critical"]
        assert method.routing_key == "network.critical" and method.exchange == "alerts"
        assert properties.delivery_mode == 2
        assert properties.content_type == "application/json"
        dedup = f"incident:9:open:{bus['id']}"
        assert properties.message_id == dedup
        assert properties.headers["x-portal-dedup-key"] == dedup
        payload = json.loads(body)
        assert payload["text"] == "[CRITICAL] Core router down: fra-1 unreachable"
        assert payload["alert"] == raised["alert"]
        for key in ("network.warning", "billing.*"):
            assert channel.basic_get(queues[key], auto_ack=True)[0] is None

        out, err = tail.communicate(timeout=30)
        assert tail.returncode == 0, err
        assert out.strip().endswith(
            "CRITICAL network Core router down: fra-1 unreachable"), out
        assert out.startswith("2026-03-01T09:00:00Z")
    finally:
        if tail.poll() is None:
            tail.kill()
            tail.wait()
        connection.close()



def test_the_bus_sender_reconnects_after_the_broker_dropped_its_connection(
        rabbit_config, make_senders):
    amqp_uri = rabbit_config["AMQP_URI"]
    sender = make_senders(AMQP_URI=amqp_uri)
    connection = pika.BlockingConnection(pika.URLParameters(amqp_uri))
    channel = connection.channel()
    channel.exchange_declare("alerts", exchange_type="topic", durable=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, "alerts", routing_key="network.*")

    def alert(n):
        return deliveries.Outgoing(f"dlv_{n}", "alert", "bus", "network.info", "", "",
                                   {"n": n}, None, f"bus:{n}", 0)

    sender.send(alert(1))
    api = urllib.parse.urlparse(management_uri())
    base, auth = f"{api.scheme}://{api.hostname}:{api.port}/api", (api.username, api.password)
    vhost = urllib.parse.quote(rabbit_config["vhost"], safe="")

    def senders_links():
        return [conn["name"] for conn in requests.get(
            f"{base}/vhosts/{vhost}/connections", auth=auth, timeout=10).json()
            if (conn.get("client_properties") or {}).get("connection_name") ==
            "notifier senders"]

    links = eventually(senders_links, timeout=15, pause=0.2)  # listed once the broker's
    assert links                                               # statistics have it
    for name in links:  # the broker drops the sender's link: it has sent the close when it
        assert requests.delete(  # answers (it ignores what comes on that link after)
            f"{base}/connections/{urllib.parse.quote(name)}", auth=auth, timeout=10
        ).status_code == 204

    sender.send(alert(2))  # the stale connection fails; one fresh try publishes
    received = []

    def both_received():
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method:
            received.append(properties.message_id)
        return len(received) == 2
    eventually(both_received, timeout=10, pause=0.05)
    connection.close()
    assert received == ["bus:1", "bus:2"]
