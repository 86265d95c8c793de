"""Named counters, moved atomically (`UPDATE … SET value = value + 1 RETURNING value`): two
concurrent bumps always give two values. Ticket numbers come from a PostgreSQL sequence
instead (no row lock held to the commit, so tickets are not opened one at a time); SQLite
serializes writers anyway and uses the counter row."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.tickets.models import TICKET_NUMBERS, Counter


def bump(session: Session, name: str) -> int:
    """The counter's next value, in the caller's transaction."""
    step = update(Counter).where(Counter.name == name).values(value=Counter.value + 1) \
        .returning(Counter.value)
    value = session.scalar(step)
    if value is None:
        try:
            with session.begin_nested():
                session.execute(insert(Counter).values(name=name, value=0))
        except IntegrityError:
            pass  # created by a concurrent first bump
        value = session.scalar(step)
    return value


def current(session: Session, name: str) -> int:
    return session.scalar(select(Counter.value).where(Counter.name == name)) or 0


def next_ticket_number(session: Session) -> int:
    if session.get_bind().dialect.name == "postgresql":
        return session.scalar(select(TICKET_NUMBERS.next_value()))
    return bump(session, "tickets")
