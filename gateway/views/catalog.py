"""What the operator sells, as customers browse it; and the ops side that manages it."""

from __future__ import annotations

from gateway.http import Call, Reply
from services.common import errors

KINDS = ("packages", "addons", "devices", "tax_rates", "promotions")


def packages(gw, call: Call) -> dict:
    return {"data": gw.catalog.list_packages()}


def addons(gw, call: Call) -> dict:
    return {"data": gw.catalog.list_addons(call.query.get("package"))}


def devices(gw, call: Call) -> dict:
    return {"data": gw.catalog.list_devices()}


def _kind(call: Call) -> str:
    kind = call.path["kind"]
    if kind not in KINDS:
        raise errors.NotFound(f"No catalog list called {kind!r}; there are {', '.join(KINDS)}.")
    return kind


def ops_list(gw, call: Call) -> dict:
    return {"data": gw.catalog.ops_list(_kind(call))}


def ops_get(gw, call: Call) -> dict:
    return gw.catalog.ops_get(_kind(call), call.path["code"])


def ops_create(gw, call: Call) -> Reply:
    return Reply(gw.catalog.ops_create(_kind(call), call.body), status=201)


def ops_update(gw, call: Call) -> dict:
    return gw.catalog.ops_update(_kind(call), call.path["code"], call.body)


def ops_retire(gw, call: Call) -> dict:
    return gw.catalog.ops_retire(_kind(call), call.path["code"])
