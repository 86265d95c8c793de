"""The HTTP contract's bodies (API.md). Requests are loaded with these, responses dumped with
them, and the OpenAPI document is generated from them."""

from __future__ import annotations

import datetime as dt
import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.common import permissions
from services.common.schemas import (
    PHONE,
    AddressSchema,
    Currency,
    Language,
    MoneySchema,
    StrictSchema,
    Text,
)

Email = fields.Email(required=True, validate=validate.Length(max=254))


class JsonBool(fields.Boolean):
    """A JSON body's boolean: true or false only (not 0, 1 or "yes", as a query string's)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


_PLAIN_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class DayOrTime(fields.String):
    """For a field that means a day: a plain date `YYYY-MM-DD`, or a time (ISO 8601 with its UTC
    offset). A date is that day in UTC: its last second (23:59:59Z) for an end such as
    `valid_until`, its first (00:00:00Z) for a start (`end_of_day=False`). Loads as an aware
    datetime."""

    default_error_messages = {
        "day_or_time": "Not a date (YYYY-MM-DD) or a time with its UTC offset (ISO 8601)."}

    def __init__(self, *, end_of_day: bool = True, **kwargs) -> None:
        what = "the end of that day, 23:59:59 UTC" if end_of_day else "00:00:00 UTC that day"
        metadata = {"anyOf": [{"format": "date"}, {"format": "date-time"}],
                    "description": f"a date YYYY-MM-DD ({what}), or a time with its offset",
                    **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)
        self.end_of_day = end_of_day
        self._time = fields.AwareDateTime()

    def _deserialize(self, value, attr, data, **kwargs) -> dt.datetime:
        text = super()._deserialize(value, attr, data, **kwargs)
        if _PLAIN_DATE.fullmatch(text):
            try:
                day = dt.date.fromisoformat(text)
            except ValueError:
                raise self.make_error("day_or_time") from None
            at = dt.time(23, 59, 59) if self.end_of_day else dt.time(0, 0, 0)
            return dt.datetime.combine(day, at, tzinfo=dt.UTC)
        try:
            return self._time.deserialize(text)
        except ValidationError:
            raise self.make_error("day_or_time") from None

    def _serialize(self, value, attr, obj, **kwargs):
        return value.isoformat() if isinstance(value, dt.datetime) else value


Password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
# a password being set: the policy's length (services/accounts/passwords.py); that it is not a
# common one nor the e-mail address is checked there
NewPassword = fields.String(required=True, validate=validate.Length(
    min=8, max=128, error="must be at least {min} and at most {max} characters"))


class ErrorDetail(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    field_errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                               data_key="fields")
    decline_code = fields.String()


class ErrorBody(Schema):
    error = fields.Nested(ErrorDetail, required=True)


def page_of(item: type[Schema], name: str) -> type[Schema]:
    return Schema.from_dict({
        "data": fields.List(fields.Nested(item), required=True),
        "has_more": fields.Boolean(required=True),
        "next_cursor": fields.String(allow_none=True),
    }, name=name)


def Cursor(pattern: str, what: str) -> fields.String:
    """A list's `cursor`: the `next_cursor` a previous page returned. Its form is the list's
    own (a number, an invoice number, an id, or opaque base64url); the document states the
    form, so a malformed cursor is a schema violation, not only a refusal."""
    return fields.String(validate=validate.Regexp(pattern, error="Not a cursor of this list."),
                         metadata={"description": f"next_cursor of the previous page ({what})"})


NUMBER_CURSOR = r"^[0-9]{1,18}$"  # a position (sequence number) in the list
OPAQUE_CURSOR = r"^[A-Za-z0-9_-]{1,200}$"  # base64url of the last row's sort key


class PageQuery(StrictSchema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))
    cursor = Cursor(OPAQUE_CURSOR, "opaque")


class LedgerQuery(PageQuery):
    cursor = Cursor(NUMBER_CURSOR, "a number")


class BatchQuery(PageQuery):
    cursor = Cursor(r"^[0-9]{1,9}$", "a batch number")


# accounts and sessions

class Account(Schema):
    id = fields.String(metadata={"example": "cus_3k4j5h6g7f8d9s0a1q2w3e4r"})
    email = fields.String()
    name = fields.String()
    phone = fields.String(allow_none=True)
    address = fields.Nested(AddressSchema, allow_none=True)
    language = fields.String()
    billing_type = fields.String(metadata={"enum": ["prepaid", "postpaid"]})
    currency = fields.String(metadata={"example": "EUR"})
    tax_region = fields.String(allow_none=True)
    role = fields.String(metadata={"enum": ["customer", *permissions.STAFF_ROLES]})
    teams = fields.List(fields.String())
    permissions = fields.Method("_permissions", metadata={
        "type": "array", "items": {"type": "string"},
        "description": "what the role allows (staff; empty for customers)"})
    created_at = fields.String(metadata={"format": "date-time"})

    def _permissions(self, account) -> list[str]:
        return permissions.permissions_of(account.get("role"))


class SignUp(StrictSchema):
    email = Email
    password = NewPassword
    name = Text(200, required=True, min_length=1)
    billing_type = fields.String(required=True, validate=validate.OneOf(["prepaid", "postpaid"]))
    currency = Currency(required=True)
    phone = fields.String(allow_none=True, validate=PHONE)
    address = fields.Nested(AddressSchema, allow_none=True)
    language = Language


class Login(StrictSchema):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = Password


class Session(Schema):
    token = fields.String()
    csrf_token = fields.String()
    expires_at = fields.String(metadata={"format": "date-time"})
    account = fields.Nested(Account)


class ProfileChange(StrictSchema):
    name = Text(200, min_length=1)
    phone = fields.String(allow_none=True, validate=PHONE)
    address = fields.Nested(AddressSchema, allow_none=True)
    language = Language
    email = fields.Email(validate=validate.Length(max=254))
    current_password = fields.String(validate=validate.Length(max=1024))


class PasswordChange(StrictSchema):
    current_password = Password
    new_password = NewPassword


class Status(Schema):
    status = fields.String()


# operations

class CustomerQuery(PageQuery):
    q = fields.String(validate=validate.Length(max=254))


class RoleChange(StrictSchema):
    role = fields.String(validate=validate.OneOf(["customer", *permissions.STAFF_ROLES]))
    teams = fields.List(Text(64, min_length=1), validate=validate.Length(max=50))


class PortalLink(Schema):
    """A portal link sent to the customer's address on file (never shown to staff)."""
    id = fields.String()
    sent_to = fields.String(metadata={"description": "the address it went to, masked"})
    expires_at = fields.String(metadata={"format": "date-time"})


