"""Redeeming a voucher: atomic and single use, brute-force safe, no lock held across it.

`redeem` checks the code's form and check symbol first (a typo is refused without a database
lookup, and counts as a failed guess). A well-formed code is redeemed by one statement on
PostgreSQL: the conditional UPDATE `active → redeemed` (joined with its batch's checks: active,
valid now, the account's currency, the prepaid restriction, and neither throttle key blocked),
the redemption row (unique voucher id) and the `voucher_redeemed` outbox row; the entrypoint
commits it at once. Of any number of concurrent redemptions of one code exactly one succeeds:
the others' UPDATE waits for the winner's commit and finds the voucher `redeemed`.

Only when that statement claims nothing does `redeem` find out why, in a second round: a blocked
key (429 with Retry-After), an unknown code (a failed guess, counted against the account and the
client address), or a real code that cannot be used (redeemed, voided, expired, not yet valid,
another currency, restricted: its own 409, not counted). The throttle is checked inside the
claiming statement and failures are counted atomically (`services/common/throttle.py`): nothing
locks the per-address counter across a redemption, so customers behind one busy address do not
wait for each other. A refusal raises with the counted guess (and a block it started) flushed:
the entrypoint commits that before it answers, so the count holds whatever the answer. billing
credits the wallet keyed by the redemption id, from the answer or, if it died meanwhile, from
the event.
"""

from __future__ import annotations

import datetime as dt
import math

from sqlalchemy import bindparam, exists, func, literal, or_, select, text, update
from sqlalchemy.orm import Session

from services.common import errors, outbox, pages, throttle
from services.common.clock import isoformat
from services.common.ids import new_id
from services.common.sqltypes import UtcDateTime
from services.common.throttle import Limit
from services.vouchers import codes, events, exceptions
from services.vouchers.models import (
    Redemption,
    ThrottleCounter,
    ThrottleEvent,
    Voucher,
    VoucherBatch,
)

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
    """A wrong code: count it against every key (recording blocks for ops), flushed for the
    caller to commit, and the refusal to raise. A key that a concurrent guess blocked
    meanwhile refuses it as blocked instead."""
    wait = 0.0
    for key, limit in keys:
        failure = throttle.record_failure(session, ThrottleCounter, key, limit, now)
        wait = max(wait, failure.wait(now) if not failure.counted else 0.0)
        if failure.started_block:
            session.add(ThrottleEvent(key=key, failures=failure.failures,
                                      blocked_until=failure.blocked_until, created_at=now))
            outbox.emit(session, events.VOUCHER_GUESSING_THROTTLED, "throttle", {
                "key": key, "failures": failure.failures,
                "blocked_until": isoformat(failure.blocked_until)}, now)
    session.flush()
    return _too_many(wait) if wait else error


def _too_many(wait: float) -> errors.ServiceError:
    return errors.RateLimited("Too many wrong voucher codes. Try again later.",
                              code=exceptions.TOO_MANY_ATTEMPTS,
                              details={"retry_after": math.ceil(wait)})


def redeem(session: Session, keys_: codes.CodeKeys, customer_id: str, code_text: str,
           account: dict, client: str | None, now: dt.datetime) -> dict:
    """Redeem the voucher with this code for the customer: the redemption (its voucher claimed,
    the event recorded), for the caller to commit at once (the claim holds the voucher's row
    until then).

    A refusal is raised (`errors.ServiceError`, codes in exceptions.py) with the session holding
    only what must be kept: a wrong guess counted, a block it started. The caller commits that
    too, then answers the refusal; a refusal for a real code, or for a blocked key, holds
    nothing."""
    keys = _keys(customer_id, client)
    code = codes.normalize(code_text) if isinstance(code_text, str) else ""
    if not codes.is_well_formed(code):
        if wait := throttle.blocked_for(session, ThrottleCounter, [k for k, _ in keys], now):
            raise _too_many(wait)
        raise _refuse_guess(session, keys, errors.InvalidArgument(
            "This is not a voucher code: please check it for a typo.",
            code=exceptions.VOUCHER_CODE_INVALID,
            fields={"code": ["is not a valid voucher code (check for a typo)"]}), now)
    code_hash = keys_.lookup_hash(code)
    for _ in range(2):
        redeemed = _claim(session, code_hash, customer_id, account, [k for k, _ in keys], now)
        if redeemed is not None:
            return redeemed
        _why_not(session, keys, code_hash, account, now)  # raises, unless usable after all
    raise errors.Conflict("This voucher has already been redeemed.",
                          code=exceptions.VOUCHER_ALREADY_REDEEMED)


