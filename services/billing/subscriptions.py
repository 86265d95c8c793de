"""Subscriptions: subscribe, view, change with a preview, add-ons, pause, resume, cancel, renew.

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

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.billing import events, lifecycle, proration, wallets
from services.billing.exceptions import (
    CHANGE_ALREADY_SCHEDULED,
    DEVICE_NOT_FOUND,
    SERIAL_TAKEN,
    SUBSCRIPTION_NOT_FOUND,
)
from services.billing.models import Charge, Device, ScheduledChange, Subscription, SubscriptionItem
from services.billing.periods import period_end
from services.billing.proration import Line
from services.billing.schemas import (
    AddonSchema,
    CancelSchema,
    ChangeSchema,
    PauseSchema,
    SerialSchema,
    SubscribeSchema,
)
from services.common import errors, outbox
from services.common.clock import isoformat
from services.common.ids import new_id
from services.common.schemas import load_or_raise


@dataclass
class Ops:
    session: Session
    now: dt.datetime
    catalog: Any  # bounded RPC client of the catalog service
    accounts: Any  # bounded RPC client of the accounts service


# reading -------------------------------------------------------------------------------------

def get(session: Session, customer_id: str, subscription_id: str) -> Subscription:
    """The customer's subscription; another customer's id is NotFound, like a missing one."""
    sub = session.get(Subscription, subscription_id) if isinstance(subscription_id, str) else None
    if sub is None or sub.customer_id != customer_id:
        raise errors.NotFound("No such subscription.", code=SUBSCRIPTION_NOT_FOUND)
    return sub


def list_for(session: Session, customer_id: str) -> list[Subscription]:
    return list(session.scalars(select(Subscription)
                                .where(Subscription.customer_id == customer_id)
                                .order_by(Subscription.created_at.desc())))


def money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency}


def _day(when: dt.datetime) -> str:
    return when.strftime("%d %b %Y")


def dump(sub: Subscription) -> dict:
    cur = sub.currency
    package = sub.package if sub.status != lifecycle.CANCELLED else _last_package(sub)
    renewal = next_renewal(sub)
    return {
        "id": sub.id, "status": sub.status, "currency": cur, "billing_period": sub.billing_period,
        "activation_date": isoformat(sub.activation_date),
        "current_period": {"start": isoformat(sub.current_period_start),
                           "end": isoformat(sub.current_period_end)},
        "package": {"code": package.code, "name": package.name,
                    "price": money(package.list_price, cur),
                    "discount": money(package.discount, cur) if package.discount else None},
        "addons": [{"code": a.code, "name": a.name, "price": money(a.list_price, cur)}
                   for a in sub.addons],
        "devices": [{"id": d.id, "code": d.code, "model": d.model, "kind": d.kind,
                     "acquisition": d.acquisition, "serial_number": d.serial_number}
                    for d in sub.devices],
        "next_renewal": renewal,
        "scheduled_changes": [
            {"id": c.id, "kind": c.kind, "effective_date": isoformat(c.effective_at),
             **({"package": c.details["package"]["code"],
                 "package_name": c.details["package"]["name"]}
                if c.kind == "change_package" else {"reason": c.details.get("reason")})}
            for c in sub.pending_changes],
        "paused_at": isoformat(sub.paused_at), "pause_until": isoformat(sub.pause_until),
        "cancelled_at": isoformat(sub.cancelled_at), "cancel_reason": sub.cancel_reason,
        "tax": {"region": sub.tax_region, "rate_bp": sub.tax_rate_bp, "name": sub.tax_name},
    }


def _last_package(sub: Subscription) -> SubscriptionItem:
    return max((i for i in sub.items if i.kind == "package"), key=lambda i: i.added_at)


def next_renewal(sub: Subscription) -> dict | None:
    """Date and amount of the next period's charges, scheduled changes included."""
    if sub.status == lifecycle.CANCELLED or any(c.kind == "cancel" for c in sub.pending_changes):
        return None
    items = _items_after_pending(sub)
    lines = renewal_lines(sub, items, sub.current_period_end,
                          period_end(sub.current_period_end, sub.billing_period, sub.anchor_day))
    return {"date": isoformat(sub.current_period_end),
            "amount": money(proration.totals(lines).total, sub.currency)}