class Revoked(Schema):
    revoked = fields.Integer()


CustomerPage = page_of(Account, "CustomerPage")


# health

class Readiness(Schema):
    status = fields.String(metadata={"enum": ["ready", "not_ready"]})
    services = fields.Dict(keys=fields.String(), values=fields.String())


# catalog

Money = MoneySchema


class NonNegativeMoney(MoneySchema):
    """Money that is zero or more (a threshold)."""

    amount = fields.Integer(required=True, strict=True,
                            validate=validate.Range(0, 2**31 - 1))


class PositiveMoney(MoneySchema):
    """Money that must be more than zero (a value, a price, a credit, a top-up)."""

    amount = fields.Integer(required=True, strict=True,
                            validate=validate.Range(1, 2**31 - 1))


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


# subscriptions

CODE = validate.Regexp(r"^[a-z0-9][a-z0-9_-]{1,39}$", error="Not a catalog code.")


class Period(Schema):
    start = fields.String(metadata={"format": "date-time"})
    end = fields.String(metadata={"format": "date-time"})


class PackageRef(Schema):
    code = fields.String()
    name = fields.String()
    price = fields.Nested(Money)
    discount = fields.Nested(Money, allow_none=True)


class AddonRef(Schema):
    code = fields.String()
    name = fields.String()
    price = fields.Nested(Money)


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


class PreviewLine(Schema):
    kind = fields.String(metadata={"enum": ["fee", "charge", "credit", "discount", "one_off",
                                            "tax"]})
    description = fields.String()
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


class RemoveAddonQuery(StrictSchema):
    preview = fields.Boolean(load_default=False)


class Pause(StrictSchema):
    until = fields.Date(allow_none=True)


class Cancel(StrictSchema):
    reason = Text(500, required=True, min_length=1)
    when = fields.String(validate=validate.OneOf(["now", "period_end"]))


class SerialChange(StrictSchema):
    serial_number = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z0-9][A-Za-z0-9-]{3,63}$", error="Not a serial number."))  # as billing checks


class DeviceSerial(Schema):
    id = fields.String()
    customer_id = fields.String()
    model = fields.String()
    serial_number = fields.String()
    previous_serials = fields.List(fields.String())


# dashboard

class DashboardAccount(Schema):
    id = fields.String()
    name = fields.String()
    billing_type = fields.String()
    currency = fields.String()
    language = fields.String()


class DashboardSubscription(Schema):
    id = fields.String()
    status = fields.String()
    package = fields.Nested(PackageRef)
    addons = fields.List(fields.Nested(AddonRef))
    next_renewal = fields.Nested(Renewal, allow_none=True)
    pause_until = fields.String(allow_none=True)
    scheduled_changes = fields.List(fields.Nested(ScheduledChange))


class DashboardSubscriptions(Schema):
    unavailable = fields.Boolean()
    data = fields.List(fields.Nested(DashboardSubscription))


class DashboardUnread(Schema):
    unavailable = fields.Boolean()
    count = fields.Integer(metadata={"description": "unread notifications in the inbox"})


class Dashboard(Schema):
    account = fields.Nested(DashboardAccount)
    subscriptions = fields.Nested(DashboardSubscriptions)
    wallet = fields.Nested(lambda: DashboardWallet(), metadata={"description": "prepaid only"})
    bills = fields.Nested(lambda: DashboardBills(), metadata={"description": "postpaid only"})
    open_tickets = fields.Nested(lambda: DashboardTickets())
    unread_notifications = fields.Nested(DashboardUnread)


# payment methods and the wallet

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


class PaymentMethod(Schema):
    id = fields.String(metadata={"example": "pm_3k4j5h6g7f8d9s0a1q2w3e4r"})
    brand = fields.String()
    last4 = fields.String()
    exp_month = fields.Integer()
    exp_year = fields.Integer()
    holder = fields.String()
    is_default = fields.Boolean()


PaymentMethodList = page_of(PaymentMethod, "PaymentMethodList")


class WalletOut(Schema):
    balance = fields.Nested(Money)
    currency = fields.String()
    low_balance = fields.Boolean()
    low_balance_threshold = fields.Nested(Money)


class WalletSettings(StrictSchema):
    low_balance_threshold = fields.Nested(NonNegativeMoney, required=True)


class WalletTransaction(Schema):
    id = fields.String(metadata={"example": "txn_3k4j5h6g7f8d9s0a1q2w3e4r"})
    type = fields.String(metadata={"enum": ["top_up", "service_charge", "refund",
                                            "cancellation_credit", "voucher", "adjustment"]})
    direction = fields.String(metadata={"enum": ["credit", "debit"]})
    amount = fields.Nested(Money)
    balance_after = fields.Nested(Money)
    description = fields.String()
    created_at = fields.String(metadata={"format": "date-time"})


WalletTransactionList = page_of(WalletTransaction, "WalletTransactionList")


# 14 symbols of the code alphabet (services/vouchers/codes.py: no U; O, I and L read as 0, 1, 1),
# in any case, with spaces or dashes anywhere. The last symbol is a check symbol: a typo is a 400
# that counts as a wrong guess (so the form is documented, not enforced here).
VOUCHER_CODE = r"^[ \t-]*([0-9A-TV-Za-tv-z][ \t-]*){14}$"


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


