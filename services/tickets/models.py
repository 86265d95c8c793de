"""tickets' own tables. Nothing else reads them: other services ask by RPC.

"Exactly once" lives in unique keys: a customer's Idempotency-Key per ticket, one incident
credit per (incident, customer), one open-incident pointer per group (its row is locked while a
ticket joins or opens the group's incident). Escalation steps fire by a conditional UPDATE of
the ticket's escalation position, so two timers never fire one step twice.
A change to a table that exists in a deployed database needs a `Migration` in `MIGRATIONS`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    Sequence,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import Migration, add_columns
from services.common.sqltypes import AutoId, UtcDateTime


class Base(DeclarativeBase):
    pass


class Category(Base):
    """A kind of issue customers can raise; its urgency × impact give new tickets' priority."""

    __tablename__ = "ticket_categories"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    urgency: Mapped[str] = mapped_column(String(10))  # high | medium | low
    impact: Mapped[str] = mapped_column(String(10))
    required_fields: Mapped[list] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    # {language: {name, description}}: what customers read in the portal's other languages
    translations: Mapped[dict | None] = mapped_column(JSON)


# tickets' human numbers on PostgreSQL (created with the tables); see counters.py
TICKET_NUMBERS = Sequence("ticket_numbers", metadata=Base.metadata)


class Counter(Base):
    """Named counters: `rules_version`, and tickets' numbers on SQLite (counters.py)."""

    __tablename__ = "ticket_counters"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, unique=True)
    customer_id: Mapped[str] = mapped_column(String(40))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    subscription_id: Mapped[str | None] = mapped_column(String(40))
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    urgency: Mapped[str] = mapped_column(String(10))
    impact: Mapped[str] = mapped_column(String(10))
    priority: Mapped[str] = mapped_column(String(2))
    status: Mapped[str] = mapped_column(String(24))
    team: Mapped[str | None] = mapped_column(String(64))
    rules: Mapped[list] = mapped_column(JSON, default=list)  # the matched rule ids
    assignee: Mapped[str | None] = mapped_column(String(40))
    incident_id: Mapped[str | None] = mapped_column(String(40), index=True)
    # escalation: the policy, where it stands, and when its next step is due (None: stopped)
    escalation_policy: Mapped[str | None] = mapped_column(String(40))
    escalation_round: Mapped[int] = mapped_column(Integer, default=0)
    escalation_step: Mapped[int] = mapped_column(Integer, default=0)
    escalation_due_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    resolution: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    routed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    closed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ux_tickets_idempotency", "customer_id", "idempotency_key", unique=True),
        Index("ix_tickets_customer", "customer_id", "created_at"),
        Index("ix_tickets_queue", "team", "status", "priority", "created_at"),
        Index("ix_tickets_escalation_due", "escalation_due_at"),
        Index("ix_tickets_resolved", "status", "resolved_at"),  # closing past the window
    )


class HistoryEntry(Base):
    """What happened to a ticket, in order: also its comments (`internal`: agents only)."""

    __tablename__ = "ticket_history"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(String(40), index=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(24))
    actor_type: Mapped[str] = mapped_column(String(10))  # customer | agent | system
    actor_id: Mapped[str | None] = mapped_column(String(40))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str | None] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict] = mapped_column(JSON, default=dict)


class Team(Base):
    """An ops team. Its members are agents' accounts (accounts service); its channels are the
    notifier's. `lead`: the account an escalation to "the team lead" is about."""

    __tablename__ = "teams"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    lead: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class RoutingRule(Base):
    __tablename__ = "routing_rules"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(300), default="")
    match: Mapped[list] = mapped_column(JSON, default=list)
    team: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str | None] = mapped_column(String(2))
    escalation_policy: Mapped[str | None] = mapped_column(String(40))
    continue_: Mapped[bool] = mapped_column("continue", Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Setting(Base):
    """Small settings ops change at run time (the default route)."""

    __tablename__ = "ticket_settings"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[dict] = mapped_column(JSON, default=dict)


class EscalationPolicy(Base):
    __tablename__ = "escalation_policies"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    steps: Mapped[list] = mapped_column(JSON, default=list)
    repeat: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class IncidentRule(Base):
    """Tickets that match `match` and agree on `group_by` within `window_minutes` are one
    incident."""

    __tablename__ = "incident_rules"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    match: Mapped[list] = mapped_column(JSON, default=list)
    group_by: Mapped[list] = mapped_column(JSON, default=list)
    window_minutes: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class IncidentGroup(Base):
    """One row per group (rule + grouped values): the pointer to its current incident. Locked
    while a ticket joins or opens the group's incident, so concurrent tickets make one."""

    __tablename__ = "incident_groups"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    incident_id: Mapped[str | None] = mapped_column(String(40))


class Incident(Base):
    __tablename__ = "incidents"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    group_key: Mapped[str] = mapped_column(String(300), index=True)
    rule_id: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    team: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10))  # open | resolved
    window_minutes: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    last_ticket_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(40))
    resolution: Mapped[str | None] = mapped_column(Text)
    credit_amount: Mapped[int | None] = mapped_column(BigInteger)
    credit_currency: Mapped[str | None] = mapped_column(String(3))


class IncidentCredit(Base):
    """A service credit for one affected customer of a resolved incident: at most one
    (primary key); billing's grant is keyed by `incident:<id>:<customer>` as well."""

    __tablename__ = "incident_credits"
    incident_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10))  # pending | granted | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    last_error: Mapped[str | None] = mapped_column(String(500))


class Silence(Base):
    """Alerts of a team or of a rule muted for a time window, with who and why."""

    __tablename__ = "silences"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team: Mapped[str | None] = mapped_column(String(64))
    rule_id: Mapped[str | None] = mapped_column(String(40))
    starts_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class FaqEntry(Base):
    __tablename__ = "faq_entries"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), index=True)
    language: Mapped[str] = mapped_column(String(5))
    question: Mapped[str] = mapped_column(String(300))
    answer: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class CannedReply(Base):
    """A reply agents insert into their answer (and edit before sending): for one category
    (None: any) and one language; supervisors and admins keep them."""

    __tablename__ = "canned_replies"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(5))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_canned_replies_language", "language", "category"),)


def _canned_replies(ops, conn) -> None:
    """v2: canned replies per category and language."""
    Base.metadata.tables["canned_replies"].create(conn, checkfirst=True)


def _category_translations(ops, conn) -> None:
    """v3: ticket categories' names and descriptions in other languages (null: none yet)."""
    add_columns(ops, conn, ["ticket_categories"], lambda: Column("translations", JSON))


MIGRATIONS: tuple = (Migration(2, "canned replies per category and language", _canned_replies),
                     Migration(3, "ticket categories' translations", _category_translations))
