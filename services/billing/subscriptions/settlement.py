"""Paying prepaid subscriptions from the wallet, and what follows for them.

`money/wallets.py` pays what it can and answers what it could not; here that becomes
suspension (a renewal the wallet cannot pay) or reinstatement (a credit that paid what a
suspended subscription owed: the suspended time is added to its period). Every credit to a
wallet (a top-up, a voucher, an adjustment, a service credit) is followed by `settle`, in the
same transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, exists, or_, select
from sqlalchemy.orm import Session

from services.billing.models import Charge, Subscription
from services.billing.money import wallets
from services.billing.subscriptions import lifecycle, suspension


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


def settle(session: Session, customer_id: str, now: dt.datetime, strict: bool) -> dict:
    """Pay the customer's unsettled prepaid charges from the wallet, oldest operation first.

    strict (a customer's own action): not enough balance raises INSUFFICIENT_BALANCE.
    Otherwise (a renewal, a credit): what cannot be paid suspends its subscription; paid-up
    suspended subscriptions are reinstated. Answers both lists of subscription ids.
    """
    # one cheap query first: most wallet credits find nothing owed and nothing suspended
    if not session.scalar(_ANYTHING_TO_SETTLE, {"p_customer": customer_id}):
        return {"suspended": [], "reinstated": []}
    unpaid = wallets.pay_charges(session, customer_id, now, strict)
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


def after_credit(session: Session, customer_id: str, credited: dict | None,
                 now: dt.datetime) -> dict | None:
    """A wallet credit's answer (a top-up, a voucher), once what it made payable is paid: the
    subscriptions it reinstated are added. None (the credit was made already) stays None."""
    if credited is None:
        return None
    return {**credited, "reinstated": settle(session, customer_id, now, strict=False)[
        "reinstated"]}
