"""What billing accepts over RPC for subscriptions."""

from __future__ import annotations

from marshmallow import fields, validate

from services.common.schemas import StrictSchema, Text

CODE = validate.Regexp(r"^[a-z0-9][a-z0-9_-]{1,39}$", error="Not a catalog code.")


class DeviceChoice(StrictSchema):
    code = fields.String(required=True, validate=CODE)
    acquisition = fields.String(load_default=None, validate=validate.OneOf(["purchase",
                                                                            "rental"]))


class SubscribeSchema(StrictSchema):
    package = fields.String(required=True, validate=CODE)
    billing_period = fields.String(load_default="month", validate=validate.OneOf(["month",
                                                                                  "year"]))
    addons = fields.List(fields.String(validate=CODE), load_default=list,
                         validate=validate.Length(max=20))
    devices = fields.List(fields.Nested(DeviceChoice), load_default=list,
                          validate=validate.Length(max=5))


class ChangeSchema(StrictSchema):
    package = fields.String(required=True, validate=CODE)
    when = fields.String(load_default=None, validate=validate.OneOf(["now", "period_end"]),
                         allow_none=True)
    preview = fields.Boolean(load_default=False)


class AddonSchema(StrictSchema):
    code = fields.String(required=True, validate=CODE)
    preview = fields.Boolean(load_default=False)


class PauseSchema(StrictSchema):
    until = fields.Date(load_default=None, allow_none=True)


class CancelSchema(StrictSchema):
    reason = Text(500, required=True, min_length=1)
    when = fields.String(load_default="period_end", validate=validate.OneOf(["now",
                                                                            "period_end"]))


class SerialSchema(StrictSchema):
    serial_number = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9-]{3,63}$", error="Not a serial number."))
