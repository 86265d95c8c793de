"""Canned replies (services/tickets/canned.py) as plain functions, and the migration that adds
their table to a tickets database from before them."""

import pytest
from sqlalchemy import MetaData, inspect, text

from services.common import errors
from services.common.db import KERNEL, Component, make_engine, migrate
from services.tickets import canned, categories
from services.tickets.models import MIGRATIONS, Base
from tests.unit.test_tickets_rules import world  # noqa: F401 (fixture)


def add(world, **request):  # noqa: F811
    return canned.create(world.session, {"title": "Thanks", "body": "Thank you.",
                                         "language": "en", **request}, world.now())


def titles(world, **filters):  # noqa: F811
    return [r["title"] for r in canned.listing(world.session, filters, 50, None)["data"]]


def test_replies_are_offered_for_a_category_and_a_language_with_those_for_any_category(
        world):  # noqa: F811
    categories.seed(world.session)
    add(world, title="Double charge", category="billing", language="de", body="Wir prüfen …")
    add(world, title="Begrüßung", language="de", body="Guten Tag,")
    add(world, title="Greeting", language="en", body="Hello,")
    add(world, title="Outage", category="service_interruption", language="de", body="Störung")
    assert titles(world, category="billing", language="de") == ["Begrüßung", "Double charge"]
    assert titles(world, language="en") == ["Greeting"]
    assert titles(world) == ["Begrüßung", "Double charge", "Greeting", "Outage"]
    first = canned.listing(world.session, {}, 2, None)
    assert first["has_more"] is True
    rest = canned.listing(world.session, {}, 2, first["next_cursor"])
    assert [r["title"] for r in first["data"] + rest["data"]] == titles(world)
    assert rest["has_more"] is False


def test_a_reply_is_changed_in_the_fields_given_and_deleted(world):  # noqa: F811
    categories.seed(world.session)
    reply = add(world, category="billing")
    assert reply["id"].startswith("cnr_") and reply["category"] == "billing"
    world.advance(minutes=5)
    changed = canned.update(world.session, reply["id"], {"body": "Danke.", "language": "de",
                                                         "category": None}, world.now())
    assert (changed["title"], changed["body"], changed["language"], changed["category"]) == (
        "Thanks", "Danke.", "de", None)
    assert changed["updated_at"] > reply["updated_at"]
    canned.delete(world.session, reply["id"])
    with pytest.raises(errors.NotFound) as gone:
        canned.delete(world.session, reply["id"])
    assert gone.value.code == "CANNED_REPLY_NOT_FOUND"


def test_bad_replies_are_refused_with_their_fields(world):  # noqa: F811
    categories.seed(world.session)
    for request, field in (({"title": ""}, "title"), ({"language": "xx"}, "language"),
                           ({"category": "no_such"}, "category"), ({"body": "x" * 5001}, "body"),
                           ({"extra": 1}, "extra")):
        with pytest.raises(errors.InvalidArgument) as bad:
            add(world, **request)
        assert field in bad.value.fields, (request, bad.value.fields)
    reply = add(world)
    with pytest.raises(errors.InvalidArgument):
        canned.update(world.session, reply["id"], {}, world.now())
    with pytest.raises(errors.InvalidArgument) as bad:
        canned.listing(world.session, {"language": "xx"}, 10, None)
    assert "language" in bad.value.fields


def test_a_tickets_database_from_before_canned_replies_gets_the_table(tmp_path):
    before = MetaData()
    for table in Base.metadata.sorted_tables:
        if table.name != "canned_replies":
            table.to_metadata(before)
    engine = make_engine(f"sqlite:///{tmp_path}/tickets.db")
    migrate(engine, [KERNEL, Component("tickets", before)])
    assert "canned_replies" not in inspect(engine).get_table_names()
    migrate(engine, [KERNEL, Component("tickets", Base.metadata, MIGRATIONS)])
    assert "canned_replies" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(text(
            "SELECT version FROM schema_versions WHERE component='tickets'")).scalar() == \
            MIGRATIONS[-1].version
    engine.dispose()
