"""Vouchers: redeeming, buying online ones, and the ops side (offers, batches, voids)."""

from __future__ import annotations

from marshmallow import Schema, fields

from gateway.schemas.bills import PaymentRecord
from gateway.schemas.common import Money, page_of
from gateway.schemas.wallet import Redemption

RedemptionList = page_of(Redemption, "RedemptionList")


class VoucherOffer(Schema):
    code = fields.String(metadata={"example": "topup-25"})
    name = fields.String()
    value = fields.Nested(Money, metadata={"description": "credited on redemption"})
    price = fields.Nested(Money)
    valid_days = fields.Integer()
    translations = fields.Dict(metadata={
        "description": "ops' answers only: {language: {name}}; customers get `name` in their "
                       "language"})
    active = fields.Boolean()


VoucherOfferList = page_of(VoucherOffer, "VoucherOfferList")


class Purchase(Schema):
    code = fields.String(metadata={"example": "7K3M-9QXT-2HRW-4B",
                                   "description": "shown once: keep it or give it away"})
    serial = fields.String()
    value = fields.Nested(Money)
    valid_until = fields.String(metadata={"format": "date-time"})
    offer = fields.String()
    payment = fields.Nested(PaymentRecord, metadata={
        "description": "the card payment; its receipt is GET /api/v1/payments/{id}/receipt"})


class VoucherBatch(Schema):
    id = fields.String(metadata={"example": "vb_3k4j5h6g7f8d9s0a1q2w3e4r"})
    number = fields.Integer()
    type = fields.String(metadata={"enum": ["print", "online"]})
    value = fields.Nested(Money)
    count = fields.Integer()
    generated = fields.Integer(metadata={"description": "vouchers made so far"})
    status = fields.String(metadata={"enum": ["created", "active", "expired", "voided"]})
    restriction = fields.String(allow_none=True)
    valid_from = fields.String(metadata={"format": "date-time"})
    valid_until = fields.String(metadata={"format": "date-time"})
    description = fields.String()
    offer = fields.String(allow_none=True)
    created_by = fields.String()
    created_at = fields.String(metadata={"format": "date-time"})
    voided_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    void_reason = fields.String(allow_none=True)
    voided_by = fields.String(allow_none=True)


VoucherBatchList = page_of(VoucherBatch, "VoucherBatchList")


class VoucherOut(Schema):
    serial = fields.String()
    status = fields.String(metadata={"enum": ["active", "redeemed", "expired", "voided"]})
    batch_id = fields.String()
    batch_number = fields.Integer()
    type = fields.String()
    value = fields.Nested(Money)
    valid_until = fields.String(metadata={"format": "date-time"})
    purchase_id = fields.String(allow_none=True)
    buyer_id = fields.String(allow_none=True)
    redeemed_by = fields.String(allow_none=True)
    redeemed_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    redemption_id = fields.String(allow_none=True)


class VoidedVoucher(Schema):
    serial = fields.String()
    status = fields.String()
    batch_id = fields.String()


class ThrottleEvent(Schema):
    key = fields.String(metadata={"example": "redeem:ip:203.0.113.7"})
    failures = fields.Integer()
    blocked_until = fields.String(metadata={"format": "date-time"})
    created_at = fields.String(metadata={"format": "date-time"})


ThrottleEventList = page_of(ThrottleEvent, "ThrottleEventList")
