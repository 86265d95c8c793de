"""tickets' part of a GDPR export and erasure (services/tickets/privacy.py), in process on
SQLite: the export is the customer's view (no internal note) with the captured context; forget
erases what the customer wrote, puts the pseudonym in place of their name, takes their details
out of agents' texts, closes open tickets, keeps the rest for ops; a second call changes
nothing. With the services running on PostgreSQL: tests/integration/
test_privacy_services_postgres.py."""

import datetime as dt
import json

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.common import errors
from services.common.db import KERNEL, Component, make_engine, migrate
from services.common.kernel_tables import OutboxMessage
from services.tickets import categories, privacy, tickets
from services.tickets.models import MIGRATIONS, Base, Category, Ticket
from services.tickets.views import Policy

NOW = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)
NAME, PHONE, EMAIL = "Erika Mustermann", "+49 30 1234567", "erika@example.com"
AGENT = {"id": "stf_1", "name": "Sam Agent"}


@pytest.fixture
def session():
    engine = make_engine("sqlite://")
    migrate(engine, [KERNEL, Component("tickets", Base.metadata, MIGRATIONS)])
    with Session(engine, expire_on_commit=False) as s:
        categories.seed(s)
        s.commit()
        yield s
    engine.dispose()


def _ticket(session, customer_id="cus_1", subject="No picture since Monday", name=NAME):
    ticket = tickets.create(session, customer_id, {
        "category": "general", "subject": subject,
        "description": f"Please call me, {name}, at {PHONE}."},
        session.get(Category, "general"), {"name": name, "language": "en",
                                           "tax_region": "DE", "unavailable": []},
        None, Policy(), NOW)
    session.commit()
    tickets.customer_comment(session, customer_id, ticket.id, {"text": "Still broken. " + (
        EMAIL if name == NAME else "max@example.com")},
                             Policy(), NOW)
    tickets.agent_comment(session, ticket.id, {"text": f"Hello {name}, we look into it.",
                                               "internal": False}, AGENT, Policy(), NOW)
    tickets.agent_comment(session, ticket.id, {"text": f"Internal: {name} is angry",
                                               "internal": True}, AGENT, Policy(), NOW)
    session.commit()
    return ticket


def _all_text(session) -> str:
    return " ".join(str(row) for metadata in (Base.metadata, OutboxMessage.metadata)
                    for table in metadata.sorted_tables
                    for row in session.execute(select(table)).all())


def test_export_is_the_customers_view_with_the_captured_context(session):
    ticket = _ticket(session)
    exported = privacy.export(session, "cus_1", Policy())
    json.dumps(exported)
    [mine] = exported["data"]["tickets"]
    assert mine["id"] == ticket.id and PHONE in mine["description"]
    assert mine["context"] == {"name": NAME, "language": "en", "tax_region": "DE"}
    texts = [h["text"] for h in mine["history"] if h["kind"] == "comment"]
    assert texts == [f"Still broken. {EMAIL}", f"Hello {NAME}, we look into it."]
    assert "Internal" not in json.dumps(exported)
    assert exported["data"]["incident_credits"] == []


def test_forget_erases_the_person_keeps_the_ticket_and_closes_it(session):
    ticket = _ticket(session)
    _ticket(session, customer_id="cus_other", subject="Other customer", name="Max Muster")
    session.execute(update(OutboxMessage).values(published_at=NOW))  # the relay's part
    first = privacy.forget(session, "cus_1", "Customer 4f2a",
                           {"name": NAME, "email": EMAIL, "phone": PHONE}, NOW)
    session.commit()
    assert first["service"] == "tickets"
    assert first["forgotten"]["tickets"] == 1 and first["forgotten"]["comments"] == 1
    assert first["forgotten"]["closed"] == 1
    kept = session.get(Ticket, ticket.id)
    assert (kept.status, kept.number, kept.category) == ("closed", ticket.number, "general")
    assert (kept.subject, kept.description) == (privacy.ERASED, privacy.ERASED)
    assert kept.context["name"] == "Customer 4f2a" and kept.context["tax_region"] == "DE"
    everything = _all_text(session)
    assert NAME not in everything and EMAIL not in everything
    assert everything.count(PHONE) == 1  # in the other customer's ticket only
    assert "Other customer" in everything  # another customer's ticket is untouched
    assert "Internal: Customer 4f2a is angry" in everything

    second = privacy.forget(session, "cus_1", "Customer 4f2a", {"name": NAME}, NOW)
    session.commit()
    assert second == {"service": "tickets", "forgotten": dict.fromkeys(privacy.KINDS, 0)}
    kinds = session.scalars(select(OutboxMessage.event_type)).all()
    assert kinds.count("customer_forgotten") == 1


def test_a_forgotten_customers_export_shows_only_erased_tickets(session):
    _ticket(session)
    privacy.forget(session, "cus_1", "Customer 4f2a", None, NOW)
    session.commit()
    exported = json.dumps(privacy.export(session, "cus_1", Policy()))
    assert NAME not in exported and PHONE not in exported and EMAIL not in exported


@pytest.mark.parametrize(("pseudonym", "personal", "field"), [
    ("", None, "pseudonym"), ("x" * 201, None, "pseudonym"), ("Customer 1", "Erika", "personal")])
def test_bad_arguments_are_field_errors(session, pseudonym, personal, field):
    _ticket(session)
    with pytest.raises(errors.InvalidArgument) as refused:
        privacy.forget(session, "cus_1", pseudonym, personal, NOW)
    assert field in refused.value.fields
