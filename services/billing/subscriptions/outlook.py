"""What happens next, for the main page: will the customer's services keep running?

Prepaid: the wallet pays each renewal when it is due. From the balance and the active
subscriptions' next renewals (each repeating every billing period at its next amount, scheduled
changes included), `prepaid` tells the first renewal, what it needs and how much is missing, and
until when the balance lasts. (Postpaid: the bills part says what is due and whether autopay
pays it: `invoicing.collection.autopay_state`.) Pure functions: the caller reads.

Decisions written down here:
- Renewals are taken in date order across subscriptions (a tie: the subscription's id), each
  charging its `next_renewal` amount again every period: today's prices and scheduled changes,
  not tomorrow's promotions. The horizon is a year or 50 renewals, whichever is first.
- "Lasts until" is the date of the first renewal the balance cannot pay (the services keep
  running until then); None when it pays every renewal within the horizon, or there is none.
- `missing` is for the next renewal only: what a top-up must add today so it is paid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.billing.models import Subscription
from services.billing.subscriptions import lifecycle
from services.billing.subscriptions.periods import period_end
from services.common.clock import isoformat

HORIZON = dt.timedelta(days=366)
MAX_RENEWALS = 50


@dataclass(frozen=True)
class Renewing:
    """A subscription that renews: its next renewal, and how it repeats."""
    subscription_id: str
    package: str
    at: dt.datetime
    amount: int
    billing_period: str
    anchor_day: int


def renewals(subs: list[Renewing], now: dt.datetime) -> list[tuple[dt.datetime, Renewing]]:
    """Every renewal within the horizon, in date order."""
    out = []
    for sub in subs:
        at = sub.at
        while at <= now + HORIZON and len(out) < MAX_RENEWALS * max(len(subs), 1):
            out.append((at, sub))
            at = period_end(at, sub.billing_period, sub.anchor_day)
    out.sort(key=lambda pair: (pair[0], pair[1].subscription_id))
    return out[:MAX_RENEWALS]


def prepaid(balance: int, currency: str, subs: list[Renewing], now: dt.datetime) -> dict:
    """`{next_renewal, lasts_until, renewals_covered}`; next_renewal is `{date, amount,
    subscription_id, package, covered, missing}` or None without any renewal."""
    upcoming = renewals(subs, now)
    if not upcoming:
        return {"next_renewal": None, "lasts_until": None, "renewals_covered": 0}
    first_at, first = upcoming[0]
    left, covered, lasts_until = balance, 0, None
    for at, sub in upcoming:
        if left < sub.amount:
            lasts_until = at
            break
        left -= sub.amount
        covered += 1
    return {
        "next_renewal": {
            "date": isoformat(first_at), "subscription_id": first.subscription_id,
            "package": first.package, "amount": {"amount": first.amount, "currency": currency},
            "covered": balance >= first.amount,
            "missing": {"amount": max(0, first.amount - balance), "currency": currency}},
        "lasts_until": isoformat(lasts_until),
        "renewals_covered": covered,
    }


# --- from the subscriptions as the main page shows them -----------------------------------

def renewing(shown: list[tuple[Subscription, dict]]) -> list[Renewing]:
    """The active subscriptions that renew, from `(subscription, views.dump of it)` pairs the
    caller has already made (their next renewal is worked out once, for both)."""
    out = []
    for sub, view in shown:
        upcoming = view["next_renewal"]
        if view["status"] != lifecycle.ACTIVE or upcoming is None:  # none: cancelling
            continue
        out.append(Renewing(sub.id, view["package"]["name"], sub.current_period_end,
                            upcoming["amount"]["amount"], sub.billing_period, sub.anchor_day))
    return out
