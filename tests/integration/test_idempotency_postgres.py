"""The idempotency-key store on real PostgreSQL with many concurrent callers."""

import eventlet
import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.orm import Session

from services.common import errors
from services.common.db import KERNEL, Component, make_engine, migrate
from services.common.idempotency import run_idempotent

metadata = MetaData()
effects = Table("effects", metadata, Column("id", Integer, primary_key=True),
                Column("what", String(50)))


@pytest.fixture
def engine(pg_url):
    engine = make_engine(pg_url, pool_size=60)
    migrate(engine, [KERNEL, Component("test", metadata)])
    yield engine
    engine.dispose()


def top_up(engine, key, amount):
    with Session(engine) as session:
        def action():
            eventlet.sleep(0.05)  # a slow provider call: the others pile up meanwhile
            row_id = session.execute(insert(effects).values(what=f"top-up {amount}")
                                     .returning(effects.c.id)).scalar()
            return {"effect_id": row_id, "amount": amount}
        return run_idempotent(session, scope="wallet:cus_1", key=key,
                              request={"amount": amount}, action=action)


def test_fifty_concurrent_calls_with_one_key_have_one_effect_and_one_answer(engine):
    pool = eventlet.GreenPool(50)
    results = list(pool.imap(lambda _: top_up(engine, "key-1", 1500), range(50)))
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(effects)) == 1
    assert len({r["effect_id"] for r in results}) == 1
    assert all(r == results[0] for r in results)


def test_same_key_with_another_request_is_refused(engine):
    top_up(engine, "key-2", 1500)
    with pytest.raises(errors.Conflict) as exc:
        top_up(engine, "key-2", 9999)
    assert exc.value.code == "IDEMPOTENCY_KEY_REUSED"


def test_a_typed_failure_is_stored_and_replayed_without_running_again(engine):
    calls = []

    def declined():
        calls.append(1)
        with Session(engine) as session:
            def action():
                session.execute(insert(effects).values(what="half-done"))
                raise errors.PaymentDeclined(details={"decline_code": "insufficient_funds"})
            return run_idempotent(session, scope="s", key="k", request={}, action=action)

    for _ in range(2):
        with pytest.raises(errors.PaymentDeclined) as exc:
            declined()
        assert exc.value.details["decline_code"] == "insufficient_funds"
    with Session(engine) as session:  # the failed action left nothing behind
        assert session.scalar(select(func.count()).select_from(effects)) == 0


def test_different_keys_each_take_effect(engine):
    pool = eventlet.GreenPool(20)
    results = list(pool.imap(lambda i: top_up(engine, f"k{i}", 100 + i), range(20)))
    assert len({r["effect_id"] for r in results}) == 20
