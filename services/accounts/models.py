"""accounts' own tables. Nothing else reads them: other services ask by RPC."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.sqltypes import UtcDateTime
from services.common.throttle import ThrottleCounterColumns


class Base(DeclarativeBase):
    pass


ROLES = ("customer", "agent", "admin")
BILLING_TYPES = ("prepaid", "postpaid")
LANGUAGES = ("en", "de", "it")


class Customer(Base):
    """An account: a subscriber, or operator staff (role agent/admin). One currency each."""

    __tablename__ = "customers"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    # lower-cased email: the unique key, so sign-up is case-insensitive on every database
    email_normalized: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[dict | None] = mapped_column(JSON)
    language: Mapped[str] = mapped_column(String(8), default="en")
    billing_type: Mapped[str] = mapped_column(String(10))
    currency: Mapped[str] = mapped_column(String(3))
    tax_region: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(10), default="customer")
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    password_changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    teams: Mapped[list[TeamMembership]] = relationship(
        cascade="all, delete-orphan", order_by="TeamMembership.team", lazy="selectin")

    @property
    def team_names(self) -> list[str]:
        return [m.team for m in self.teams]


class TeamMembership(Base):
    """An agent's membership of an ops team (teams themselves are the tickets service's)."""

    __tablename__ = "team_memberships"
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    team: Mapped[str] = mapped_column(String(64), primary_key=True)


class AuthSession(Base):
    """A login. Only the SHA-256 of the bearer token is stored; the token is shown once."""

    __tablename__ = "sessions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_hash: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    method: Mapped[str] = mapped_column(String(20))  # password | portal_link
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (Index("ix_sessions_customer", "customer_id"),)


class PortalLink(Base):
    """A customer's unique secure link: expiring, revocable, exchanged once for a session."""

    __tablename__ = "portal_links"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    issued_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_portal_links_customer", "customer_id"),)


class ThrottleCounter(ThrottleCounterColumns, Base):
    """Failed attempts per key (`login:account:<email>`, `login:ip:<addr>`) in a window."""

    __tablename__ = "throttle_counters"
