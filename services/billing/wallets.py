"""The prepaid wallet: top-ups by card, paying subscriptions' charges, suspension and
reinstatement, ops adjustments.

Paying for a subscription: every money consequence is a `Charge`; for a prepaid subscription the
charges of one operation (a subscription, a change, a renewal) are settled together as one
ledger entry whose source is `charges:<operation>`. A customer's own action (subscribe, upgrade,
add-on) must be paid at once or it does not happen (409 INSUFFICIENT_BALANCE); a renewal that
cannot be paid suspends the subscription, and the next top-up pays what is due, in order, and
reinstates it (the suspended time is added to its period). Credits (a cancellation, a removed
add-on) go back to the wallet.

A top-up is a `Payment` first, committed before the provider is asked, with a provider-side
idempotency key derived from the client's Idempotency-Key: a retry after a timeout, or the
reconciliation timer, asks the provider again with the same key and completes it exactly once.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict

from marshmallow import fields, validate
from sqlalchemy import bindparam, exists, or_, select
from sqlalchemy.orm import Session

from services.billing import ledger, lifecycle, payment_methods, payments, suspension
from services.billing.models import Charge, Payment, Subscription, Wallet
from services.billing.provider import PaymentProvider
from services.common import errors
from services.common.ids import new_id
from services.common.money import Money, minor_unit_exponent
from services.common.schemas import MoneySchema, StrictSchema, Text, load_or_raise

NOT_PREPAID = "NOT_PREPAID"
MIN_TOP_UP, MAX_TOP_UP = 1, 1000  # in major units of the wallet's currency


class TopUpSchema(StrictSchema):
    amount = fields.Nested(MoneySchema, required=True)
    payment_method_id = fields.String(load_default=None, allow_none=True,
                                      validate=validate.Length(max=40))


class AdjustmentSchema(StrictSchema):
    amount = fields.Nested(MoneySchema, required=True)  # positive: credit; negative: debit
    reason = Text(300, required=True, min_length=3)


class ThresholdSchema(StrictSchema):
    low_balance_threshold = fields.Nested(MoneySchema, required=True)


def prepaid_account(accounts, customer_id: str) -> dict:
    account = accounts.get_account(customer_id)
    if account["billing_type"] != "prepaid":
        raise errors.Conflict("This account is postpaid: it has bills, not a wallet.",
                              code=NOT_PREPAID)
    return account


def view(session: Session, customer_id: str, currency: str) -> dict:
    wallet = session.get(Wallet, customer_id)
    if wallet is None:  # no money has moved yet: an empty wallet with the default threshold
        return {"balance": ledger.money(0, currency), "currency": currency,
                "low_balance": 0 < ledger.DEFAULT_LOW_BALANCE,
                "low_balance_threshold": ledger.money(ledger.DEFAULT_LOW_BALANCE, currency)}
    return ledger.dump_wallet(wallet)


# top-ups ------------------------------------------------------------------------------------

def top_up(session: Session, provider: PaymentProvider, customer_id: str, account: dict,
           request: dict, idempotency_key: str | None, now: dt.datetime) -> dict:
    """Top the wallet up by card: the attempt recorded (committed), the card charged outside
    any transaction, then payment, ledger entry, reinstatements, events and the key's outcome
    in one transaction (`payments.finish`). `account`: the customer's billing type and
    currency (the gateway passes what authentication told it)."""
    req = load_or_raise(TopUpSchema(), request)
    if account["billing_type"] != "prepaid":
        raise errors.Conflict("This account is postpaid: it has bills, not a wallet.",
                              code=NOT_PREPAID)
    amount = req["amount"]
    if amount["currency"] != account["currency"]:
        raise errors.InvalidArgument(f"The wallet is in {account['currency']}.",
                                     fields={"amount.currency": [
                                         f"must be {account['currency']}"]})
    unit = 10 ** minor_unit_exponent(amount["currency"])
    low, high = MIN_TOP_UP * unit, MAX_TOP_UP * unit
    if not low <= amount["amount"] <= high:
        raise errors.InvalidArgument(fields={"amount.amount": [
            f"must be from {MIN_TOP_UP} to {MAX_TOP_UP} {amount['currency']} "
            f"({low} to {high} in minor units)"]})
    method = payment_methods.get(session, customer_id, req["payment_method_id"])
    payment = payments.begin(session, customer_id, "top_up",
                             Money(amount["amount"], amount["currency"]), method,
                             idempotency_key, now)
    return payments.finish(
        session, payment, lambda: complete_top_up(session, provider, payment, now, method),
        lambda: top_up_result(session, payment.id),
        scope=f"top-up:{customer_id}", key=idempotency_key, request=request, now=now)


def complete_top_up(session: Session, provider: PaymentProvider, payment, now: dt.datetime,
                    method=None) -> dict | None:
    """Charge the card (once, by the provider key), credit the wallet (once, by the payment),
    pay what is due; None if the payment was completed already. The caller commits."""
    made = payments.ask_provider(session, provider, payment, "Wallet top-up", method)
    paid = payments.mark_succeeded(session, payment.id, made, now)
    if paid is None:
        return None
    if method is None:
        method = session.get(payment_methods.PaymentMethod, paid.payment_method_id)
    entry = ledger.post(session, paid.customer_id, paid.currency, ledger.CREDIT, "top_up",
                        paid.amount, f"Top-up by card {method.brand.title()} …{method.last4}",
                        f"payment:{paid.id}", now)
    resumed = settle(session, paid.customer_id, now, strict=False)["reinstated"]
    return {"payment": payments.dump(paid), "transaction": ledger.dump_entry(entry),
            "wallet": ledger.dump_wallet(entry.wallet), "reinstated": resumed}


def top_up_result(session: Session, payment_id: str) -> dict:
    """A completed top-up's answer, from what was recorded (its entry and the wallet now)."""
    payment = session.get(Payment, payment_id, populate_existing=True)
    entry = ledger.find(session, f"payment:{payment_id}")
    return {"payment": payments.dump(payment), "transaction": ledger.dump_entry(entry),
            "wallet": ledger.dump_wallet(session.get(Wallet, payment.customer_id)),
            "reinstated": []}


