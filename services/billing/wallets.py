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
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from services.billing import ledger, lifecycle, payment_methods, payments, suspension
from services.billing.models import Charge, Subscription, Wallet
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

def begin_top_up(session: Session, accounts, customer_id: str, request: dict,
                 idempotency_key: str | None, now: dt.datetime) -> str:
    """Validate a top-up and record its payment attempt (committed); returns its id."""
    req = load_or_raise(TopUpSchema(), request)
    account = prepaid_account(accounts, customer_id)
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
    return payments.begin(session, customer_id, "top_up", Money(amount["amount"],
                          amount["currency"]), method, idempotency_key, now)


def complete_top_up(session: Session, provider: PaymentProvider, payment_id: str,
                    now: dt.datetime) -> dict:
    """Charge the card (once, by the provider key), credit the wallet (once, by the payment),
    pay what is due. Safe to run again for the same payment."""
    payment = payments.charge(session, provider, payment_id, "Wallet top-up", now)
    wallet = ledger.wallet_for(session, payment.customer_id, payment.currency, now)
    method = session.get(payment_methods.PaymentMethod, payment.payment_method_id)
    entry = ledger.post(session, wallet, ledger.CREDIT, "top_up", payment.amount,
                        f"Top-up by card {method.brand.title()} …{method.last4}",
                        f"payment:{payment.id}", now)
    resumed = settle(session, payment.customer_id, now, strict=False)["reinstated"]
    return {"payment": payments.dump(payment), "transaction": ledger.dump_entry(entry),
            "wallet": ledger.dump_wallet(wallet), "reinstated": resumed}


# paying charges -----------------------------------------------------------------------------

def _group(charge: Charge) -> str:
    return charge.operation_key.rsplit(":", 1)[0]


def settle(session: Session, customer_id: str, now: dt.datetime, strict: bool) -> dict:
    """Pay the customer's unsettled prepaid charges from the wallet, oldest operation first.

    strict (a customer's own action): not enough balance raises INSUFFICIENT_BALANCE.
    Otherwise (a renewal, a top-up): what cannot be paid suspends its subscription; paid-up
    suspended subscriptions are reinstated.
    """
    due = session.scalars(
        select(Charge).join(Subscription, Subscription.id == Charge.subscription_id)
        .where(Charge.customer_id == customer_id, Charge.settled.is_(False),
               Subscription.billing_type == "prepaid")
        .order_by(Charge.created_at, Charge.operation_key)).all()
    groups: OrderedDict[str, list[Charge]] = OrderedDict()
    for charge in due:
        groups.setdefault(_group(charge), []).append(charge)
    unpaid: set[str] = set()
    wallet = None
    for group, charges in groups.items():
        total = sum(c.amount + c.tax for c in charges)
        sub_id = charges[0].subscription_id
        if sub_id in unpaid:
            continue  # keep each subscription's charges in order
        wallet = wallet or ledger.wallet_for(session, customer_id, charges[0].currency, now)
        description = charges[0].description + (f" and {len(charges) - 1} more"
                                                 if len(charges) > 1 else "")
        try:
            if total > 0:
                ledger.post(session, wallet, ledger.DEBIT, "service_charge", total, description,
                            f"charges:{group}", now)
            elif total < 0:
                kind = "cancellation_credit" if charges[0].kind == "credit" and all(
                    c.kind == "credit" for c in charges) else "refund"
                ledger.post(session, wallet, ledger.CREDIT, kind, -total, description,
                            f"charges:{group}", now)
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
    wallet = ledger.wallet_for(session, customer_id, account["currency"], now)
    direction = ledger.CREDIT if amount["amount"] > 0 else ledger.DEBIT
    entry = ledger.post(session, wallet, direction, "adjustment", abs(amount["amount"]),
                        f"Adjustment: {req['reason']} (by {actor})", f"adjustment:{new_id('adj')}",
                        now)
    if direction == ledger.CREDIT:
        settle(session, customer_id, now, strict=False)
    session.commit()
    return {"transaction": ledger.dump_entry(entry), "wallet": ledger.dump_wallet(wallet)}


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
