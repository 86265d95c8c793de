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