# paying charges -----------------------------------------------------------------------------

def _group(charge: Charge) -> str:
    return charge.operation_key.rsplit(":", 1)[0]


def _anything_to_settle_query():
    charges, subscriptions = Charge.__table__, Subscription.__table__
    customer = bindparam("p_customer")
    prepaid = (subscriptions.c.customer_id == customer,
               subscriptions.c.billing_type == "prepaid")
    owed = (select(charges.c.id).join(subscriptions,
                                      subscriptions.c.id == charges.c.subscription_id)
            .where(charges.c.customer_id == customer, charges.c.settled.is_(False), *prepaid))
    suspended = select(subscriptions.c.id).where(
        *prepaid, subscriptions.c.status == lifecycle.SUSPENDED)
    return select(or_(exists(owed), exists(suspended)))


_ANYTHING_TO_SETTLE = _anything_to_settle_query()


def _anything_to_settle(session: Session, customer_id: str) -> bool:
    """One cheap query first: most wallet credits find nothing owed and nothing suspended."""
    return bool(session.scalar(_ANYTHING_TO_SETTLE, {"p_customer": customer_id}))


def settle(session: Session, customer_id: str, now: dt.datetime, strict: bool) -> dict:
    """Pay the customer's unsettled prepaid charges from the wallet, oldest operation first.

    strict (a customer's own action): not enough balance raises INSUFFICIENT_BALANCE.
    Otherwise (a renewal, a top-up): what cannot be paid suspends its subscription; paid-up
    suspended subscriptions are reinstated.
    """
    if not _anything_to_settle(session, customer_id):
        return {"suspended": [], "reinstated": []}
    due = session.scalars(
        select(Charge).join(Subscription, Subscription.id == Charge.subscription_id)
        .where(Charge.customer_id == customer_id, Charge.settled.is_(False),
               Subscription.billing_type == "prepaid")
        .order_by(Charge.created_at, Charge.operation_key)).all()
    groups: OrderedDict[str, list[Charge]] = OrderedDict()
    for charge in due:
        groups.setdefault(_group(charge), []).append(charge)
    unpaid: set[str] = set()
    for group, charges in groups.items():
        total = sum(c.amount + c.tax for c in charges)
        sub_id = charges[0].subscription_id
        if sub_id in unpaid:
            continue  # keep each subscription's charges in order
        currency = charges[0].currency
        description = charges[0].description + (f" and {len(charges) - 1} more"
                                                 if len(charges) > 1 else "")
        try:
            if total > 0:
                ledger.post(session, customer_id, currency, ledger.DEBIT, "service_charge",
                            total, description, f"charges:{group}", now)
            elif total < 0:
                kind = "cancellation_credit" if charges[0].kind == "credit" and all(
                    c.kind == "credit" for c in charges) else "refund"
                ledger.post(session, customer_id, currency, ledger.CREDIT, kind, -total,
                            description, f"charges:{group}", now)
        except errors.Conflict as exc:
            if strict or exc.code != ledger.INSUFFICIENT_BALANCE:
                raise
            unpaid.add(sub_id)
            continue
        for charge in charges:
            charge.settled = True
    suspended, reinstated = [], []
    for sub in session.scalars(select(Subscription).where(
            Subscription.customer_id == customer_id, Subscription.billing_type == "prepaid",
            or_(Subscription.id.in_(unpaid), Subscription.status == lifecycle.SUSPENDED))):
        if sub.id in unpaid and lifecycle.allowed("suspend", sub.status):
            suspension.suspend(session, sub, now, suspension.INSUFFICIENT_BALANCE)
            suspended.append(sub.id)
        elif sub.id not in unpaid and sub.status == lifecycle.SUSPENDED:
            suspension.reinstate(session, sub, now)
            reinstated.append(sub.id)
    session.flush()
    return {"suspended": suspended, "reinstated": reinstated}