class AdjustmentIn(StrictSchema):
    amount = fields.Nested(MoneySchema, required=True, metadata={
        "description": "positive credits the wallet, negative debits it"})
    reason = Text(300, required=True, min_length=3)


class AdjustmentOut(Schema):
    transaction = fields.Nested(WalletTransaction)
    wallet = fields.Nested(WalletOut)


class LedgerReport(Schema):
    ok = fields.Boolean()
    wallets_checked = fields.Integer()
    differences = fields.List(fields.Dict())


class DashboardWallet(WalletOut):
    unavailable = fields.Boolean()


# bills (postpaid)

class InvoiceLineOut(Schema):
    description = fields.String()
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


class InvoiceQuery(PageQuery):
    cursor = Cursor(r"^[A-Za-z0-9-]{1,40}$", "an invoice number")


class NextDue(Schema):
    id = fields.String()
    number = fields.String()
    due_date = fields.String(metadata={"format": "date"})
    amount_due = fields.Nested(Money)


class DashboardBills(Schema):
    unavailable = fields.Boolean()
    outstanding_total = fields.Nested(Money)
    overdue_count = fields.Integer()
    next_due = fields.Nested(NextDue, allow_none=True)


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


class PayIn(StrictSchema):
    payment_method_id = fields.String(validate=validate.Length(max=40),
                                      metadata={"description": "the default card if omitted"})


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


class AutopayIn(StrictSchema):
    enabled = JsonBool(required=True)
    payment_method_id = fields.String(load_default=None, allow_none=True,
                                      validate=validate.Length(max=40))


class BillingProfile(Schema):
    customer_id = fields.String()
    payment_terms_days = fields.Integer(allow_none=True, metadata={
        "description": "the account's own terms; null: the operator's default"})
    effective_payment_terms_days = fields.Integer()
    autopay = fields.Nested(Autopay)


class BillingProfileIn(StrictSchema):
    payment_terms_days = fields.Integer(required=True, allow_none=True, strict=True,
                                        validate=validate.Range(min=0, max=365))


class CreditNoteIn(StrictSchema):
    amount = fields.Nested(PositiveMoney, required=True, metadata={
        "description": "to credit, tax included; at most what was invoiced and not credited"})
    reason = Text(300, required=True, min_length=3)


PaymentList = page_of(PaymentRecord, "PaymentList")


# vouchers

class RedeemIn(StrictSchema):
    code = Text(40, required=True, min_length=1, metadata={
        "description": "as printed; case, spaces and dashes do not matter",
        "pattern": VOUCHER_CODE})


RedemptionList = page_of(Redemption, "RedemptionList")


class VoucherOffer(Schema):
    code = fields.String(metadata={"example": "topup-25"})
    name = fields.String()
    value = fields.Nested(Money, metadata={"description": "credited on redemption"})
    price = fields.Nested(Money)
    valid_days = fields.Integer()
    active = fields.Boolean()


VoucherOfferList = page_of(VoucherOffer, "VoucherOfferList")


class VoucherOfferIn(StrictSchema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9][a-z0-9-]{1,39}$"))
    name = Text(200, required=True, min_length=1)
    value = fields.Nested(PositiveMoney, required=True)
    price = fields.Nested(PositiveMoney, required=True)
    valid_days = fields.Integer(strict=True, validate=validate.Range(1, 3650))


class PurchaseIn(StrictSchema):
    offer = fields.String(required=True, validate=validate.Length(min=1, max=40))
    payment_method_id = fields.String(validate=validate.Length(max=40),
                                      metadata={"description": "the default card if omitted"})


class Purchase(Schema):
    code = fields.String(metadata={"example": "7K3M-9QXT-2HRW-4B",
                                   "description": "shown once: keep it or give it away"})
    serial = fields.String()
    value = fields.Nested(Money)
    valid_until = fields.String(metadata={"format": "date-time"})
    offer = fields.String()
    payment = fields.Nested(PaymentRecord, metadata={
        "description": "the card payment; its receipt is GET /api/v1/payments/{id}/receipt"})


class VoucherBatchIn(StrictSchema):
    type = fields.String(required=True, validate=validate.OneOf(["print", "online"]),
                         metadata={"description": "print (online vouchers come from offers)"})
    value = fields.Nested(PositiveMoney, required=True)
    count = fields.Integer(required=True, strict=True, validate=validate.Range(1, 1_000_000))
    valid_from = DayOrTime(end_of_day=False)
    valid_until = DayOrTime(required=True)
    restriction = fields.String(allow_none=True, validate=validate.OneOf(["prepaid"]))
    description = Text(300)


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


class VoidIn(StrictSchema):
    reason = Text(300, required=True, min_length=3)


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


# notifications

class NotificationOut(Schema):
    id = fields.String(metadata={"example": "ntf_3k4j5h6g7f8d9s0a1q2w3e4r"})
    topic = fields.String()
    title = fields.String()
    body = fields.String()
    read_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    created_at = fields.String(metadata={"format": "date-time"})


class Inbox(Schema):
    data = fields.List(fields.Nested(NotificationOut), required=True)
    has_more = fields.Boolean(required=True)
    next_cursor = fields.String(allow_none=True)
    unread_count = fields.Integer()


class InboxQuery(PageQuery):
    unread = fields.Boolean(metadata={"description": "only unread ones"})
    cursor = Cursor(r"^ntf_[a-z0-9]{1,40}$", "a notification id")


class NotificationRead(NotificationOut):
    unread_count = fields.Integer()


class UnreadCount(Schema):
    unread_count = fields.Integer()


class TopicPreference(Schema):
    topic = fields.String()
    label = fields.String()
    locked = fields.Boolean(metadata={"description": "the inbox cannot be turned off"})
    portal = fields.Boolean()
    email = fields.Boolean()


class Preferences(Schema):
    preferences = fields.List(fields.Nested(TopicPreference))


