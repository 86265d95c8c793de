"""Household members' spending on the holder's account (accounts' households.py): each
purchase, add-on or voucher a member makes counts, in its own transaction, against the monthly
limit the holder set. The counter row is changed by one conditional UPDATE (`spent + amount <=
limit`), so concurrent purchases never go past it together: the one that would is refused and
its whole purchase rolled back (MEMBER_SPENDING_LIMIT). A member is
`{"id", "monthly_limit"}` as accounts answers it (None: no limit)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm import Session

from services.billing.exceptions import MEMBER_SPENDING_LIMIT
from services.billing.models import MemberSpending
from services.common import errors
from services.common.db import dialect_insert


def month_of(now: dt.datetime) -> str:
    return now.strftime("%Y-%m")


def count(session: Session, customer_id: str, member: dict | None, amount: int,
          currency: str, now: dt.datetime) -> None:
    """Adds `amount` to the member's month; Conflict when it would pass their limit."""
    if not member or amount <= 0:
        return
    key = {"customer_id": customer_id, "member_id": member["id"], "month": month_of(now)}
    session.execute(dialect_insert(session, MemberSpending.__table__).values(
        **key, currency=currency, spent=0).on_conflict_do_nothing(
        index_elements=["customer_id", "member_id", "month"]))
    condition = [MemberSpending.customer_id == customer_id,
                 MemberSpending.member_id == member["id"], MemberSpending.month == key["month"]]
    limit = member.get("monthly_limit")
    if limit is not None:
        condition.append(MemberSpending.spent + amount <= limit)
    if session.execute(update(MemberSpending).where(*condition).values(
            spent=MemberSpending.spent + amount)
            .execution_options(synchronize_session=False)).rowcount != 1:
        raise errors.Conflict("This would pass the monthly spending limit the account holder "
                              "set for you.", code=MEMBER_SPENDING_LIMIT,
                              details={"params": {"limit": limit, "amount": amount,
                                                  "currency": currency}})


def spent(session: Session, customer_id: str, member_id: str, now: dt.datetime) -> int:
    row = session.get(MemberSpending, (customer_id, member_id, month_of(now)))
    return row.spent if row is not None else 0
