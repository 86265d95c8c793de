"""The Subscriptions tab: a customer's services and every change to them.

Each call names the authenticated customer, so billing answers NotFound for anyone else's
subscription. Changes pass the client's Idempotency-Key through.
"""

from __future__ import annotations

from gateway.http import Call, Reply, idempotency_key


def _me(call: Call) -> str:
    return call.principal.customer_id


def list_(gw, call: Call) -> dict:
    return gw.billing.list_subscriptions(_me(call))


def get(gw, call: Call) -> dict:
    return gw.billing.get_subscription(_me(call), call.path["subscription_id"])


def subscribe(gw, call: Call) -> Reply:
    created = gw.billing.subscribe(_me(call), call.body, idempotency_key(call))
    return Reply(created, status=201)


def change(gw, call: Call) -> dict:
    return gw.billing.change_package(_me(call), call.path["subscription_id"], call.body,
                                     idempotency_key(call))


def add_addon(gw, call: Call) -> dict:
    return gw.billing.add_addon(_me(call), call.path["subscription_id"], call.body,
                                idempotency_key(call))


def remove_addon(gw, call: Call) -> dict:
    return gw.billing.remove_addon(_me(call), call.path["subscription_id"], call.path["code"],
                                   call.query["preview"], idempotency_key(call))


def pause(gw, call: Call) -> dict:
    body = dict(call.body)
    if body.get("until") is not None:
        body["until"] = body["until"].isoformat()
    return gw.billing.pause(_me(call), call.path["subscription_id"], body,
                            idempotency_key(call))


def resume(gw, call: Call) -> dict:
    return gw.billing.resume(_me(call), call.path["subscription_id"], idempotency_key(call))


def cancel(gw, call: Call) -> dict:
    return gw.billing.cancel(_me(call), call.path["subscription_id"], call.body,
                             idempotency_key(call))


def ops_replace_device(gw, call: Call) -> dict:
    return gw.billing.replace_device(call.path["device_id"], call.body)