def _items_after_pending(sub: Subscription) -> list[dict]:
    items = [{"kind": i.kind, "code": i.code, "name": i.name, "list_price": i.list_price,
              "discount": i.discount} for i in sub.active_items]
    for change in sub.pending_changes:
        if change.kind == "change_package":
            pkg = change.details["package"]
            items = [i for i in items if i["kind"] != "package"]
            items.insert(0, {"kind": "package", "code": pkg["code"], "name": pkg["name"],
                             "list_price": pkg["price"], "discount": _discount(pkg)})
    return items


def renewal_lines(sub: Subscription, items: list[dict], start: dt.datetime,
                  end: dt.datetime) -> list[Line]:
    """The full-period lines of a renewal: each item's price, and its promotion as a line."""
    span = f"{_day(start)} – {_day(end)}"
    lines = []
    for item in items:
        lines.append(proration.line("fee", f"{item['name']} ({span})", item["list_price"],
                                    sub.tax_rate_bp, item["code"]))
        if item["discount"]:
            lines.append(proration.line("discount", f"Promotion on {item['name']}",
                                        -item["discount"], sub.tax_rate_bp, item["code"]))
    return lines


def _discount(quoted: dict) -> int:
    return (quoted.get("discount") or {}).get("amount", 0)


# recording -----------------------------------------------------------------------------------

def _record(ops: Ops, sub: Subscription, lines: list[Line], operation: str,
            start: dt.datetime | None, end: dt.datetime | None) -> None:
    ops.session.flush()  # the subscription's row first: charges refer to it
    for n, ln in enumerate(lines):
        ops.session.add(Charge(
            id=new_id("chg"), customer_id=sub.customer_id, subscription_id=sub.id, kind=ln.kind,
            description=ln.description, item_code=ln.item, amount=ln.amount,
            tax_rate_bp=ln.tax_rate_bp, tax=ln.tax, currency=sub.currency, period_start=start,
            period_end=end, operation_key=f"{operation}:{n}", created_at=ops.now,
            settled=False))


def _pay(ops: Ops, sub: Subscription, strict: bool = True) -> None:
    """A prepaid customer's own action that costs money is paid from the wallet at once, or
    does not happen (strict); one that gives money back (a removal, a cancellation) always
    happens, and pays what it can of anything due."""
    if sub.billing_type == "prepaid":
        wallets.settle(ops.session, sub.customer_id, ops.now, strict=strict)


def _emit(ops: Ops, event_type: str, sub: Subscription, **extra: Any) -> None:
    ops.session.flush()
    outbox.emit(ops.session, event_type, "subscription", {**dump(sub), "customer_id":
                                                          sub.customer_id, **extra}, ops.now)


def quote_view(sub: Subscription, lines: list[Line], effective: dt.datetime,
               **extra: Any) -> dict:
    """A preview (or the record of what was done): every line, the tax, the amount due now."""
    cur = sub.currency
    totals = proration.totals(lines)
    shown = [{"kind": ln.kind, "description": ln.description, "amount": money(ln.amount, cur),
              "tax": money(ln.tax, cur), "tax_rate_bp": ln.tax_rate_bp} for ln in lines]
    if lines:
        shown.append({"kind": "tax", "description": f"{sub.tax_name} "
                      f"{sub.tax_rate_bp / 100:g} %", "amount": money(totals.tax, cur),
                      "tax": money(0, cur), "tax_rate_bp": 0})
    return {"lines": shown, "subtotal": money(totals.subtotal, cur),
            "tax": money(totals.tax, cur), "amount_due": money(totals.total, cur),
            "effective_date": effective.date().isoformat(), "effective_at": isoformat(effective),
            **extra}


def _serial(kind: str) -> str:
    prefix = {"set_top_box": "STB", "router": "RTR"}.get(kind, "DEV")
    return f"{prefix}-{base64.b32encode(secrets.token_bytes(10)).decode()[:12]}"


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
                                        sub.tax_rate_bp, device["code"]))
    items = []
    for kind, q in priced:
        item = SubscriptionItem(id=new_id("si"), kind=kind, code=q["code"], name=q["name"],
                                list_price=q["price"], discount=_discount(q),
                                promotion=q.get("discount"), charged=q["price"] - _discount(q),
                                charged_since=now, added_at=now)
        sub.items.append(item)
        items.append({"kind": kind, "code": item.code, "name": item.name,
                      "list_price": item.list_price, "discount": item.discount})
    lines = renewal_lines(sub, items, now, end) + lines
    _record(ops, sub, lines, f"subscribe:{sub.id}", now, end)
    _pay(ops, sub)
    _emit(ops, events.SUBSCRIPTION_ACTIVATED, sub)
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
        raise errors.Conflict(answer["reason"], code=answer["code"] or "CHANGE_NOT_ALLOWED")
    return answer


