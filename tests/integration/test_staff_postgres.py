"""Staff money bounds on PostgreSQL under concurrent callers: an agent's day never passes its
bound however many requests race, a key counts once, and the audit trail refuses changes."""

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from services.accounts import audit
from services.accounts.models import MIGRATIONS, Base, StaffAllowance
from services.accounts.service import AccountsService
from services.common import permissions
from services.common.clock import TestClock
from services.common.db import KERNEL, Component, make_engine, migrate

NOW = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)
AGENT = {"id": "cus_agent", "role": "agent", "session_id": "ses_a"}
LIMITS = permissions.limits_from_config({"agent": {"per_action": 5000, "per_day": 12000}})


@pytest.fixture
def engine(pg_url):
    engine = make_engine(pg_url, pool_size=12)
    migrate(engine, [KERNEL, Component("accounts", Base.metadata, MIGRATIONS)])
    yield engine
    engine.dispose()


def authorize(engine, amount, key):
    """The RPC, as a worker runs it (its transaction, and the retry when a key races)."""
    with Session(engine, expire_on_commit=False) as session:
        accounts = worker_factory(AccountsService, db=session, clock=TestClock(NOW),
                                  staff_limits=LIMITS)
        return accounts.authorize_money(AGENT, "wallet.adjust", amount, "EUR",
                                        {"amount": amount}, "cus_1", key)


def test_thirty_concurrent_credits_never_pass_the_agent_s_day(engine):
    with ThreadPoolExecutor(30) as pool:
        answers = list(pool.map(lambda n: authorize(engine, 1000, f"k{n}"), range(30)))
    allowed = [a for a in answers if a["decision"] == "allowed"]
    held = [a for a in answers if a["decision"] == "approval_required"]
    assert (len(allowed), len(held)) == (12, 18)  # 12 × 10.00 = the 120.00 bound
    assert {a["approval"]["reason"] for a in held} == {"per_day"}
    with Session(engine) as session:
        assert session.scalar(select(StaffAllowance.used)) == 12000


def test_one_key_sent_twenty_times_at_once_is_one_decision_counted_once(engine):
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: authorize(engine, 4000, "same"), range(20)))
    assert all(a == {"decision": "allowed"} for a in answers)
    with ThreadPoolExecutor(20) as pool:
        held = list(pool.map(lambda _: authorize(engine, 9000, "big"), range(20)))
    assert len({a["approval"]["id"] for a in held}) == 1
    with Session(engine) as session:
        assert session.scalar(select(StaffAllowance.used)) == 4000
        assert session.execute(text("SELECT count(*) FROM approvals")).scalar() == 1


def test_the_audit_trail_refuses_updates_and_deletes(engine):
    with Session(engine) as session:
        audit.record(session, {"action": "wallet.adjust", "outcome": "ok",
                               "details": {"amount": 100}}, NOW)
        session.commit()
    for statement in ("UPDATE audit_log SET outcome = 'refused'", "DELETE FROM audit_log"):
        with Session(engine) as session, pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
    with Session(engine) as session:
        assert session.execute(text("SELECT outcome FROM audit_log")).scalar() == "ok"