class PreferenceIn(StrictSchema):
    """One preference: `{topic, channel, enabled}`, or a topic as GET returns it (`{topic,
    portal, email}`; `label` and `locked` are read-only and ignored), so what was read can be
    sent back."""

    topic = fields.String(required=True, validate=validate.Length(max=50))
    channel = fields.String(validate=validate.OneOf(["portal", "email"]))
    enabled = fields.Boolean()
    portal = fields.Boolean(metadata={"description": "the inbox on or off for this topic"})
    email = fields.Boolean(metadata={"description": "e-mail on or off for this topic"})
    label = fields.String(validate=validate.Length(max=200),
                          metadata={"description": "read-only: ignored"})
    locked = fields.Boolean(metadata={"description": "read-only: ignored"})

    @validates_schema
    def _one_shape(self, data, **kwargs):
        per_channel = [c for c in ("portal", "email") if c in data]
        if "channel" in data or "enabled" in data:
            if per_channel:
                raise ValidationError("give channel and enabled, or portal and/or email, not "
                                      "both", per_channel[0])
            for name in ("channel", "enabled"):
                if name not in data:
                    raise ValidationError("Missing data for required field.", name)
        elif not per_channel:
            raise ValidationError("give channel and enabled, or portal and/or email", "channel")


class PreferencesIn(StrictSchema):
    """What GET returned (changed as wanted), or a list of `{topic, channel, enabled}`."""

    preferences = fields.List(fields.Nested(PreferenceIn), required=True,
                              validate=validate.Length(min=1, max=50))


# a host name or address (an IPv6 one in brackets), a port, a path
WEBHOOK_URL = r"^https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(/[!-~]*)?$"


class ChannelIn(StrictSchema):
    """A team's alert channel; checked here as the notifier checks it, so a team created with
    channels is refused whole (400) before anything is written."""

    OPENAPI = {"oneOf": [
        {"properties": {"type": {"enum": ["webhook"]}}, "required": ["url"],
         "not": {"required": ["address"]}},
        {"properties": {"type": {"enum": ["email"]}}, "required": ["address"],
         "not": {"required": ["url"]}},
        {"properties": {"type": {"enum": ["bus"]}},
         "not": {"anyOf": [{"required": ["url"]}, {"required": ["address"]}]}}]}

    type = fields.String(required=True, validate=validate.OneOf(["webhook", "email", "bus"]))
    url = fields.Url(schemes={"http", "https"}, require_tld=False,
                     validate=[validate.Length(max=500), validate.Regexp(WEBHOOK_URL)],
                     metadata={"description": "webhook: where the signed JSON is POSTed",
                               "format": "uri", "pattern": WEBHOOK_URL})
    address = fields.Email(validate=validate.Length(max=320),
                           metadata={"description": "email: where alerts are mailed"})

    @validates_schema
    def _fits_type(self, data, **kwargs):
        kind = data.get("type")
        needs = {"webhook": "url", "email": "address"}.get(kind)
        problems = {}
        if needs and needs not in data:
            problems[needs] = [f"Required for a {kind} channel."]
        for name in ("url", "address"):
            if name in data and name != needs:
                problems[name] = [f"Not used by a {kind} channel."]
        if problems:
            raise ValidationError(problems)


class ChannelOut(Schema):
    id = fields.String(metadata={"example": "chn_3k4j5h6g7f8d9s0a1q2w3e4r"})
    team = fields.String()
    type = fields.String()
    url = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    active = fields.Boolean()
    secret = fields.String(metadata={"description": "webhook signing secret; only in the "
                                                    "answer that creates the channel"})
    created_at = fields.String(metadata={"format": "date-time"})


ChannelList = page_of(ChannelOut, "ChannelList")


class AlertIn(StrictSchema):
    severity = fields.String(required=True,
                             validate=validate.OneOf(["critical", "warning", "info"]))
    title = Text(300, required=True, min_length=1)
    text = Text(4000, required=True, min_length=1)
    fields_ = fields.Dict(data_key="fields",
                          keys=fields.String(validate=validate.Length(min=1, max=64)),
                          values=fields.String(validate=validate.Length(max=1000)),
                          validate=validate.Length(max=50))
    dedup_key = Text(200, min_length=1, metadata={
        "description": "one page per key and state; default: a new key (this alert pages)"})


class AlertOut(Schema):
    alert = fields.Dict()
    deliveries = fields.List(fields.String())
    duplicate = fields.Boolean()


class DeliveryOut(Schema):
    id = fields.String()
    kind = fields.String()
    channel = fields.String()
    target = fields.String()
    subject = fields.String()
    status = fields.String(metadata={"enum": ["pending", "sending", "sent", "dead"]})
    attempts = fields.Integer()
    next_attempt_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    last_error = fields.String(allow_none=True)
    dedup_key = fields.String()
    created_at = fields.String(metadata={"format": "date-time"})
    sent_at = fields.String(allow_none=True, metadata={"format": "date-time"})


DeliveryList = page_of(DeliveryOut, "DeliveryList")


class DeliveryQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(["pending", "sending", "sent", "dead",
                                                    "failing"]))


class SegmentIn(StrictSchema):
    billing_type = fields.String(validate=validate.OneOf(["prepaid", "postpaid"]))
    tax_region = fields.String(validate=validate.Length(min=2, max=20))
    package = fields.String(validate=validate.Length(min=1, max=40))


class BroadcastIn(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(["promotion", "maintenance"]))
    title = Text(200, required=True, min_length=1)
    body = Text(5000, required=True, min_length=1)
    segment = fields.Nested(SegmentIn)
    send_at = fields.AwareDateTime(metadata={"description": "default: now"})


class BroadcastOut(Schema):
    id = fields.String(metadata={"example": "brd_3k4j5h6g7f8d9s0a1q2w3e4r"})
    kind = fields.String()
    title = fields.String()
    body = fields.String()
    segment = fields.Dict()
    send_at = fields.String(metadata={"format": "date-time"})
    status = fields.String(metadata={"enum": ["scheduled", "sending", "done"]})
    recipients = fields.Integer(metadata={"description": "customers reached so far"})
    created_by = fields.String()
    created_at = fields.String(metadata={"format": "date-time"})
    finished_at = fields.String(allow_none=True, metadata={"format": "date-time"})


