"""Shared by every area: e-mail, JSON boolean and day-or-time fields, errors, pages, money."""

from __future__ import annotations

import datetime as dt
import re

from marshmallow import Schema, ValidationError, fields, validate

from services.common.schemas import MoneySchema, StrictSchema

Email = fields.Email(required=True, validate=validate.Length(max=254))


class JsonBool(fields.Boolean):
    """A JSON body's boolean: true or false only (not 0, 1 or "yes", as a query string's)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


_PLAIN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class DayOrTime(fields.String):
    """For a field that means a day: a plain date `YYYY-MM-DD`, or a time (ISO 8601 with its UTC
    offset). A date is that day in UTC: its last second (23:59:59Z) for an end such as
    `valid_until`, its first (00:00:00Z) for a start (`end_of_day=False`). Loads as an aware
    datetime."""

    default_error_messages = {
        "day_or_time": "Not a date (YYYY-MM-DD) or a time with its UTC offset (ISO 8601)."}

    def __init__(self, *, end_of_day: bool = True, **kwargs) -> None:
        what = "the end of that day, 23:59:59 UTC" if end_of_day else "00:00:00 UTC that day"
        metadata = {"anyOf": [{"format": "date"}, {"format": "date-time"}],
                    "description": f"a date YYYY-MM-DD ({what}), or a time with its offset",
                    **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)
        self.end_of_day = end_of_day
        self._time = fields.AwareDateTime()

    def _deserialize(self, value, attr, data, **kwargs) -> dt.datetime:
        text = super()._deserialize(value, attr, data, **kwargs)
        if _PLAIN_DATE.fullmatch(text):
            try:
                day = dt.date.fromisoformat(text)
            except ValueError:
                raise self.make_error("day_or_time") from None
            at = dt.time(23, 59, 59) if self.end_of_day else dt.time(0, 0, 0)
            return dt.datetime.combine(day, at, tzinfo=dt.UTC)
        try:
            return self._time.deserialize(text)
        except ValidationError:
            raise self.make_error("day_or_time") from None

    def _serialize(self, value, attr, obj, **kwargs):
        return value.isoformat() if isinstance(value, dt.datetime) else value


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


class NonNegativeMoney(MoneySchema):
    """Money that is zero or more (a threshold)."""

    amount = fields.Integer(required=True, strict=True,
                            validate=validate.Range(0, 2**31 - 1))


class PositiveMoney(MoneySchema):
    """Money that must be more than zero (a value, a price, a credit, a top-up)."""

    amount = fields.Integer(required=True, strict=True,
                            validate=validate.Range(1, 2**31 - 1))
