"""notifier's own tables. Nothing else reads them: other services ask by RPC or emit events.

- `notifications`: the portal inbox, one row per customer notification (unique `dedup_key`:
  an event gives each customer each notification once, however often it is delivered).
- `contacts`: a copy of each customer's e-mail address and language, kept current by accounts'
  customer_registered / customer_updated events (`version`: accounts' `updated_at`, so an older
  event never overwrites a newer copy); filled by one RPC for a customer seen before the copy.
- `preferences`: per customer, topic and channel (`portal`, `email`) opt-in; no row = default.
- `deliveries`: everything sent outside the portal (e-mail to customers, team alerts by
  webhook, e-mail or the bus), with status, attempts and last error; unique `dedup_key`.
- `alerts` (unique `dedup_key`: one page per incident state) and `team_channels`.
- `broadcasts`: promotions and maintenance notices to all customers or a segment.
A change to a table that exists in a deployed database needs a `Migration` in `MIGRATIONS`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import Migration
from services.common.sqltypes import UtcDateTime


class Base(DeclarativeBase):
    pass


class Notification(Base):
    __tablename__ = "notifications"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40))
    topic: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    read_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_notifications_inbox", "customer_id", "created_at"),)


class Contact(Base):
    __tablename__ = "contacts"
    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(10))
    version: Mapped[str] = mapped_column(String(40))  # accounts' updated_at (ISO 8601, UTC)


class Preference(Base):
    __tablename__ = "preferences"
    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    topic: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10), primary_key=True)  # portal | email
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Consent(Base):
    """A customer's consent to a purpose (`promotions`): given or withdrawn, when and how
    (`source`: settings, signup...). No row: never given. Broadcasts of promotions reach only
    customers whose consent is given."""

    __tablename__ = "consents"
    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(40), primary_key=True)
    granted: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    source: Mapped[str] = mapped_column(String(20))


class Delivery(Base):
    """One message to send outside the portal. `status`: pending (due at `next_attempt_at`),
    sending (claimed by an instance), sent, dead (gave up; ops can retry it). `priority` 0 goes
    before 1 (broadcasts), so a large broadcast never delays a payment notice."""

    __tablename__ = "deliveries"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # customer | alert | broadcast
    channel: Mapped[str] = mapped_column(String(10))  # email | webhook | bus
    target: Mapped[str] = mapped_column(String(500))  # address, URL or routing key
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    secret: Mapped[str | None] = mapped_column(String(200))  # webhook signing key
    dedup_key: Mapped[str] = mapped_column(String(300), unique=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(2000))
    customer_id: Mapped[str | None] = mapped_column(String(40))
    channel_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_deliveries_due", "status", "priority", "next_attempt_at"),)


class TeamChannel(Base):
    """Where a team's alerts go: a webhook (signed), an e-mail address, or the bus (`alerts`
    topic exchange, routing key `<team>.<severity>`)."""

    __tablename__ = "team_channels"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(10))  # webhook | email | bus
    url: Mapped[str | None] = mapped_column(String(500))
    address: Mapped[str | None] = mapped_column(String(320))
    secret: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Alert(Base):
    """An alert raised for a team; `dedup_key` (unique) makes one state page once."""

    __tablename__ = "alerts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(10))  # critical | warning | info
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    dedup_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Broadcast(Base):
    __tablename__ = "broadcasts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # promotion | maintenance
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    segment: Mapped[dict] = mapped_column(JSON, default=dict)
    send_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(10))  # scheduled | sending | done
    cursor: Mapped[str | None] = mapped_column(String(40))  # last customer id reached
    total: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


def _contacts(ops, conn) -> None:
    """v2: notifier's copy of customers' e-mail address and language."""
    Base.metadata.tables["contacts"].create(conn, checkfirst=True)


def _consents(ops, conn) -> None:
    Base.metadata.tables["consents"].create(conn, checkfirst=True)


MIGRATIONS = (Migration(2, "contacts: customers' e-mail address and language", _contacts),
              Migration(3, "consents: promotions only to those who agreed", _consents))
