"""Redeeming vouchers as the vouchers service does it, on PostgreSQL (and the rules on SQLite,
the local default, too): the one-statement claim, exactly one winner of concurrent
redemptions, and the throttle counting concurrent wrong guesses exactly without a lock held
across a redemption (the bound is stated in services/common/throttle.py)."""

import datetime as dt
import itertools

import eventlet
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from services.common import errors
from services.common.db import KERNEL, Component, make_engine, migrate
from services.common.ids import new_id
from services.common.kernel_tables import OutboxMessage
from services.vouchers import batches, codes, redemption
from services.vouchers.models import (
    MIGRATIONS,
    Base,
    Redemption,
    ThrottleCounter,
    ThrottleEvent,
    Voucher,
    VoucherBatch,
)

KEYS = codes.CodeKeys("test-voucher-secret")
NOW = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)
PREPAID = {"currency": "EUR", "billing_type": "prepaid"}
POSTPAID = {"currency": "EUR", "billing_type": "postpaid"}
_numbers = itertools.count(1)


def _engine(url: str):
    engine = make_engine(url, pool_size=8)  # ≤ 16 connections: the server is shared
    migrate(engine, [KERNEL, Component("vouchers", Base.metadata, MIGRATIONS)])
    return engine


@pytest.fixture
def pg(pg_url):
    engine = _engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request):
    engine = _engine("sqlite://" if request.param == "sqlite"
                     else request.getfixturevalue("new_pg_url")())
    yield engine
    engine.dispose()


def add_batch(engine, count=3, value=1500, currency="EUR", status="active", restriction=None,
              valid_from=NOW - dt.timedelta(days=1), valid_until=NOW + dt.timedelta(days=365),
              voucher_status="active", expires_at=None) -> list[str]:
    """A batch written directly (its codes derived as the service derives them)."""
    number = next(_numbers)
    with Session(engine) as session:
        batch = VoucherBatch(
            id=new_id("vb"), number=number, type="print", offer_code=None, value=value,
            currency=currency, count=count, generated=count, chunks_total=1, chunks_done=1,
            valid_from=valid_from, valid_until=valid_until, restriction=restriction,
            status=status, description="", created_by="cus_ops", created_at=NOW)
        session.add(batch)
        found = []
        for n in range(1, count + 1):
            serial = batches.serial_of(number, n)
            code = KEYS.code_for(batch.id, serial)
            session.add(Voucher(batch_id=batch.id, serial=serial,
                                code_hash=KEYS.lookup_hash(code), variant=0,
                                status=voucher_status, expires_at=expires_at))
            found.append(code)
        session.commit()
    return found


