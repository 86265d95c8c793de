"""The catalog: packages, add-ons and devices as customers browse them; ops' entries."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from gateway.schemas.common import Money
from services.common.schemas import StrictSchema


class Package(Schema):
    code = fields.String()
    name = fields.String()
    description = fields.String()
    channels = fields.List(fields.String())
    price = fields.Nested(Money)
    prices = fields.Dict(keys=fields.String(), values=fields.Integer())
    currency = fields.String()
    billing_period = fields.String()
    included_devices = fields.List(fields.String())
    rules = fields.Dict()


class Addon(Schema):
    code = fields.String()
    name = fields.String()
    description = fields.String()
    channels = fields.List(fields.String())
    price = fields.Nested(Money)
    prices = fields.Dict(keys=fields.String(), values=fields.Integer())
    currency = fields.String()
    billing_period = fields.String()
    packages = fields.List(fields.String())


class DeviceOffer(Schema):
    code = fields.String()
    model = fields.String()
    kind = fields.String()
    sale_price = fields.Nested(Money, allow_none=True)
    rental_price = fields.Nested(Money, allow_none=True)


class AddonQuery(StrictSchema):
    package = fields.String(validate=validate.Length(max=40))


PackageList = Schema.from_dict({"data": fields.List(fields.Nested(Package))}, name="PackageList")
AddonList = Schema.from_dict({"data": fields.List(fields.Nested(Addon))}, name="AddonList")
DeviceList = Schema.from_dict({"data": fields.List(fields.Nested(DeviceOffer))},
                              name="DeviceList")


class CatalogEntry(Schema):
    """Ops send catalog entries as they are; the catalog service validates them fully and
    answers field errors (see its schemas for each kind)."""

    class Meta:
        unknown = "include"
