"""Reading subscriptions: finding the customer's own, and showing them (the API's shape, the
next renewal's date and amount, a change's preview). No writes; `changes.py`, `renewals.py`
and `suspension.py` use it to describe what they did.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.billing.exceptions import SUBSCRIPTION_NOT_FOUND
from services.billing.models import Subscription, SubscriptionItem
from services.billing.money import texts
from services.billing.subscriptions import lifecycle, proration
from services.billing.subscriptions.periods import period_end
from services.billing.subscriptions.proration import Line
from services.common import errors
from services.common.clock import isoformat
from services.common.money import taxed


def get(session: Session, customer_id: str, subscription_id: str,
        member_id: str | None = None) -> Subscription:
    """The customer's subscription; another customer's id is NotFound, like a missing one, and
    so is one a household member (`member_id`) does not use."""
    sub = session.get(Subscription, subscription_id) if isinstance(subscription_id, str) else None
    if sub is None or sub.customer_id != customer_id or (
            member_id is not None and sub.member_id != member_id):
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
        "member_id": sub.member_id,
        "activation_date": isoformat(sub.activation_date),
        "current_period": {"start": isoformat(sub.current_period_start),
                           "end": isoformat(sub.current_period_end)},
        "package": {"code": package.code, "name": package.name,
                    "price": money(package.list_price, cur),
                    "taxed_price": taxed(package.list_price, cur, sub.tax_rate_bp),
                    "discount": money(package.discount, cur) if package.discount else None,
                    "taxed_discount": (taxed(package.discount, cur, sub.tax_rate_bp)
                                       if package.discount else None)},
        "addons": [{"code": a.code, "name": a.name, "price": money(a.list_price, cur),
                    "taxed_price": taxed(a.list_price, cur, sub.tax_rate_bp)}
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
                             "list_price": pkg["price"], "discount": discount_of(pkg)})
    return items


def renewal_lines(sub: Subscription, items: list[dict], start: dt.datetime,
                  end: dt.datetime) -> list[Line]:
    """The full-period lines of a renewal: each item's price, and its promotion as a line."""
    span = f"{_day(start)} – {_day(end)}"
    lines = []
    for item in items:
        if item.get("kind") == "device_rental":
            text = texts.period(texts.DEVICE_RENTAL, texts.rental_item_name(item["name"]), start,
                                end)
        else:
            text = texts.period(texts.PERIOD_FEE, item["name"], start, end)
        lines.append(proration.line("fee", f"{item['name']} ({span})", item["list_price"],
                                    sub.tax_rate_bp, item["code"], text))
        if item["discount"]:
            lines.append(proration.line("discount", f"Promotion on {item['name']}",
                                        -item["discount"], sub.tax_rate_bp, item["code"],
                                        texts.text(texts.PROMOTION, name=item["name"])))
    return lines


def quote_view(sub: Subscription, lines: list[Line], effective: dt.datetime,
               **extra: Any) -> dict:
    """A preview (or the record of what was done): every line, the tax, the amount due now."""
    cur = sub.currency
    totals = proration.totals(lines)
    shown = [{"kind": ln.kind, "description": ln.description, "amount": money(ln.amount, cur),
              "tax": money(ln.tax, cur), "tax_rate_bp": ln.tax_rate_bp, "text": ln.text}
             for ln in lines]
    if lines:
        shown.append({"kind": "tax", "description": f"{sub.tax_name} "
                      f"{sub.tax_rate_bp / 100:g} %", "amount": money(totals.tax, cur),
                      "tax": money(0, cur), "tax_rate_bp": 0,
                      "text": texts.text(texts.TAX, name=sub.tax_name,
                                         rate=f"{sub.tax_rate_bp / 100:g}")})
    return {"lines": shown, "subtotal": money(totals.subtotal, cur),
            "tax": money(totals.tax, cur), "amount_due": money(totals.total, cur),
            "effective_date": effective.date().isoformat(), "effective_at": isoformat(effective),
            **extra}


def discount_of(quoted: dict) -> int:
    return (quoted.get("discount") or {}).get("amount", 0)


def customers_with_package(session: Session, customer_ids: list[str], package: str) -> list[str]:
    return list(session.scalars(
        select(Subscription.customer_id).join(SubscriptionItem)
        .where(Subscription.customer_id.in_(customer_ids),
               Subscription.status != lifecycle.CANCELLED, SubscriptionItem.kind == "package",
               SubscriptionItem.code == package, SubscriptionItem.removed_at.is_(None))
        .distinct()))
