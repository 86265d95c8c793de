"""The audit trail: who did what, when, from which session, with what outcome; before and after
for money and permissions, and the approval when one was needed.

Written append-only (`audit_log`; on PostgreSQL a trigger refuses UPDATE and DELETE), read by
admins through `GET /api/v1/ops/audit-log`. Staff actions are recorded by the gateway for every
ops request it answers (`record()` over RPC); accounts records the customer security events it
sees itself (logins, failed logins, password changes, portal links) in the same transaction as
the change. Nothing here commits: the entrypoint does.
"""

from __future__ import annotations

import datetime as dt

from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.accounts.models import AuditEntry
from services.common import errors, pages
from services.common.clock import isoformat
from services.common.schemas import StrictSchema, load_or_raise

OUTCOMES = ("ok", "refused", "failed", "pending")


class EntrySchema(StrictSchema):
    actor_id = fields.String(allow_none=True, validate=validate.Length(max=40))
    actor_role = fields.String(allow_none=True, validate=validate.Length(max=10))
    session_id = fields.String(allow_none=True, validate=validate.Length(max=40))
    client_ip = fields.String(allow_none=True, validate=validate.Length(max=64))
    action = fields.String(required=True, validate=validate.Length(min=1, max=60))
    target = fields.String(allow_none=True, validate=validate.Length(max=200))
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    details = fields.Dict(load_default=dict)
    request_id = fields.String(allow_none=True, validate=validate.Length(max=64))
    summary = fields.String(allow_none=True, validate=validate.Length(max=2000))


def add(session: Session, now: dt.datetime, **entry) -> None:
    """An entry in the caller's transaction (accounts' own security events)."""
    session.add(AuditEntry(at=now, details=entry.pop("details", None) or {}, **entry))


def load(entry: dict) -> dict:
    """An entry from another part of the system, checked."""
    return load_or_raise(EntrySchema(), entry)


def record(session: Session, entry: dict, now: dt.datetime) -> dict:
    """One entry from another part of the system (flushed: its `seq` is the answer)."""
    row = AuditEntry(at=now, **load(entry))
    session.add(row)
    session.flush()
    return {"seq": row.seq}


def dump(entry: AuditEntry) -> dict:
    return {"seq": entry.seq, "at": isoformat(entry.at), "actor_id": entry.actor_id,
            "actor_role": entry.actor_role, "session_id": entry.session_id,
            "client_ip": entry.client_ip, "action": entry.action, "target": entry.target,
            "outcome": entry.outcome, "details": entry.details or {},
            "request_id": entry.request_id, "summary": entry.summary}


def when(value) -> dt.datetime | None:
    """An ISO 8601 time (UTC when it names no zone), or None."""
    try:
        at = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None
    return at.replace(tzinfo=dt.UTC) if at is not None and at.tzinfo is None else at


PAGE_ORDER = pages.Order((AuditEntry.seq,))  # newest first: seq is unique and grows


def page(session: Session, actor_id: str | None = None, action: str | None = None,
         target: str | None = None, since: str | None = None, until: str | None = None,
         limit=50, cursor=None) -> dict:
    """Entries newest first, filtered (a page of `pages.keyset`)."""
    query = select(AuditEntry)
    if actor_id:
        query = query.where(AuditEntry.actor_id == actor_id)
    if action:  # an action or a family: "wallet." matches every wallet action
        query = query.where(AuditEntry.action.startswith(action, autoescape=True)
                            if action.endswith(".") else AuditEntry.action == action)
    if target:
        query = query.where(AuditEntry.target == target)
    for name, value, op in (("since", since, "ge"), ("until", until, "lt")):
        if value:
            at = when(value)
            if at is None:
                raise errors.InvalidArgument(fields={name: ["must be an ISO 8601 time"]})
            query = query.where(AuditEntry.at >= at if op == "ge" else AuditEntry.at < at)
    return pages.keyset(session, query, PAGE_ORDER, limit, cursor, dump=dump)