BroadcastList = page_of(BroadcastOut, "BroadcastList")


# support: tickets, the FAQ, and the ops side (docs/support.md)

TICKET_STATUSES = ["new", "routed", "acknowledged", "in_progress", "waiting_on_customer",
                   "resolved", "closed"]
PRIORITIES = ["P1", "P2", "P3", "P4"]
LEVELS = ["high", "medium", "low"]
SUPPORT_LANGUAGES = ["en", "de", "it"]
ROUTING_FIELDS = ["category", "priority", "region", "package", "billing_type", "subscription",
                  "keywords"]
GROUPABLE = [f for f in ROUTING_FIELDS if f != "keywords"]
OPERATORS = ["=", "!=", "=~", "!~"]
# one word of an alert's routing key `<team>.<severity>`, with room for `<team>-lead` (the
# tickets service's rule)
TEAM_NAME = validate.Regexp(r"^[A-Za-z0-9_-]{1,59}$",
                            error="Must be 1 to 59 letters, digits, '-' or '_'.")
CATEGORY_CODE = validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$",
                                error="Must be 2 to 40 of a-z, 0-9 and _.")


def Ref(**kwargs) -> fields.String:
    """An id of ours (`tkt_…`, `cus_…`): bounded, never a 100 KB string."""
    return fields.String(validate=validate.Length(min=1, max=40), **kwargs)


def TeamName(**kwargs) -> fields.String:
    return fields.String(validate=TEAM_NAME, **kwargs)


# customers: requests

class TicketIn(StrictSchema):
    category = fields.String(required=True, validate=validate.Length(min=1, max=40),
                             metadata={"example": "billing"})
    subject = Text(200, required=True, min_length=1)
    description = Text(5000, required=True, min_length=1)
    subscription_id = Ref(allow_none=True, metadata={
        "description": "required by some categories (their `required_fields`)"})


class TicketQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(["open", "done", *TICKET_STATUSES]),
                           metadata={"description": "open: not resolved or closed; done: "
                                                    "resolved or closed; or one status"})
    cursor = Cursor(NUMBER_CURSOR, "a ticket number")


class CommentIn(StrictSchema):
    text = Text(5000, required=True, min_length=1)


class FaqQuery(StrictSchema):
    q = Text(200, metadata={"description": "every word must appear in the question or answer"})
    category = fields.String(validate=validate.Length(min=1, max=40))
    language = fields.String(validate=validate.OneOf(SUPPORT_LANGUAGES),
                             metadata={"description": "default: the account's, then English"})
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))


# customers: responses

class TicketCategory(Schema):
    code = fields.String(metadata={"example": "service_interruption"})
    name = fields.String()
    description = fields.String()
    urgency = fields.String(metadata={"enum": LEVELS})
    impact = fields.String(metadata={"enum": LEVELS})
    priority = fields.String(metadata={"enum": PRIORITIES,
                                       "description": "urgency × impact (ITIL)"})
    required_fields = fields.List(fields.String())
    active = fields.Boolean()
    position = fields.Integer()


TicketCategoryList = Schema.from_dict({"data": fields.List(fields.Nested(TicketCategory))},
                                      name="TicketCategoryList")


class FaqEntry(Schema):
    id = fields.String(metadata={"example": "faq_3k4j5h6g7f8d9s0a1q2w3e4r"})
    category = fields.String()
    language = fields.String()
    question = fields.String()
    answer = fields.String()
    position = fields.Integer()
    updated_at = fields.String(metadata={"format": "date-time"})


FaqList = Schema.from_dict({"data": fields.List(fields.Nested(FaqEntry))}, name="FaqList")


class HistoryActor(Schema):
    type = fields.String(metadata={"enum": ["customer", "agent", "system"]})
    name = fields.String(allow_none=True)


class HistoryEntry(Schema):
    id = fields.Integer()
    at = fields.String(metadata={"format": "date-time"})
    kind = fields.String(metadata={"enum": [
        "created", "routed", "acknowledged", "status_changed", "comment", "assigned",
        "priority_changed", "escalated", "alerted", "silenced", "incident", "resolved",
        "reopened", "closed", "credited"]})
    actor = fields.Nested(HistoryActor)
    text = fields.String(allow_none=True)
    internal = fields.Boolean()
    data = fields.Dict()


class IncidentRef(Schema):
    id = fields.String(metadata={"example": "inc_3k4j5h6g7f8d9s0a1q2w3e4r"})
    title = fields.String()
    status = fields.String(metadata={"enum": ["open", "resolved"]})


class TicketSummary(Schema):
    id = fields.String(metadata={"example": "tkt_3k4j5h6g7f8d9s0a1q2w3e4r"})
    number = fields.Integer()
    status = fields.String(metadata={"enum": TICKET_STATUSES})
    category = fields.String()
    category_name = fields.String()
    subject = fields.String()
    description = fields.String()
    subscription_id = fields.String(allow_none=True)
    priority = fields.String(metadata={"enum": PRIORITIES})
    team = fields.String(allow_none=True)
    incident = fields.Nested(IncidentRef, allow_none=True)
    resolution = fields.String(allow_none=True)
    reopen_until = fields.String(allow_none=True, metadata={"format": "date-time"})
    created_at = fields.String(metadata={"format": "date-time"})
    updated_at = fields.String(metadata={"format": "date-time"})
    acknowledged_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    resolved_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    closed_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class Ticket(TicketSummary):
    history = fields.List(fields.Nested(HistoryEntry), metadata={
        "description": "what the customer may see: no internal notes, escalations, alerts"})


TicketList = page_of(TicketSummary, "TicketList")


class DashboardTickets(Schema):
    unavailable = fields.Boolean()
    count = fields.Integer(metadata={"description": "open tickets"})
    latest = fields.List(fields.Nested(TicketSummary), metadata={"description": "up to 3"})


