"""Redeeming a voucher: atomic and single use, brute-force safe.

`redeem` checks the throttle first (per account and per client address; a blocked key is 429
with Retry-After), then the code's form and check symbol (a typo is refused without a database
lookup), then finds the voucher by its code's keyed hash. Wrong codes count as failed guesses;
real codes that cannot be used (redeemed, voided, expired, not yet valid, another currency,
restricted) get their own 409 and do not count. The voucher turns `redeemed` by a conditional
UPDATE and the redemption row (unique voucher id) and the `voucher_redeemed` event commit with
it: of any number of concurrent redemptions exactly one succeeds. billing credits the wallet
keyed by the redemption id, from the answer or, if it died meanwhile, from the event.
"""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.common import errors, outbox, throttle
from services.common.clock import isoformat
from services.common.ids import new_id
from services.common.throttle import Limit
from services.vouchers import codes
from services.vouchers.models import (
    Redemption,
    ThrottleCounter,
    ThrottleEvent,
    Voucher,
    VoucherBatch,
)

VOUCHER_REDEEMED = "voucher_redeemed"
ACCOUNT_LIMIT = Limit(5, dt.timedelta(minutes=15), dt.timedelta(seconds=60),
                      dt.timedelta(hours=1))
ADDRESS_LIMIT = Limit(20, dt.timedelta(minutes=15), dt.timedelta(minutes=2),
                      dt.timedelta(hours=2))


def dump(r: Redemption) -> dict:
    return {"id": r.id, "serial": r.serial, "customer_id": r.customer_id,
            "value": {"amount": r.value, "currency": r.currency},
            "created_at": isoformat(r.created_at)}


def _keys(customer_id: str, client: str | None) -> list[tuple[str, Limit]]:
    keys = [(f"redeem:account:{customer_id}", ACCOUNT_LIMIT)]
    if client:
        keys.append((f"redeem:ip:{client}"[:300], ADDRESS_LIMIT))
    return keys


def _refuse_guess(session: Session, keys: list[tuple[str, Limit]], error: errors.ServiceError,
                  now: dt.datetime) -> errors.ServiceError:
    """A wrong code: count it against every key (recording blocks for ops), commit, refuse."""
    for key, limit in keys:
        if throttle.record_failure(session, ThrottleCounter, key, limit, now):
            counter = session.get(ThrottleCounter, key)
            session.add(ThrottleEvent(key=key, failures=counter.failures,
                                      blocked_until=counter.blocked_until, created_at=now))
            outbox.emit(session, "voucher_guessing_throttled", "throttle", {
                "key": key, "failures": counter.failures,
                "blocked_until": isoformat(counter.blocked_until)}, now)
    session.commit()
    return error


def redeem(session: Session, keys_: codes.CodeKeys, customer_id: str, code_text: str,
           account: dict, client: str | None, now: dt.datetime) -> dict:
    keys = _keys(customer_id, client)
    wait = throttle.blocked_for(session, ThrottleCounter, [k for k, _ in keys], now, lock=True)
    if wait:
        session.rollback()
        raise errors.RateLimited("Too many wrong voucher codes. Try again later.",
                                 code="TOO_MANY_ATTEMPTS",
                                 details={"retry_after": math.ceil(wait)})
    code = codes.normalize(code_text) if isinstance(code_text, str) else ""
    if not codes.is_well_formed(code):
        raise _refuse_guess(session, keys, errors.InvalidArgument(
            "This is not a voucher code: please check it for a typo.",
            code="VOUCHER_CODE_INVALID",
            fields={"code": ["is not a valid voucher code (check for a typo)"]}), now)
    voucher = session.scalar(select(Voucher).where(
        Voucher.code_hash == keys_.lookup_hash(code)))
    if voucher is None:
        raise _refuse_guess(session, keys, errors.NotFound(
            "No voucher has this code.", code="VOUCHER_NOT_FOUND"), now)
    batch = session.get(VoucherBatch, voucher.batch_id)
    _check_usable(voucher, batch, account, now)
    taken = session.execute(update(Voucher).where(Voucher.id == voucher.id,
                                                  Voucher.status == "active")
                            .values(status="redeemed", changed_at=now)
                            .execution_options(synchronize_session=False)).rowcount
    if not taken:
        session.rollback()
        raise errors.Conflict("This voucher has already been redeemed.",
                              code="VOUCHER_ALREADY_REDEEMED")
    redemption = Redemption(id=new_id("red"), voucher_id=voucher.id, serial=voucher.serial,
                            customer_id=customer_id, value=batch.value,
                            currency=batch.currency, created_at=now)
    session.add(redemption)
    session.flush()
    outbox.emit(session, VOUCHER_REDEEMED, "redemption", dump(redemption), now)
    session.commit()
    return dump(redemption)


def _check_usable(voucher: Voucher, batch: VoucherBatch, account: dict,
                  now: dt.datetime) -> None:
    if voucher.status == "redeemed":
        raise errors.Conflict("This voucher has already been redeemed.",
                              code="VOUCHER_ALREADY_REDEEMED")
    if voucher.status == "voided" or batch.status == "voided":
        raise errors.Conflict("This voucher was cancelled by the operator.",
                              code="VOUCHER_VOIDED")
    if (voucher.expires_at or batch.valid_until) <= now:
        raise errors.Conflict("This voucher has expired.", code="VOUCHER_EXPIRED")
    if batch.valid_from > now or batch.status != "active":
        raise errors.Conflict("This voucher cannot be used yet.",
                              code="VOUCHER_NOT_YET_VALID")
    if batch.currency != account.get("currency"):
        raise errors.Conflict(f"This voucher is in {batch.currency}; your account is in "
                              f"{account.get('currency')}.", code="VOUCHER_CURRENCY_MISMATCH")
    if batch.restriction == "prepaid" and account.get("billing_type") != "prepaid":
        raise errors.Conflict("This voucher is for prepaid accounts only.",
                              code="VOUCHER_NOT_ALLOWED")


def history(session: Session, customer_id: str, limit: int = 100) -> dict:
    rows = session.scalars(select(Redemption).where(Redemption.customer_id == customer_id)
                           .order_by(Redemption.created_at.desc()).limit(limit)).all()
    return {"data": [dump(r) for r in rows], "has_more": False, "next_cursor": None}


def throttle_events(session: Session, limit: int = 100) -> dict:
    rows = session.scalars(select(ThrottleEvent).order_by(ThrottleEvent.created_at.desc())
                           .limit(limit)).all()
    return {"data": [{"key": e.key, "failures": e.failures,
                      "blocked_until": isoformat(e.blocked_until),
                      "created_at": isoformat(e.created_at)} for e in rows],
            "has_more": False, "next_cursor": None}
