"""Money created by staff, bounded, and approved by a second person above the bound
(maker-checker). The roles and their bounds are services/common/permissions.py's.

`authorize_money()` is asked before a staff member's money action (a wallet credit, a credit
note) runs. Under the role's bound it counts the amount against the staff member's day (one
atomic upsert that refuses to pass the per-day bound, so concurrent requests cannot overshoot
it) and answers `allowed`; above it, the action is stored as a pending `Approval` with what is
needed to run it, and the answer is `approval_required`. The decision is kept under the staff
member's Idempotency-Key: a retry gets the same answer and counts once.

`decide()` approves or rejects a pending approval; never by the person who asked. The gateway
then runs the approved action (with the Idempotency-Key `approval:<id>`, so running it again
after a crash does it once) and records the outcome with `finish()`.

The functions flush, never commit: the entrypoint (service.py) commits, and when two requests
with one key race, rolls back the loser's `IntegrityError` and asks again (the winner's decision
stands).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.accounts.models import Approval, MoneyGrant, StaffAllowance
from services.common import errors, pages, permissions
from services.common.clock import isoformat
from services.common.db import dialect_insert
from services.common.ids import new_id

APPROVAL_NOT_FOUND = "APPROVAL_NOT_FOUND"
APPROVAL_DECIDED = "APPROVAL_DECIDED"
APPROVAL_SELF = "APPROVAL_BY_REQUESTER"
STATUSES = ("pending", "approved", "rejected", "executed", "failed")


def _actor(actor) -> dict:
    if not isinstance(actor, dict) or not isinstance(actor.get("id"), str) \
            or not permissions.is_staff(actor.get("role")):
        raise errors.PermissionDenied("This needs a staff account.")
    return actor


def dump(approval: Approval) -> dict:
    return {"id": approval.id, "action": approval.action, "params": approval.params,
            "amount": {"amount": approval.amount, "currency": approval.currency},
            "customer_id": approval.customer_id, "reason": approval.reason,
            "status": approval.status, "requested_by": approval.requested_by,
            "requested_role": approval.requested_role, "decided_by": approval.decided_by,
            "decided_at": isoformat(approval.decided_at), "note": approval.note,
            "result": approval.result, "created_at": isoformat(approval.created_at),
            "finished_at": isoformat(approval.finished_at)}


def _decision(session: Session, grant: MoneyGrant) -> dict:
    if grant.decision == "allowed":
        return {"decision": "allowed"}
    return {"decision": "approval_required",
            "approval": dump(session.get(Approval, grant.approval_id))}


def _count(session: Session, actor_id: str, day: str, currency: str, amount: int,
           per_day: int | None) -> bool:
    """Add `amount` to the actor's day unless that passes `per_day`; True when counted."""
    if per_day is not None and amount > per_day:
        return False
    stmt = dialect_insert(session, StaffAllowance).values(
        actor_id=actor_id, day=day, currency=currency, used=amount)
    added = StaffAllowance.used + stmt.excluded.used
    stmt = stmt.on_conflict_do_update(
        index_elements=["actor_id", "day", "currency"], set_={"used": added},
        where=None if per_day is None else added <= per_day)
    return session.execute(stmt.returning(StaffAllowance.used)).first() is not None


