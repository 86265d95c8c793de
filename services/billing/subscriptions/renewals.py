"""The subscriptions' timers: pauses that end, renewal notices, and renewals (a new period at
today's catalog prices, with what was scheduled for its start applied first; a prepaid one paid
from the wallet or suspended). Each is safe to run on several instances at once: claimed by a
conditional UPDATE, or guarded by the subscription's optimistic version and the charges'
unique operation keys.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.billing import events
from services.billing.models import Subscription, Wallet
from services.billing.subscriptions import changes, lifecycle, settlement
from services.billing.subscriptions.periods import period_end
from services.billing.subscriptions.views import (
    discount_of,
    dump,
    money,
    next_renewal,
    renewal_lines,
)
from services.common import errors, outbox
from services.common.clock import isoformat


def due_pause_ends(session: Session, now: dt.datetime, limit: int = 100) -> list[str]:
    return list(session.scalars(
        select(Subscription.id).where(Subscription.status == lifecycle.PAUSED,
                                      Subscription.pause_until <= now).limit(limit)))


def end_pause(ops: changes.Ops, subscription_id: str) -> bool:
    sub = ops.session.get(Subscription, subscription_id, populate_existing=True)
    if sub is None or sub.status != lifecycle.PAUSED or not sub.pause_until \
            or sub.pause_until > ops.now:
        return False
    # from the day the pause ended, not when the timer noticed
    changes.resume_from(ops, sub, sub.pause_until)
    return True




def renewal_notices(session: Session, now: dt.datetime, days: int, limit: int = 200) -> int:
    """`subscription_renewal_upcoming`, once per period, `days` before an active subscription
    renews: the amount, and for prepaid whether the wallet covers it (if not, the customer is
    told the service stops on that date unless topped up). The conditional UPDATE claims the
    notice, so several instances send it once."""
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
        outbox.emit(session, events.SUBSCRIPTION_RENEWAL_UPCOMING, "subscription", {
            **dump(sub), "customer_id": sub.customer_id, "renewal": renewal,
            "days_left": max(0, (sub.current_period_end - now).days),
            "wallet_covers": covered,
            "wallet_balance": None if balance is None else money(balance, sub.currency)}, now)
        sent += 1
    return sent


def due_renewals(session: Session, now: dt.datetime, limit: int = 100) -> list[str]:
    return list(session.scalars(
        select(Subscription.id).where(Subscription.status == lifecycle.ACTIVE,
                                      Subscription.current_period_end <= now)
        .order_by(Subscription.current_period_end).limit(limit)))


def renew(ops: changes.Ops, subscription_id: str) -> int:
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
                changes.finish(ops, sub, start, change.details.get("reason"))
                changes.emit(ops, events.SUBSCRIPTION_CANCELLED, sub)
                return started
            changes.swap(sub, [sub.package], [("package", change.details["package"])], start)[1]()
            changes.provision_included(sub, change.details.get("devices", []), start)
        _refresh_prices(ops, sub)
        items = [{"kind": i.kind, "code": i.code, "name": i.name, "list_price": i.list_price,
                  "discount": i.discount} for i in sub.active_items]
        lines = renewal_lines(sub, items, start, end)
        for item in sub.active_items:
            item.charged, item.charged_since = item.net_price, start
        sub.current_period_start, sub.current_period_end = start, end
        sub.updated_at = ops.now
        changes.record(ops, sub, lines, f"renew:{sub.id}:{isoformat(start)}", start, end)
        changes.emit(ops, events.SUBSCRIPTION_RENEWED, sub)
        started += 1
        if sub.billing_type == "prepaid":  # paid from the wallet, or the subscription waits
            settlement.settle(ops.session, sub.customer_id, ops.now, strict=False)
    return started


def _refresh_prices(ops: changes.Ops, sub: Subscription) -> None:
    """A renewal takes the catalog's current prices; a retired entry keeps its last price."""
    try:
        quote = changes.quote_prices(ops, sub, sub.package.code, [a.code for a in sub.addons])
    except (errors.NotFound, errors.Conflict):
        return
    fresh = {q["code"]: q for q in [quote["package"], *quote["addons"]]}
    for item in sub.active_items:
        if item.code in fresh:
            q = fresh[item.code]
            item.name, item.list_price = q["name"], q["price"]
            item.discount, item.promotion = discount_of(q), q.get("discount")
    sub.tax_rate_bp, sub.tax_name = quote["tax"]["rate_bp"], quote["tax"]["name"]
