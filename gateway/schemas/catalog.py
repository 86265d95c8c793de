"""The catalog: packages, add-ons and devices as customers browse them; ops' entries."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from gateway.schemas.common import Money, TaxedPrice, TaxRate
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
    tax = fields.Nested(TaxRate)
    taxed_prices = fields.Dict(keys=fields.String(), values=fields.Nested(TaxedPrice),
                               metadata={"description": "`prices` with tax, by billing period"})


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
    tax = fields.Nested(TaxRate)
    taxed_prices = fields.Dict(keys=fields.String(), values=fields.Nested(TaxedPrice),
                               metadata={"description": "`prices` with tax, by billing period"})


class DeviceOffer(Schema):
    code = fields.String()
    model = fields.String()
    kind = fields.String()
    sale_price = fields.Nested(Money, allow_none=True)
    rental_price = fields.Nested(Money, allow_none=True)
    tax = fields.Nested(TaxRate)
    taxed_sale_price = fields.Nested(TaxedPrice, allow_none=True)
    taxed_rental_price = fields.Nested(TaxedPrice, allow_none=True,
                                       metadata={"description": "per month"})


class AddonQuery(StrictSchema):
    package = fields.String(validate=validate.Length(max=40))


PRICE_DISPLAY = fields.String(validate=validate.OneOf(("gross", "net")), metadata={
    "description": "how the portal shows prices: gross (with tax, for consumers) or net "
                   "(an operator selling to businesses; PRICE_DISPLAY)"})


def _shown(item: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict({"data": fields.List(fields.Nested(item)),
                             "price_display": PRICE_DISPLAY}, name=name)


PackageList = _shown(Package, "PackageList")
AddonList = _shown(Addon, "AddonList")
DeviceList = _shown(DeviceOffer, "DeviceList")


class CatalogEntry(Schema):
    """Ops send catalog entries as they are; the catalog service validates them fully and
    answers field errors (see its schemas for each kind)."""

    class Meta:
        unknown = "include"
