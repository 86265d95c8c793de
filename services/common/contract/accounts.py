"""Bodies of the accounts service's API."""

from __future__ import annotations

from marshmallow import fields, validate

from services.common.schemas import PHONE, AddressSchema, Language, StrictSchema, Text


class ProfileChange(StrictSchema):
    """The customer's own profile; a new e-mail address needs the current password (checked
    by accounts)."""

    name = Text(200, min_length=1)
    phone = fields.String(allow_none=True, validate=PHONE)
    address = fields.Nested(AddressSchema, allow_none=True)
    language = Language
    email = fields.Email(validate=validate.Length(max=254))
    current_password = fields.String(validate=validate.Length(max=1024))
