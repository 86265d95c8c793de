"""What a customer does to a subscription: subscribe, change package (with a preview), add and
remove add-ons, pause, resume, cancel; and a device's serial replaced (ops).

Each operation is a function of a `Ops` context (session, now, the catalog and accounts
clients). Operations flush but do not commit: the service commits, alone or inside an
idempotency record. Every money consequence is a `Charge` whose `operation_key` is unique.
The catalog's service rules are asked (`check_change`) before every change, so a rule is
enforced by the service, not only by the page; the lifecycle's state machine comes first.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.billing import events
from services.billing.exceptions import (
    CHANGE_ALREADY_SCHEDULED,
    DEVICE_NOT_FOUND,
    SERIAL_TAKEN,
)
from services.billing.models import (
    Charge,
    Device,
    ScheduledChange,
    Subscription,
    SubscriptionItem,
)
from services.billing.money import texts, wallets
from services.billing.subscriptions import lifecycle, proration, settlement
from services.billing.subscriptions.periods import period_end
from services.billing.subscriptions.proration import Line
from services.billing.subscriptions.schemas import (
    AddonSchema,
    CancelSchema,
    ChangeSchema,
    PauseSchema,
    SubscribeSchema,
)
from services.billing.subscriptions.views import (
    discount_of,
    dump,
    get,
    money,
    quote_view,
    renewal_lines,
)
from services.common import errors, outbox
from services.common.clock import isoformat
from services.common.contract.billing import SerialChange
from services.common.ids import new_id
from services.common.schemas import load_or_raise


@dataclass
class Ops:
    session: Session
    now: dt.datetime
    catalog: Any  # bounded RPC client of the catalog service
    accounts: Any  # bounded RPC client of the accounts service


# reading -------------------------------------------------------------------------------------


# recording -----------------------------------------------------------------------------------

def record(ops: Ops, sub: Subscription, lines: list[Line], operation: str,
            start: dt.datetime | None, end: dt.datetime | None) -> None:
    ops.session.flush()  # the subscription's row first: charges refer to it
    for n, ln in enumerate(lines):
        ops.session.add(Charge(
            id=new_id("chg"), customer_id=sub.customer_id, subscription_id=sub.id, kind=ln.kind,
            description=ln.description, text=ln.text, item_code=ln.item, amount=ln.amount,
            tax_rate_bp=ln.tax_rate_bp, tax=ln.tax, currency=sub.currency, period_start=start,
            period_end=end, operation_key=f"{operation}:{n}", created_at=ops.now,
            settled=False))


def _pay(ops: Ops, sub: Subscription, strict: bool = True) -> None:
    """A prepaid customer's own action that costs money is paid from the wallet at once, or
    does not happen (strict); one that gives money back (a removal, a cancellation) always
    happens, and pays what it can of anything due."""
    if sub.billing_type == "prepaid":
        settlement.settle(ops.session, sub.customer_id, ops.now, strict=strict)


def emit(ops: Ops, event_type: str, sub: Subscription, **extra: Any) -> None:
    ops.session.flush()
    outbox.emit(ops.session, event_type, "subscription", {**dump(sub), "customer_id":
                                                          sub.customer_id, **extra}, ops.now)


def _serial(kind: str) -> str:
    prefix = {"set_top_box": "STB", "router": "RTR"}.get(kind, "DEV")
    return f"{prefix}-{base64.b32encode(secrets.token_bytes(10)).decode()[:12]}"


def provision_included(sub: Subscription, devices: list[dict], at: dt.datetime) -> None:
    """The devices a package includes (a quote's `included` devices) that the subscription
    does not have yet: added to it at no charge (acquisition "included"), with a serial."""
    have = {d.code for d in sub.devices}
    for device in devices:
        if device.get("included") and device["code"] not in have:
            sub.devices.append(Device(
                id=new_id("dev"), customer_id=sub.customer_id, code=device["code"],
                model=device["model"], kind=device["kind"], acquisition="included",
                serial_number=_serial(device["kind"]), previous_serials=[], created_at=at,
                updated_at=at))
            have.add(device["code"])


# subscribe -----------------------------------------------------------------------------------

def subscribe(ops: Ops, customer_id: str, request: dict) -> dict:
    req = load_or_raise(SubscribeSchema(), request)
    account = ops.accounts.get_account(customer_id)
    wanted_devices = req["devices"]
    quote = ops.catalog.quote(account["currency"], req["billing_period"], req["package"],
                              req["addons"], [d["code"] for d in wanted_devices],
                              account.get("tax_region"))
    now = ops.now
    end = period_end(now, req["billing_period"], now.day)
    sub = Subscription(
        id=new_id("sub"), customer_id=customer_id, status=lifecycle.ACTIVE,
        currency=account["currency"], billing_type=account["billing_type"],
        billing_period=req["billing_period"], tax_region=quote["tax"]["region"],
        tax_rate_bp=quote["tax"]["rate_bp"], tax_name=quote["tax"]["name"],
        activation_date=now, anchor_day=now.day, current_period_start=now,
        current_period_end=end, created_at=now, updated_at=now)
    ops.session.add(sub)
    priced = [("package", quote["package"])] + [("addon", a) for a in quote["addons"]]
    lines: list[Line] = []
    choices = {d["code"]: d for d in wanted_devices}
    for device in quote["devices"]:  # what was chosen, and what the package includes
        choice = choices.get(device["code"], {"acquisition": None})
        acquisition = choice["acquisition"] or ("rental" if device["rental_price"] is not None
                                                else "purchase")
        if device.get("included"):  # part of the package: no charge of its own
            acquisition = "included"
        price = 0 if acquisition == "included" else \
            device["rental_price" if acquisition == "rental" else "sale_price"]
        if price is None:
            raise errors.Conflict(f"{device['model']} is not offered for {acquisition}.",
                                  code="DEVICE_NOT_OFFERED", fields={"devices": [device["code"]]})
        sub.devices.append(Device(
            id=new_id("dev"), customer_id=customer_id, code=device["code"],
            model=device["model"], kind=device["kind"], acquisition=acquisition,
            serial_number=_serial(device["kind"]), previous_serials=[], created_at=now,
            updated_at=now))
        if acquisition == "included":
            continue
        if acquisition == "rental":
            priced.append(("device_rental", {"code": device["code"],
                                             "name": f"{device['model']} rental",
                                             "price": price, "discount": None}))
        else:
            lines.append(proration.line("one_off", f"{device['model']} (purchase)", price,
                                        sub.tax_rate_bp, device["code"],
                                        texts.text(texts.DEVICE_PURCHASE,
                                                   name=device["model"])))
    items = []
    for kind, q in priced:
        item = SubscriptionItem(id=new_id("si"), kind=kind, code=q["code"], name=q["name"],
                                list_price=q["price"], discount=discount_of(q),
                                promotion=q.get("discount"), charged=q["price"] - discount_of(q),
                                charged_since=now, added_at=now)
        sub.items.append(item)
        items.append({"kind": kind, "code": item.code, "name": item.name,
                      "list_price": item.list_price, "discount": item.discount})
    lines = renewal_lines(sub, items, now, end) + lines
    record(ops, sub, lines, f"subscribe:{sub.id}", now, end)
    _pay(ops, sub)
    emit(ops, events.SUBSCRIPTION_ACTIVATED, sub)
    return {**dump(sub), "charges": quote_view(sub, lines, now)}


# changes -------------------------------------------------------------------------------------

def _rules_allow(ops: Ops, sub: Subscription, target: dict) -> dict:
    """Ask the catalog's service rules; a forbidden change is a 409 with the rule's reason."""
    answer = ops.catalog.check_change({
        "package": sub.package.code, "addons": [a.code for a in sub.addons],
        "activation_date": isoformat(sub.activation_date),
        "current_period": {"start": isoformat(sub.current_period_start),
                           "end": isoformat(sub.current_period_end)}}, target)
    if not answer["allowed"]:
        raise errors.Conflict(answer["reason"], code=answer["code"] or "CHANGE_NOT_ALLOWED",
                              details={"params": answer.get("params") or {}})
    return answer


def swap(sub: Subscription, removing: list[SubscriptionItem], adding: list[tuple[str, dict]],
          at: dt.datetime) -> tuple[list[Line], Callable[[], None]]:
    """The lines of a change at `at`, and a function that applies it to the subscription."""
    held = [proration.Held(i.code, i.name, i.charged, i.charged_since) for i in removing]
    offers = [proration.Offer(q["code"], q["name"], q["price"], q["price"] - discount_of(q))
              for _, q in adding]
    credited_now = {i.code: i.credited for i in sub.items
                    if i.removed_at == at and i.credited is not None}
    lines, credited, added = proration.swap(held, offers, sub.current_period_start,
                                            sub.current_period_end, at, sub.tax_rate_bp,
                                            credited_now)

    def apply() -> None:
        for item in removing:
            item.removed_at, item.credited = at, credited[item.code]
        for (kind, q), h in zip(adding, added, strict=True):
            sub.items.append(SubscriptionItem(
                id=new_id("si"), kind=kind, code=q["code"], name=q["name"],
                list_price=q["price"], discount=discount_of(q), promotion=q.get("discount"),
                charged=h.charged, charged_since=at, added_at=at))
        sub.updated_at = at

    return lines, apply


def quote_prices(ops: Ops, sub: Subscription, package: str, addons: list[str]) -> dict:
    return ops.catalog.quote(sub.currency, sub.billing_period, package, addons, [],
                             sub.tax_region)


def change_package(ops: Ops, customer_id: str, subscription_id: str, request: dict) -> dict:
    req = load_or_raise(ChangeSchema(), request)
    sub = get(ops.session, customer_id, subscription_id)
    lifecycle.next_status("change_package", sub.status)
    answer = _rules_allow(ops, sub, {"action": "change_package", "package": req["package"],
                                     "when": req["when"]})
    quote = quote_prices(ops, sub, req["package"], [a.code for a in sub.addons])
    new_package = quote["package"]
    if answer["effective"] == "period_end":
        effective = sub.current_period_end
        view = quote_view(sub, [], effective, scheduled=True)
        view["next_renewal"] = {"date": isoformat(effective), "amount": money(
            proration.totals(renewal_lines(sub, [
                {"kind": "package", "code": new_package["code"], "name": new_package["name"],
                 "list_price": new_package["price"], "discount": discount_of(new_package)},
                *[{"kind": i.kind, "code": i.code, "name": i.name, "list_price": i.list_price,
                   "discount": i.discount} for i in sub.active_items if i.kind != "package"]],
                effective, period_end(effective, sub.billing_period, sub.anchor_day))).total,
            sub.currency)}
        if req["preview"]:
            return view
        _schedule(ops, sub, "change_package", {"package": new_package,
                                               "devices": quote["devices"]}, effective)
        emit(ops, events.SUBSCRIPTION_CHANGED, sub, change={"kind": "package_scheduled",
                                                             "package": new_package["code"]})
        return {**view, "subscription": dump(sub)}
    lines, apply = swap(sub, [sub.package], [("package", new_package)], ops.now)
    view = quote_view(sub, lines, ops.now, scheduled=False)
    if req["preview"]:
        return view
    for change in sub.pending_changes:  # a change now replaces a scheduled package change
        if change.kind == "change_package":
            _unschedule(change)
    old = sub.package.code
    apply()
    provision_included(sub, quote["devices"], ops.now)
    record(ops, sub, lines, new_id("op"), ops.now, sub.current_period_end)
    _pay(ops, sub)
    emit(ops, events.SUBSCRIPTION_CHANGED, sub, change={"kind": "package", "from": old,
                                                         "to": new_package["code"]})
    return {**view, "subscription": dump(sub)}


def add_addon(ops: Ops, customer_id: str, subscription_id: str, request: dict) -> dict:
    req = load_or_raise(AddonSchema(), request)
    sub = get(ops.session, customer_id, subscription_id)
    lifecycle.next_status("add_addon", sub.status)
    _rules_allow(ops, sub, {"action": "add_addon", "addon": req["code"]})
    quote = quote_prices(ops, sub, sub.package.code, [a.code for a in sub.addons] + [req["code"]])
    added = next(a for a in quote["addons"] if a["code"] == req["code"])
    lines, apply = swap(sub, [], [("addon", added)], ops.now)
    view = quote_view(sub, lines, ops.now)
    if req["preview"]:
        return view
    apply()
    record(ops, sub, lines, new_id("op"), ops.now, sub.current_period_end)
    _pay(ops, sub)
    emit(ops, events.SUBSCRIPTION_CHANGED, sub, change={"kind": "addon_added",
                                                         "addon": added["code"]})
    return {**view, "subscription": dump(sub)}


def remove_addon(ops: Ops, customer_id: str, subscription_id: str, code: str,
                 preview: bool = False) -> dict:
    sub = get(ops.session, customer_id, subscription_id)
    lifecycle.next_status("remove_addon", sub.status)
    _rules_allow(ops, sub, {"action": "remove_addon", "addon": code})
    item = next(a for a in sub.addons if a.code == code)
    lines, apply = swap(sub, [item], [], ops.now)
    view = quote_view(sub, lines, ops.now)
    if preview:
        return view
    apply()
    record(ops, sub, lines, new_id("op"), ops.now, sub.current_period_end)
    _pay(ops, sub, strict=False)
    emit(ops, events.SUBSCRIPTION_CHANGED, sub, change={"kind": "addon_removed", "addon": code})
    return {**view, "subscription": dump(sub)}


def _schedule(ops: Ops, sub: Subscription, kind: str, details: dict,
              effective: dt.datetime) -> None:
    for change in sub.pending_changes:
        if change.kind == kind:
            _unschedule(change)
    ops.session.flush()
    sub.scheduled.append(ScheduledChange(
        id=new_id("sch"), kind=kind, details=details, effective_at=effective, status="pending",
        pending_key=f"{sub.id}:{kind}", created_at=ops.now))
    sub.updated_at = ops.now


def _unschedule(change: ScheduledChange) -> None:
    change.status, change.pending_key = "cancelled", None


# pause, resume, cancel -----------------------------------------------------------------------

def pause(ops: Ops, customer_id: str, subscription_id: str, request: dict) -> dict:
    req = load_or_raise(PauseSchema(), request)
    sub = get(ops.session, customer_id, subscription_id)
    paused = lifecycle.next_status("pause", sub.status)
    until = req["until"]
    if until is not None and until <= ops.now.date():
        raise errors.InvalidArgument(fields={"until": ["must be a date after today"]})
    answer = _rules_allow(ops, sub, {"action": "pause",
                                     "until": until.isoformat() if until else None})
    sub.status = paused
    if until is None and answer.get("until_latest"):
        until = dt.date.fromisoformat(answer["until_latest"])
    sub.paused_at = ops.now
    sub.pause_until = (dt.datetime.combine(until, dt.time(), dt.UTC) if until else None)
    sub.updated_at = ops.now
    emit(ops, events.SUBSCRIPTION_PAUSED, sub)
    return dump(sub)


def resume(ops: Ops, customer_id: str, subscription_id: str) -> dict:
    sub = get(ops.session, customer_id, subscription_id)
    resume_from(ops, sub, ops.now)
    return dump(sub)


def resume_from(ops: Ops, sub: Subscription, at: dt.datetime) -> None:
    """Back to active; the paused time is added to the period, so none of it is paid for."""
    sub.status = lifecycle.next_status("resume", sub.status)
    paused_for = max(dt.timedelta(0), at - sub.paused_at)
    lifecycle.add_unserved_time(sub, paused_for)
    sub.paused_at = sub.pause_until = None
    sub.updated_at = ops.now
    emit(ops, events.SUBSCRIPTION_RESUMED, sub, paused_seconds=int(paused_for.total_seconds()))


def cancel(ops: Ops, customer_id: str, subscription_id: str, request: dict) -> dict:
    req = load_or_raise(CancelSchema(), request)
    sub = get(ops.session, customer_id, subscription_id)
    lifecycle.next_status("cancel", sub.status)
    if req["when"] == "period_end" and sub.status != lifecycle.ACTIVE:
        raise errors.Conflict(f"The subscription is {sub.status}; it can only be cancelled now.",
                              code="SUBSCRIPTION_NOT_ACTIVE")
    _rules_allow(ops, sub, {"action": "cancel", "when": req["when"]})
    if req["when"] == "period_end":
        if any(c.kind == "cancel" for c in sub.pending_changes):
            raise errors.Conflict("A cancellation is already scheduled.",
                                  code=CHANGE_ALREADY_SCHEDULED)
        _schedule(ops, sub, "cancel", {"reason": req["reason"]}, sub.current_period_end)
        sub.cancel_reason = req["reason"]
        emit(ops, events.SUBSCRIPTION_CHANGED, sub, change={"kind": "cancel_scheduled"})
        return {**quote_view(sub, [], sub.current_period_end, scheduled=True),
                "subscription": dump(sub)}
    if sub.status == lifecycle.SUSPENDED:
        # the current period was never paid for: its charges are voided, nothing is credited
        lines = []
        wallets.void_unpaid(ops.session, sub, ops.now)
    else:
        # the unused part of what was paid is credited; a paused subscription stopped using
        # its service when the pause began
        lines, apply = swap(sub, sub.active_items, [], sub.paused_at or ops.now)
        apply()
    finish(ops, sub, ops.now, req["reason"])
    record(ops, sub, lines, new_id("op"), ops.now, sub.current_period_end)
    _pay(ops, sub, strict=False)
    emit(ops, events.SUBSCRIPTION_CANCELLED, sub)
    return {**quote_view(sub, lines, ops.now), "subscription": dump(sub)}


def finish(ops: Ops, sub: Subscription, at: dt.datetime, reason: str | None) -> None:
    sub.status = lifecycle.CANCELLED
    sub.cancelled_at = at
    sub.cancel_reason = reason or sub.cancel_reason
    sub.paused_at = sub.pause_until = None
    for item in sub.active_items:
        item.removed_at = at
    for change in sub.pending_changes:
        _unschedule(change)
    sub.updated_at = ops.now


# devices -------------------------------------------------------------------------------------

def replace_serial(ops: Ops, device_id: str, request: dict) -> dict:
    req = load_or_raise(SerialChange(), request)
    device = ops.session.get(Device, device_id) if isinstance(device_id, str) else None
    if device is None:
        raise errors.NotFound("No such device.", code=DEVICE_NOT_FOUND)
    taken = ops.session.scalar(select(Device.id).where(
        Device.serial_number == req["serial_number"], Device.id != device.id))
    if taken:
        raise errors.Conflict("Another device has this serial number.", code=SERIAL_TAKEN,
                              fields={"serial_number": ["is already recorded"]})
    device.previous_serials = [*device.previous_serials, device.serial_number]
    device.serial_number = req["serial_number"]
    device.updated_at = ops.now
    ops.session.flush()
    return {"id": device.id, "customer_id": device.customer_id, "model": device.model,
            "serial_number": device.serial_number, "previous_serials": device.previous_serials}
