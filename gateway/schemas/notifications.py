"""Notifications: inbox, preferences; ops' alert channels, alerts, deliveries, broadcasts."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from gateway.schemas.common import PageQuery, page_of
from services.common.schemas import StrictSchema, Text


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
