"""The prepaid wallet: top-ups by card, paying subscriptions' charges, ops adjustments.

Paying for a subscription: every money consequence is a `Charge`; for a prepaid subscription the
charges of one operation (a subscription, a change, a renewal) are settled together as one
ledger entry whose source is `charges:<operation>`. A customer's own action (subscribe, upgrade,
add-on) must be paid at once or it does not happen (409 INSUFFICIENT_BALANCE); a renewal that
cannot be paid leaves its charges unsettled and says so (`pay_charges` returns the
subscriptions it could not pay); what that means for them (suspension, reinstatement once a
credit pays what is due) is decided in `subscriptions/settlement.py`, which calls this after
every credit. Credits (a cancellation, a removed add-on) go back to the wallet.

A top-up is a `Payment` first, committed before the provider is asked, with a provider-side
idempotency key derived from the client's Idempotency-Key: a retry after a timeout, or the
reconciliation timer, asks the provider again with the same key and completes it exactly once.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict

from marshmallow import fields, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.billing.models import Charge, Payment, Subscription, Wallet
from services.billing.money import ledger, payment_methods, payments, texts
from services.billing.money.provider import PaymentProvider
from services.common import errors
from services.common.contract.billing import AdjustmentIn, WalletSettings
from services.common.ids import new_id
from services.common.money import Money, minor_unit_exponent
from services.common.schemas import MoneySchema, StrictSchema, load_or_raise

NOT_PREPAID = "NOT_PREPAID"
MIN_TOP_UP, MAX_TOP_UP = 1, 1000  # in major units of the wallet's currency


class TopUpSchema(StrictSchema):
    amount = fields.Nested(MoneySchema, required=True)
    payment_method_id = fields.String(load_default=None, allow_none=True,
                                      validate=validate.Length(max=40))


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

def begin_top_up(session: Session, customer_id: str, account: dict, request: dict,
                 idempotency_key: str | None, now: dt.datetime):
    """A top-up by card, first half: the request checked and the attempt recorded (committed):
    (payment, card). The service then charges the card outside any transaction and, in one
    transaction (`payments.finish`), completes it (`complete_top_up`) and settles what is due.
    `account`: the customer's billing type and currency (the gateway passes what
    authentication told it)."""
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
    return payment, method


def complete_top_up(session: Session, provider: PaymentProvider, payment, now: dt.datetime,
                    method=None) -> dict | None:
    """Charge the card (once, by the provider key), credit the wallet (once, by the payment);
    None if the payment was completed already. The caller settles what is due and commits."""
    made = payments.ask_provider(session, provider, payment, "Wallet top-up", method)
    paid = payments.mark_succeeded(session, payment.id, made, now)
    if paid is None:
        return None
    if method is None:
        method = session.get(payment_methods.PaymentMethod, paid.payment_method_id)
    entry = ledger.post(session, paid.customer_id, paid.currency, ledger.CREDIT, "top_up",
                        paid.amount, f"Top-up by card {method.brand.title()} …{method.last4}",
                        f"payment:{paid.id}", now,
                        texts.text(texts.TOP_UP_CARD, brand=method.brand, last4=method.last4))
    return {"payment": payments.dump(paid), "transaction": ledger.dump_entry(entry),
            "wallet": ledger.dump_wallet(entry.wallet), "reinstated": []}


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


def _group_text(code: str, charges: list[Charge]) -> dict | None:
    """One charge: its own text; several: `code` wrapping the first one's, with the count of
    the others (as the description says "… and 2 more")."""
    if len(charges) == 1:
        return charges[0].text
    return texts.wrap(code, charges[0].text, count=len(charges) - 1)


def pay_charges(session: Session, customer_id: str, now: dt.datetime, strict: bool) -> set[str]:
    """Pay the customer's unsettled prepaid charges from the wallet, oldest operation first;
    answer the subscriptions whose charges could not be paid (their charges stay unsettled).

    strict (a customer's own action): not enough balance raises INSUFFICIENT_BALANCE.
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
                            total, description, f"charges:{group}", now,
                            _group_text(texts.SERVICE_CHARGES, charges))
            elif total < 0:
                kind = "cancellation_credit" if charges[0].kind == "credit" and all(
                    c.kind == "credit" for c in charges) else "refund"
                ledger.post(session, customer_id, currency, ledger.CREDIT, kind, -total,
                            description, f"charges:{group}", now,
                            _group_text(texts.CANCELLATION_CREDIT, charges))
        except errors.Conflict as exc:
            if strict or exc.code != ledger.INSUFFICIENT_BALANCE:
                raise
            unpaid.add(sub_id)
            continue
        for charge in charges:
            charge.settled = True
    session.flush()
    return unpaid


def void_unpaid(session: Session, sub: Subscription, now: dt.datetime) -> None:
    """Cancel what a subscription owes for service it never got (it was suspended unpaid): each
    unsettled charge is matched by a voiding charge, and both are closed. No money moves."""
    for charge in session.scalars(select(Charge).where(Charge.subscription_id == sub.id,
                                                       Charge.settled.is_(False))):
        charge.settled = True
        session.add(Charge(
            id=new_id("chg"), customer_id=charge.customer_id, subscription_id=sub.id,
            kind="void", description=f"Voided, not delivered: {charge.description}"[:300],
            text=texts.wrap(texts.VOIDED, charge.text),
            item_code=charge.item_code, amount=-charge.amount, tax_rate_bp=charge.tax_rate_bp,
            tax=-charge.tax, currency=charge.currency, period_start=charge.period_start,
            period_end=charge.period_end, operation_key=f"void:{charge.id}", created_at=now,
            settled=True))
    session.flush()


# ops ----------------------------------------------------------------------------------------

def adjust(session: Session, accounts, customer_id: str, request: dict, actor: str,
           now: dt.datetime) -> dict:
    req = load_or_raise(AdjustmentIn(), request)
    account = prepaid_account(accounts, customer_id)
    amount = req["amount"]
    if amount["currency"] != account["currency"] or amount["amount"] == 0:
        raise errors.InvalidArgument(fields={"amount": [
            f"must be a non-zero amount in {account['currency']}"]})
    direction = ledger.CREDIT if amount["amount"] > 0 else ledger.DEBIT
    entry = ledger.post(session, customer_id, account["currency"], direction, "adjustment",
                        abs(amount["amount"]), f"Adjustment: {req['reason']} (by {actor})",
                        f"adjustment:{new_id('adj')}", now,
                        texts.text(texts.ADJUSTMENT, reason=req["reason"], actor=actor))
    # the caller settles what is due (after a credit) and commits (with the idempotency record,
    # when a key was given)
    return {"transaction": ledger.dump_entry(entry), "wallet": ledger.dump_wallet(entry.wallet)}


def set_threshold(session: Session, accounts, customer_id: str, request: dict,
                  now: dt.datetime) -> dict:
    req = load_or_raise(WalletSettings(), request)
    account = prepaid_account(accounts, customer_id)
    value = req["low_balance_threshold"]
    if value["currency"] != account["currency"] or value["amount"] < 0:
        raise errors.InvalidArgument(fields={"low_balance_threshold": [
            f"must be zero or more, in {account['currency']}"]})
    wallet = ledger.wallet_for(session, customer_id, account["currency"], now)
    wallet.low_balance_threshold = value["amount"]
    wallet.low_balance_alerted = wallet.balance < wallet.low_balance_threshold
    session.flush()
    return ledger.dump_wallet(wallet)
