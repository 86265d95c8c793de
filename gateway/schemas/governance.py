"""Staff governance: approvals (maker-checker) and the audit log."""

from __future__ import annotations

import datetime as dt

from marshmallow import Schema, ValidationError, fields, validate

from gateway.schemas.common import Money, PageQuery, page_of
from services.common.schemas import StrictSchema, Text


class Approval(Schema):
    """Held for a second person's approval: above the maker's bounds"""
    id = fields.String(metadata={"example": "apr_3k4j5h6g7f8d9s0a1q2w3e4r"})
    action = fields.String(metadata={"enum": ["wallet.adjust", "credit_note.issue"]})
    params = fields.Dict(metadata={"description": "what runs once approved"})
    amount = fields.Nested(Money)
    customer_id = fields.String(allow_none=True)
    reason = fields.String(metadata={"enum": ["per_action", "per_day"],
                                     "description": "which of the maker's bounds it passes"})
    status = fields.String(metadata={"enum": ["pending", "approved", "rejected", "executed",
                                              "failed"]})
    requested_by = fields.String()
    requested_role = fields.String()
    decided_by = fields.String(allow_none=True)
    decided_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    note = fields.String(allow_none=True)
    result = fields.Dict(allow_none=True, metadata={"description": "what the action answered"})
    created_at = fields.String(metadata={"format": "date-time"})
    finished_at = fields.String(allow_none=True, metadata={"format": "date-time"})


ApprovalList = page_of(Approval, "ApprovalList")


class ApprovalQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(
        ["pending", "approved", "rejected", "executed", "failed"]))


class DecisionIn(StrictSchema):
    note = Text(500)


class AuditEntry(Schema):
    seq = fields.Integer()
    at = fields.String(metadata={"format": "date-time"})
    actor_id = fields.String(allow_none=True)
    actor_role = fields.String(allow_none=True)
    session_id = fields.String(allow_none=True)
    client_ip = fields.String(allow_none=True)
    action = fields.String(metadata={"example": "wallet.adjust"})
    target = fields.String(allow_none=True, metadata={"example": "customer:cus_…"})
    outcome = fields.String(metadata={"enum": ["ok", "refused", "failed", "pending"]})
    details = fields.Dict()
    request_id = fields.String(allow_none=True)
    summary = fields.String(allow_none=True)


AuditList = page_of(AuditEntry, "AuditList")


def _date_time(value: str) -> None:
    """An ISO 8601 date-time with its offset (`2026-12-01T00:00:00Z`), as the document says."""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError("Not a valid date-time (e.g. 2026-12-01T00:00:00Z).") from None
    if parsed.tzinfo is None:
        raise ValidationError("Give the offset (Z or +01:00).")


class AuditQuery(PageQuery):
    actor_id = fields.String(validate=validate.Length(max=40))
    action = fields.String(validate=validate.Length(max=60), metadata={
        "description": "an action, or a family ending in '.' (`wallet.`)"})
    target = fields.String(validate=validate.Length(max=200))
    since = fields.String(validate=[validate.Length(max=40), _date_time],
                          metadata={"format": "date-time"})
    until = fields.String(validate=[validate.Length(max=40), _date_time],
                          metadata={"format": "date-time"})
