"""Monthly budgets and their alerts. The figures are billing's (`month_status`: this month's
`so_far`, tax included, and the `projected` month with the known renewals still due); insights
stores only the budget and the thresholds already announced.

Thresholds, per (customer, month): "80" (so far ≥ 80 % of the budget), "100" (so far ≥ the
budget), "projected" (the projected month above the budget). Each reached threshold is a row of
`budget_alerts` (unique per customer, month and threshold, inserted in a savepoint so a
concurrent twin's check loses quietly): reached once a month, announced at most once a month,
whatever the budget changes in between. One check announces one alert, the most severe of the
thresholds it newly reached ("100", then "projected", then "80"), and only if it is more severe
than every threshold already reached that month: a charge that jumps past 100 % tells "100"
alone (80 % is recorded silently), and "80" after "100" tells nothing.
The announcement is the outbox event `budget_alert`; the notifier words it for the customer.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import errors, outbox
from services.common.db import dialect_insert, is_unique_violation
from services.insights import arguments, events
from services.insights.exceptions import INVALID_BUDGET
from services.insights.models import Budget, BudgetAlert

MAX_AMOUNT = 10**9
THRESHOLDS = ("80", "100", "projected")
SEVERITY = {"80": 1, "projected": 2, "100": 3}


def check_amount(amount: object) -> int:
    if type(amount) is not int or not 0 < amount <= MAX_AMOUNT:
        raise errors.InvalidArgument(
            "A budget is a whole amount in minor units from 1 to 1,000,000,000.",
            code=INVALID_BUDGET, fields={"amount": [
                f"must be a whole number of minor units from 1 to {MAX_AMOUNT}"]})
    return amount


def reached(amount: int, so_far: int, projected: int) -> list[str]:
    """The thresholds these figures reach, in THRESHOLDS order (exact integer arithmetic)."""
    found = []
    if so_far * 100 >= amount * 80:
        found.append("80")
    if so_far >= amount:
        found.append("100")
    if projected > amount:
        found.append("projected")
    return found


def state(amount: int | None, so_far: int, projected: int) -> str:
    """none (no budget) · over (≥ 100 %) · projected_over (the projection above the budget) ·
    warning (≥ 80 %) · ok: the most severe that holds."""
    if amount is None:
        return "none"
    if so_far >= amount:
        return "over"
    if projected > amount:
        return "projected_over"
    if so_far * 100 >= amount * 80:
        return "warning"
    return "ok"


def percent(part: int, whole: int | None) -> int | None:
    """Whole percent, rounded down (79.9 % reads 79, as the 80 % threshold counts it)."""
    if not whole:
        return None
    return max(0, part) * 100 // whole


def view(budget: Budget | None, status: dict) -> dict:
    """`budget(customer_id)`'s answer from the stored budget and billing's month_status."""
    amount = budget.amount if budget is not None else None
    so_far, projected = int(status["so_far"]), int(status["projected"])
    return {"budget": None if budget is None else {"amount": budget.amount,
                                                    "currency": budget.currency},
            "currency": status["currency"], "month": status["month"], "so_far": so_far,
            "projected": projected, "percent": percent(so_far, amount),
            "projected_percent": percent(projected, amount),
            "state": state(amount, so_far, projected)}


def get(session: Session, customer_id: str) -> Budget | None:
    return session.get(Budget, arguments.customer_id(customer_id))


def put(session: Session, customer_id: str, amount: int, currency: str,
        now: dt.datetime) -> Budget:
    """Set (or change) the customer's budget, in the account's currency."""
    stmt = dialect_insert(session, Budget.__table__).values(
        customer_id=customer_id, amount=amount, currency=currency, created_at=now,
        updated_at=now)
    session.execute(stmt.on_conflict_do_update(index_elements=["customer_id"], set_={
        "amount": stmt.excluded.amount, "currency": stmt.excluded.currency,
        "updated_at": stmt.excluded.updated_at}))
    session.expire_all()
    return session.get(Budget, customer_id)


def clear(session: Session, customer_id: str) -> bool:
    """Remove the budget (True if there was one). The month's reached thresholds stay."""
    return bool(session.execute(delete(Budget).where(
        Budget.customer_id == arguments.customer_id(customer_id))
        .execution_options(synchronize_session=False)).rowcount)


def to_announce(new: list[str], earlier: set[str]) -> str | None:
    """Of the thresholds newly reached, the one to announce (see the module's docstring)."""
    if not new:
        return None
    top = max(new, key=SEVERITY.__getitem__)
    if earlier and SEVERITY[top] <= max(SEVERITY[t] for t in earlier):
        return None
    return top


def check(session: Session, budget: Budget, status: dict, now: dt.datetime) -> str | None:
    """Record the thresholds `status` reaches against `budget`; emit `budget_alert` for the one
    to announce, in the caller's transaction. Answers the announced threshold, or None."""
    month, so_far, projected = status["month"], int(status["so_far"]), int(status["projected"])
    now_reached = reached(budget.amount, so_far, projected)
    if not now_reached:
        return None
    earlier = set(session.scalars(select(BudgetAlert.threshold).where(
        BudgetAlert.customer_id == budget.customer_id, BudgetAlert.month == month)))
    new = []
    for threshold in now_reached:
        if threshold in earlier:
            continue
        try:
            with session.begin_nested():
                session.add(BudgetAlert(
                    customer_id=budget.customer_id, month=month, threshold=threshold,
                    budget=budget.amount, so_far=so_far, projected=projected,
                    currency=status["currency"], announced=False, created_at=now))
            new.append(threshold)
        except IntegrityError as exc:  # a concurrent check recorded it first
            if not is_unique_violation(exc):
                raise
            earlier.add(threshold)
    announced = to_announce(new, earlier)
    if announced is None:
        return None
    session.get(BudgetAlert, (budget.customer_id, month, announced)).announced = True
    outbox.emit(session, events.BUDGET_ALERT, "budget_alert", {
        "customer_id": budget.customer_id, "threshold": announced, "month": month,
        "budget": budget.amount, "so_far": so_far, "projected": projected,
        "currency": status["currency"]}, now)
    return announced


def customer_of(payload: dict, entity: str) -> str | None:
    """The customer a billing event is about: `payload[entity]["customer_id"]`."""
    found = (payload.get(entity) or {}).get("customer_id") if isinstance(payload, dict) else None
    return found if isinstance(found, str) and found else None
