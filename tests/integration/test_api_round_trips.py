"""What a client reads it can send back, and a day is written as a day: through the gateway and
the real services (RabbitMQ, PostgreSQL). Also the card fingerprint billing stores, keyed with
SECRET_KEY."""

import datetime as dt
import hashlib
import hmac
import uuid

import sqlalchemy as sa

from deploy import demo
from services.billing.money.provider import FINGERPRINT_PURPOSE
from services.common import config as keys
from services.common.db import normalize_url

PREFS = "/api/v1/me/notification-preferences"


def by_topic(body: dict) -> dict:
    return {item["topic"]: item for item in body["preferences"]}


def test_notification_preferences_read_can_be_sent_back(start_portal):
    portal = start_portal()
    token = portal.customer()
    read = portal.ok("GET", PREFS, token)
    assert {"topic", "label", "locked", "portal", "email"} <= set(read["preferences"][0])
    # exactly what GET answered, label and locked included: nothing changes
    assert portal.ok("PUT", PREFS, token, json=read) == read
    # the same shape, changed: e-mail about bills off, promotions in the mailbox on
    changed = by_topic(read)
    changed["billing"]["email"] = False
    changed["promotions"] = {**changed["promotions"], "email": True, "label": "ignored",
                             "locked": True}
    written = portal.ok("PUT", PREFS, token, json={"preferences": list(changed.values())})
    assert by_topic(written)["billing"] == {**by_topic(read)["billing"], "email": False}
    assert by_topic(written)["promotions"]["email"] is True
    assert by_topic(written)["promotions"]["locked"] is False  # read-only: ignored
    assert portal.ok("GET", PREFS, token) == written
    # a topic with one channel only, and the old shape, still work
    one = portal.ok("PUT", PREFS, token, json={"preferences": [
        {"topic": "wallet", "portal": False},
        {"topic": "billing", "channel": "email", "enabled": True}]})
    assert (by_topic(one)["wallet"]["portal"], by_topic(one)["wallet"]["email"]) == (False, True)
    assert by_topic(one)["billing"]["email"] is True


def test_preferences_in_either_shape_are_validated(start_portal):
    portal = start_portal()
    token = portal.customer()
    before = portal.ok("GET", PREFS, token)
    locked = portal("PUT", PREFS, token, json={"preferences": [
        {"topic": "account", "label": "Account and security", "locked": True, "portal": False,
         "email": True}]})
    assert locked.status_code == 409 and locked.json()["error"]["code"] == "PREFERENCE_LOCKED"
    for item, field in [({"topic": "billing", "channel": "email", "enabled": True,
                          "portal": True}, "portal"),
                        ({"topic": "billing", "label": "Bills"}, "channel"),
                        ({"topic": "billing", "channel": "email"}, "enabled"),
                        ({"topic": "billing", "portal": "maybe"}, "portal"),
                        ({"topic": "billing", "email": True, "colour": "red"}, "colour")]:
        refused = portal("PUT", PREFS, token, json={"preferences": [item]})
        assert refused.status_code == 400, (item, refused.text)
        error = refused.json()["error"]
        assert error["code"] == "VALIDATION_FAILED" and any(
            name.endswith(field) for name in error["fields"]), (item, error)
    assert portal.ok("GET", PREFS, token) == before


def test_a_voucher_batch_is_valid_until_the_end_of_a_plain_date(start_portal):
    portal = start_portal()
    admin = demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])
    day = (dt.datetime.now(dt.UTC) + dt.timedelta(days=400)).date()
    body = {"type": "print", "value": {"amount": 1000, "currency": "EUR"}, "count": 3,
            "valid_from": (day - dt.timedelta(days=30)).isoformat(),
            "valid_until": day.isoformat()}
    made = portal("POST", "/api/v1/ops/voucher-batches", admin, json=body,
                  headers={"Idempotency-Key": uuid.uuid4().hex})
    assert made.status_code == 202, made.text
    batch = made.json()
    assert batch["valid_until"] == f"{day.isoformat()}T23:59:59Z"
    assert batch["valid_from"] == f"{(day - dt.timedelta(days=30)).isoformat()}T00:00:00Z"
    assert portal.ok("GET", f"/api/v1/ops/voucher-batches/{batch['id']}", admin)[
        "valid_until"] == batch["valid_until"]
    # a time is still taken as it is; a date that does not exist is a field error
    timed = portal("POST", "/api/v1/ops/voucher-batches", admin, headers={
        "Idempotency-Key": uuid.uuid4().hex}, json={
        **{k: v for k, v in body.items() if k != "valid_from"},
        "valid_until": f"{day}T12:00:00+02:00"})
    assert timed.status_code == 202 and timed.json()["valid_until"] == f"{day}T10:00:00Z"
    for bad in ("2027-02-30", "31.12.2027", f"{day}T12:00:00"):
        refused = portal("POST", "/api/v1/ops/voucher-batches", admin, json={
            **body, "valid_until": bad}, headers={"Idempotency-Key": uuid.uuid4().hex})
        assert refused.status_code == 400, (bad, refused.text)
        assert list(refused.json()["error"]["fields"]) == ["valid_until"], refused.text


def test_billing_stores_a_card_fingerprint_keyed_with_secret_key(start_portal):
    portal = start_portal()
    token = portal.customer()
    number = "4242424242424242"
    added = portal.ok("POST", "/api/v1/me/payment-methods", token, status=201, json={
        "number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123", "holder": "Ann"})
    engine = sa.create_engine(normalize_url(portal.database_urls["billing"]),
                              poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        stored = conn.scalar(sa.text("SELECT fingerprint FROM payment_methods WHERE id = :id"),
                             {"id": added["id"]})
    engine.dispose()
    key = keys.derived_key(portal.config, FINGERPRINT_PURPOSE)
    assert stored == hmac.new(key, number.encode(), hashlib.sha256).hexdigest()[:24]
    assert stored != hashlib.sha256(f"sandbox:{number}".encode()).hexdigest()[:24]
