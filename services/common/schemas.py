"""marshmallow building blocks shared by every boundary (gateway HTTP, service RPC).

`StrictSchema` refuses unknown fields; the field types carry the API's formats (money objects,
ISO currency and country codes, languages) so each is validated the same way everywhere.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from babel import Locale
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from services.common.money import KNOWN_CURRENCIES, is_currency

# the portal's and the server texts' languages (gateway/static/i18n/<lang>.json, the notifier's
# templates); tests/unit/test_translations.py keeps them in step
SUPPORTED_LANGUAGES = ("en", "de", "it", "th")
COUNTRIES = frozenset(code for code in Locale("en").territories if code.isalpha())


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


def _with_enum(kwargs: dict, values) -> dict:
    """The field's closed set in its metadata: the OpenAPI document states what is accepted."""
    return {**kwargs, "metadata": {"enum": sorted(values), **kwargs.get("metadata", {})}}


class Currency(fields.String):
    default_error_messages = {"currency": "Not an ISO 4217 currency code."}

    def __init__(self, **kwargs):
        super().__init__(**_with_enum(kwargs, KNOWN_CURRENCIES))

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not is_currency(text):
            raise self.make_error("currency")
        return text


class CountryCode(fields.String):
    default_error_messages = {"country": "Not an ISO 3166 two-letter country code."}

    def __init__(self, **kwargs):
        super().__init__(**_with_enum(kwargs, COUNTRIES))

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text not in COUNTRIES:
            raise self.make_error("country")
        return text


def Text(max_length: int, *, required: bool = False, allow_none: bool = False,
         min_length: int = 0, **kwargs) -> fields.String:
    """A bounded string; a 100 KB value is a field error, never a 500."""
    return fields.String(required=required, allow_none=allow_none,
                         validate=validate.Length(min=min_length, max=max_length), **kwargs)


Language = fields.String(validate=validate.OneOf(SUPPORTED_LANGUAGES))


# What customers read of operator data (a package, a voucher offer…) in the portal's other
# languages: `{language: {name[, description]}}`, maintained by operators beside the entry's
# own (English) text; a field left out is read as entered.

class NameTranslation(StrictSchema):
    name = Text(200, min_length=1)


class TextTranslation(NameTranslation):
    description = Text(2000)


@functools.cache
def _by_language(schema: type[Schema]) -> type[Schema]:
    others = [lang for lang in SUPPORTED_LANGUAGES if lang != "en"]
    return type(f"{schema.__name__}s", (StrictSchema,),
                {lang: fields.Nested(schema) for lang in others})


def Translations(schema: type[Schema]) -> fields.Nested:
    """An object with one optional member per other language (so the OpenAPI document states
    exactly which keys are allowed), each `schema`."""
    return fields.Nested(_by_language(schema), load_default=dict)


def localized(entry: dict, language: str | None) -> dict:
    """An entry as customers read it in `language`: its texts from `translations` where the
    operator gave them, else as entered; the translations themselves are left out."""
    shown = {k: v for k, v in entry.items() if k != "translations"}
    for name, text in ((entry.get("translations") or {}).get(language) or {}).items():
        shown[name] = text
    return shown


MAX_AMOUNT = 2**31 - 1  # minor units; the columns are 32-bit integers


class MoneySchema(StrictSchema):
    amount = fields.Integer(required=True, strict=True,
                            validate=validate.Range(-MAX_AMOUNT, MAX_AMOUNT))
    currency = Currency(required=True)


class AddressSchema(StrictSchema):
    line1 = Text(200, required=True, min_length=1)
    line2 = Text(200, allow_none=True)
    city = Text(100, required=True, min_length=1)
    postal_code = Text(20, required=True, min_length=1)
    country = CountryCode(required=True)


class NonNegativeMoney(MoneySchema):
    """Money that is zero or more (a threshold)."""

    amount = fields.Integer(required=True, strict=True,
                            validate=validate.Range(0, 2**31 - 1))


class PositiveMoney(MoneySchema):
    """Money that must be more than zero (a value, a price, a credit, a top-up)."""

    amount = fields.Integer(required=True, strict=True,
                            validate=validate.Range(1, 2**31 - 1))


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


PHONE = validate.Regexp(r"^\+?[0-9 ()./-]{3,30}$", error="Not a phone number.")


def flatten_messages(messages: dict | list, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested error dict → `{"address.city": ["..."]}` as in API.md."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, list):
        flat[prefix or "_schema"] = [str(m) for m in messages]
        return flat
    for key, value in messages.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(flatten_messages(value, name))
        else:
            flat[name] = [str(m) for m in (value if isinstance(value, list) else [value])]
    return flat


def load_or_raise(schema: Schema, data, **kwargs):
    """Load with `schema`; a failure becomes `InvalidArgument` with flattened `fields`."""
    from services.common.errors import InvalidArgument

    try:
        return schema.load(data, **kwargs)
    except ValidationError as exc:
        raise InvalidArgument(fields=flatten_messages(exc.messages)) from None
