"""accounts' own tables. Nothing else reads them: other services ask by RPC."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    DDL,
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.db import Migration, add_columns
from services.common.schemas import SUPPORTED_LANGUAGES
from services.common.sqltypes import AutoId, UtcDateTime
from services.common.throttle import ThrottleCounterColumns


class Base(DeclarativeBase):
    pass


ROLES = ("customer", "agent", "supervisor", "finance", "admin")  # services/common/permissions.py
BILLING_TYPES = ("prepaid", "postpaid")
LANGUAGES = SUPPORTED_LANGUAGES  # a customer's language


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
    # when the address was shown to be the customer's (a link sent to it was followed); an
    # address changes only that way (email_changes)
    email_verified_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

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
    method: Mapped[str] = mapped_column(String(20))  # password | portal_link | passkey
    second_factor: Mapped[str | None] = mapped_column(String(20))  # totp | recovery_code | passkey
    # the last time the person proved who they are in this session (sign-in or re-auth): the
    # sensitive changes need it recent (mfa.py)
    reauthenticated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # None: the account's full rights; "mfa_enrolment": staff who must first set up two-step
    # sign-in (STAFF_MFA_REQUIRED) may do only that
    scope: Mapped[str | None] = mapped_column(String(20))
    # the household account this person acts in now (households.py), None: their own
    acting_account_id: Mapped[str | None] = mapped_column(String(40))
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


# strong sign-in: two-step, passkeys, password resets, e-mail verification (mfa.py,
# recovery.py) ----------------------------------------------------------------------------------

class TotpFactor(Base):
    """An authenticator app (RFC 6238): pending until a first code confirms it. `last_step` is
    the last time step accepted, so a code is used once."""

    __tablename__ = "totp_factors"
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(String(64))  # base32
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    last_step: Mapped[int] = mapped_column(BigInteger, default=0)


class RecoveryCode(Base):
    """A single-use code for when the authenticator is lost; only its SHA-256 is stored."""

    __tablename__ = "recovery_codes"
    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_recovery_codes_customer", "customer_id"),)


class Passkey(Base):
    """A WebAuthn credential (passkeys.py): its public key and signature counter."""

    __tablename__ = "passkeys"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)  # base64url
    public_key: Mapped[str] = mapped_column(Text)  # base64url COSE key
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    transports: Mapped[list | None] = mapped_column(JSON)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_passkeys_customer", "customer_id"),)


class Challenge(Base):
    """A pending step, single use and short-lived, found by its token's hash: a sign-in's
    second step (`login`), a passkey ceremony (`passkey_register`, `passkey_login`), a password
    reset (`password_reset`) or an address to verify (`email`, with the address in `data`)."""

    __tablename__ = "challenges"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_challenges_customer", "customer_id", "purpose"),)


# households: members of another customer's account (households.py) ---------------------------

class Membership(Base):
    """A person (their own account) belonging to a holder's account: they see and buy the
    subscriptions they use, the wallet if shared, within a monthly spending limit (minor units
    of the holder's currency; None: no limit). `open_key` ("<account>:<member>") makes one open
    membership per pair; removing it empties the key."""

    __tablename__ = "memberships"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    member_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    share_wallet: Mapped[bool] = mapped_column(default=False)
    monthly_limit: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    removed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    open_key: Mapped[str | None] = mapped_column(String(90), unique=True)

    __table_args__ = (Index("ix_memberships_account", "account_id"),
                      Index("ix_memberships_member", "member_id"))


# privacy: the customer's data export and account deletion (privacy.py) ---------------------------

class DataExport(Base):
    """An archive of everything the services hold about a customer: `pending` until built,
    `ready` (downloadable by them until `expires_at`), then `expired` (the archive deleted), or
    `failed`."""

    __tablename__ = "data_exports"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(10))
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    ready_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    archive: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    error: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (Index("ix_data_exports_customer", "customer_id", "requested_at"),)


class DeletionRequest(Base):
    """An account deletion: `scheduled` (cancellable until `due_at`, the cooling-off), then
    `running` through `steps_done` (each step once, committed as it completes, so a crash
    resumes at the next), `done`; or `cancelled`, or `blocked` (money owed or left at the due
    time: retried daily). `personal` holds the contact details the services scrub from free
    text while it runs, and is emptied when done. At most one open request per customer."""

    __tablename__ = "deletion_requests"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(10))
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    claimed_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    steps_done: Mapped[list] = mapped_column(JSON, default=list)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    pseudonym: Mapped[str | None] = mapped_column(String(60))
    personal: Mapped[dict | None] = mapped_column(JSON)
    blockers: Mapped[list | None] = mapped_column(JSON)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # one open request per customer: the key every concurrent "delete my account" meets
    open_key: Mapped[str | None] = mapped_column(String(40), unique=True)

    __table_args__ = (Index("ix_deletion_requests_due", "status", "due_at"),)


class ThrottleCounter(ThrottleCounterColumns, Base):
    """Failed attempts per key (`login:account:<email>`, `login:ip:<addr>`) in a window."""

    __tablename__ = "throttle_counters"


# staff governance: money created by staff, approvals, the audit trail (staff.py, audit.py) ----

class StaffAllowance(Base):
    """Money a staff member created on a day (UTC), per currency: what per-day bounds count."""

    __tablename__ = "staff_allowances"
    actor_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)  # YYYY-MM-DD
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    used: Mapped[int] = mapped_column(BigInteger, default=0)


class MoneyGrant(Base):
    """One decision on one money action, keyed by the staff member's Idempotency-Key: a retry
    is answered the same decision and counts once against the day."""

    __tablename__ = "money_grants"
    actor_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    action: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    decision: Mapped[str] = mapped_column(String(20))  # allowed | approval_required
    approval_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Approval(Base):
    """A money action above its maker's bound, waiting for a second person (maker-checker).
    `status`: pending → approved → executed | failed, or pending → rejected."""

    __tablename__ = "approvals"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    action: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON)  # what to do once approved
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    customer_id: Mapped[str | None] = mapped_column(String(40))  # whose money, if anyone's
    reason: Mapped[str] = mapped_column(String(20))  # per_action | per_day
    status: Mapped[str] = mapped_column(String(10))
    requested_by: Mapped[str] = mapped_column(String(40))
    requested_role: Mapped[str] = mapped_column(String(10))
    decided_by: Mapped[str | None] = mapped_column(String(40))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    note: Mapped[str | None] = mapped_column(String(500))
    result: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ix_approvals_status", "status", "created_at"),)


class AuditEntry(Base):
    """The audit trail: append-only (no code path updates or deletes a row; on PostgreSQL a
    trigger refuses it). `seq` orders it; `details` holds before/after for money and
    permissions, the approval, the amount."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    actor_id: Mapped[str | None] = mapped_column(String(40))
    actor_role: Mapped[str | None] = mapped_column(String(10))
    session_id: Mapped[str | None] = mapped_column(String(40))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str | None] = mapped_column(String(200))  # e.g. customer:cus_…
    outcome: Mapped[str] = mapped_column(String(20))  # ok | refused | failed | pending
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str | None] = mapped_column(Text)  # one line a person reads

    __table_args__ = (Index("ix_audit_actor", "actor_id", "seq"),
                      Index("ix_audit_action", "action", "seq"),
                      Index("ix_audit_target", "target", "seq"))


