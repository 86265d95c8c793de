"""Catalog entries: the public reads and the ops verbs (list, get, create, update, retire).

One table of kinds drives the ops verbs, so packages, add-ons, devices, tax rates and promotions
are validated, referenced, stored and announced the same way:
- create and update load the *whole* entry with the kind's `StrictSchema` (an update is the
  stored entry with the changes laid over it; `rules` are merged key by key, every other field
  is replaced), so cross-field checks (valid_until > valid_from, at least one device price)
  hold after every change;
- every code an entry refers to must exist (retired entries count: nothing is ever deleted);
- a change that changes something emits `catalog_changed` in the same transaction; the caller
  (the entrypoint in service.py) commits both, or rolls both back on an error.
Retiring sets `active = false`; `ops_update(..., {"active": true})` brings an entry back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from marshmallow import Schema
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.catalog import events, exceptions
from services.catalog.models import Addon, Device, Package, Promotion, TaxRate
from services.catalog.schemas import (
    AddonSchema,
    DeviceSchema,
    PackageSchema,
    PromotionSchema,
    TaxRateSchema,
    dump_addon,
    dump_device,
    dump_package,
    dump_promotion,
    dump_tax_rate,
    ops_dump,
)
from services.common import errors, outbox
from services.common.schemas import load_or_raise


def _references(session: Session, values: dict) -> dict[str, list[str]]:
    """Field errors for codes in `values` that name no existing entry."""
    problems: dict[str, list[str]] = {}

    def check(field: str, model: type, label: str, codes) -> None:
        codes = list(codes or ())
        if not codes:
            return
        found = set(session.scalars(select(model.code).where(model.code.in_(codes))))
        missing = [c for c in codes if c not in found]
        if missing:
            problems.setdefault(field, []).append(f"No {label} with the code {', '.join(missing)}.")

    rules = values.get("rules") or {}
    for field in ("upgrades_to", "downgrades_to"):
        if values.get("code") in (rules.get(field) or ()):
            problems.setdefault(f"rules.{field}", []).append(
                "A package cannot refer to itself.")
        else:
            check(f"rules.{field}", Package, "package", rules.get(field))
    check("included_devices", Device, "device", values.get("included_devices"))
    check("packages", Package, "package", values.get("packages"))
    return problems


@dataclass(frozen=True)
class Kind:
    name: str  # as ops name it: "packages"
    label: str  # as messages name one: "package"
    model: type
    key: str  # "code", or "region" for tax rates
    schema: type[Schema]
    dump: Callable[[object], dict]
    not_found: str


KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("packages", "package", Package, "code", PackageSchema, dump_package,
         exceptions.PACKAGE_NOT_FOUND),
    Kind("addons", "add-on", Addon, "code", AddonSchema, dump_addon,
         exceptions.ADDON_NOT_FOUND),
    Kind("devices", "device", Device, "code", DeviceSchema, dump_device,
         exceptions.DEVICE_NOT_FOUND),
    Kind("tax_rates", "tax rate", TaxRate, "region", TaxRateSchema, dump_tax_rate,
         exceptions.TAX_RATE_NOT_FOUND),
    Kind("promotions", "promotion", Promotion, "code", PromotionSchema, dump_promotion,
         exceptions.PROMOTION_NOT_FOUND),
)}


def kind_of(kind: str) -> Kind:
    if not isinstance(kind, str) or kind not in KINDS:
        raise errors.InvalidArgument(fields={"kind": [f"Must be one of {', '.join(KINDS)}."]})
    return KINDS[kind]


def find(session: Session, kind: Kind, code: str):
    """The entry with this key, retired or not, or None."""
    if not isinstance(code, str) or len(code) > 40:
        return None
    return session.get(kind.model, code)


def get(session: Session, kind: Kind, code: str):
    entry = find(session, kind, code)
    if entry is None:
        raise errors.NotFound(f"There is no {kind.label} with the code {code}.",
                              code=kind.not_found)
    return entry


def _as_input(kind: Kind, entry) -> dict:
    """The stored entry in the shape its schema loads (the base an update is laid over)."""
    values = {}
    for name in kind.schema().load_fields:
        value = getattr(entry, name)
        values[name] = value.isoformat() if isinstance(value, dt.datetime) else value
    return values


def _announce(session: Session, kind: Kind, key: str, change: str, now: dt.datetime) -> None:
    outbox.emit(session, events.CATALOG_CHANGED, "catalog",
                {"kind": kind.name, "code": key, "change": change}, now)


# --- public reads -------------------------------------------------------------------------

def list_active(session: Session, model: type, dump: Callable) -> list[dict]:
    rows = session.scalars(select(model).where(model.active.is_(True)).order_by(model.code))
    return [dump(row) for row in rows]


def get_package(session: Session, code: str) -> dict:
    return dump_package(get(session, KINDS["packages"], code))


# --- ops ----------------------------------------------------------------------------------

def ops_list(session: Session, kind_name: str) -> list[dict]:
    kind = kind_of(kind_name)
    key = getattr(kind.model, kind.key)
    return [ops_dump(kind.dump)(row) for row in session.scalars(select(kind.model).order_by(key))]


def ops_get(session: Session, kind_name: str, code: str) -> dict:
    kind = kind_of(kind_name)
    return ops_dump(kind.dump)(get(session, kind, code))


def _check_references(session: Session, values: dict) -> None:
    problems = _references(session, values)
    if problems:
        raise errors.InvalidArgument("Some entries referred to do not exist.", fields=problems)


def create(session: Session, kind_name: str, data: dict, now: dt.datetime) -> dict:
    kind = kind_of(kind_name)
    values = load_or_raise(kind.schema(), data)
    key = values[kind.key]
    taken = errors.Conflict(f"A {kind.label} with the code {key} exists already.",
                            code=exceptions.ALREADY_EXISTS, fields={kind.key: ["is taken"]})
    if find(session, kind, key) is not None:
        raise taken
    _check_references(session, values)
    entry = kind.model(**values, created_at=now, updated_at=now)
    session.add(entry)
    try:
        session.flush()  # the primary key decides when two ops create the same code at once
    except IntegrityError:  # the caller rolls back the failed flush
        raise taken from None
    _announce(session, kind, key, events.CREATED, now)
    return ops_dump(kind.dump)(entry)


def update(session: Session, kind_name: str, code: str, changes: dict,
           now: dt.datetime) -> dict:
    kind = kind_of(kind_name)
    entry = get(session, kind, code)
    if not isinstance(changes, dict):
        raise errors.InvalidArgument(fields={"_schema": ["Changes must be an object."]})
    if kind.key in changes and changes[kind.key] != code:
        raise errors.InvalidArgument(fields={kind.key: ["cannot be changed"]})
    merged = {**_as_input(kind, entry), **changes}
    if isinstance(changes.get("rules"), dict):
        merged["rules"] = {**entry.rules, **changes["rules"]}
    values = load_or_raise(kind.schema(), merged)
    _check_references(session, values)
    before = kind.dump(entry)
    for name, value in values.items():
        setattr(entry, name, value)
    if kind.dump(entry) == before:  # nothing changes: what was laid over it is dropped
        session.expire(entry)
        return ops_dump(kind.dump)(entry)
    entry.updated_at = now
    _announce(session, kind, code, events.UPDATED, now)
    return ops_dump(kind.dump)(entry)


def retire(session: Session, kind_name: str, code: str, now: dt.datetime) -> dict:
    """Sets `active = false` (idempotent: retiring a retired entry changes and emits nothing)."""
    kind = kind_of(kind_name)
    entry = get(session, kind, code)
    if entry.active:
        entry.active = False
        entry.updated_at = now
        _announce(session, kind, code, events.RETIRED, now)
    return ops_dump(kind.dump)(entry)
