"""The portal inbox and notification preferences (Settings), and the ops side of the notifier
(team alert channels, deliveries)."""

from __future__ import annotations

from gateway.http import Call, Reply
from services.common.ids import new_id


def inbox(gw, call: Call) -> dict:
    return gw.notifier.notifications(call.principal.customer_id, call.query["limit"],
                                     call.query.get("cursor"),
                                     bool(call.query.get("unread")))


def read(gw, call: Call) -> dict:
    return gw.notifier.mark_read(call.principal.customer_id, call.path["notification_id"])


def read_all(gw, call: Call) -> dict:
    return gw.notifier.mark_all_read(call.principal.customer_id)


def preferences(gw, call: Call) -> dict:
    return gw.notifier.get_preferences(call.principal.customer_id)


def set_preferences(gw, call: Call) -> dict:
    return gw.notifier.set_preferences(call.principal.customer_id, call.body)


def ops_channels(gw, call: Call) -> dict:
    return gw.notifier.list_channels(call.path["team"])


def ops_create_channel(gw, call: Call) -> Reply:
    return Reply(gw.notifier.create_channel(call.path["team"], call.body), status=201)


def ops_delete_channel(gw, call: Call) -> Reply:
    gw.notifier.delete_channel(call.path["channel_id"])
    return Reply(None, status=204)


def ops_raise_alert(gw, call: Call) -> Reply:
    body = call.body
    # without a dedup key the alert is its own (the notifier needs one: it pages once per key)
    return Reply(gw.notifier.raise_alert(call.path["team"], body["severity"], body["title"],
                                         body["text"], body.get("fields_") or {},
                                         body.get("dedup_key") or new_id("alert")), status=201)


def ops_deliveries(gw, call: Call) -> dict:
    return gw.notifier.list_deliveries(call.query.get("status"), call.query["limit"],
                                       call.query.get("cursor"))


def ops_retry_delivery(gw, call: Call) -> dict:
    return gw.notifier.retry_delivery(call.path["delivery_id"])


def ops_broadcast(gw, call: Call) -> Reply:
    body = dict(call.body)
    if body.get("send_at"):
        body["send_at"] = body["send_at"].isoformat()
    return Reply(gw.notifier.create_broadcast(body, call.principal.customer_id), status=202)


def ops_broadcasts(gw, call: Call) -> dict:
    return gw.notifier.list_broadcasts(call.query["limit"], call.query.get("cursor"))


def ops_broadcast_status(gw, call: Call) -> dict:
    return gw.notifier.get_broadcast(call.path["broadcast_id"])
