"""A customer's data in insights, for the GDPR (issue #18): what it holds about them (`export`)
and forgetting them (`forget`). accounts' erasure saga calls both.

What insights holds about a customer: their viewing as daily sums per channel
(`viewing_daily`), their choice about its use (`viewing_choices`), their monthly budget and the
thresholds it reached (`budget_alerts`), and the recommendations they dismissed. Nothing of it
names the person (no name, e-mail, phone or address): it is all keyed by the customer id.
Viewing batches (`viewing_batches`) keep only counts, and are deleted by retention.

Forgetting deletes all of it, in the entrypoint's one transaction under a per-customer lock,
with one exception: the viewing choice is set to off rather than deleted (the row says no more
than "off"), because no row means "in use", and the TV platform may still report the customer's
viewing after they are gone: with the choice off such records are dropped as they arrive
(`viewing.opted_out`) instead of being stored again. Published `budget_alert` events about the
customer are deleted from the outbox now rather than at housekeeping (an unpublished one is
delivered as written). A second call finds nothing and answers zeros in the same shape; two
concurrent calls are serialised by the lock (the second finds nothing), so `customer_forgotten`
is emitted once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Text, cast, delete, select
from sqlalchemy.orm import Session

from services.common import outbox
from services.common.clock import isoformat
from services.common.db import dialect_insert
from services.common.kernel_tables import OutboxMessage
from services.common.privacy import changed, check, lock_customer
from services.insights import events
from services.insights.models import (
    Budget,
    BudgetAlert,
    DismissedRecommendation,
    ViewingChoice,
    ViewingDay,
)

SERVICE = "insights"
KINDS = ("viewing_days", "viewing_choice", "budget", "budget_alerts", "dismissed", "events")


def export(session: Session, customer_id: str) -> dict:
    """Everything insights holds about the customer, JSON-ready (times ISO 8601 UTC, days
    ISO dates)."""
    check(customer_id)
    viewing = [{"channel": row.channel, "day": row.day.isoformat(), "minutes": row.minutes}
               for row in session.scalars(select(ViewingDay).where(
                   ViewingDay.customer_id == customer_id)
                   .order_by(ViewingDay.day, ViewingDay.channel))]
    choice = session.get(ViewingChoice, customer_id)
    choices = [] if choice is None else [{"use_viewing": bool(choice.use_viewing),
                                          "changed_at": isoformat(choice.changed_at),
                                          "source": choice.source}]
    budget = session.get(Budget, customer_id)
    budgets = [] if budget is None else [{
        "amount": budget.amount, "currency": budget.currency,
        "created_at": isoformat(budget.created_at), "updated_at": isoformat(budget.updated_at)}]
    alerts = [{"month": a.month, "threshold": a.threshold, "budget": a.budget,
               "so_far": a.so_far, "projected": a.projected, "currency": a.currency,
               "announced": bool(a.announced), "created_at": isoformat(a.created_at)}
              for a in session.scalars(select(BudgetAlert).where(
                  BudgetAlert.customer_id == customer_id)
                  .order_by(BudgetAlert.month, BudgetAlert.created_at, BudgetAlert.threshold))]
    dismissed = [{"recommendation_id": d.recommendation_id,
                  "dismissed_at": isoformat(d.dismissed_at)}
                 for d in session.scalars(select(DismissedRecommendation).where(
                     DismissedRecommendation.customer_id == customer_id)
                     .order_by(DismissedRecommendation.dismissed_at,
                               DismissedRecommendation.recommendation_id))]
    return {"service": SERVICE, "data": {
        "viewing_daily": viewing, "viewing_choice": choices, "budget": budgets,
        "budget_alerts": alerts, "dismissed_recommendations": dismissed}}


def forget(session: Session, customer_id: str, pseudonym: str, now: dt.datetime) -> dict:
    """Delete what insights holds about the customer (see the module's docstring); flushed,
    the caller commits. `{"service": "insights", "forgotten": {kind: rows}}`."""
    check(customer_id, pseudonym, need_pseudonym=True)
    lock_customer(session, SERVICE, customer_id)
    counts = dict.fromkeys(KINDS, 0)

    def run(statement) -> int:
        return changed(session, statement)

    counts["viewing_days"] = run(delete(ViewingDay).where(ViewingDay.customer_id == customer_id))
    counts["budget"] = run(delete(Budget).where(Budget.customer_id == customer_id))
    counts["budget_alerts"] = run(delete(BudgetAlert).where(
        BudgetAlert.customer_id == customer_id))
    counts["dismissed"] = run(delete(DismissedRecommendation).where(
        DismissedRecommendation.customer_id == customer_id))
    if session.scalar(select(ViewingChoice.use_viewing).where(
            ViewingChoice.customer_id == customer_id)) is not False:
        stmt = dialect_insert(session, ViewingChoice.__table__).values(
            customer_id=customer_id, use_viewing=False, changed_at=now, source="erasure")
        session.execute(stmt.on_conflict_do_update(
            index_elements=["customer_id"],
            set_={"use_viewing": False, "changed_at": stmt.excluded.changed_at,
                  "source": "erasure"}))
        counts["viewing_choice"] = 1
    counts["events"] = run(delete(OutboxMessage).where(  # not the news of a forgetting
        OutboxMessage.published_at.is_not(None),
        OutboxMessage.event_type != events.CUSTOMER_FORGOTTEN,
        cast(OutboxMessage.payload, Text).contains(customer_id, autoescape=True)))
    if any(counts.values()):
        outbox.emit(session, events.CUSTOMER_FORGOTTEN, "customer",
                    {"id": customer_id, "pseudonym": pseudonym.strip(), "forgotten": counts},
                    now)
    session.flush()
    return {"service": SERVICE, "forgotten": counts}