def _why_not(session: Session, keys: list[tuple[str, Limit]], code_hash: str, account: dict,
             now: dt.datetime) -> None:
    """Why the claim took nothing: raises the answer (counting an unknown code as a guess).
    Returns only if the voucher looks usable now (a concurrent claim rolled back): try again."""
    if wait := throttle.blocked_for(session, ThrottleCounter, [k for k, _ in keys], now):
        raise _too_many(wait)
    found = session.execute(select(Voucher, VoucherBatch).join(
        VoucherBatch, VoucherBatch.id == Voucher.batch_id).where(
        Voucher.code_hash == code_hash)).first()
    if found is None:
        raise _refuse_guess(session, keys, errors.NotFound(
            "No voucher has this code.", code=exceptions.VOUCHER_NOT_FOUND), now)
    _check_usable(found[0], found[1], account, now)


def _claim(session: Session, code_hash: str, customer_id: str, account: dict,
           keys: list[str], now: dt.datetime) -> dict | None:
    """Redeem the voucher with this code if it is usable and no key is blocked, flushed (the
    caller commits); None if nothing was claimed (nothing changed)."""
    redemption_id = new_id("red")
    if session.get_bind().dialect.name == "postgresql":
        row = session.execute(CLAIM_PG, {
            "code_hash": code_hash, "now": now, "currency": account.get("currency"),
            "billing_type": account.get("billing_type"), "keys": keys,
            "redemption_id": redemption_id, "customer_id": customer_id,
            "event_id": new_id("evt"), "event_type": events.VOUCHER_REDEEMED,
            "at": isoformat(now)}).first()
        if row is None:
            return None
        session.info["outbox_pending"] = True  # wake the outbox relay, as outbox.emit does
        return _answer(redemption_id, row.serial, customer_id, row.value, row.currency, now)
    # SQLite (the embedded default; BEGIN IMMEDIATE serializes writers anyway): the same
    # conditions, a statement per row
    row = session.execute(
        update(Voucher).where(Voucher.code_hash == code_hash, Voucher.status == "active",
                              _usable(account, now), ~_blocked(keys, now))
        .values(status="redeemed", changed_at=now)
        .returning(Voucher.id, Voucher.serial, Voucher.batch_id)
        .execution_options(synchronize_session=False)).first()
    if row is None:
        return None
    value, currency = session.execute(select(VoucherBatch.value, VoucherBatch.currency)
                                      .where(VoucherBatch.id == row.batch_id)).one()
    session.add(Redemption(id=redemption_id, voucher_id=row.id, serial=row.serial,
                           customer_id=customer_id, value=value, currency=currency,
                           created_at=now))
    session.flush()
    answer = _answer(redemption_id, row.serial, customer_id, value, currency, now)
    outbox.emit(session, events.VOUCHER_REDEEMED, "redemption", answer, now)
    session.flush()
    return answer


def _answer(redemption_id: str, serial: str, customer_id: str, value: int, currency: str,
            now: dt.datetime) -> dict:
    """What `dump` makes of the redemption row."""
    return {"id": redemption_id, "serial": serial, "customer_id": customer_id,
            "value": {"amount": value, "currency": currency}, "created_at": isoformat(now)}


def _usable(account: dict, now: dt.datetime):
    """The batch checks of `_check_usable`, as a condition on the voucher row (SQLite path)."""
    return exists().where(
        VoucherBatch.id == Voucher.batch_id, VoucherBatch.status == "active",
        VoucherBatch.valid_from <= now,
        func.coalesce(Voucher.expires_at, VoucherBatch.valid_until) > now,
        VoucherBatch.currency == account.get("currency"),
        or_(VoucherBatch.restriction.is_(None), VoucherBatch.restriction != "prepaid",
            literal(account.get("billing_type") == "prepaid")))


def _blocked(keys: list[str], now: dt.datetime):
    return exists().where(ThrottleCounter.key.in_(keys), ThrottleCounter.blocked_until > now)


