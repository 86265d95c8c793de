"""The delivery engine's rules, in process: backoff and jitter bounds, webhook signatures,
what ops listings show (never a secret), channel validation, dedup keys (SQLite in memory;
the sending paths run against real servers in tests/integration/test_notifier_delivery.py)."""

import datetime as dt
import json
import random

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common import errors
from services.common.db import KERNEL, Component, make_engine, migrate
from services.notifier import alerts, deliveries, senders
from services.notifier.models import MIGRATIONS, Base, Delivery

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
SECRET = "whsec_unit-test-secret"


@pytest.fixture
def session():
    engine = make_engine("sqlite://")
    migrate(engine, [KERNEL, Component("notifier", Base.metadata, MIGRATIONS)])
    with Session(engine, expire_on_commit=False) as s:
        yield s
    engine.dispose()


class Extreme(random.Random):
    """A random source that always draws the lowest or the highest value."""

    def __init__(self, high: bool) -> None:
        super().__init__(0)
        self.high = high

    def uniform(self, a, b):
        return b if self.high else a


# backoff ------------------------------------------------------------------------------------

def test_backoff_doubles_from_two_seconds_with_equal_jitter_and_is_capped_at_ten_minutes():
    expected_steps = [2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600, 600, 600, 600, 600]
    for attempts, step in enumerate(expected_steps, start=1):
        assert deliveries.backoff_bounds(attempts) == (step / 2, step)
        assert deliveries.backoff(attempts, Extreme(high=False)) == step / 2
        assert deliveries.backoff(attempts, Extreme(high=True)) == step
    assert deliveries.backoff(1000, Extreme(high=True)) == deliveries.BACKOFF_CAP


def test_backoff_draws_spread_over_the_whole_jitter_window():
    rng = random.Random(7)
    for attempts in (1, 3, 9, 12):
        low, high = deliveries.backoff_bounds(attempts)
        draws = [deliveries.backoff(attempts, rng) for _ in range(500)]
        assert all(low <= d <= high for d in draws)
        # spread out, not one value: a burst's retries do not come back together
        assert max(draws) - min(draws) > (high - low) * 0.8


def test_a_delivery_is_retried_for_half_an_hour_to_an_hour_before_it_is_dead():
    waits = [deliveries.backoff_bounds(n) for n in range(1, deliveries.MAX_ATTEMPTS)]
    shortest, longest = sum(w[0] for w in waits), sum(w[1] for w in waits)
    assert 30 * 60 < shortest < longest < 70 * 60


# signatures ---------------------------------------------------------------------------------

def test_a_signed_body_verifies_and_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    import hashlib
    import hmac

    body = b'{"text":"[CRITICAL] down"}'
    signature = senders.sign(SECRET, 1767000000, body)
    assert signature == "sha256=" + hmac.new(SECRET.encode(), b"1767000000." + body,
                                             hashlib.sha256).hexdigest()
    assert senders.verify(SECRET, "1767000000", signature, body, now=1767000000 + 10)
    assert senders.verify(SECRET, "1767000000", signature, body.decode(), now=1767000000)


@pytest.mark.parametrize(("timestamp", "signature", "body", "secret"), [
    ("1767000000", None, b'{"text":"[CRITICAL] up"}', SECRET),  # tampered body
    ("1767000001", None, None, SECRET),  # another timestamp than the one signed
    ("1767000000", None, None, "whsec_another"),  # another secret
    ("1767000000", "sha256=00", None, SECRET),  # a made-up signature
    ("1767000000", "", None, SECRET),
    ("yesterday", None, None, SECRET),
    (None, None, None, SECRET),
])
def test_a_tampered_or_forged_webhook_fails_verification(timestamp, signature, body, secret):
    original = b'{"text":"[CRITICAL] down"}'
    good = senders.sign(SECRET, 1767000000, original)
    assert not senders.verify(secret, timestamp, good if signature is None else signature,
                              original if body is None else body, now=1767000000)


def test_an_old_or_future_timestamp_fails_even_with_a_valid_signature():
    body = b"{}"
    signature = senders.sign(SECRET, 1767000000, body)
    assert senders.verify(SECRET, "1767000000", signature, body, now=1767000000 + 300)
    assert not senders.verify(SECRET, "1767000000", signature, body, now=1767000000 + 301)
    assert not senders.verify(SECRET, "1767000000", signature, body, now=1767000000 - 301)
    assert senders.verify(SECRET, "1767000000", signature, body, tolerance_s=3600,
                          now=1767000000 + 3000)


def test_the_webhook_request_carries_a_verifiable_signature_and_the_dedup_key():
    sender = senders.Senders({})
    delivery = deliveries.Outgoing("dlv_1", "alert", "webhook", "https://hooks.example/x",
                                   "", "", {"text": "hi", "alert": {"id": "alr_1"}}, SECRET,
                                   "k:1", 0)
    body, headers = sender.webhook_request(delivery, timestamp=1767000000)
    assert json.loads(body) == {"text": "hi", "alert": {"id": "alr_1"}}
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Portal-Dedup-Key"] == "k:1"
    assert senders.verify(SECRET, headers["X-Portal-Timestamp"],
                          headers["X-Portal-Signature"], body, now=1767000000)