def _swap(sub: Subscription, removing: list[SubscriptionItem], adding: list[tuple[str, dict]],
          at: dt.datetime) -> tuple[list[Line], Callable[[], None]]:
    """The lines of a change at `at`, and a function that applies it to the subscription."""
    held = [proration.Held(i.code, i.name, i.charged, i.charged_since) for i in removing]
    offers = [proration.Offer(q["code"], q["name"], q["price"], q["price"] - _discount(q))
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
                list_price=q["price"], discount=_discount(q), promotion=q.get("discount"),
                charged=h.charged, charged_since=at, added_at=at))
        sub.updated_at = at

    return lines, apply


def _quote(ops: Ops, sub: Subscription, package: str, addons: list[str]) -> dict:
    return ops.catalog.quote(sub.currency, sub.billing_period, package, addons, [],
                             sub.tax_region)


def change_package(ops: Ops, customer_id: str, subscription_id: str, request: dict) -> dict:
    req = load_or_raise(ChangeSchema(), request)
    sub = get(ops.session, customer_id, subscription_id)
    lifecycle.next_status("change_package", sub.status)
    answer = _rules_allow(ops, sub, {"action": "change_package", "package": req["package"],
                                     "when": req["when"]})
    quote = _quote(ops, sub, req["package"], [a.code for a in sub.addons])
    new_package = quote["package"]
    if answer["effective"] == "period_end":
        effective = sub.current_period_end
        view = quote_view(sub, [], effective, scheduled=True)
        view["next_renewal"] = {"date": isoformat(effective), "amount": money(
            proration.totals(renewal_lines(sub, [
                {"kind": "package", "code": new_package["code"], "name": new_package["name"],
                 "list_price": new_package["price"], "discount": _discount(new_package)},
                *[{"kind": i.kind, "code": i.code, "name": i.name, "list_price": i.list_price,
                   "discount": i.discount} for i in sub.active_items if i.kind != "package"]],
                effective, period_end(effective, sub.billing_period, sub.anchor_day))).total,
            sub.currency)}
        if req["preview"]:
            return view
        _schedule(ops, sub, "change_package", {"package": new_package}, effective)
        _emit(ops, events.SUBSCRIPTION_CHANGED, sub, change={"kind": "package_scheduled",
                                                             "package": new_package["code"]})
        return {**view, "subscription": dump(sub)}
    lines, apply = _swap(sub, [sub.package], [("package", new_package)], ops.now)
    view = quote_view(sub, lines, ops.now, scheduled=False)
    if req["preview"]:
        return view
    for change in sub.pending_changes:  # a change now replaces a scheduled package change
        if change.kind == "change_package":
            _unschedule(change)
    old = sub.package.code
    apply()
    _record(ops, sub, lines, new_id("op"), ops.now, sub.current_period_end)
    _pay(ops, sub)
    _emit(ops, events.SUBSCRIPTION_CHANGED, sub, change={"kind": "package", "from": old,
                                                         "to": new_package["code"]})
    return {**view, "subscription": dump(sub)}


def add_addon(ops: Ops, customer_id: str, subscription_id: str, request: dict) -> dict:
    req = load_or_raise(AddonSchema(), request)
    sub = get(ops.session, customer_id, subscription_id)
    lifecycle.next_status("add_addon", sub.status)
    _rules_allow(ops, sub, {"action": "add_addon", "addon": req["code"]})
    quote = _quote(ops, sub, sub.package.code, [a.code for a in sub.addons] + [req["code"]])
    added = next(a for a in quote["addons"] if a["code"] == req["code"])
    lines, apply = _swap(sub, [], [("addon", added)], ops.now)
    view = quote_view(sub, lines, ops.now)
    if req["preview"]:
        return view
    apply()
    _record(ops, sub, lines, new_id("op"), ops.now, sub.current_period_end)
    _pay(ops, sub)
    _emit(ops, events.SUBSCRIPTION_CHANGED, sub, change={"kind": "addon_added",
                                                         "addon": added["code"]})
    return {**view, "subscription": dump(sub)}


