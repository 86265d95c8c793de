"""A customer's data protection requests, vouchers' part (issue #18): export and forgetting.

vouchers holds no name, e-mail, phone or postal address. What it holds about a customer is
keyed by the customer id alone:
- redemptions (`redemptions.customer_id`): which voucher, its value, when: records of money
  moved into the wallet (billing's ledger refers to them), kept;
- vouchers bought online (`vouchers.buyer_id`, `purchase_id`: billing's card payment): kept,
  like the payment;
- guessing records: the throttle counter of the account's wrong codes
  (`throttle_counters`, key `redeem:account:<id>`) is deleted; the blocks it started
  (`throttle_events`, what ops see of guessing) are kept as security records. The per-address
  counters (`redeem:ip:<address>`) are not tied to a customer and are not touched.
The customer id stays (accounts keeps the account under it, pseudonymised), so forgetting
erases the one row of live state and answers the counts of what it kept. A repeat deletes
nothing more and answers the same `kept`.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from services.common import errors
from services.common.clock import isoformat
from services.common.privacy import check
from services.vouchers import redemption
from services.vouchers.models import Redemption, ThrottleCounter, ThrottleEvent, Voucher

SERVICE = "vouchers"


def account_key(customer_id: str) -> str:
    """The throttle key of a customer's wrong codes (as `redemption._keys` makes it)."""
    return f"redeem:account:{customer_id}"


def _dump_bought(v: Voucher) -> dict:
    """A voucher the customer bought: never its code (it is money; the row holds only the
    code's keyed hash)."""
    return {"serial": v.serial, "batch_id": v.batch_id, "status": v.status,
            "purchase_id": v.purchase_id, "expires_at": isoformat(v.expires_at),
            "changed_at": isoformat(v.changed_at)}


def _dump_counter(c: ThrottleCounter) -> dict:
    return {"key": c.key, "window_start": isoformat(c.window_start), "failures": c.failures,
            "blocked_until": isoformat(c.blocked_until)}


def export(session: Session, customer_id: str) -> dict:
    """Everything vouchers holds about the customer, JSON-ready (no files)."""
    customer_id, key = check(customer_id), account_key(customer_id)
    return {"service": SERVICE, "files": [], "data": {
        "redemptions": [redemption.dump(r) for r in session.scalars(
            select(Redemption).where(Redemption.customer_id == customer_id)
            .order_by(Redemption.created_at, Redemption.id))],
        "vouchers_bought": [_dump_bought(v) for v in session.scalars(
            select(Voucher).where(Voucher.buyer_id == customer_id).order_by(Voucher.id))],
        "throttle_counters": [_dump_counter(c) for c in session.scalars(
            select(ThrottleCounter).where(ThrottleCounter.key == key))],
        "throttle_events": [redemption.dump_throttle(e) for e in session.scalars(
            select(ThrottleEvent).where(ThrottleEvent.key == key)
            .order_by(ThrottleEvent.created_at, ThrottleEvent.id))]}}


def kept(session: Session, customer_id: str) -> dict[str, int]:
    def count(model, *where) -> int:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    return {"redemptions": count(Redemption, Redemption.customer_id == customer_id),
            "vouchers_bought": count(Voucher, Voucher.buyer_id == customer_id),
            "throttle_events": count(ThrottleEvent,
                                     ThrottleEvent.key == account_key(customer_id))}


def forget(session: Session, customer_id: str, pseudonym) -> dict:
    """Erase the customer's live guessing state; flushed, the entrypoint commits. The
    pseudonym is checked but written nowhere: vouchers holds no name. Answers {"service",
    "forgotten": {table: rows deleted by this call}, "kept": {table: rows}}."""
    customer_id = check(customer_id)
    if not isinstance(pseudonym, str) or not pseudonym.strip():
        raise errors.InvalidArgument(fields={"pseudonym": ["must be a non-empty string"]})
    deleted = session.execute(delete(ThrottleCounter).where(
        ThrottleCounter.key == account_key(customer_id))).rowcount
    session.flush()
    return {"service": SERVICE, "forgotten": {"throttle_counters": deleted or 0},
            "kept": kept(session, customer_id)}