# ops: tickets

class OpsHistoryActor(HistoryActor):
    id = fields.String(allow_none=True)


class OpsHistoryEntry(HistoryEntry):
    actor = fields.Nested(OpsHistoryActor)


class TicketContext(Schema):
    """The customer as they were when the ticket was raised."""

    name = fields.String(allow_none=True)
    language = fields.String(allow_none=True)
    billing_type = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    tax_region = fields.String(allow_none=True)
    subscriptions = fields.List(fields.String())
    packages = fields.List(fields.String())
    package = fields.String(allow_none=True, metadata={
        "description": "the ticket's subscription's package (else the first): what rules see"})
    open_balance = fields.Nested(Money, allow_none=True)
    unavailable = fields.List(fields.String(), metadata={
        "description": "parts not captured: their service did not answer"})


class EscalationState(Schema):
    policy = fields.String(allow_none=True)
    round = fields.Integer()
    step = fields.Integer()
    next_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class OpsTicketSummary(TicketSummary):
    customer_id = fields.String()
    assignee = fields.String(allow_none=True)
    context = fields.Nested(TicketContext)
    escalation = fields.Nested(EscalationState, allow_none=True)
    rules = fields.List(fields.String(), metadata={"description": "the matched rules' ids"})
    urgency = fields.String(metadata={"enum": LEVELS})
    impact = fields.String(metadata={"enum": LEVELS})


class OpsTicket(OpsTicketSummary):
    history = fields.List(fields.Nested(OpsHistoryEntry))


OpsTicketList = page_of(OpsTicket, "OpsTicketList")


class QueueQuery(PageQuery):
    team = TeamName()
    status = fields.String(validate=validate.OneOf(["open", "done", *TICKET_STATUSES]),
                           metadata={"description": "open: not resolved or closed; done: "
                                                    "resolved or closed"})
    assignee = Ref()
    incident = Ref()
    customer = Ref(metadata={"description": "one customer's tickets"})


class AssignIn(StrictSchema):
    assignee = Ref(required=True, allow_none=True,
                   metadata={"description": "an agent's account id; null unassigns"})


class TicketChange(StrictSchema):
    OPENAPI = {"minProperties": 1}

    status = fields.String(validate=validate.OneOf(TICKET_STATUSES))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Give a status or a priority.", "status")


class OpsCommentIn(StrictSchema):
    text = Text(5000, required=True, min_length=1)
    internal = JsonBool(load_default=False, metadata={
        "description": "an agent's note the customer never sees"})


class ResolveIn(StrictSchema):
    resolution = Text(5000, required=True, min_length=3)


# ops: categories and the FAQ

class CategoryIn(StrictSchema):
    code = fields.String(required=True, validate=CATEGORY_CODE)
    name = Text(100, required=True, min_length=1)
    description = Text(500)
    urgency = fields.String(required=True, validate=validate.OneOf(LEVELS))
    impact = fields.String(required=True, validate=validate.OneOf(LEVELS))
    required_fields = fields.List(fields.String(validate=validate.OneOf(["subscription_id"])),
                                  validate=validate.Length(max=1))
    active = JsonBool()
    position = fields.Integer(strict=True, validate=validate.Range(0, 10_000))


class CategoryReplace(CategoryIn):
    code = fields.String(validate=CATEGORY_CODE,
                         metadata={"description": "the path's code; it cannot change"})


class CategoryQuery(StrictSchema):
    inactive = fields.Boolean(load_default=False,
                              metadata={"description": "include retired categories"})


class FaqIn(StrictSchema):
    category = fields.String(required=True, validate=validate.Length(min=1, max=40))
    language = fields.String(required=True, validate=validate.OneOf(SUPPORT_LANGUAGES))
    question = Text(300, required=True, min_length=3)
    answer = Text(5000, required=True, min_length=1)
    position = fields.Integer(strict=True, validate=validate.Range(0, 10_000))


# ops: teams (the tickets service's team, accounts' members, the notifier's channels)

class TeamIn(StrictSchema):
    name = TeamName(required=True, metadata={"example": "noc"})
    description = Text(500)
    lead = Ref(allow_none=True, metadata={"description": "an agent's account id"})
    members = fields.List(Ref(), validate=validate.Length(max=100),
                          metadata={"description": "agent or admin account ids"})
    channels = fields.List(fields.Nested(ChannelIn), validate=validate.Length(max=20))


class TeamChange(StrictSchema):
    description = Text(500)
    lead = Ref(allow_none=True)
    members = fields.List(Ref(), validate=validate.Length(max=100), metadata={
        "description": "exactly these agent or admin accounts"})
    channels = fields.List(fields.Nested(ChannelIn), validate=validate.Length(max=20),
                           metadata={"description": "replaces the team's channels (new "
                                                    "webhook secrets are in this answer)"})


class TeamMember(Schema):
    id = fields.String()
    name = fields.String()
    email = fields.String()
    role = fields.String(metadata={"enum": list(permissions.STAFF_ROLES)})


class Team(Schema):
    id = fields.String(metadata={"example": "noc", "description": "the team's name"})
    name = fields.String()
    description = fields.String()
    lead = fields.String(allow_none=True)
    members = fields.List(fields.Nested(TeamMember))
    channels = fields.List(fields.Nested(ChannelOut))
    created_at = fields.String(metadata={"format": "date-time"})


TeamList = Schema.from_dict({"data": fields.List(fields.Nested(Team))}, name="TeamList")


# ops: routing rules

class MatcherIn(StrictSchema):
    field = fields.String(required=True, validate=validate.OneOf(ROUTING_FIELDS))
    op = fields.String(load_default="=", validate=validate.OneOf(OPERATORS), metadata={
        "description": "=~ and !~ take an anchored regular expression (searched for, "
                       "case-insensitive, on keywords)"})
    value = Text(500, required=True)


class Matcher(Schema):
    field = fields.String()
    op = fields.String()
    value = fields.String()