def authorize_money(session: Session, limits: dict[str, permissions.Bound], actor: dict,
                    action: str, amount: int, currency: str, params: dict,
                    customer_id: str | None, key: str | None, now: dt.datetime) -> dict:
    """`{"decision": "allowed"}` (counted against today) or `{"decision":
    "approval_required", "approval": {...}}` (stored, pending). The decision is flushed under
    the key: the same key written concurrently is an `IntegrityError` here (or at the caller's
    commit), on which the caller rolls back (undoing this count) and asks again, to answer the
    decision that was stored."""
    actor = _actor(actor)
    if action not in permissions.MONEY_ACTIONS:
        raise errors.InvalidArgument(fields={"action": ["is not a money action"]})
    if not permissions.allows(actor["role"], permissions.MONEY_ACTIONS[action]):
        raise errors.PermissionDenied("Your role may not do this.")
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise errors.InvalidArgument(fields={"amount": ["must be a positive whole number"]})
    if not isinstance(currency, str) or len(currency) != 3:
        raise errors.InvalidArgument(fields={"currency": ["must be a currency code"]})
    if not key or not isinstance(key, str) or len(key) > 255:
        raise errors.InvalidArgument("Money actions need an Idempotency-Key header.",
                                     code="IDEMPOTENCY_KEY_REQUIRED")
    earlier = session.get(MoneyGrant, (actor["id"], key))
    if earlier is not None:
        if (earlier.action, earlier.amount, earlier.currency) != (action, amount, currency):
            raise errors.Conflict("This Idempotency-Key was used for another request.",
                                  code="IDEMPOTENCY_KEY_REUSED")
        return _decision(session, earlier)
    bound = limits.get(actor["role"], permissions.Bound(None, None))
    reason = permissions.needs_approval(bound, amount, 0)  # the per-action bound
    if reason is None and not _count(session, actor["id"], now.date().isoformat(), currency,
                                     amount, bound.per_day):
        reason = "per_day"
    grant = MoneyGrant(actor_id=actor["id"], key=key, action=action, amount=amount,
                       currency=currency, decision="allowed" if reason is None
                       else "approval_required", created_at=now)
    if reason is not None:
        approval = Approval(id=new_id("apr"), action=action, params=params or {},
                            amount=amount, currency=currency, customer_id=customer_id,
                            reason=reason, status="pending", requested_by=actor["id"],
                            requested_role=actor["role"], created_at=now)
        session.add(approval)
        grant.approval_id = approval.id
    session.add(grant)
    session.flush()
    return _decision(session, grant)


def get(session: Session, approval_id: str, fresh: bool = False) -> dict:
    """The approval; `fresh`: as the database has it now (after an UPDATE statement, which
    leaves a loaded approval as it was)."""
    approval = (session.get(Approval, approval_id, populate_existing=fresh)
                if isinstance(approval_id, str) else None)
    if approval is None:
        raise errors.NotFound("No such approval.", code=APPROVAL_NOT_FOUND)
    return dump(approval)


def decide(session: Session, approval_id: str, decider: dict, approve: bool,
           note: str | None, now: dt.datetime) -> dict:
    """pending → approved | rejected, by someone other than the requester who may approve
    and may do the action themselves. Repeating the same decision answers it again."""
    decider = _actor(decider)
    current = get(session, approval_id)
    if not permissions.allows(decider["role"], "approvals.decide") or not permissions.allows(
            decider["role"], permissions.MONEY_ACTIONS[current["action"]]):
        raise errors.PermissionDenied("Your role may not decide this approval.")
    if decider["id"] == current["requested_by"]:
        raise errors.PermissionDenied("A second person must decide what you asked for.",
                                      code=APPROVAL_SELF)
    if note is not None and (not isinstance(note, str) or len(note) > 500):
        raise errors.InvalidArgument(fields={"note": ["must be at most 500 characters"]})
    status = "approved" if approve else "rejected"
    moved = session.execute(
        update(Approval).where(Approval.id == approval_id, Approval.status == "pending")
        .values(status=status, decided_by=decider["id"], decided_at=now, note=note)
        .execution_options(synchronize_session=False)).rowcount
    result = get(session, approval_id, fresh=True)
    if not moved:
        same = result["decided_by"] == decider["id"] and (
            result["status"] in ("approved", "executed", "failed") if approve
            else result["status"] == "rejected")
        if not same:
            raise errors.Conflict(f"This approval is {result['status']} already.",
                                  code=APPROVAL_DECIDED)
    return result


def finish(session: Session, approval_id: str, succeeded: bool, result: dict | None,
           now: dt.datetime) -> dict:
    """approved → executed | failed, with what the action answered (once)."""
    session.execute(
        update(Approval).where(Approval.id == approval_id, Approval.status == "approved")
        .values(status="executed" if succeeded else "failed", result=result or {},
                finished_at=now).execution_options(synchronize_session=False))
    return get(session, approval_id, fresh=True)


PAGE_ORDER = pages.Order((Approval.created_at, Approval.id))  # newest first


def page(session: Session, status: str | None = None, limit=50, cursor=None) -> dict:
    """Approvals, newest first (optionally of one status)."""
    if status is not None and status not in STATUSES:
        raise errors.InvalidArgument(fields={"status": [f"must be one of {', '.join(STATUSES)}"]})
    query = select(Approval)
    if status:
        query = query.where(Approval.status == status)
    return pages.keyset(session, query, PAGE_ORDER, limit, cursor, dump=dump)
