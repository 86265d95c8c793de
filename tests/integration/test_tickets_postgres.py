"""The tickets service's counters under concurrent writers (PostgreSQL): every rules change
gets its own version, so no process keeps a rule set compiled between two changes; ticket
numbers come from a sequence and are unique without a lock held to the commit."""

import datetime as dt

import eventlet
from sqlalchemy.orm import Session

from services.common.db import KERNEL, Component, make_engine, migrate
from services.tickets import counters, routing, rules
from services.tickets.models import Base, Team
from services.tickets.tickets import Policy


def test_concurrent_rule_changes_each_move_the_version_and_the_cache_sees_every_rule(pg_url):
    engine = make_engine(pg_url, pool_size=30)
    migrate(engine, [KERNEL, Component("tickets", Base.metadata)])
    with Session(engine) as session:
        session.add(Team(name="network", description="", created_at=_now()))
        session.commit()
        cached = rules.rule_set(session, Policy())  # compiled at version 0
        assert cached.rules == []

    def change(n):
        with Session(engine) as session:
            rules.create(session, {"position": n, "team": "network", "match": [
                {"field": "category", "op": "=", "value": f"c{n}"}]}, _now())
            eventlet.sleep(0)  # the other changers run while this transaction is open
            session.commit()  # as the entrypoint does: rules.create only flushes

    list(eventlet.GreenPool(20).imap(change, range(20)))
    with Session(engine) as session:
        assert counters.current(session, "rules_version") == 20
        compiled = rules.rule_set(session, Policy())
        assert len(compiled.rules) == 20
        assert routing.route(compiled, {"category": "c7"})[0].rule_id == compiled.rules[7].id
    engine.dispose()


def test_ticket_numbers_are_unique_under_concurrent_openers(pg_url):
    engine = make_engine(pg_url, pool_size=30)
    migrate(engine, [KERNEL, Component("tickets", Base.metadata)])

    def number(_):
        with Session(engine) as session:
            value = counters.next_ticket_number(session)
            eventlet.sleep(0.01)  # the rest of the ticket's transaction
            session.commit()
            return value

    numbers = list(eventlet.GreenPool(30).imap(number, range(60)))
    assert len(set(numbers)) == 60 and min(numbers) == 1
    engine.dispose()


def _now():
    return dt.datetime.now(dt.UTC)
