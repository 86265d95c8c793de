"""What catalog accepts over RPC and what it answers with.

Ops entries are loaded with `StrictSchema`s (unknown fields refused). Amounts are integers in
minor units (`1499` is 14.99 EUR); a float, a bool or a negative number is a field error.
The public dumps (`dump_package`, `dump_addon`, `dump_device`) are the shapes the gateway shows;
ops dumps add `created_at` / `updated_at`.
"""

from __future__ import annotations

import copy
import datetime as dt

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from services.catalog.models import DEVICE_KINDS, DOWNGRADE_TIMINGS, PERIODS, PROMOTION_KINDS
from services.common import errors
from services.common.clock import isoformat
from services.common.schemas import (
    Currency,
    NameTranslation,
    StrictSchema,
    Text,
    TextTranslation,
    Translations,
    flatten_messages,
)

CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{1,39}$"
REGION_PATTERN = r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$"  # ISO 3166-1, optionally a -2 subdivision
MAX_AMOUNT = 1_000_000_000  # minor units; a bound so a typo of ten digits is an error
MAX_CHANNELS = 500
MAX_CODES = 100
ACTIONS = ("change_package", "add_addon", "remove_addon", "pause", "cancel", "resume")
WHEN = ("now", "period_end")


class StrictBoolean(fields.Boolean):
    """Only JSON `true` / `false` (marshmallow's Boolean also takes 1, "yes", "on", …)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def unique(values: list) -> None:
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ValidationError(f"Repeated: {', '.join(repeated)}.")


def Code(**kwargs) -> fields.String:
    return fields.String(validate=validate.Regexp(
        CODE_PATTERN, error="Must be 2 to 40 lower-case letters, digits, '-' or '_'."), **kwargs)


def CodeList(*, min_length: int = 0, **kwargs) -> fields.List:
    return fields.List(Code(), validate=[validate.Length(min=min_length, max=MAX_CODES), unique],
                       **kwargs)


def MinorUnits(**kwargs) -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=0, max=MAX_AMOUNT), **kwargs)


def Channels() -> fields.List:
    return fields.List(Text(100, min_length=1), load_default=list,
                       validate=[validate.Length(max=MAX_CHANNELS), unique])


class PricesSchema(StrictSchema):
    """`{"month": 1499, "year": 14990}`: month required, year optional."""

    month = MinorUnits(required=True)
    year = MinorUnits()


class RulesSchema(StrictSchema):
    upgrades_to = CodeList(load_default=list)
    downgrades_to = CodeList(load_default=list)
    downgrade_timing = fields.String(load_default="period_end",
                                     validate=validate.OneOf(DOWNGRADE_TIMINGS))
    max_addons = fields.Integer(strict=True, load_default=10,
                                validate=validate.Range(min=0, max=MAX_CODES))
    min_term_months = fields.Integer(strict=True, load_default=0,
                                     validate=validate.Range(min=0, max=120))
    pause_allowed = StrictBoolean(load_default=False)
    # 0 with pause_allowed: no limit on the length of a pause
    max_pause_days = fields.Integer(strict=True, load_default=0,
                                    validate=validate.Range(min=0, max=3650))

    @validates_schema
    def _paths_do_not_overlap(self, data, **kwargs):
        both = sorted(set(data.get("upgrades_to") or ()) & set(data.get("downgrades_to") or ()))
        if both:
            raise ValidationError(f"Both an upgrade and a downgrade: {', '.join(both)}.",
                                  "downgrades_to")


def default_rules() -> dict:
    return RulesSchema().load({})


class PackageSchema(StrictSchema):
    code = Code(required=True)
    name = Text(200, required=True, min_length=1)
    description = Text(2000, load_default="")
    channels = Channels()
    prices = fields.Nested(PricesSchema, required=True)
    currency = Currency(required=True)
    included_devices = CodeList(load_default=list)
    rules = fields.Nested(RulesSchema, load_default=default_rules)
    translations = Translations(TextTranslation)
    active = StrictBoolean(load_default=True)


class AddonSchema(StrictSchema):
    code = Code(required=True)
    name = Text(200, required=True, min_length=1)
    description = Text(2000, load_default="")
    channels = Channels()
    prices = fields.Nested(PricesSchema, required=True)
    currency = Currency(required=True)
    packages = CodeList(load_default=list)
    translations = Translations(TextTranslation)
    active = StrictBoolean(load_default=True)


class DeviceSchema(StrictSchema):
    code = Code(required=True)
    model = Text(200, required=True, min_length=1)
    kind = fields.String(required=True, validate=validate.OneOf(DEVICE_KINDS))
    sale_price = MinorUnits(allow_none=True, load_default=None)
    rental_price = MinorUnits(allow_none=True, load_default=None)  # per month
    currency = Currency(required=True)
    active = StrictBoolean(load_default=True)

    @validates_schema
    def _has_a_price(self, data, **kwargs):
        if data.get("sale_price") is None and data.get("rental_price") is None:
            raise ValidationError("Give a sale price, a monthly rental price, or both.",
                                  "sale_price")


class TaxRateSchema(StrictSchema):
    region = fields.String(required=True, validate=validate.Regexp(
        REGION_PATTERN, error="Must be a country code like DE, or a subdivision like ES-CN."))
    rate_bp = fields.Integer(strict=True, required=True,
                             validate=validate.Range(min=0, max=10_000))
    name = Text(200, required=True, min_length=1)
    translations = Translations(NameTranslation)
    active = StrictBoolean(load_default=True)


class PromotionSchema(StrictSchema):
    code = Code(required=True)
    name = Text(200, required=True, min_length=1)
    kind = fields.String(required=True, validate=validate.OneOf(PROMOTION_KINDS))
    # percent: basis points 1..10000; fixed: minor units of `currency`
    value = fields.Integer(strict=True, required=True,
                           validate=validate.Range(min=1, max=MAX_AMOUNT))
    currency = Currency(allow_none=True, load_default=None)
    packages = CodeList(required=True, min_length=1)
    valid_from = fields.AwareDateTime(required=True, default_timezone=dt.UTC)
    valid_until = fields.AwareDateTime(allow_none=True, load_default=None,
                                       default_timezone=dt.UTC)
    translations = Translations(NameTranslation)
    active = StrictBoolean(load_default=True)

    @validates_schema
    def _consistent(self, data, **kwargs):
        problems: dict[str, list[str]] = {}
        if data.get("kind") == "percent":
            if data.get("value", 0) > 10_000:
                problems["value"] = ["A percentage is 1 to 10000 basis points (10000 = 100 %)."]
            if data.get("currency") is not None:
                problems["currency"] = ["Only fixed promotions have a currency."]
        if data.get("kind") == "fixed" and data.get("currency") is None:
            problems["currency"] = ["A fixed promotion needs a currency."]
        start, end = data.get("valid_from"), data.get("valid_until")
        if start and end and end <= start:
            problems["valid_until"] = ["Must be later than valid_from."]
        if problems:
            raise ValidationError(problems)


# --- quote and check_change arguments -------------------------------------------------------

class QuoteSchema(StrictSchema):
    currency = Currency(required=True)
    period = fields.String(required=True, validate=validate.OneOf(PERIODS))
    package = Code(required=True)
    addons = CodeList(load_default=list)
    devices = CodeList(load_default=list)
    tax_region = Text(20, allow_none=True, load_default=None)


class PeriodSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    start = fields.AwareDateTime(required=True, default_timezone=dt.UTC)
    end = fields.AwareDateTime(required=True, default_timezone=dt.UTC)


class SubscriptionSchema(Schema):
    """Billing's subscription as check_change needs it. Unknown keys are ignored (a tolerant
    reader): billing may pass its own subscription object, which has more."""

    class Meta:
        unknown = EXCLUDE

    package = Code(required=True)
    addons = CodeList(load_default=list)
    activation_date = fields.AwareDateTime(required=True, default_timezone=dt.UTC)
    current_period = fields.Nested(PeriodSchema, required=True)

    @validates_schema
    def _period_in_order(self, data, **kwargs):
        period = data.get("current_period")
        if period and period["end"] <= period["start"]:
            raise ValidationError({"current_period": {"end": ["Must be later than start."]}})


class ActionSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    action = fields.String(required=True, validate=validate.OneOf(ACTIONS))


class ChangePackageTarget(StrictSchema):
    action = fields.String(required=True)
    package = Code(required=True)
    when = fields.String(allow_none=True, load_default=None, validate=validate.OneOf(WHEN))


class AddonTarget(StrictSchema):
    action = fields.String(required=True)
    addon = Code(required=True)


class PauseTarget(StrictSchema):
    action = fields.String(required=True)
    until = fields.Date(allow_none=True, load_default=None)


class CancelTarget(StrictSchema):
    action = fields.String(required=True)
    when = fields.String(required=True, validate=validate.OneOf(WHEN))
    reason = Text(2000, allow_none=True)  # the customer's words; billing keeps them


class ResumeTarget(StrictSchema):
    action = fields.String(required=True)


TARGETS = {"change_package": ChangePackageTarget, "add_addon": AddonTarget,
           "remove_addon": AddonTarget, "pause": PauseTarget, "cancel": CancelTarget,
           "resume": ResumeTarget}


def load_prefixed(schema: Schema, data, prefix: str, **kwargs):
    """Like `load_or_raise`, with field names under `prefix` ("target.package")."""
    try:
        return schema.load(data, **kwargs)
    except ValidationError as exc:
        raise errors.InvalidArgument(fields=flatten_messages(exc.messages, prefix)) from None


# --- dumps ----------------------------------------------------------------------------------

def _money(amount: int | None, currency: str) -> dict | None:
    return None if amount is None else {"amount": amount, "currency": currency}


def _times(entry) -> dict:
    return {"created_at": isoformat(entry.created_at), "updated_at": isoformat(entry.updated_at)}


def dump_package(package) -> dict:
    return {
        "code": package.code,
        "name": package.name,
        "description": package.description,
        "channels": list(package.channels),
        "prices": dict(package.prices),
        "currency": package.currency,
        "price": _money(package.prices["month"], package.currency),
        "billing_period": "month",
        "included_devices": list(package.included_devices),
        "rules": copy.deepcopy(package.rules),
        "translations": copy.deepcopy(package.translations or {}),
        "active": package.active,
    }


def dump_addon(addon) -> dict:
    return {
        "code": addon.code,
        "name": addon.name,
        "description": addon.description,
        "channels": list(addon.channels),
        "prices": dict(addon.prices),
        "currency": addon.currency,
        "price": _money(addon.prices["month"], addon.currency),
        "billing_period": "month",
        "packages": list(addon.packages),
        "translations": copy.deepcopy(addon.translations or {}),
        "active": addon.active,
    }


def dump_device(device) -> dict:
    return {
        "code": device.code,
        "model": device.model,
        "kind": device.kind,
        "sale_price": _money(device.sale_price, device.currency),
        "rental_price": _money(device.rental_price, device.currency),
        "active": device.active,
    }


def dump_tax_rate(rate) -> dict:
    return {"region": rate.region, "rate_bp": rate.rate_bp, "name": rate.name,
            "translations": copy.deepcopy(rate.translations or {}), "active": rate.active}


def dump_promotion(promotion) -> dict:
    return {
        "code": promotion.code,
        "name": promotion.name,
        "kind": promotion.kind,
        "value": promotion.value,
        "currency": promotion.currency,
        "packages": list(promotion.packages),
        "valid_from": isoformat(promotion.valid_from),
        "valid_until": isoformat(promotion.valid_until),
        "translations": copy.deepcopy(promotion.translations or {}),
        "active": promotion.active,
    }


def ops_dump(dump):
    """An ops view: the public dump plus when the entry was created and last changed."""
    return lambda entry: {**dump(entry), **_times(entry)}