def test_the_email_carries_the_dedup_key_and_a_message_id_derived_from_it():
    sender = senders.Senders({"SMTP_FROM": "Portal <noreply@portal.example>"})
    delivery = deliveries.Outgoing("dlv_1", "customer", "email", "ann@example.com",
                                   "Your invoice", "Hello Ann", {}, None, "invoice:1", 0)
    first, second = sender.build_email(delivery), sender.build_email(delivery)
    assert first["X-Portal-Dedup-Key"] == "invoice:1"
    assert first["Message-ID"] == second["Message-ID"]
    assert first["Message-ID"].endswith("@portal.example>")
    assert (first["From"], first["To"], first["Subject"]) == (
        "Portal <noreply@portal.example>", "ann@example.com", "Your invoice")


# what ops see -------------------------------------------------------------------------------

def test_dump_never_shows_the_webhook_secret_nor_the_credential_in_its_url():
    url = "https://hooks.slack.example/services/T000/B000/XXXXsecretpath?token=abc"
    delivery = Delivery(id="dlv_1", kind="alert", channel="webhook", target=url,
                        subject="[critical] down", body="", payload={"text": "x"},
                        secret=SECRET, dedup_key="k:1", priority=0, status="dead",
                        attempts=15, next_attempt_at=NOW, last_error="HTTP 500",
                        created_at=NOW, sent_at=None)
    shown = deliveries.dump(delivery)
    assert set(shown) >= {"id", "kind", "channel", "target", "subject", "status", "attempts",
                          "next_attempt_at", "last_error", "created_at", "sent_at", "dedup_key"}
    text = json.dumps(shown)
    assert SECRET not in text and "secretpath" not in text and "abc" not in text
    assert shown["target"] == "https://hooks.slack.example/…"
    assert shown["next_attempt_at"] == "2026-03-01T09:00:00Z"


def test_channels_are_listed_without_their_secret_which_is_shown_once(session):
    created = alerts.create_channel(session, "network",
                                    {"type": "webhook", "url": "https://h.example/a/b"}, NOW)
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 40
    assert created["url"] == "https://h.example/a/b"
    listed = alerts.list_channels(session, "network")["data"]
    assert [c["id"] for c in listed] == [created["id"]]
    assert created["secret"] not in json.dumps(listed)
    assert listed[0]["url"] == "https://h.example/…"


@pytest.mark.parametrize(("request_", "field"), [
    ({"type": "webhook"}, "url"),
    ({"type": "webhook", "url": "ftp://files.example/x"}, "url"),
    ({"type": "webhook", "url": "https://h.example/" + "a" * 500}, "url"),
    ({"type": "email"}, "address"),
    ({"type": "email", "address": "not an address"}, "address"),
    ({"type": "bus", "url": "https://h.example/"}, "url"),
    ({"type": "sms"}, "type"),
    ({"type": "bus", "colour": "red"}, "colour"),
])
def test_a_bad_channel_is_refused_with_the_field_named(session, request_, field):
    with pytest.raises(errors.InvalidArgument) as exc:
        alerts.create_channel(session, "network", request_, NOW)
    assert field in exc.value.fields


def test_a_team_name_that_would_break_the_routing_key_is_refused(session):
    for team in ("net.ops", "net*", "#", "", "net ops"):
        with pytest.raises(errors.InvalidArgument) as exc:
            alerts.create_channel(session, team, {"type": "bus"}, NOW)
        assert "team" in exc.value.fields


def test_a_deleted_channel_is_not_listed_and_a_missing_one_is_not_found(session):
    channel = alerts.create_channel(session, "billing", {"type": "bus"}, NOW)
    assert alerts.delete_channel(session, channel["id"])["active"] is False
    assert alerts.list_channels(session, "billing")["data"] == []
    with pytest.raises(errors.NotFound):
        alerts.delete_channel(session, "chn_missing")


# enqueue and alerts (no sending) -------------------------------------------------------------

def test_enqueue_adds_once_per_dedup_key(session):
    first = deliveries.enqueue(session, kind="customer", channel="email",
                               target="ann@example.com", subject="Hi", body="Hello",
                               dedup_key="welcome:cus_1", now=NOW, customer_id="cus_1")
    again = deliveries.enqueue(session, kind="customer", channel="email",
                               target="ann@example.com", subject="Hi", body="Hello",
                               dedup_key="welcome:cus_1", now=NOW, customer_id="cus_1")
    session.commit()
    assert first.startswith("dlv_") and again is None
    assert session.scalar(select(func.count()).select_from(Delivery)) == 1
    row = session.get(Delivery, first)
    assert (row.status, row.attempts, row.next_attempt_at) == ("pending", 0, NOW)