def remove_addon(ops: Ops, customer_id: str, subscription_id: str, code: str,
                 preview: bool = False) -> dict:
    sub = get(ops.session, customer_id, subscription_id)
    lifecycle.next_status("remove_addon", sub.status)
    _rules_allow(ops, sub, {"action": "remove_addon", "addon": code})
    item = next(a for a in sub.addons if a.code == code)
    lines, apply = _swap(sub, [item], [], ops.now)
    view = quote_view(sub, lines, ops.now)
    if preview:
        return view
    apply()
    _record(ops, sub, lines, new_id("op"), ops.now, sub.current_period_end)
    _pay(ops, sub, strict=False)
    _emit(ops, events.SUBSCRIPTION_CHANGED, sub, change={"kind": "addon_removed", "addon": code})
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
    _emit(ops, events.SUBSCRIPTION_PAUSED, sub)
    return dump(sub)


def resume(ops: Ops, customer_id: str, subscription_id: str) -> dict:
    sub = get(ops.session, customer_id, subscription_id)
    _resume(ops, sub, ops.now)
    return dump(sub)


def _resume(ops: Ops, sub: Subscription, at: dt.datetime) -> None:
    """Back to active; the paused time is added to the period, so none of it is paid for."""
    sub.status = lifecycle.next_status("resume", sub.status)
    paused_for = max(dt.timedelta(0), at - sub.paused_at)
    lifecycle.add_unserved_time(sub, paused_for)
    sub.paused_at = sub.pause_until = None
    sub.updated_at = ops.now
    _emit(ops, events.SUBSCRIPTION_RESUMED, sub, paused_seconds=int(paused_for.total_seconds()))


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
        _emit(ops, events.SUBSCRIPTION_CHANGED, sub, change={"kind": "cancel_scheduled"})
        return {**quote_view(sub, [], sub.current_period_end, scheduled=True),
                "subscription": dump(sub)}
    if sub.status == lifecycle.SUSPENDED:
        # the current period was never paid for: its charges are voided, nothing is credited
        lines = []
        wallets.void_unpaid(ops.session, sub, ops.now)
    else:
        # the unused part of what was paid is credited; a paused subscription stopped using
        # its service when the pause began
        lines, apply = _swap(sub, sub.active_items, [], sub.paused_at or ops.now)
        apply()
    _finish(ops, sub, ops.now, req["reason"])
    _record(ops, sub, lines, new_id("op"), ops.now, sub.current_period_end)
    _pay(ops, sub, strict=False)
    _emit(ops, events.SUBSCRIPTION_CANCELLED, sub)
    return {**quote_view(sub, lines, ops.now), "subscription": dump(sub)}


def _finish(ops: Ops, sub: Subscription, at: dt.datetime, reason: str | None) -> None:
    sub.status = lifecycle.CANCELLED
    sub.cancelled_at = at
    sub.cancel_reason = reason or sub.cancel_reason
    sub.paused_at = sub.pause_until = None
    for item in sub.active_items:
        item.removed_at = at
    for change in sub.pending_changes:
        _unschedule(change)
    sub.updated_at = ops.now


# timers: pause ends and renewals -------------------------------------------------------------

def due_pause_ends(session: Session, now: dt.datetime, limit: int = 100) -> list[str]:
    return list(session.scalars(
        select(Subscription.id).where(Subscription.status == lifecycle.PAUSED,
                                      Subscription.pause_until <= now).limit(limit)))


def end_pause(ops: Ops, subscription_id: str) -> bool:
    sub = ops.session.get(Subscription, subscription_id, populate_existing=True)
    if sub is None or sub.status != lifecycle.PAUSED or not sub.pause_until \
            or sub.pause_until > ops.now:
        return False
    _resume(ops, sub, sub.pause_until)  # from the day it ended, not when the timer noticed
    return True


def customers_with_package(session: Session, customer_ids: list[str], package: str) -> list[str]:
    return list(session.scalars(
        select(Subscription.customer_id).join(SubscriptionItem)
        .where(Subscription.customer_id.in_(customer_ids),
               Subscription.status != lifecycle.CANCELLED, SubscriptionItem.kind == "package",
               SubscriptionItem.code == package, SubscriptionItem.removed_at.is_(None))
        .distinct()))


RENEWAL_UPCOMING = "subscription_renewal_upcoming"


