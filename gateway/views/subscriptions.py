"""The Subscriptions tab: a customer's services and every change to them.

Each call names the authenticated customer, so billing answers NotFound for anyone else's
subscription. Changes pass the client's Idempotency-Key through. A household member acting on
the holder's account (`principal.member`) sees and changes only the subscriptions they use, and
their purchases count against their monthly limit (billing enforces both).
"""

from __future__ import annotations

from gateway.http import Call, Reply, idempotency_key
from services.common import config as keys


def _me(call: Call) -> str:
    return call.principal.customer_id


def _member_id(call: Call) -> str | None:
    return call.principal.person_id if call.principal.member else None


def _theirs(gw, call: Call) -> dict:
    """The subscription, if the caller may see it (a member: one they use), else NotFound."""
    return gw.billing.get_subscription(_me(call), call.path["subscription_id"],
                                       _member_id(call))


def list_(gw, call: Call) -> dict:
    return gw.billing.list_subscriptions(_me(call), _member_id(call))


def get(gw, call: Call) -> dict:
    return _theirs(gw, call)


def package_options(gw, call: Call) -> dict:
    """Every package this subscription could change to, before any click: its prices with the
    subscription's tax, whether the operator's rules allow the change (and why not, by code
    and params), when it would take effect, and the equipment it brings."""
    sub = _theirs(gw, call)
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
    created = gw.billing.subscribe(_me(call), call.body, idempotency_key(call),
                                   call.principal.member)
    return Reply(created, status=201)


def change(gw, call: Call) -> dict:
    if call.principal.member:
        _theirs(gw, call)
    return gw.billing.change_package(_me(call), call.path["subscription_id"], call.body,
                                     idempotency_key(call), call.principal.member)


def add_addon(gw, call: Call) -> dict:
    if call.principal.member:
        _theirs(gw, call)
    return gw.billing.add_addon(_me(call), call.path["subscription_id"], call.body,
                                idempotency_key(call), call.principal.member)


def remove_addon(gw, call: Call) -> dict:
    if call.principal.member:
        _theirs(gw, call)
    return gw.billing.remove_addon(_me(call), call.path["subscription_id"], call.path["code"],
                                   call.query["preview"], idempotency_key(call))


def pause(gw, call: Call) -> dict:
    if call.principal.member:
        _theirs(gw, call)
    body = dict(call.body)
    if body.get("until") is not None:
        body["until"] = body["until"].isoformat()
    return gw.billing.pause(_me(call), call.path["subscription_id"], body,
                            idempotency_key(call))


def resume(gw, call: Call) -> dict:
    if call.principal.member:
        _theirs(gw, call)
    return gw.billing.resume(_me(call), call.path["subscription_id"], idempotency_key(call))


def cancel(gw, call: Call) -> dict:
    if call.principal.member:
        _theirs(gw, call)
    return gw.billing.cancel(_me(call), call.path["subscription_id"], call.body,
                             idempotency_key(call))


def ops_replace_device(gw, call: Call) -> dict:
    return gw.billing.replace_device(call.path["device_id"], call.body)
