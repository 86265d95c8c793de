"""Households: the holder's members and invitations, a member's households, and switching."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.common.schemas import JsonBool, MoneySchema, StrictSchema


class Limit(MoneySchema):
    """A monthly spending limit, in the account's currency (0: nothing may be bought)."""

    amount = fields.Integer(required=True, strict=True, validate=validate.Range(0, 10_000_000))


class InvitationIn(StrictSchema):
    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    share_wallet = JsonBool(load_default=False, metadata={
        "description": "the member sees the wallet's balance and tops it up"})
    monthly_limit = fields.Nested(Limit, allow_none=True, load_default=None, metadata={
        "description": "what the member may spend a month (purchases, add-ons, vouchers); "
                       "null: no limit"})


class Invitation(Schema):
    id = fields.String(metadata={"example": "hhi_3k4j5h6g7f8d9s0a1q2w3e4r"})
    email = fields.String()
    share_wallet = fields.Boolean()
    monthly_limit = fields.Integer(allow_none=True, metadata={"description": "minor units"})
    expires_at = fields.String(metadata={"format": "date-time"})


class Member(Schema):
    member_id = fields.String()
    name = fields.String()
    email = fields.String()
    share_wallet = fields.Boolean()
    monthly_limit = fields.Dict(allow_none=True, metadata={
        "example": {"amount": 2000, "currency": "EUR"}})
    since = fields.String(metadata={"format": "date-time"})


class Household(Schema):
    members = fields.List(fields.Nested(Member))
    invitations = fields.List(fields.Nested(Invitation))


class MemberChange(StrictSchema):
    share_wallet = JsonBool()
    monthly_limit = fields.Nested(Limit, allow_none=True)


class JoinIn(StrictSchema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))


class Membership(Schema):
    account_id = fields.String()
    holder_name = fields.String()
    share_wallet = fields.Boolean()
    monthly_limit = fields.Dict(allow_none=True)
    since = fields.String(metadata={"format": "date-time"})


class MembershipList(Schema):
    data = fields.List(fields.Nested(Membership), required=True)
    has_more = fields.Boolean()
    next_cursor = fields.String(allow_none=True)


class ActingIn(StrictSchema):
    account_id = fields.String(required=True, allow_none=True, validate=validate.Length(
        min=1, max=40), metadata={"description": "a household I belong to; null: my own"})


class Acting(Schema):
    acting_account_id = fields.String(allow_none=True)