def test_enqueue_many_skips_known_keys_and_returns_the_new_ids(session):
    deliveries.enqueue(session, kind="broadcast", channel="email", target="a@example.com",
                       dedup_key="bc:1:a", now=NOW, priority=1)
    added = deliveries.enqueue_many(session, [
        {"kind": "broadcast", "channel": "email", "target": f"{name}@example.com",
         "subject": "News", "body": "…", "dedup_key": f"bc:1:{name}", "priority": 1}
        for name in ("a", "b", "c")], NOW)
    session.commit()
    assert len(added) == 2
    assert session.scalar(select(func.count()).select_from(Delivery)) == 3


def test_an_alert_goes_to_every_active_channel_of_its_team_in_its_shape(session):
    hook = alerts.create_channel(session, "network",
                                 {"type": "webhook", "url": "https://h.example/hook"}, NOW)
    mail = alerts.create_channel(session, "network",
                                 {"type": "email", "address": "noc@example.com"}, NOW)
    bus = alerts.create_channel(session, "network", {"type": "bus"}, NOW)
    gone = alerts.create_channel(session, "network", {"type": "bus"}, NOW)
    alerts.delete_channel(session, gone["id"])
    alerts.create_channel(session, "billing", {"type": "bus"}, NOW)

    raised = alerts.raise_alert(session, "network", "critical", "Berlin <north> down",
                                "12 tickets & counting", {"region": "BE", "tickets": 12},
                                "incident:7:open", NOW)
    session.commit()
    assert raised["duplicate"] is False and len(raised["deliveries"]) == 3
    rows = {d.channel: d for d in session.scalars(select(Delivery))}
    assert {d.channel_id for d in rows.values()} == {hook["id"], mail["id"], bus["id"]}
    webhook = rows["webhook"]
    assert webhook.secret == hook["secret"] and webhook.kind == "alert"
    assert webhook.dedup_key == f"incident:7:open:{hook['id']}"
    assert webhook.payload["text"] == \
        "[CRITICAL] Berlin &lt;north&gt; down: 12 tickets &amp; counting"
    assert webhook.payload["alert"] == raised["alert"]
    assert raised["alert"]["fields"] == {"region": "BE", "tickets": 12}
    assert rows["bus"].target == "network.critical"
    assert rows["bus"].payload == webhook.payload and rows["bus"].secret is None
    assert rows["email"].subject == "[critical] Berlin <north> down"
    assert "region: BE" in rows["email"].body and "tickets: 12" in rows["email"].body

    again = alerts.raise_alert(session, "network", "critical", "Berlin down", "", {},
                               "incident:7:open", NOW)
    session.commit()
    assert again == {"alert": raised["alert"], "deliveries": [], "duplicate": True}
    assert session.scalar(select(func.count()).select_from(Delivery)) == 3


def test_a_bad_alert_is_refused_with_the_fields_named(session):
    with pytest.raises(errors.InvalidArgument) as exc:
        alerts.raise_alert(session, "network", "fatal", "", "x", {"nested": {"a": 1}},
                           "k" * 251, NOW)
    assert {"severity", "title", "dedup_key"} <= set(exc.value.fields)
    assert any(name.startswith("fields") for name in exc.value.fields)


def test_page_filters_failing_and_dead_and_pages_newest_first(session):
    ids = []
    for n in range(5):
        ids.append(deliveries.enqueue(session, kind="customer", channel="email",
                                      target="a@example.com", dedup_key=f"k{n}",
                                      now=NOW + dt.timedelta(seconds=n)))
    session.commit()
    failing, dead = session.get(Delivery, ids[1]), session.get(Delivery, ids[3])
    failing.attempts, failing.last_error = 2, "SMTP down"
    dead.status, dead.attempts = "dead", deliveries.MAX_ATTEMPTS
    session.commit()

    first = deliveries.page(session, limit=2)
    assert [d["id"] for d in first["data"]] == [ids[4], ids[3]] and first["has_more"]
    rest = deliveries.page(session, limit=10, cursor=first["next_cursor"])
    assert [d["id"] for d in rest["data"]] == [ids[2], ids[1], ids[0]]
    assert not rest["has_more"] and rest["next_cursor"] is None
    assert [d["id"] for d in deliveries.page(session, status="failing")["data"]] == [ids[1]]
    assert [d["id"] for d in deliveries.page(session, status="dead")["data"]] == [ids[3]]
    for bad in ({"status": "lost"}, {"limit": 0}, {"cursor": "%%%"}):
        with pytest.raises(errors.InvalidArgument):
            deliveries.page(session, **bad)

    assert deliveries.retry(session, ids[3], NOW)["status"] == "pending"
    assert session.get(Delivery, ids[3]).attempts == 0
    with pytest.raises(errors.Conflict):
        deliveries.retry(session, ids[0], NOW)  # pending, never failed
    with pytest.raises(errors.NotFound):
        deliveries.retry(session, "dlv_missing", NOW)
