"""Subscriptions: a customer's services, every change to them, device serials."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from gateway.schemas.catalog import PRICE_DISPLAY
from gateway.schemas.catalog import Package as CatalogPackage
from gateway.schemas.common import Money, TaxedPrice, TaxRate, line_text, page_of
from services.common.schemas import StrictSchema

CODE = validate.Regexp(r"^[a-z0-9][a-z0-9_-]{1,39}$", error="Not a catalog code.")


class Period(Schema):
    start = fields.String(metadata={"format": "date-time"})
    end = fields.String(metadata={"format": "date-time"})


class PackageRef(Schema):
    code = fields.String()
    name = fields.String()
    price = fields.Nested(Money, metadata={"description": "net: without tax"})
    taxed_price = fields.Nested(TaxedPrice)
    discount = fields.Nested(Money, allow_none=True)
    taxed_discount = fields.Nested(TaxedPrice, allow_none=True)


class AddonRef(Schema):
    code = fields.String()
    name = fields.String()
    price = fields.Nested(Money, metadata={"description": "net: without tax"})
    taxed_price = fields.Nested(TaxedPrice)


class DeviceOnAccount(Schema):
    id = fields.String()
    code = fields.String()
    model = fields.String()
    kind = fields.String()
    acquisition = fields.String()
    serial_number = fields.String()


class Renewal(Schema):
    date = fields.String(metadata={"format": "date-time"})
    amount = fields.Nested(Money)


class ScheduledChange(Schema):
    id = fields.String()
    kind = fields.String(metadata={"enum": ["change_package", "cancel"]})
    effective_date = fields.String(metadata={"format": "date-time"})
    package = fields.String()
    package_name = fields.String()
    reason = fields.String(allow_none=True)


class Subscription(Schema):
    id = fields.String(metadata={"example": "sub_3k4j5h6g7f8d9s0a1q2w3e4r"})
    member_id = fields.String(allow_none=True, metadata={
        "description": "the household member who uses it (null: the account holder)"})
    status = fields.String(metadata={"enum": ["active", "paused", "suspended", "cancelled"]})
    currency = fields.String()
    billing_period = fields.String()
    activation_date = fields.String(metadata={"format": "date-time"})
    current_period = fields.Nested(Period)
    package = fields.Nested(PackageRef)
    addons = fields.List(fields.Nested(AddonRef))
    devices = fields.List(fields.Nested(DeviceOnAccount))
    next_renewal = fields.Nested(Renewal, allow_none=True)
    scheduled_changes = fields.List(fields.Nested(ScheduledChange))
    paused_at = fields.String(allow_none=True)
    pause_until = fields.String(allow_none=True)
    cancelled_at = fields.String(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    tax = fields.Nested(TaxRate, metadata={"description": "the tax its charges carry"})


class PreviewLine(Schema):
    kind = fields.String(metadata={"enum": ["fee", "charge", "credit", "discount", "one_off",
                                            "tax"]})
    description = fields.String(metadata={"description": "in English"})
    text = line_text()
    amount = fields.Nested(Money)
    tax = fields.Nested(Money)
    tax_rate_bp = fields.Integer()


class Preview(Schema):
    lines = fields.List(fields.Nested(PreviewLine))
    subtotal = fields.Nested(Money)
    tax = fields.Nested(Money)
    amount_due = fields.Nested(Money)
    effective_date = fields.String(metadata={"format": "date"})
    effective_at = fields.String(metadata={"format": "date-time"})
    scheduled = fields.Boolean()
    next_renewal = fields.Nested(Renewal, allow_none=True)
    subscription = fields.Nested(Subscription)


class SubscriptionCreated(Subscription):
    charges = fields.Nested(Preview)


SubscriptionList = page_of(Subscription, "SubscriptionList")


class RemoveAddonQuery(StrictSchema):
    preview = fields.Boolean(load_default=False)


class DeviceSerial(Schema):
    id = fields.String()
    customer_id = fields.String()
    model = fields.String()
    serial_number = fields.String()
    previous_serials = fields.List(fields.String())


class Refusal(Schema):
    code = fields.String(metadata={"example": "CHANGE_NOT_ALLOWED"})
    reason = fields.String(metadata={"example": "Premium cannot be changed to Kids."})
    params = fields.Dict(keys=fields.String(), values=fields.String(),
                         metadata={"example": {"current": "Premium", "target": "Kids"}})


class DeviceBrought(Schema):
    code = fields.String()
    model = fields.String()
    kind = fields.String()


class PackageOption(Schema):
    package = fields.Nested(CatalogPackage)
    current = fields.Boolean(metadata={"description": "the subscription's own package"})
    kind = fields.String(allow_none=True, metadata={"enum": ["upgrade", "downgrade", None]})
    allowed = fields.Boolean()
    effective = fields.String(allow_none=True, metadata={
        "enum": ["now", "period_end", None],
        "description": "when the change would take effect by default"})
    refusal = fields.Nested(Refusal, allow_none=True,
                            metadata={"description": "why the operator's rules refuse it"})
    devices_added = fields.List(fields.Nested(DeviceBrought), metadata={
        "description": "equipment the package includes that the subscription does not have: "
                       "provisioned with the change"})


PackageOptions = Schema.from_dict({"data": fields.List(fields.Nested(PackageOption)),
                                   "price_display": PRICE_DISPLAY}, name="PackageOptions")