def redeem(engine, code, customer="cus_ann", account=PREPAID, client="10.0.0.1", now=NOW):
    """One RPC's worth: a fresh session (as a worker gets), committed as the service's `redeem`
    ends it (a refusal too: the wrong guess it counted is kept), closed afterwards."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            answer = redemption.redeem(session, KEYS, customer, code, account, client, now)
        except errors.ServiceError:
            session.commit()
            raise
        session.commit()
        return answer


def outcome(engine, code, **kwargs):
    try:
        return redeem(engine, code, **kwargs)
    except errors.ServiceError as exc:
        return exc


def wrong_code(n: int) -> str:
    body = f"{n:013d}".replace("0", "Z")
    return body + codes.check_symbol(body)


def counter(engine, key):
    with Session(engine) as session:
        return session.get(ThrottleCounter, key)


def test_redemption_rules(engine):
    [code, second, third] = add_batch(engine)
    done = redeem(engine, codes.display(code).lower())
    assert done["value"] == {"amount": 1500, "currency": "EUR"}
    assert done["customer_id"] == "cus_ann" and done["id"].startswith("red_")
    with Session(engine) as session:
        stored = session.scalar(select(Redemption))
        assert (stored.id, stored.serial, stored.value) == (done["id"], done["serial"], 1500)
        assert session.scalar(select(Voucher.status).where(
            Voucher.serial == done["serial"])) == "redeemed"
        [event] = session.scalars(select(OutboxMessage).where(
            OutboxMessage.event_type == "voucher_redeemed")).all()
        assert event.payload["redemption"] == done
        assert event.payload["event_id"] == event.event_id
        assert event.payload["occurred_at"] == "2026-11-21T09:00:00Z"

    refusals = [
        ("VOUCHER_ALREADY_REDEEMED", code, PREPAID),
        ("VOUCHER_CURRENCY_MISMATCH", second, {"currency": "USD", "billing_type": "prepaid"}),
        ("VOUCHER_VOIDED", add_batch(engine, 1, voucher_status="voided")[0], PREPAID),
        ("VOUCHER_VOIDED", add_batch(engine, 1, status="voided")[0], PREPAID),
        ("VOUCHER_NOT_YET_VALID", add_batch(engine, 1, status="created")[0], PREPAID),
        ("VOUCHER_NOT_YET_VALID",
         add_batch(engine, 1, valid_from=NOW + dt.timedelta(hours=1))[0], PREPAID),
        ("VOUCHER_EXPIRED", add_batch(engine, 1, valid_until=NOW)[0], PREPAID),
        ("VOUCHER_EXPIRED",
         add_batch(engine, 1, expires_at=NOW - dt.timedelta(seconds=1))[0], PREPAID),
        ("VOUCHER_NOT_ALLOWED", add_batch(engine, 1, restriction="prepaid")[0], POSTPAID),
    ]
    for expected, refused, account in refusals:
        answer = outcome(engine, refused, customer="cus_bob", account=account)
        assert isinstance(answer, errors.Conflict) and answer.code == expected, (expected, answer)
    assert counter(engine, "redeem:account:cus_bob") is None  # real codes are not guesses

    restricted = add_batch(engine, 1, restriction="prepaid")[0]
    assert redeem(engine, restricted, customer="cus_bob")["value"]["amount"] == 1500
    assert redeem(engine, third, account=POSTPAID)["value"]["amount"] == 1500


def test_typos_and_unknown_codes_count_until_the_block(engine):
    [code] = add_batch(engine, 1)
    typo = code[:5] + ("1" if code[5] != "1" else "2") + code[6:]
    answer = outcome(engine, typo, customer="cus_eve")
    assert isinstance(answer, errors.InvalidArgument) and answer.code == "VOUCHER_CODE_INVALID"
    answers = [outcome(engine, wrong_code(n), customer="cus_eve") for n in range(5)]
    assert [type(a) for a in answers] == [errors.NotFound] * 4 + [errors.RateLimited]
    assert counter(engine, "redeem:account:cus_eve").failures == 5
    blocked = outcome(engine, code, customer="cus_eve")  # even the right code waits
    assert isinstance(blocked, errors.RateLimited) and blocked.code == "TOO_MANY_ATTEMPTS"
    assert 1 <= blocked.retry_after <= 60
    assert isinstance(outcome(engine, typo, customer="cus_eve"), errors.RateLimited)
    assert counter(engine, "redeem:account:cus_eve").failures == 5  # blocked: not counted
    later = NOW + dt.timedelta(seconds=61)
    assert redeem(engine, code, customer="cus_eve", now=later)["value"]["amount"] == 1500
    with Session(engine) as session:
        assert [e.key for e in session.scalars(select(ThrottleEvent))] == [
            "redeem:account:cus_eve"]
    # after the block, the next wrong guess blocks again, twice as long
    again = outcome(engine, wrong_code(99), customer="cus_eve", now=later)
    assert isinstance(again, errors.NotFound)
    assert counter(engine, "redeem:account:cus_eve").blocked_until == \
        later + dt.timedelta(seconds=120)


def test_exactly_one_of_many_concurrent_redemptions_of_a_code_succeeds(pg):
    [code] = add_batch(pg, 1, value=700)
    pool = eventlet.GreenPool(40)
    answers = list(pool.imap(lambda n: outcome(pg, code, customer=f"cus_{n}",
                                               client=f"10.1.0.{n}"), range(40)))
    won = [a for a in answers if isinstance(a, dict)]
    assert len(won) == 1, answers
    assert {a.code for a in answers if not isinstance(a, dict)} == {"VOUCHER_ALREADY_REDEEMED"}
    with Session(pg) as session:
        assert session.scalar(select(func.count()).select_from(Redemption)) == 1
        assert session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.event_type == "voucher_redeemed")) == 1


def test_concurrent_wrong_guesses_on_one_account_are_answered_exactly(pg):
    """40 guesses at once for one account: exactly the limit's 5 are answered "not found" and
    counted (the 5th starts the block); the other 35 are refused as blocked, not counted."""
    [code] = add_batch(pg, 1)
    pool = eventlet.GreenPool(40)
    answers = list(pool.imap(lambda n: outcome(pg, wrong_code(n), customer="cus_mallory",
                                               client=None), range(40)))
    kinds = [type(a) for a in answers]
    assert kinds.count(errors.NotFound) == redemption.ACCOUNT_LIMIT.max_failures == 5
    assert kinds.count(errors.RateLimited) == 35, answers
    key = "redeem:account:cus_mallory"
    assert counter(pg, key).failures == 5 and counter(pg, key).blocked_until > NOW
    with Session(pg) as session:
        assert session.scalar(select(func.count()).select_from(ThrottleEvent).where(
            ThrottleEvent.key == key)) == 1
    assert isinstance(outcome(pg, code, customer="cus_mallory", client=None),
                      errors.RateLimited)


def test_concurrent_wrong_guesses_from_one_address_are_counted_across_accounts(pg):
    [code, other] = add_batch(pg, 2)
    pool = eventlet.GreenPool(30)
    answers = list(pool.imap(lambda n: outcome(pg, wrong_code(n), customer=f"cus_g{n}",
                                               client="10.66.0.1"), range(30)))
    kinds = [type(a) for a in answers]
    assert kinds.count(errors.NotFound) == redemption.ADDRESS_LIMIT.max_failures == 20
    assert kinds.count(errors.RateLimited) == 10, answers
    assert counter(pg, "redeem:ip:10.66.0.1").failures == 20
    # the address is blocked for everyone behind it, even with a right code; others are not
    assert isinstance(outcome(pg, code, customer="cus_new", client="10.66.0.1"),
                      errors.RateLimited)
    assert redeem(pg, other, customer="cus_new", client="10.66.0.2")["value"]["amount"] == 1500


def test_a_right_code_does_not_wait_for_a_locked_address_counter(pg):
    """Another request holding the shared address's counter row (a failure being counted, or
    the old design's lock for a whole redemption) does not hold up a right code."""
    [code] = add_batch(pg, 1)
    assert isinstance(outcome(pg, wrong_code(1), customer="cus_x", client="10.7.0.1"),
                      errors.NotFound)  # the address has a counter row now
    with pg.connect() as other:
        other.execute(text("SELECT * FROM throttle_counters WHERE key = 'redeem:ip:10.7.0.1' "
                           "FOR UPDATE"))
        with eventlet.Timeout(5):
            done = redeem(pg, code, customer="cus_y", client="10.7.0.1")
        other.rollback()
    assert done["value"]["amount"] == 1500
