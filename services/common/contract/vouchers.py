"""Bodies of the vouchers service's API (ops: offers, batches, voids)."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from services.common.schemas import (
    DayOrTime,
    NameTranslation,
    PositiveMoney,
    StrictSchema,
    Text,
    Translations,
)

MAX_BATCH = 1_000_000


class VoucherOfferIn(StrictSchema):
    """A voucher offer on sale online; vouchers makes it valid for 365 days if `valid_days` is
    not given."""

    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,39}$"))
    name = Text(200, required=True, min_length=1)
    value = fields.Nested(PositiveMoney, required=True)
    price = fields.Nested(PositiveMoney, required=True)
    valid_days = fields.Integer(strict=True, validate=validate.Range(1, 3650))
    translations = Translations(NameTranslation)


class VoucherBatchIn(StrictSchema):
    """A batch of vouchers to print: their value, how many, when they are valid."""

    type = fields.String(required=True, validate=validate.OneOf(["print", "online"]),
                         metadata={"description": "print (online vouchers come from offers)"})
    value = fields.Nested(PositiveMoney, required=True)
    count = fields.Integer(required=True, strict=True, validate=validate.Range(1, MAX_BATCH))
    valid_from = DayOrTime(end_of_day=False)
    valid_until = DayOrTime(required=True)
    restriction = fields.String(allow_none=True, validate=validate.OneOf(["prepaid"]))
    description = Text(300)

    @validates_schema
    def _in_order(self, data, **kwargs):
        if data.get("valid_from") and data["valid_from"] >= data["valid_until"]:
            raise ValidationError("must be after valid_from", "valid_until")


class VoidIn(StrictSchema):
    """Why a batch or a voucher is voided (kept in the audit trail)."""

    reason = Text(300, required=True, min_length=3)
