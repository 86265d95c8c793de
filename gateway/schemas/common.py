"""Shared by every area: e-mail, JSON boolean and day-or-time fields, errors, pages, money."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.common.schemas import (  # noqa: F401 - the areas' building blocks, here as before
    DayOrTime,
    JsonBool,
    MoneySchema,
    NonNegativeMoney,
    PositiveMoney,
    StrictSchema,
)

Email = fields.Email(required=True, validate=validate.Length(max=254))


class ErrorDetail(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    field_errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                               data_key="fields")
    decline_code = fields.String()
    params = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "the names, dates and numbers the message is made of (a refused change: "
                       "current, target, addon, date, limit), so a client can word it in its "
                       "own language by `code`"})


LINE_TEXT_CODES = ("period_fee", "promotion", "credit_unused", "device_rental", "device_purchase",
                   "top_up_card", "voucher", "adjustment", "service_credit", "service_charges",
                   "cancellation_credit", "voided", "credit_note", "tax")


class LineText(Schema):
    code = fields.String(required=True, metadata={"enum": list(LINE_TEXT_CODES)})
    params = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "what the text is made of, as strings: names as the subscription "
                       "recorded them, dates as ISO dates (start, end), counts as digits; "
                       "service_charges, cancellation_credit and voided also carry the first "
                       "line's params and its code as `first`"})


def line_text():
    return fields.Nested(LineText, allow_none=True, metadata={
        "description": "the description as data, to word in the reader's language by `code` "
                       "(null on lines recorded before it existed: use `description`)"})


class ErrorBody(Schema):
    error = fields.Nested(ErrorDetail, required=True)


def page_of(item: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict({
        "data": fields.List(fields.Nested(item), required=True),
        "has_more": fields.Boolean(required=True),
        "next_cursor": fields.String(allow_none=True),
    }, name=name)


def Cursor(pattern: str, what: str) -> fields.String:
    """A list's `cursor`: the `next_cursor` a previous page returned. Its form is the list's
    own (a number, an invoice number, an id, or opaque base64url); the document states the
    form, so a malformed cursor is a schema violation, not only a refusal."""
    return fields.String(validate=validate.Regexp(pattern, error="Not a cursor of this list."),
                         metadata={"description": f"next_cursor of the previous page ({what})"})


NUMBER_CURSOR = r"^[0-9]{1,18}$"  # a position (sequence number) in the list
OPAQUE_CURSOR = r"^[A-Za-z0-9_-]{1,200}$"  # base64url of the last row's sort key


class PageQuery(StrictSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = Cursor(OPAQUE_CURSOR, "opaque")


class Status(Schema):
    status = fields.String()


Money = MoneySchema


class TaxRate(Schema):
    """The tax of the customer's region (a visitor: the operator's default region)."""
    region = fields.String(allow_none=True)
    rate_bp = fields.Integer(metadata={"description": "basis points: 1900 is 19 %"})
    name = fields.String(metadata={"description": "as the invoice names it, e.g. VAT"})


class TaxedPrice(Schema):
    """One price with its tax: gross = net + tax, the tax rounded half-even, as billing
    charges it."""
    net = fields.Nested(Money, required=True)
    tax = fields.Nested(Money, required=True)
    gross = fields.Nested(Money, required=True)