def renewal_notices(session: Session, now: dt.datetime, days: int, limit: int = 200) -> int:
    """`subscription_renewal_upcoming`, once per period, `days` before an active subscription
    renews: the amount, and for prepaid whether the wallet covers it (if not, the customer is
    told the service stops on that date unless topped up). The conditional UPDATE claims the
    notice, so several instances send it once."""
    from services.billing.models import Wallet

    horizon = now + dt.timedelta(days=days)
    candidates = session.scalars(select(Subscription).where(
        Subscription.status == lifecycle.ACTIVE, Subscription.current_period_end <= horizon,
        Subscription.current_period_end > now,
        (Subscription.renewal_notice_for.is_(None))
        | (Subscription.renewal_notice_for != Subscription.current_period_end))
        .limit(limit)).all()
    sent = 0
    for sub in candidates:
        renewal = next_renewal(sub)
        claimed = session.execute(
            update(Subscription).where(
                Subscription.id == sub.id,
                Subscription.current_period_end == sub.current_period_end,
                (Subscription.renewal_notice_for.is_(None))
                | (Subscription.renewal_notice_for != sub.current_period_end))
            .values(renewal_notice_for=sub.current_period_end)
            .execution_options(synchronize_session=False)).rowcount
        if not claimed or renewal is None:
            continue
        covered, balance = None, None
        if sub.billing_type == "prepaid":
            wallet = session.get(Wallet, sub.customer_id)
            balance = wallet.balance if wallet else 0
            covered = balance >= renewal["amount"]["amount"]
        outbox.emit(session, RENEWAL_UPCOMING, "subscription", {
            **dump(sub), "customer_id": sub.customer_id, "renewal": renewal,
            "days_left": max(0, (sub.current_period_end - now).days),
            "wallet_covers": covered,
            "wallet_balance": None if balance is None else money(balance, sub.currency)}, now)
        sent += 1
    session.commit()
    return sent


def due_renewals(session: Session, now: dt.datetime, limit: int = 100) -> list[str]:
    return list(session.scalars(
        select(Subscription.id).where(Subscription.status == lifecycle.ACTIVE,
                                      Subscription.current_period_end <= now)
        .order_by(Subscription.current_period_end).limit(limit)))


def renew(ops: Ops, subscription_id: str) -> int:
    """Start every period that has begun by now: apply what was scheduled for its start,
    take today's catalog prices, charge the full period. Returns periods started."""
    sub = ops.session.get(Subscription, subscription_id, populate_existing=True)
    started = 0
    while sub is not None and sub.status == lifecycle.ACTIVE and \
            sub.current_period_end <= ops.now:
        start = sub.current_period_end
        end = period_end(start, sub.billing_period, sub.anchor_day)
        for change in [c for c in sub.pending_changes if c.effective_at <= start]:
            change.status, change.pending_key = "applied", None
            if change.kind == "cancel":
                _finish(ops, sub, start, change.details.get("reason"))
                _emit(ops, events.SUBSCRIPTION_CANCELLED, sub)
                return started
            _swap(sub, [sub.package], [("package", change.details["package"])], start)[1]()
        _refresh_prices(ops, sub)
        items = [{"kind": i.kind, "code": i.code, "name": i.name, "list_price": i.list_price,
                  "discount": i.discount} for i in sub.active_items]
        lines = renewal_lines(sub, items, start, end)
        for item in sub.active_items:
            item.charged, item.charged_since = item.net_price, start
        sub.current_period_start, sub.current_period_end = start, end
        sub.updated_at = ops.now
        _record(ops, sub, lines, f"renew:{sub.id}:{isoformat(start)}", start, end)
        _emit(ops, events.SUBSCRIPTION_RENEWED, sub)
        started += 1
        if sub.billing_type == "prepaid":  # paid from the wallet, or the subscription waits
            wallets.settle(ops.session, sub.customer_id, ops.now, strict=False)
    return started


def _refresh_prices(ops: Ops, sub: Subscription) -> None:
    """A renewal takes the catalog's current prices; a retired entry keeps its last price."""
    try:
        quote = _quote(ops, sub, sub.package.code, [a.code for a in sub.addons])
    except (errors.NotFound, errors.Conflict):
        return
    fresh = {q["code"]: q for q in [quote["package"], *quote["addons"]]}
    for item in sub.active_items:
        if item.code in fresh:
            q = fresh[item.code]
            item.name, item.list_price = q["name"], q["price"]
            item.discount, item.promotion = _discount(q), q.get("discount")
    sub.tax_rate_bp, sub.tax_name = quote["tax"]["rate_bp"], quote["tax"]["name"]


# devices -------------------------------------------------------------------------------------

def replace_serial(ops: Ops, device_id: str, request: dict) -> dict:
    req = load_or_raise(SerialSchema(), request)
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
