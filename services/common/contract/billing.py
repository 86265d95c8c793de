"""Bodies of the billing service's API: cards, the wallet, bills, voucher sales, subscriptions.

Billing loads these (with its defaults on top: what an omitted field means), the gateway checks
them and documents them."""

from __future__ import annotations

import datetime as dt

from marshmallow import fields, validate

from services.common.schemas import (
    JsonBool,
    MoneySchema,
    NonNegativeMoney,
    PositiveMoney,
    StrictSchema,
    Text,
)

# 14 symbols of the code alphabet (services/vouchers/codes.py: no U; O, I and L read as 0, 1, 1),
# in any case, with spaces or dashes anywhere. The last symbol is a check symbol: a typo is a 400
# that counts as a wrong guess (so the form is documented, not enforced here).
VOUCHER_CODE = r"^[ \t-]*([0-9A-TV-Za-tv-z][ \t-]*){14}$"
CODE = validate.Regexp(r"^[a-z0-9][a-z0-9_-]{1,39}$", error="Not a catalog code.")


# cards and the wallet -------------------------------------------------------------------------

class CardIn(StrictSchema):
    number = fields.String(required=True, validate=validate.Length(min=12, max=40),
                           metadata={"example": "4242424242424242"})
    exp_month = fields.Integer(required=True, strict=True, validate=validate.Range(1, 12))
    # a year before this one is an expired card (the month is checked against today when the
    # card is tokenized; the document cannot say "today")
    exp_year = fields.Integer(required=True, strict=True,
                              validate=validate.Range(dt.date.today().year, 2100))
    cvc = fields.String(required=True, validate=validate.Regexp(
        r"^[0-9]{3,4}$", error="Must be the 3 or 4 digits on the card."))
    holder = Text(200, required=True, min_length=1)


class WalletSettings(StrictSchema):
    low_balance_threshold = fields.Nested(NonNegativeMoney, required=True)


class AdjustmentIn(StrictSchema):
    amount = fields.Nested(MoneySchema, required=True, metadata={
        "description": "positive credits the wallet, negative debits it"})
    reason = Text(300, required=True, min_length=3)


# bills ----------------------------------------------------------------------------------------

class PayIn(StrictSchema):
    payment_method_id = fields.String(validate=validate.Length(max=40),
                                      metadata={"description": "the default card if omitted"})


class AutopayIn(StrictSchema):
    enabled = JsonBool(required=True)
    payment_method_id = fields.String(load_default=None, allow_none=True,
                                      validate=validate.Length(max=40))


class BillingProfileIn(StrictSchema):
    payment_terms_days = fields.Integer(required=True, allow_none=True, strict=True,
                                        validate=validate.Range(min=0, max=365))


class CreditNoteIn(StrictSchema):
    amount = fields.Nested(PositiveMoney, required=True, metadata={
        "description": "to credit, tax included; at most what was invoiced and not credited"})
    reason = Text(300, required=True, min_length=3)


# vouchers (redeemed and sold by billing) ------------------------------------------------------

class RedeemIn(StrictSchema):
    code = Text(40, required=True, min_length=1, metadata={
        "description": "as printed; case, spaces and dashes do not matter",
        "pattern": VOUCHER_CODE})


class PurchaseIn(StrictSchema):
    offer = fields.String(required=True, validate=validate.Length(min=1, max=40))
    payment_method_id = fields.String(validate=validate.Length(max=40),
                                      metadata={"description": "the default card if omitted"})


# subscriptions --------------------------------------------------------------------------------

class DeviceChoice(StrictSchema):
    code = fields.String(required=True, validate=CODE)
    acquisition = fields.String(validate=validate.OneOf(["purchase", "rental"]))


class Subscribe(StrictSchema):
    package = fields.String(required=True, validate=CODE)
    billing_period = fields.String(validate=validate.OneOf(["month", "year"]))
    addons = fields.List(fields.String(validate=CODE), validate=validate.Length(max=20),
                         metadata={"uniqueItems": True})
    devices = fields.List(fields.Nested(DeviceChoice), validate=validate.Length(max=5))


class Change(StrictSchema):
    package = fields.String(required=True, validate=CODE)
    when = fields.String(validate=validate.OneOf(["now", "period_end"]), allow_none=True)
    preview = JsonBool()


class AddAddon(StrictSchema):
    code = fields.String(required=True, validate=CODE)
    preview = JsonBool()


class Pause(StrictSchema):
    until = fields.Date(allow_none=True)


class Cancel(StrictSchema):
    reason = Text(500, required=True, min_length=1)
    when = fields.String(validate=validate.OneOf(["now", "period_end"]))


class SerialChange(StrictSchema):
    serial_number = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9-]{3,63}$", error="Not a serial number."))