class RuleIn(StrictSchema):
    position = fields.Integer(required=True, strict=True, validate=validate.Range(0, 1_000_000),
                              metadata={"description": "lower first"})
    description = Text(300)
    match = fields.List(fields.Nested(MatcherIn), load_default=list,
                        validate=validate.Length(max=20),
                        metadata={"description": "all must hold; none: every ticket"})
    team = TeamName(required=True)
    priority = fields.String(allow_none=True, validate=validate.OneOf(PRIORITIES))
    escalation_policy = Ref(allow_none=True)
    continue_ = JsonBool(data_key="continue", attribute="continue", load_default=False,
                               metadata={"description": "the next matching rule decides too "
                                                        "(one ticket pages two teams)"})


class RoutingRule(Schema):
    id = fields.String(metadata={"example": "rr_3k4j5h6g7f8d9s0a1q2w3e4r"})
    position = fields.Integer()
    description = fields.String()
    match = fields.List(fields.Nested(Matcher))
    team = fields.String()
    priority = fields.String(allow_none=True)
    escalation_policy = fields.String(allow_none=True)
    continue_ = fields.Boolean(data_key="continue", attribute="continue")
    updated_at = fields.String(metadata={"format": "date-time"})


class DefaultRoute(Schema):
    team = fields.String()
    escalation_policy = fields.String(allow_none=True)


class DefaultRouteIn(StrictSchema):
    team = TeamName(required=True)
    escalation_policy = Ref(allow_none=True)


RoutingRuleList = Schema.from_dict({"data": fields.List(fields.Nested(RoutingRule)),
                                    "default": fields.Nested(DefaultRoute)},
                                   name="RoutingRuleList")


class RouteTestIn(StrictSchema):
    """A ticket's attributes, as routing sees them."""

    category = fields.String(validate=validate.Length(max=40))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    region = fields.String(validate=validate.Length(max=10))
    package = fields.String(validate=validate.Length(max=40))
    billing_type = fields.String(validate=validate.OneOf(["prepaid", "postpaid"]))
    subscription = fields.String(validate=validate.Length(max=40))
    subject = Text(200, metadata={"description": "with the description: what `keywords` "
                                                 "matchers search"})
    description = Text(5000)


class RouteDecision(Schema):
    team = fields.String()
    priority = fields.String(allow_none=True)
    escalation_policy = fields.String(allow_none=True)
    rule_id = fields.String(allow_none=True, metadata={"description": "null: the default"})


class RouteTestOut(Schema):
    decisions = fields.List(fields.Nested(RouteDecision), metadata={
        "description": "the first matching rule's, and the next after each `continue`"})


# ops: escalation policies

class EscalationTargetIn(StrictSchema):
    OPENAPI = {"oneOf": [{"properties": {"type": {"enum": ["team"]}}, "required": ["team"]},
                         {"properties": {"type": {"enum": ["lead"]}},
                          "not": {"required": ["team"]}}]}

    type = fields.String(required=True, validate=validate.OneOf(["team", "lead"]),
                         metadata={"description": "lead: the channels of `<team>-lead`"})
    team = TeamName()

    @validates_schema
    def _team_for_team(self, data, **kwargs):
        if data.get("type") == "team" and not data.get("team"):
            raise ValidationError("Required for a team target.", "team")
        if data.get("type") == "lead" and "team" in data:
            raise ValidationError("Not used by a lead target.", "team")


class EscalationStepIn(StrictSchema):
    delay_minutes = fields.Integer(required=True, strict=True,
                                   validate=validate.Range(1, 7 * 24 * 60))
    target = fields.Nested(EscalationTargetIn, required=True)


class EscalationPolicyIn(StrictSchema):
    name = Text(100, required=True, min_length=1)
    steps = fields.List(fields.Nested(EscalationStepIn), required=True,
                        validate=validate.Length(min=1, max=10))
    repeat = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, 10))


class EscalationTarget(Schema):
    type = fields.String()
    team = fields.String()


class EscalationStep(Schema):
    delay_minutes = fields.Integer()
    target = fields.Nested(EscalationTarget)


class EscalationPolicy(Schema):
    id = fields.String(metadata={"example": "esc_3k4j5h6g7f8d9s0a1q2w3e4r"})
    name = fields.String()
    steps = fields.List(fields.Nested(EscalationStep))
    repeat = fields.Integer()
    created_at = fields.String(metadata={"format": "date-time"})


EscalationPolicyList = Schema.from_dict(
    {"data": fields.List(fields.Nested(EscalationPolicy))}, name="EscalationPolicyList")


# ops: incidents and their rules

class IncidentQuery(StrictSchema):
    status = fields.String(validate=validate.OneOf(["open", "resolved"]))


class IncidentResolveIn(StrictSchema):
    resolution = Text(5000, required=True, min_length=3)
    credit = fields.Nested(PositiveMoney, allow_none=True, metadata={
        "description": "a service credit for each affected customer (once)"})

    @validates_schema
    def _positive_credit(self, data, **kwargs):
        if data.get("credit") and data["credit"]["amount"] <= 0:
            raise ValidationError({"credit": {"amount": ["Must be more than 0."]}})


class CreditCounts(Schema):
    granted = fields.Integer()
    pending = fields.Integer()
    failed = fields.Integer()


class Incident(Schema):
    id = fields.String(metadata={"example": "inc_3k4j5h6g7f8d9s0a1q2w3e4r"})
    title = fields.String()
    status = fields.String(metadata={"enum": ["open", "resolved"]})
    team = fields.String()
    group = fields.String(metadata={"description": "the rule and the grouped values, e.g. "
                                                   "the region"})
    rule_id = fields.String()
    window_minutes = fields.Integer()
    ticket_count = fields.Integer()
    customer_count = fields.Integer()
    opened_at = fields.String(metadata={"format": "date-time"})
    last_ticket_at = fields.String(metadata={"format": "date-time"})
    acknowledged_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    resolved_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    resolved_by = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)
    credit = fields.Nested(Money, allow_none=True)
    credits = fields.Nested(CreditCounts)
    tickets = fields.List(fields.Nested(OpsTicketSummary),
                          metadata={"description": "in the answer for one incident"})


