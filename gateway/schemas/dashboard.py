"""The main page (dashboard): its parts, each marked unavailable when its service is down."""

from __future__ import annotations

from marshmallow import Schema, fields

from gateway.schemas.bills import NextDue
from gateway.schemas.common import Money
from gateway.schemas.subscriptions import AddonRef, PackageRef, Renewal, ScheduledChange
from gateway.schemas.support import TicketSummary
from gateway.schemas.wallet import WalletOut


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


class NextPrepaidRenewal(Schema):
    """The next renewal the wallet must pay, and whether it can."""
    date = fields.String(metadata={"format": "date-time"})
    subscription_id = fields.String()
    package = fields.String(metadata={"description": "the package's name"})
    amount = fields.Nested(Money, metadata={"description": "with tax"})
    covered = fields.Boolean(metadata={"description": "the balance pays it"})
    missing = fields.Nested(Money, metadata={"description": "what a top-up must add to pay it"})


class DashboardWallet(WalletOut):
    unavailable = fields.Boolean()
    next_renewal = fields.Nested(NextPrepaidRenewal, allow_none=True, metadata={
        "description": "the first renewal of any subscription; null without any"})
    lasts_until = fields.String(allow_none=True, metadata={
        "format": "date-time",
        "description": "the first renewal within a year the balance cannot pay (services run "
                       "until then); null when it pays them all or there are none"})
    renewals_covered = fields.Integer(metadata={
        "description": "renewals within a year the balance pays, in date order"})


class AutopayCard(Schema):
    id = fields.String()
    brand = fields.String()
    last4 = fields.String()


class DashboardAutopay(Schema):
    enabled = fields.Boolean()
    method = fields.Nested(AutopayCard, allow_none=True, metadata={
        "description": "the card autopay charges; null when on but without a card"})


class DashboardBills(Schema):
    unavailable = fields.Boolean()
    outstanding_total = fields.Nested(Money)
    overdue_count = fields.Integer()
    next_due = fields.Nested(NextDue, allow_none=True)
    autopay = fields.Nested(DashboardAutopay)


class DashboardTickets(Schema):
    unavailable = fields.Boolean()
    count = fields.Integer(metadata={"description": "open tickets"})
    latest = fields.List(fields.Nested(TicketSummary), metadata={"description": "up to 3"})


class Dashboard(Schema):
    account = fields.Nested(DashboardAccount)
    subscriptions = fields.Nested(DashboardSubscriptions)
    wallet = fields.Nested(DashboardWallet, metadata={"description": "prepaid only"})
    bills = fields.Nested(DashboardBills, metadata={"description": "postpaid only"})
    open_tickets = fields.Nested(DashboardTickets)
    unread_notifications = fields.Nested(DashboardUnread)
