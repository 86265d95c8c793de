"""The notifier's part of a GDPR export and erasure (privacy.py), in process on SQLite: what
the export lists, what forgetting deletes or erases, that a second forget changes nothing, and
that an old accounts event cannot bring the contact copy back. The same on PostgreSQL with
the services running: tests/integration/test_privacy_services_postgres.py."""

import datetime as dt
import json

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import errors
from services.common.db import KERNEL, Component, make_engine, migrate
from services.common.kernel_tables import OutboxMessage
from services.notifier import alerts, consents, customers, deliveries, privacy
from services.notifier.models import MIGRATIONS, Base, Contact, Delivery

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
EMAIL = "erika.mustermann@example.com"


@pytest.fixture
def session():
    engine = make_engine("sqlite://")
    migrate(engine, [KERNEL, Component("notifier", Base.metadata, MIGRATIONS)])
    with Session(engine, expire_on_commit=False) as s:
        yield s
    engine.dispose()


def _customer_with_data(session, customer_id="cus_1"):
    customers.remember(session, {"id": customer_id, "email": EMAIL, "language": "en",
                                 "updated_at": "2026-02-01T00:00:00Z"})
    customers.set_preferences(session, customer_id, {"preferences": [
        {"topic": "billing", "channel": "email", "enabled": False}]}, NOW)
    consents.record(session, customer_id, "promotions", True, "signup", NOW)
    account = customers.contact(session, None, customer_id)
    made = customers.notify(session, account, "ticket_opened", "evt_1", {
        "id": "tkt_1", "number": 7, "customer_id": customer_id, "subject": "No picture",
        "category": "technical", "status": "routed", "priority": "P3", "team": "support",
        "resolution": None, "incident_id": None}, NOW)
    alerts.create_channel(session, "support", {"type": "email", "address": "ops@example.org"},
                          NOW)
    alerts.raise_alert(session, "support", "warning", "#7 No picture",
                       "New ticket\nCall Erika at +49 30 1234567", {
                           "customer_id": customer_id, "number": 7}, "ticket:tkt_1:routed",
                       NOW)
    session.commit()
    return made


def test_export_lists_contact_preferences_inbox_and_deliveries(session):
    made = _customer_with_data(session)
    exported = privacy.export(session, "cus_1")
    assert exported["service"] == "notifier"
    data = exported["data"]
    assert data["contacts"] == [{"customer_id": "cus_1", "email": EMAIL, "language": "en"}]
    assert data["preferences"][0]["topic"] == "billing"
    assert [n["id"] for n in data["notifications"]] == [made["notification"]]
    assert [(d["id"], d["target"], d["channel"]) for d in data["deliveries"]] == [
        (made["delivery"], EMAIL, "email")]
    json.dumps(exported)  # JSON as it is


def test_forget_erases_everything_once_and_a_second_call_changes_nothing(session):
    _customer_with_data(session)
    first = privacy.forget(session, "cus_1", "Customer 4f2a", NOW)
    session.commit()
    assert first == {"service": "notifier", "forgotten": {
        "contacts": 1, "preferences": 1, "consents": 1, "notifications": 1, "deliveries": 1,
        "alerts": 1}}
    text = " ".join(str(row) for table in Base.metadata.sorted_tables
                    for row in session.execute(select(table)).all())
    assert EMAIL not in text and "+49 30 1234567" not in text and "No picture" not in text
    left = privacy.export(session, "cus_1")["data"]
    assert (left["contacts"], left["preferences"], left["consents"], left["notifications"]) == (
        [], [], [], [])
    assert [d["target"] for d in left["deliveries"]] == [deliveries.ERASED]
    erased = session.scalars(select(Delivery).where(Delivery.kind == "customer")).one()
    assert (erased.target, erased.status) == (deliveries.ERASED, "dead")
    with pytest.raises(errors.Conflict):
        deliveries.retry(session, erased.id, NOW)
    session.rollback()

    second = privacy.forget(session, "cus_1", "Customer 4f2a", NOW)
    session.commit()
    assert second == {"service": "notifier", "forgotten": dict.fromkeys(first["forgotten"], 0)}
    events = session.scalars(select(OutboxMessage.event_type)).all()
    assert events.count("customer_forgotten") == 1


def test_an_old_accounts_event_does_not_bring_the_contact_back(session):
    _customer_with_data(session)
    privacy.forget(session, "cus_1", "Customer 4f2a", NOW)
    session.commit()
    customers.remember(session, {"id": "cus_1", "email": EMAIL, "language": "de",
                                 "updated_at": "2026-05-01T00:00:00Z"})
    session.commit()
    assert session.get(Contact, "cus_1").email == ""
    with pytest.raises(errors.NotFound):
        customers.contact(session, None, "cus_1")


def test_forgetting_a_customer_the_notifier_never_saw_answers_zeros(session):
    assert privacy.forget(session, "cus_none", "Customer 0", NOW)["forgotten"] == dict.fromkeys(
        privacy.KINDS, 0)


def test_bad_arguments_are_field_errors(session):
    with pytest.raises(errors.InvalidArgument) as refused:
        privacy.forget(session, "cus_1", "", NOW)
    assert "pseudonym" in refused.value.fields