# The claim on PostgreSQL, in one statement (keep its conditions those of `_usable` and
# `_check_usable`): the voucher turns redeemed, the redemption row and the voucher_redeemed
# event (the envelope `outbox.emit` writes) are inserted, all or nothing.
CLAIM_PG = text("""
WITH claimed AS (
    UPDATE vouchers AS v SET status = 'redeemed', changed_at = :now
    FROM voucher_batches AS b
    WHERE v.code_hash = :code_hash AND v.status = 'active' AND b.id = v.batch_id
      AND b.status = 'active' AND b.valid_from <= :now
      AND COALESCE(v.expires_at, b.valid_until) > :now
      AND b.currency = :currency
      AND (b.restriction IS NULL OR b.restriction <> 'prepaid'
           OR COALESCE(:billing_type = 'prepaid', false))
      AND NOT EXISTS (SELECT 1 FROM throttle_counters AS t
                      WHERE t.key = ANY(:keys) AND t.blocked_until > :now)
    RETURNING v.id, v.serial, b.value, b.currency
), redeemed AS (
    INSERT INTO redemptions (id, voucher_id, serial, customer_id, value, currency, created_at)
    SELECT :redemption_id, id, serial, :customer_id, value, currency, :now FROM claimed
    RETURNING voucher_id, serial, value, currency
), event AS (
    INSERT INTO outbox_messages (event_id, event_type, payload, created_at, attempts)
    SELECT :event_id, :event_type, json_build_object(
        'event_id', CAST(:event_id AS text), 'occurred_at', CAST(:at AS text),
        'redemption', json_build_object(
            'id', CAST(:redemption_id AS text), 'serial', serial,
            'customer_id', CAST(:customer_id AS text),
            'value', json_build_object('amount', value, 'currency', currency),
            'created_at', CAST(:at AS text))), :now, 0
    FROM redeemed
)
SELECT voucher_id, serial, value, currency FROM redeemed
""").bindparams(bindparam("now", type_=UtcDateTime()))


def _check_usable(voucher: Voucher, batch: VoucherBatch, account: dict,
                  now: dt.datetime) -> None:
    if voucher.status == "redeemed":
        raise errors.Conflict("This voucher has already been redeemed.",
                              code=exceptions.VOUCHER_ALREADY_REDEEMED)
    if voucher.status == "voided" or batch.status == "voided":
        raise errors.Conflict("This voucher was cancelled by the operator.",
                              code=exceptions.VOUCHER_VOIDED)
    if (voucher.expires_at or batch.valid_until) <= now:
        raise errors.Conflict("This voucher has expired.", code=exceptions.VOUCHER_EXPIRED)
    if batch.valid_from > now or batch.status != "active":
        raise errors.Conflict("This voucher cannot be used yet.",
                              code=exceptions.VOUCHER_NOT_YET_VALID)
    if batch.currency != account.get("currency"):
        raise errors.Conflict(f"This voucher is in {batch.currency}; your account is in "
                              f"{account.get('currency')}.",
                              code=exceptions.VOUCHER_CURRENCY_MISMATCH)
    if batch.restriction == "prepaid" and account.get("billing_type") != "prepaid":
        raise errors.Conflict("This voucher is for prepaid accounts only.",
                              code=exceptions.VOUCHER_NOT_ALLOWED)


HISTORY_ORDER = pages.Order((Redemption.created_at, Redemption.id))  # newest first


def history(session: Session, customer_id: str, limit=pages.DEFAULT_LIMIT, cursor=None) -> dict:
    """The customer's redemptions, newest first."""
    return pages.keyset(session, select(Redemption).where(Redemption.customer_id == customer_id),
                        HISTORY_ORDER, limit, cursor, dump=dump)


THROTTLE_ORDER = pages.Order((ThrottleEvent.created_at, ThrottleEvent.id))  # newest first


def dump_throttle(event: ThrottleEvent) -> dict:
    return {"key": event.key, "failures": event.failures,
            "blocked_until": isoformat(event.blocked_until),
            "created_at": isoformat(event.created_at)}


def throttle_events(session: Session, limit=pages.DEFAULT_LIMIT, cursor=None) -> dict:
    """Blocks for guessing codes, newest first."""
    return pages.keyset(session, select(ThrottleEvent), THROTTLE_ORDER, limit, cursor,
                        dump=dump_throttle)

