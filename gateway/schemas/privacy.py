"""Privacy: consents (and, next to them, the customer's data export and account deletion)."""

from __future__ import annotations

from marshmallow import Schema, fields

from services.common.schemas import JsonBool, StrictSchema

PURPOSES = ("promotions", "viewing_recommendations")


class Consent(Schema):
    purpose = fields.String(metadata={"enum": list(PURPOSES), "description": (
        "promotions: offers by inbox or e-mail (broadcasts reach only those who agreed); "
        "viewing_recommendations: suggestions from what the TV platform reports was watched")})
    granted = fields.Boolean()
    changed_at = fields.String(allow_none=True, metadata={
        "format": "date-time", "description": "when it was given or withdrawn (null: never)"})
    source = fields.String(allow_none=True, metadata={
        "example": "settings", "description": "how: where the customer gave or withdrew it"})


class ConsentList(Schema):
    data = fields.List(fields.Nested(Consent), required=True)
    has_more = fields.Boolean()
    next_cursor = fields.String(allow_none=True)


class ConsentIn(StrictSchema):
    granted = JsonBool(required=True)


class DataExport(Schema):
    id = fields.String(metadata={"example": "dex_3k4j5h6g7f8d9s0a1q2w3e4r"})
    status = fields.String(metadata={"enum": ["pending", "ready", "expired", "failed"]})
    requested_at = fields.String(metadata={"format": "date-time"})
    ready_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    expires_at = fields.String(allow_none=True, metadata={
        "format": "date-time", "description": "the download works until then"})
    size = fields.Integer(allow_none=True, metadata={"description": "bytes of the zip"})


class DataExportList(Schema):
    data = fields.List(fields.Nested(DataExport), required=True)
    has_more = fields.Boolean()
    next_cursor = fields.String(allow_none=True)


class Blocker(Schema):
    code = fields.String(metadata={"enum": ["MONEY_OWED", "CREDIT_LEFT", "WALLET_BALANCE_LEFT",
                                            "PAYMENT_PENDING"]})
    params = fields.Dict(metadata={"example": {"amount": 1999, "currency": "EUR"}})


class Deletion(Schema):
    id = fields.String(metadata={"example": "del_3k4j5h6g7f8d9s0a1q2w3e4r"})
    status = fields.String(metadata={"enum": ["scheduled", "blocked", "running", "done",
                                              "cancelled"]})
    requested_at = fields.String(metadata={"format": "date-time"})
    due_at = fields.String(metadata={"format": "date-time", "description": (
        "when it is carried out; cancellable until then")})
    blockers = fields.List(fields.Nested(Blocker))
    finished_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class DeletionStatus(Schema):
    request = fields.Nested(Deletion, allow_none=True)
    blockers = fields.List(fields.Nested(Blocker), metadata={
        "description": "what stops a deletion now (settle it, or contact us for a refund)"})
    cooling_off_days = fields.Integer(metadata={"example": 14})