def void_unpaid(session: Session, sub: Subscription, now: dt.datetime) -> None:
    """Cancel what a subscription owes for service it never got (it was suspended unpaid): each
    unsettled charge is matched by a voiding charge, and both are closed. No money moves."""
    for charge in session.scalars(select(Charge).where(Charge.subscription_id == sub.id,
                                                       Charge.settled.is_(False))):
        charge.settled = True
        session.add(Charge(
            id=new_id("chg"), customer_id=charge.customer_id, subscription_id=sub.id,
            kind="void", description=f"Voided, not delivered: {charge.description}"[:300],
            item_code=charge.item_code, amount=-charge.amount, tax_rate_bp=charge.tax_rate_bp,
            tax=-charge.tax, currency=charge.currency, period_start=charge.period_start,
            period_end=charge.period_end, operation_key=f"void:{charge.id}", created_at=now,
            settled=True))
    session.flush()


# ops ----------------------------------------------------------------------------------------

def adjust(session: Session, accounts, customer_id: str, request: dict, actor: str,
           now: dt.datetime) -> dict:
    req = load_or_raise(AdjustmentSchema(), request)
    account = prepaid_account(accounts, customer_id)
    amount = req["amount"]
    if amount["currency"] != account["currency"] or amount["amount"] == 0:
        raise errors.InvalidArgument(fields={"amount": [
            f"must be a non-zero amount in {account['currency']}"]})
    direction = ledger.CREDIT if amount["amount"] > 0 else ledger.DEBIT
    entry = ledger.post(session, customer_id, account["currency"], direction, "adjustment",
                        abs(amount["amount"]), f"Adjustment: {req['reason']} (by {actor})",
                        f"adjustment:{new_id('adj')}", now)
    if direction == ledger.CREDIT:
        settle(session, customer_id, now, strict=False)
    # the caller commits (with the idempotency record, when a key was given)
    return {"transaction": ledger.dump_entry(entry), "wallet": ledger.dump_wallet(entry.wallet)}


def set_threshold(session: Session, accounts, customer_id: str, request: dict,
                  now: dt.datetime) -> dict:
    req = load_or_raise(ThresholdSchema(), request)
    account = prepaid_account(accounts, customer_id)
    value = req["low_balance_threshold"]
    if value["currency"] != account["currency"] or value["amount"] < 0:
        raise errors.InvalidArgument(fields={"low_balance_threshold": [
            f"must be zero or more, in {account['currency']}"]})
    wallet = ledger.wallet_for(session, customer_id, account["currency"], now)
    wallet.low_balance_threshold = value["amount"]
    wallet.low_balance_alerted = wallet.balance < wallet.low_balance_threshold
    session.commit()
    return ledger.dump_wallet(wallet)
