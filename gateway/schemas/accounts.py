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


class SessionDevice(Schema):
    browser = fields.String(allow_none=True, metadata={"example": "Chrome 156"})
    os = fields.String(allow_none=True, metadata={"example": "Linux"})


class ActiveSession(Schema):
    """One of the customer's sign-ins: the device it came from (read from its User-Agent),
    where and when; `current` is the one making this request."""

    id = fields.String(metadata={"example": "ses_3k4j5h6g7f8d9s0a1q2w3e4r"})
    current = fields.Boolean()
    method = fields.String(metadata={"enum": ["password", "portal_link"]})
    created_at = fields.String(metadata={"format": "date-time"})
    last_seen_at = fields.String(metadata={"format": "date-time",
                                           "description": "to the minute"})
    expires_at = fields.String(metadata={"format": "date-time"})
    client_ip = fields.String(allow_none=True, metadata={"example": "203.0.113.7"})
    device = fields.Nested(SessionDevice)


class ActiveSessionList(Schema):
    data = fields.List(fields.Nested(ActiveSession), required=True)
    has_more = fields.Boolean()
    next_cursor = fields.String(allow_none=True)


class SignedOut(Schema):
    revoked = fields.Integer(metadata={"description": "how many sessions were ended"})


class PasswordChange(StrictSchema):
    current_password = Password
    new_password = NewPassword
