"""Bodies of the accounts service's API."""

from __future__ import annotations

from marshmallow import fields, validate

from services.common import permissions
from services.common.schemas import (
    PHONE,
    AddressSchema,
    Currency,
    Language,
    StrictSchema,
    Text,
)


class ProfileChange(StrictSchema):
    """The customer's own profile; a new e-mail address needs the current password (checked
    by accounts)."""

    name = Text(200, min_length=1)
    phone = fields.String(allow_none=True, validate=PHONE)
    address = fields.Nested(AddressSchema, allow_none=True)
    language = Language
    email = fields.Email(validate=validate.Length(max=254))
    current_password = fields.String(validate=validate.Length(max=1024))


# a password being set: the policy's length (services/accounts/passwords.py); that it is not a
# common one nor the e-mail address is checked there
NewPassword = fields.String(required=True, validate=validate.Length(
    min=8, max=128, error="must be at least {min} and at most {max} characters"))


class SignUp(StrictSchema):
    """A new customer account; accounts also checks the password is not a common one nor the
    e-mail address (WEAK_PASSWORD), and that the e-mail is not taken (EMAIL_TAKEN)."""

    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = NewPassword
    name = Text(200, required=True, min_length=1)
    billing_type = fields.String(required=True, validate=validate.OneOf(["prepaid", "postpaid"]))
    currency = Currency(required=True)
    phone = fields.String(allow_none=True, validate=PHONE)
    address = fields.Nested(AddressSchema, allow_none=True)
    language = Language


class RoleChange(StrictSchema):
    """A staff member's role and teams (ops)."""

    role = fields.String(validate=validate.OneOf(["customer", *permissions.STAFF_ROLES]))
    teams = fields.List(Text(64, min_length=1), validate=validate.Length(max=50))
