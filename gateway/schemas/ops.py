"""Operations on customers: finding them, viewing an account, roles and teams, portal links."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from gateway.schemas.accounts import Account
from gateway.schemas.common import PageQuery, page_of


class CustomerQuery(PageQuery):
    q = fields.String(validate=validate.Length(max=254))


class PortalLink(Schema):
    """A portal link sent to the customer's address on file (never shown to staff)."""
    id = fields.String()
    sent_to = fields.String(metadata={"description": "the address it went to, masked"})
    expires_at = fields.String(metadata={"format": "date-time"})


class Revoked(Schema):
    revoked = fields.Integer()


CustomerPage = page_of(Account, "CustomerPage")
