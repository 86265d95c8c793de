"""Cards and the prepaid wallet: top-ups (by card or voucher), the ledger, adjustments."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from gateway.schemas.common import (
    Money,
    PositiveMoney,
    line_text,
    page_of,
)
from services.common.contract.billing import VOUCHER_CODE
from services.common.schemas import StrictSchema, Text


class PaymentMethod(Schema):
    id = fields.String(metadata={"example": "pm_3k4j5h6g7f8d9s0a1q2w3e4r"})
    brand = fields.String()
    last4 = fields.String()
    exp_month = fields.Integer()
    exp_year = fields.Integer()
    holder = fields.String()
    is_default = fields.Boolean()


class PaymentMethodList(page_of(PaymentMethod, "PaymentMethodPage")):
    test_mode = fields.Boolean(required=True, metadata={
        "description": "The payment provider is a test one (the sandbox): nothing is really "
                       "charged, and its documented test cards work."})


class WalletOut(Schema):
    balance = fields.Nested(Money)
    currency = fields.String()
    low_balance = fields.Boolean()
    low_balance_threshold = fields.Nested(Money)


class WalletTransaction(Schema):
    id = fields.String(metadata={"example": "txn_3k4j5h6g7f8d9s0a1q2w3e4r"})
    type = fields.String(metadata={"enum": ["top_up", "service_charge", "refund",
                                            "cancellation_credit", "voucher", "adjustment"]})
    direction = fields.String(metadata={"enum": ["credit", "debit"]})
    amount = fields.Nested(Money)
    balance_after = fields.Nested(Money)
    description = fields.String(metadata={"description": "in English"})
    text = line_text()
    created_at = fields.String(metadata={"format": "date-time"})


WalletTransactionList = page_of(WalletTransaction, "WalletTransactionList")


class TopUpIn(StrictSchema):
    # what `_card_or_voucher` checks, for the document
    OPENAPI = {"oneOf": [{"required": ["amount"], "not": {"required": ["voucher_code"]}},
                         {"required": ["voucher_code"],
                          "not": {"anyOf": [{"required": ["amount"]},
                                            {"required": ["payment_method_id"]}]}}]}

    amount = fields.Nested(PositiveMoney, metadata={"description": "by card: how much"})
    payment_method_id = fields.String(validate=validate.Length(max=40),
                                      metadata={"description": "the default card if omitted"})
    voucher_code = Text(40, min_length=1, metadata={
        "description": "by voucher instead of a card: the code (its value is credited)",
        "pattern": VOUCHER_CODE})

    @validates_schema
    def _card_or_voucher(self, data, **kwargs):
        if ("voucher_code" in data) == ("amount" in data):
            raise ValidationError("give either an amount (by card) or a voucher_code",
                                  "amount")
        if "voucher_code" in data and "payment_method_id" in data:
            raise ValidationError("a voucher top-up takes no card", "payment_method_id")


class PaymentOut(Schema):
    id = fields.String(metadata={"example": "pay_3k4j5h6g7f8d9s0a1q2w3e4r"})
    status = fields.String(metadata={"enum": ["succeeded", "failed", "pending"]})
    amount = fields.Nested(Money)
    purpose = fields.String()
    payment_method_id = fields.String()
    decline_code = fields.String(allow_none=True)
    created_at = fields.String(metadata={"format": "date-time"})


class Redemption(Schema):
    id = fields.String(metadata={"example": "red_3k4j5h6g7f8d9s0a1q2w3e4r"})
    serial = fields.String(metadata={"example": "000010000042"})
    value = fields.Nested(Money)
    created_at = fields.String(metadata={"format": "date-time"})


class TopUpOut(Schema):
    payment = fields.Nested(PaymentOut, metadata={"description": "a top-up by card"})
    redemption = fields.Nested(Redemption, metadata={"description": "a top-up by voucher"})
    transaction = fields.Nested(WalletTransaction)
    wallet = fields.Nested(WalletOut)
    reinstated = fields.List(fields.String(), metadata={
        "description": "subscriptions this top-up paid for and resumed"})


class AdjustmentOut(Schema):
    transaction = fields.Nested(WalletTransaction)
    wallet = fields.Nested(WalletOut)


class LedgerReport(Schema):
    ok = fields.Boolean()
    wallets_checked = fields.Integer()
    differences = fields.List(fields.Dict())
