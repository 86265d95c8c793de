"""What accounts accepts over RPC and what it answers with."""

from __future__ import annotations

from marshmallow import fields, validate

from services.accounts.models import BILLING_TYPES, ROLES
from services.common.clock import isoformat
from services.common.schemas import (
    PHONE,
    AddressSchema,
    Currency,
    Language,
    StrictSchema,
    Text,
)

EMAIL = fields.Email(required=True, validate=validate.Length(max=254))


class RegistrationSchema(StrictSchema):
    email = EMAIL
    password = fields.String(required=True, validate=validate.Length(max=1024))
    name = Text(200, required=True, min_length=1)
    billing_type = fields.String(required=True, validate=validate.OneOf(BILLING_TYPES))
    currency = Currency(required=True)
    phone = fields.String(allow_none=True, validate=PHONE)
    address = fields.Nested(AddressSchema, allow_none=True)
    language = Language


class RoleUpdateSchema(StrictSchema):
    role = fields.String(validate=validate.OneOf(ROLES))
    teams = fields.List(Text(64, min_length=1), validate=validate.Length(max=50))


def dump_account(customer) -> dict:
    return {
        "id": customer.id,
        "email": customer.email,
        "name": customer.name,
        "phone": customer.phone,
        "address": customer.address,
        "language": customer.language,
        "billing_type": customer.billing_type,
        "currency": customer.currency,
        "tax_region": customer.tax_region,
        "role": customer.role,
        "teams": customer.team_names,
        "created_at": isoformat(customer.created_at),
        "updated_at": isoformat(customer.updated_at),
    }
