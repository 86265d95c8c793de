"""The HTTP contract's bodies (API.md). Requests are loaded with these, responses dumped with
them, and the OpenAPI document is generated from them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.common.schemas import (
    PHONE,
    AddressSchema,
    Currency,
    Language,
    StrictSchema,
    Text,
)

Email = fields.Email(required=True, validate=validate.Length(max=254))
Password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class ErrorDetail(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    field_errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                               data_key="fields")
    decline_code = fields.String()


class ErrorBody(Schema):
    error = fields.Nested(ErrorDetail, required=True)


def page_of(item: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict({
        "data": fields.List(fields.Nested(item), required=True),
        "has_more": fields.Boolean(required=True),
        "next_cursor": fields.String(allow_none=True),
    }, name=name)


class PageQuery(StrictSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = fields.String(validate=validate.Length(max=500))


# accounts and sessions

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
    role = fields.String(metadata={"enum": ["customer", "agent", "admin"]})
    teams = fields.List(fields.String())
    created_at = fields.String(metadata={"format": "date-time"})


class SignUp(StrictSchema):
    email = Email
    password = Password
    name = Text(200, required=True, min_length=1)
    billing_type = fields.String(required=True, validate=validate.OneOf(["prepaid", "postpaid"]))
    currency = Currency(required=True)
    phone = fields.String(allow_none=True, validate=PHONE)
    address = fields.Nested(AddressSchema, allow_none=True)
    language = Language


class Login(StrictSchema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = Password


class Session(Schema):
    token = fields.String()
    csrf_token = fields.String()
    expires_at = fields.String(metadata={"format": "date-time"})
    account = fields.Nested(Account)


class ProfileChange(StrictSchema):
    name = Text(200, min_length=1)
    phone = fields.String(allow_none=True, validate=PHONE)
    address = fields.Nested(AddressSchema, allow_none=True)
    language = Language
    email = fields.Email(validate=validate.Length(max=254))
    current_password = fields.String(validate=validate.Length(max=1024))


class PasswordChange(StrictSchema):
    current_password = Password
    new_password = Password


class Status(Schema):
    status = fields.String()


# operations

class CustomerQuery(PageQuery):
    q = fields.String(validate=validate.Length(max=254))


class RoleChange(StrictSchema):
    role = fields.String(validate=validate.OneOf(["customer", "agent", "admin"]))
    teams = fields.List(Text(64, min_length=1), validate=validate.Length(max=50))


class PortalLink(Schema):
    token = fields.String()
    url = fields.String()
    expires_at = fields.String(metadata={"format": "date-time"})


class Revoked(Schema):
    revoked = fields.Integer()


CustomerPage = page_of(Account, "CustomerPage")


# health

class Readiness(Schema):
    status = fields.String(metadata={"enum": ["ready", "not_ready"]})
    services = fields.Dict(keys=fields.String(), values=fields.String())