_APPEND_ONLY = """
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$ LANGUAGE plpgsql;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
"""


event.listen(AuditEntry.__table__, "after_create",
             DDL(_APPEND_ONLY).execute_if(dialect="postgresql"))


def _staff_governance(ops, conn) -> None:
    """v2: staff allowances, money grants, approvals and the audit trail."""
    for table in ("staff_allowances", "money_grants", "approvals", "audit_log"):
        Base.metadata.tables[table].create(conn, checkfirst=True)  # audit_log: + trigger


def _strong_sign_in(ops, conn) -> None:
    """v3: two-step sign-in, passkeys, challenges; verified addresses and re-authentication.
    Addresses from before are taken as verified (they were how the customer signed up)."""
    for table in ("totp_factors", "recovery_codes", "passkeys", "challenges"):
        Base.metadata.tables[table].create(conn, checkfirst=True)
    add_columns(ops, conn, ["customers"], lambda: Column("email_verified_at", UtcDateTime()))
    conn.execute(Base.metadata.tables["customers"].update()
                 .where(Base.metadata.tables["customers"].c.email_verified_at.is_(None))
                 .values(email_verified_at=Base.metadata.tables["customers"].c.created_at))
    add_columns(ops, conn, ["sessions"], lambda: Column("second_factor", String(20)))
    add_columns(ops, conn, ["sessions"], lambda: Column("reauthenticated_at", UtcDateTime()))
    add_columns(ops, conn, ["sessions"], lambda: Column("scope", String(20)))


def _privacy(ops, conn) -> None:
    """v4: data exports and account deletions."""
    for table in ("data_exports", "deletion_requests"):
        Base.metadata.tables[table].create(conn, checkfirst=True)


def _households(ops, conn) -> None:
    """v5: households: memberships, and the account a session acts in."""
    Base.metadata.tables["memberships"].create(conn, checkfirst=True)
    add_columns(ops, conn, ["sessions"], lambda: Column("acting_account_id", String(40)))


MIGRATIONS = (Migration(2, "staff governance: allowances, approvals, audit log",
                        _staff_governance),
              Migration(3, "strong sign-in: two-step, passkeys, verified addresses",
                        _strong_sign_in),
              Migration(4, "privacy: data exports and account deletions", _privacy),
              Migration(5, "households: memberships, the account a session acts in",
                        _households))