IncidentList = Schema.from_dict({"data": fields.List(fields.Nested(Incident))},
                                name="IncidentList")


class IncidentRuleIn(StrictSchema):
    name = Text(100, required=True, min_length=1)
    match = fields.List(fields.Nested(MatcherIn), required=True,
                        validate=validate.Length(min=1, max=20))
    group_by = fields.List(fields.String(validate=validate.OneOf(GROUPABLE)),
                           load_default=list, validate=validate.Length(max=5),
                           metadata={"description": "attributes (not keywords) whose equal "
                                                    "values make one incident"})
    window_minutes = fields.Integer(required=True, strict=True,
                                    validate=validate.Range(1, 7 * 24 * 60))
    position = fields.Integer(strict=True, validate=validate.Range(0, 100_000))


class IncidentRule(Schema):
    id = fields.String()
    name = fields.String()
    match = fields.List(fields.Nested(Matcher))
    group_by = fields.List(fields.String())
    window_minutes = fields.Integer()
    position = fields.Integer()


IncidentRuleList = Schema.from_dict({"data": fields.List(fields.Nested(IncidentRule))},
                                    name="IncidentRuleList")


# ops: silences

class SilenceIn(StrictSchema):
    # what `_what_and_when` checks first: a team or a rule (its own one, not null)
    OPENAPI = {"anyOf": [
        {"required": ["team"], "properties": {"team": {"type": "string"}}},
        {"required": ["rule_id"], "properties": {"rule_id": {"type": "string"}}}]}

    team = TeamName(allow_none=True)
    rule_id = Ref(allow_none=True)
    starts_at = fields.AwareDateTime(allow_none=True, metadata={"description": "default: now"})
    ends_at = fields.AwareDateTime(required=True)
    reason = Text(500, required=True, min_length=3)

    @validates_schema
    def _what_and_when(self, data, **kwargs):
        if not data.get("team") and not data.get("rule_id"):
            raise ValidationError("Give a team or a rule_id to silence.", "team")
        if data.get("starts_at") and data["ends_at"] <= data["starts_at"]:
            raise ValidationError("Must be after starts_at.", "ends_at")


class SilenceQuery(StrictSchema):
    active = fields.Boolean(load_default=False, metadata={"description": "only active ones"})


class Silence(Schema):
    id = fields.String(metadata={"example": "sil_3k4j5h6g7f8d9s0a1q2w3e4r"})
    team = fields.String(allow_none=True)
    rule_id = fields.String(allow_none=True)
    starts_at = fields.String(metadata={"format": "date-time"})
    ends_at = fields.String(metadata={"format": "date-time"})
    reason = fields.String()
    created_by = fields.String()
    created_at = fields.String(metadata={"format": "date-time"})
    active = fields.Boolean()


SilenceList = Schema.from_dict({"data": fields.List(fields.Nested(Silence))},
                               name="SilenceList")


# staff governance: approvals (maker-checker) and the audit log

class Approval(Schema):
    """Held for a second person's approval: above the maker's bounds"""
    id = fields.String(metadata={"example": "apr_3k4j5h6g7f8d9s0a1q2w3e4r"})
    action = fields.String(metadata={"enum": ["wallet.adjust", "credit_note.issue"]})
    params = fields.Dict(metadata={"description": "what runs once approved"})
    amount = fields.Nested(Money)
    customer_id = fields.String(allow_none=True)
    reason = fields.String(metadata={"enum": ["per_action", "per_day"],
                                     "description": "which of the maker's bounds it passes"})
    status = fields.String(metadata={"enum": ["pending", "approved", "rejected", "executed",
                                              "failed"]})
    requested_by = fields.String()
    requested_role = fields.String()
    decided_by = fields.String(allow_none=True)
    decided_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    note = fields.String(allow_none=True)
    result = fields.Dict(allow_none=True, metadata={"description": "what the action answered"})
    created_at = fields.String(metadata={"format": "date-time"})
    finished_at = fields.String(allow_none=True, metadata={"format": "date-time"})


ApprovalList = page_of(Approval, "ApprovalList")


class ApprovalQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(
        ["pending", "approved", "rejected", "executed", "failed"]))


class DecisionIn(StrictSchema):
    note = Text(500)


class AuditEntry(Schema):
    seq = fields.Integer()
    at = fields.String(metadata={"format": "date-time"})
    actor_id = fields.String(allow_none=True)
    actor_role = fields.String(allow_none=True)
    session_id = fields.String(allow_none=True)
    client_ip = fields.String(allow_none=True)
    action = fields.String(metadata={"example": "wallet.adjust"})
    target = fields.String(allow_none=True, metadata={"example": "customer:cus_…"})
    outcome = fields.String(metadata={"enum": ["ok", "refused", "failed", "pending"]})
    details = fields.Dict()
    request_id = fields.String(allow_none=True)
    summary = fields.String(allow_none=True)


AuditList = page_of(AuditEntry, "AuditList")


def _date_time(value: str) -> None:
    """An ISO 8601 date-time with its offset (`2026-12-01T00:00:00Z`), as the document says."""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError("Not a valid date-time (e.g. 2026-12-01T00:00:00Z).") from None
    if parsed.tzinfo is None:
        raise ValidationError("Give the offset (Z or +01:00).")


class AuditQuery(StrictSchema):
    actor_id = fields.String(validate=validate.Length(max=40))
    action = fields.String(validate=validate.Length(max=60), metadata={
        "description": "an action, or a family ending in '.' (`wallet.`)"})
    target = fields.String(validate=validate.Length(max=200))
    since = fields.String(validate=[validate.Length(max=40), _date_time],
                          metadata={"format": "date-time"})
    until = fields.String(validate=[validate.Length(max=40), _date_time],
                          metadata={"format": "date-time"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.String(validate=validate.Regexp(r"^\d{1,19}$"))
