"""Bills (postpaid): invoices, payments, autopay, credit notes, billing profiles and runs."""

from __future__ import annotations

from marshmallow import Schema, fields

from gateway.schemas.common import Money, line_text, page_of
from gateway.schemas.wallet import PaymentOut
from services.common.schemas import StrictSchema


class InvoiceLineOut(Schema):
    description = fields.String(metadata={"description": "in English"})
    text = line_text()
    kind = fields.String()
    amount = fields.Nested(Money)
    tax_rate = fields.Float(metadata={"description": "percent, e.g. 19.0"})
    tax_rate_bp = fields.Integer()
    tax = fields.Nested(Money)


class InvoicePeriod(Schema):
    start = fields.String(allow_none=True, metadata={"format": "date"})
    end = fields.String(allow_none=True, metadata={"format": "date"})


class CreditNoteOut(Schema):
    id = fields.String(metadata={"example": "cn_3k4j5h6g7f8d9s0a1q2w3e4r"})
    number = fields.String(metadata={"example": "CN-2026-000007"})
    invoice_id = fields.String()
    amount = fields.Nested(Money, metadata={"description": "credited, tax included"})
    tax = fields.Nested(Money)
    reason = fields.String()
    applied_to = fields.String(metadata={
        "enum": ["invoice", "next_invoice"],
        "description": "lowers this invoice's amount due, or (paid invoice) credits the next"})
    created_at = fields.String(metadata={"format": "date-time"})


class Collection(Schema):
    autopay = fields.Boolean(metadata={"description": "the account pays by autopay"})
    state = fields.String(allow_none=True, metadata={
        "enum": [None, "retrying", "exhausted"],
        "description": "dunning: retrying (steps scheduled), exhausted (services suspended "
                       "until paid)"})
    failed_attempts = fields.Integer(metadata={"description": "declined card charges"})
    last_decline_code = fields.String(allow_none=True)
    next_retry_at = fields.String(allow_none=True, metadata={
        "format": "date-time", "description": "the next dunning step (charge or reminder)"})
    steps_left = fields.Integer()


class InvoiceOut(Schema):
    id = fields.String(metadata={"example": "inv_3k4j5h6g7f8d9s0a1q2w3e4r"})
    number = fields.String(metadata={"example": "INV-2026-000042"})
    status = fields.String(metadata={"enum": ["open", "paid", "overdue", "void"]})
    currency = fields.String()
    issue_date = fields.String(metadata={"format": "date"})
    due_date = fields.String(metadata={"format": "date"})
    period = fields.Nested(InvoicePeriod)
    lines = fields.List(fields.Nested(InvoiceLineOut))
    subtotal = fields.Nested(Money)
    discount = fields.Nested(Money)
    tax = fields.Nested(Money)
    total = fields.Nested(Money)
    amount_paid = fields.Nested(Money)
    amount_credited = fields.Nested(Money)
    amount_due = fields.Nested(Money)
    credit_notes = fields.List(fields.Nested(CreditNoteOut))
    collection = fields.Nested(Collection)


InvoiceList = page_of(InvoiceOut, "InvoiceList")


class NextDue(Schema):
    id = fields.String()
    number = fields.String()
    due_date = fields.String(metadata={"format": "date"})
    amount_due = fields.Nested(Money)


class BillingRunIn(StrictSchema):
    date = fields.Date(metadata={"description": "default: today"})


class BillingRunProgress(Schema):
    chunks_total = fields.Integer()
    chunks_done = fields.Integer()
    accounts_total = fields.Integer()
    accounts_done = fields.Integer()
    invoices_issued = fields.Integer()


class BillingRunOut(Schema):
    id = fields.String(metadata={"example": "run_3k4j5h6g7f8d9s0a1q2w3e4r"})
    date = fields.String(metadata={"format": "date"})
    status = fields.String(metadata={"enum": ["running", "completed", "failed"]})
    progress = fields.Nested(BillingRunProgress)
    failures = fields.List(fields.Dict())
    created_at = fields.String(metadata={"format": "date-time"})
    finished_at = fields.String(allow_none=True, metadata={"format": "date-time"})


BillingRunList = page_of(BillingRunOut, "BillingRunList")


class PaymentRecord(PaymentOut):
    invoice_id = fields.String(allow_none=True)


class InvoicePaid(Schema):
    payment = fields.Nested(PaymentRecord)
    invoice = fields.Nested(InvoiceOut)
    reinstated = fields.List(fields.String(), metadata={
        "description": "subscriptions suspended for this bill and now active again"})


class Autopay(Schema):
    enabled = fields.Boolean()
    payment_method_id = fields.String(allow_none=True, metadata={
        "description": "the card autopay charges; null: the default card"})


class BillingProfile(Schema):
    customer_id = fields.String()
    payment_terms_days = fields.Integer(allow_none=True, metadata={
        "description": "the account's own terms; null: the operator's default"})
    effective_payment_terms_days = fields.Integer()
    autopay = fields.Nested(Autopay)


PaymentList = page_of(PaymentRecord, "PaymentList")
