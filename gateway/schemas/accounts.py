"""Accounts and sessions: sign-up, login, logout, the customer's own profile and password."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.common import permissions
from services.common.contract.accounts import NewPassword
from services.common.schemas import AddressSchema, StrictSchema

Password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class Account(Schema):
    id = fields.String(metadata={"example": "cus_3k4j5h6g7f8d9s0a1q2w3e4r"})
    email = fields.String()
    name = fields.String()
    phone = fields.String(allow_none=True)
    address = fields.Nested(AddressSchema, allow_none=True)
    language = fields.String()
    billing_type = fields.String(metadata={"enum": ["prepaid", "postpaid"]})
    currency = fields.String(metadata={"example": "EUR"})
    tax_region = fields.String(allow_none=True)
    role = fields.String(metadata={"enum": ["customer", *permissions.STAFF_ROLES]})
    teams = fields.List(fields.String())
    permissions = fields.Method("_permissions", metadata={
        "type": "array", "items": {"type": "string"},
        "description": "what the role allows (staff; empty for customers)"})
    created_at = fields.String(metadata={"format": "date-time"})

    def _permissions(self, account) -> list[str]:
        return permissions.permissions_of(account.get("role"))


class Login(StrictSchema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = Password


class Session(Schema):
    token = fields.String()
    csrf_token = fields.String()
    expires_at = fields.String(metadata={"format": "date-time"})
    account = fields.Nested(Account)


class PasswordChange(StrictSchema):
    current_password = Password
    new_password = NewPassword
