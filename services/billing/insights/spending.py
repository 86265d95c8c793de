"""A customer's spending by calendar month (UTC), split by kind, from billing's own rows; and
the month so far with its projection (`month_status`).

Where the figures come from, so they reconcile:
- **Postpaid** subscriptions: their charges, dated when they were recorded (every invoice line
  is one charge, so the months' totals add up to the invoices' totals plus the charges not
  invoiced yet), and the credit notes that lowered an unpaid invoice (dated when issued; a paid
  invoice's credit note is a negative charge billed on the next invoice, counted as that
  charge). A charge voided because the service was never delivered, and its voiding charge,
  are left out (they cancel each other and were never billed).
- **Prepaid**: the wallet's ledger, dated by its entries. An entry paying charges (source
  `charges:<operation>`) is split by the charges of that operation; a top-up and a voucher
  are money put in (`top_ups`, `vouchers`, not part of `total`); a staff adjustment or a
  service credit into the wallet is a credit (≤ 0), one out of it a one-off charge. So the
  months' totals are the ledger's debits minus its credits other than top-ups and vouchers.
  Charges the wallet has not paid (a suspended subscription's renewal) are not spending yet.

Kinds (`classify`, net of tax; each charge's tax goes to `taxes`): the package, add-ons,
devices (rentals and purchases), one-off charges (anything else), discounts (promotions) and
credits (credit notes, service credits, goodwill). A credit for the unused part of an item (a
change, a cancellation) is that item's kind: what the package cost in a month is net of it.
`total` = the sum of the kinds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.billing.insights import months
from services.billing.models import (
    Charge,
    CreditNote,
    Device,
    Subscription,
    SubscriptionItem,
    WalletTransaction,
)
from services.billing.money import ledger, texts
from services.billing.subscriptions import lifecycle, outlook, views
from services.common.clock import isoformat

PACKAGE, ADDONS, DEVICES, ONE_OFF = "package", "addons", "devices", "one_off"
TAXES, DISCOUNTS, CREDITS = "taxes", "discounts", "credits"
KINDS = (PACKAGE, ADDONS, DEVICES, ONE_OFF, TAXES, DISCOUNTS, CREDITS)
TOP_UPS, VOUCHERS = "top_ups", "vouchers"
ITEM_KINDS = {"package": PACKAGE, "addon": ADDONS, "device_rental": DEVICES, "device": DEVICES}


@dataclass(frozen=True)
class Amount:
    """Money of one kind (or `top_ups`/`vouchers`) at an instant; negative takes off."""
    at: dt.datetime
    kind: str
    amount: int


def classify(kind: str, text: dict | None, item_kind: str | None) -> str:
    """The spending kind of a charge's net amount: its `kind`, its text's code and the kind of
    the subscription's item it is about (`package`, `addon`, `device_rental`, or `device`
    for a device the subscription has; None when it names none)."""
    code = (text or {}).get("code")
    if kind == "discount" or code == texts.PROMOTION:
        return DISCOUNTS
    if code == texts.CREDIT_NOTE or code == texts.SERVICE_CREDIT \
            or (kind == "credit" and item_kind is None):
        return CREDITS
    if code in (texts.DEVICE_RENTAL, texts.DEVICE_PURCHASE):
        return DEVICES
    return ITEM_KINDS.get(item_kind, ONE_OFF)


def charge_amounts(at: dt.datetime, kind: str, text: dict | None, item_kind: str | None,
                   amount: int, tax: int) -> list[Amount]:
    return [Amount(at, classify(kind, text, item_kind), amount), Amount(at, TAXES, tax)]


def empty() -> dict:
    return {"kinds": dict.fromkeys(KINDS, 0), "total": 0, TOP_UPS: 0, VOUCHERS: 0}


def _add(figures: dict, amount: Amount) -> None:
    if amount.kind in (TOP_UPS, VOUCHERS):
        figures[amount.kind] += amount.amount
    else:
        figures["kinds"][amount.kind] += amount.amount
        figures["total"] += amount.amount


def tally(periods: list[months.Period], amounts: Iterable[Amount]) -> tuple[list[dict], dict]:
    """Each period's figures (every period present, zeros included) and the totals; amounts
    outside every period are left out."""
    rows = [{"period": p.key, "start": p.start.date().isoformat(),
             "end": p.end.date().isoformat(), **empty()} for p in periods]
    totals = empty()
    for amount in amounts:
        for period, row in zip(periods, rows, strict=True):
            if period.start <= amount.at < period.end:
                _add(row, amount)
                _add(totals, amount)
                break
    return rows, totals


# reading ---------------------------------------------------------------------------------

def _group(operation_key: str) -> str:
    """The operation a charge belongs to (as money/wallets.py groups them for one entry)."""
    return operation_key.rsplit(":", 1)[0]


def _item_kinds(session: Session, customer_id: str) -> tuple[dict, dict]:
    """{subscription id: billing type}, {(subscription id, code): item kind} for the customer."""
    billing = dict(session.execute(select(Subscription.id, Subscription.billing_type)
                                   .where(Subscription.customer_id == customer_id)).all())
    kinds = {(s, c): "device" for s, c in session.execute(
        select(Device.subscription_id, Device.code).where(Device.customer_id == customer_id))}
    kinds.update({(s, c): k for s, c, k in session.execute(
        select(SubscriptionItem.subscription_id, SubscriptionItem.code, SubscriptionItem.kind)
        .join(Subscription, Subscription.id == SubscriptionItem.subscription_id)
        .where(Subscription.customer_id == customer_id))})
    return billing, kinds


def _postpaid(session: Session, customer_id: str, currency: str, start: dt.datetime,
              end: dt.datetime, billing: dict, item_kinds: dict) -> list[Amount]:
    voided = {key.split(":", 1)[1] for key in session.scalars(
        select(Charge.operation_key).where(Charge.customer_id == customer_id,
                                           Charge.kind == "void"))}
    out: list[Amount] = []
    for c in session.execute(
            select(Charge.id, Charge.subscription_id, Charge.kind, Charge.text,
                   Charge.item_code, Charge.amount, Charge.tax, Charge.created_at)
            .where(Charge.customer_id == customer_id, Charge.currency == currency,
                   Charge.created_at >= start, Charge.created_at < end)):
        if billing.get(c.subscription_id) == "prepaid" or c.kind == "void" or c.id in voided:
            continue
        out += charge_amounts(c.created_at, c.kind, c.text,
                              item_kinds.get((c.subscription_id, c.item_code)), c.amount, c.tax)
    for note in session.execute(
            select(CreditNote.amount, CreditNote.tax, CreditNote.created_at)
            .where(CreditNote.customer_id == customer_id, CreditNote.currency == currency,
                   CreditNote.applied_to == "invoice", CreditNote.created_at >= start,
                   CreditNote.created_at < end)):
        out += [Amount(note.created_at, CREDITS, -(note.amount - note.tax)),
                Amount(note.created_at, TAXES, -note.tax)]
    return out


def ledger_amounts(entry, charges: list | None, item_kinds: dict) -> list[Amount]:
    """What one ledger entry means for spending (see the module doc). `charges`: the charges
    of the operation it paid or gave back (`charges:<operation>`), else None. The split adds up
    to the entry exactly: anything the charges do not explain is a one-off."""
    at, amount = entry.created_at, entry.amount
    signed = amount if entry.direction == ledger.DEBIT else -amount
    if entry.type == "top_up" and entry.direction == ledger.CREDIT:
        return [Amount(at, TOP_UPS, amount)]
    if entry.type == "voucher" and entry.direction == ledger.CREDIT:
        return [Amount(at, VOUCHERS, amount)]
    if charges is None:  # an adjustment, a service credit: no charges behind it
        return [Amount(at, ONE_OFF if signed > 0 else CREDITS, signed)]
    out: list[Amount] = []
    for c in charges:
        out += charge_amounts(at, c.kind, c.text,
                              item_kinds.get((c.subscription_id, c.item_code)), c.amount, c.tax)
    rest = signed - sum(a.amount for a in out)
    if rest:
        out.append(Amount(at, ONE_OFF, rest))
    return out


def _prepaid(session: Session, customer_id: str, currency: str, start: dt.datetime,
             end: dt.datetime, billing: dict, item_kinds: dict) -> list[Amount]:
    entries = session.execute(
        select(WalletTransaction.direction, WalletTransaction.type, WalletTransaction.amount,
               WalletTransaction.source, WalletTransaction.created_at)
        .where(WalletTransaction.customer_id == customer_id,
               WalletTransaction.currency == currency,
               WalletTransaction.created_at >= start, WalletTransaction.created_at < end)
        .order_by(WalletTransaction.seq)).all()
    groups: dict[str, list] = {}
    if any(e.source.startswith("charges:") for e in entries):
        prepaid = [s for s, kind in billing.items() if kind == "prepaid"]
        for c in session.execute(
                select(Charge.subscription_id, Charge.kind, Charge.text, Charge.item_code,
                       Charge.amount, Charge.tax, Charge.operation_key)
                .where(Charge.customer_id == customer_id, Charge.settled.is_(True),
                       Charge.subscription_id.in_(prepaid), Charge.created_at < end)):
            groups.setdefault(f"charges:{_group(c.operation_key)}", []).append(c)
    out: list[Amount] = []
    for entry in entries:
        out += ledger_amounts(entry, groups.get(entry.source, [])
                              if entry.source.startswith("charges:") else None, item_kinds)
    return out


def _amounts(session: Session, customer_id: str, currency: str, start: dt.datetime,
             end: dt.datetime) -> list[Amount]:
    billing, item_kinds = _item_kinds(session, customer_id)
    return (_postpaid(session, customer_id, currency, start, end, billing, item_kinds)
            + _prepaid(session, customer_id, currency, start, end, billing, item_kinds))


def spending(session: Session, customer_id: str, currency: str, start, end,
             group: str = "month") -> dict:
    """The RPC's answer (docs/insights.md): every month of [start, end) with its kinds, total,
    top-ups and vouchers, and the totals; `start`/`end` ISO dates (InvalidArgument if not)."""
    begin, until = months.parse_range(start, end, group)
    periods = months.periods(begin, until)
    rows, totals = tally(periods, _amounts(session, customer_id, currency, begin, until))
    return {"currency": currency, "group": group, "periods": rows, "totals": totals}


def month_status(session: Session, customer_id: str, currency: str, now: dt.datetime) -> dict:
    """This month so far (its `total` as `spending` computes it) and projected: plus the
    renewals (tax included, what billing will charge) of the active subscriptions still due
    before the month ends."""
    begin = months.month_start(now)
    until = months.next_month(begin)
    period = months.periods(begin, until)
    _, totals = tally(period, _amounts(session, customer_id, currency, begin, until))
    renewing = []
    for sub in views.list_for(session, customer_id):
        upcoming = views.next_renewal(sub) if sub.status == lifecycle.ACTIVE else None
        if upcoming is not None and sub.currency == currency:
            renewing.append(outlook.Renewing(sub.id, sub.package.name, sub.current_period_end,
                                             upcoming["amount"]["amount"], sub.billing_period,
                                             sub.anchor_day))
    due = [(at, r) for at, r in outlook.renewals(renewing, now) if at < until]
    return {"currency": currency, "month": period[0].key, "start": begin.date().isoformat(),
            "end": until.date().isoformat(), "so_far": totals["total"],
            "projected": totals["total"] + sum(r.amount for _, r in due),
            "upcoming": [{"date": isoformat(at), "amount": r.amount,
                          "subscription_id": r.subscription_id, "package": r.package}
                         for at, r in due]}
