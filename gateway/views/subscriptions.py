"""The Subscriptions tab: a customer's services and every change to them.

Each call names the authenticated customer, so billing answers NotFound for anyone else's
subscription. Changes pass the client's Idempotency-Key through.
"""

from __future__ import annotations

from gateway.http import Call, Reply, idempotency_key
from services.common import config as keys


def _me(call: Call) -> str:
    return call.principal.customer_id


def list_(gw, call: Call) -> dict:
    return gw.billing.list_subscriptions(_me(call))


def get(gw, call: Call) -> dict:
    return gw.billing.get_subscription(_me(call), call.path["subscription_id"])


def package_options(gw, call: Call) -> dict:
    """Every package this subscription could change to, before any click: its prices with the
    subscription's tax, whether the operator's rules allow the change (and why not, by code
    and params), when it would take effect, and the equipment it brings."""
    sub = gw.billing.get_subscription(_me(call), call.path["subscription_id"])
    snapshot = {"package": sub["package"]["code"], "addons": [a["code"] for a in sub["addons"]],
                "activation_date": sub["activation_date"],
                "current_period": sub["current_period"]}
    options = gw.catalog.package_options(snapshot)
    packages = {p["code"]: p for p in gw.catalog.list_packages(
        tax_region=sub["tax"]["region"], language=call.principal.account.get("language"))}
    models = {d["code"]: d for d in gw.catalog.list_devices()}
    have = {d["code"] for d in sub["devices"]}
    shown = []
    for option in options:
        package = packages.get(option["package"])
        if package is None:  # the current package, retired: shown from the subscription
            package = {"code": sub["package"]["code"], "name": sub["package"]["name"]}
        brings = [{"code": code, "model": models[code]["model"], "kind": models[code]["kind"]}
                  for code in package.get("included_devices", ())
                  if code not in have and code in models]
        refusal = None if option["allowed"] else {
            "code": option["code"], "reason": option["reason"], "params": option["params"]}
        shown.append({"package": package, "current": option["current"], "kind": option["kind"],
                      "allowed": option["allowed"], "effective": option["effective"],
                      "refusal": refusal, "devices_added": brings})
    return {"data": shown, "price_display": keys.price_display(gw.config)}


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
