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


class DashboardWallet(WalletOut):
    unavailable = fields.Boolean()


class DashboardBills(Schema):
    unavailable = fields.Boolean()
    outstanding_total = fields.Nested(Money)
    overdue_count = fields.Integer()
    next_due = fields.Nested(NextDue, allow_none=True)


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
