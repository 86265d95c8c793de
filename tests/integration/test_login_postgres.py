"""Logins on PostgreSQL: argon2id at the configured cost, but no lock (nor any transaction) is
held while a hash is computed, so concurrent logins do not queue behind each other's hashes;
and the throttle counts concurrent wrong passwords exactly."""

import datetime as dt

import eventlet
import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from services.accounts import customers, passwords
from services.accounts.models import Base, Customer, ThrottleCounter
from services.accounts.service import AccountsService
from services.common import errors
from services.common.clock import TestClock
from services.common.db import KERNEL, Component, make_engine, migrate

NOW = dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC)
PASSWORD = "a long enough passphrase"
HASH_SECONDS = 0.3
_real_sleep = eventlet.patcher.original("time").sleep
_RealLock = eventlet.patcher.original("threading").Lock


class SlowHasher:
    """The configured hasher, with each verify taking HASH_SECONDS longer (in the real thread
    `green.run_blocking` runs it in), a count of the verifies running right now and the most
    that ran at once."""

    def __init__(self, real) -> None:
        self.real, self.running, self.finished, self.lock = real, 0, 0, _RealLock()
        self.most = 0

    def verify(self, password_hash, password):
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            _real_sleep(HASH_SECONDS)  # the hash's cost: what must not hold a lock or connection
            return self.real.verify(password_hash, password)
        finally:
            with self.lock:
                self.running -= 1
                self.finished += 1

    def hash(self, password):
        return self.real.hash(password)

    def check_needs_rehash(self, password_hash):
        return self.real.check_needs_rehash(password_hash)


@pytest.fixture
def engine(pg_url):
    engine = make_engine(pg_url, pool_size=6)
    migrate(engine, [KERNEL, Component("accounts", Base.metadata)])
    yield engine
    engine.dispose()


def sign_up(engine, email="ann@example.com"):
    with Session(engine, expire_on_commit=False) as session:
        account = customers.register(session, {
            "email": email, "password": PASSWORD, "name": "Ann", "billing_type": "prepaid",
            "currency": "EUR"}, NOW)
        session.commit()
        return account


def login(engine, password=PASSWORD, email="ann@example.com", client="10.0.0.1"):
    """The login RPC as a worker runs it: its steps and transactions, on its own session."""
    with Session(engine, expire_on_commit=False) as session:
        accounts = worker_factory(AccountsService, db=session, clock=TestClock(NOW), config={})
        try:
            return accounts.login(email, password, client, "pytest")
        except errors.ServiceError as exc:
            return exc


def held_while_hashing(url) -> list[tuple]:
    """What other connections to this database hold: open transactions, and locks on the
    tables a login reads or writes."""
    probe = create_engine(url.replace("postgresql://", "postgresql+psycopg2://", 1))
    with probe.connect() as conn:
        rows = conn.execute(text("""
            SELECT a.pid, a.state, c.relname, l.mode FROM pg_stat_activity a
            LEFT JOIN pg_locks l ON l.pid = a.pid AND l.relation IS NOT NULL
            LEFT JOIN pg_class c ON c.oid = l.relation
            WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
              AND (a.state LIKE 'idle in transaction%'
                   OR c.relname IN ('customers', 'throttle_counters', 'sessions'))
        """)).all()
    probe.dispose()
    return [tuple(r) for r in rows]


def test_no_lock_is_held_while_a_password_is_hashed(engine, pg_url, monkeypatch):
    sign_up(engine)
    # a wrong password first: the account and address now have throttle counter rows, which a
    # login that locked its counters would hold while hashing
    assert isinstance(login(engine, "not the password"), errors.NotAuthenticated)
    slow = SlowHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", slow)
    # one login in flight: whatever any connection holds while its hash runs, it holds
    one = eventlet.spawn(login, engine)
    seen, samples = set(), 0
    while not one.dead:
        finished = slow.finished
        if slow.running:
            held = held_while_hashing(pg_url)
            if slow.running and slow.finished == finished:  # the hash outlasted the probe
                samples += 1
                seen.update(held)
        eventlet.sleep(0.02)  # the probe's pace while that one login runs
    assert isinstance(one.wait(), dict)
    assert samples >= 3
    assert not seen, f"held while a hash was computed: {sorted(seen)[:8]}"
    # five at once are not queued one after the other behind a lock: their verifies overlap
    pool = eventlet.GreenPool(5)
    slow.most = 0
    answers = list(pool.imap(lambda _: login(engine), range(5)))
    assert all(isinstance(a, dict) and a["token"] for a in answers), answers
    assert slow.most >= 2, "the verifies ran one after the other"
    with Session(engine) as session:  # a success cleared the account's failures
        assert session.get(ThrottleCounter, "login:account:ann@example.com") is None


def test_concurrent_wrong_passwords_are_counted_exactly(engine):
    sign_up(engine)
    pool = eventlet.GreenPool(12)
    answers = list(pool.imap(lambda n: login(engine, f"wrong password {n}"), range(12)))
    kinds = [type(a) for a in answers]
    assert kinds.count(errors.NotAuthenticated) == 5  # PAIR_LIMIT: the 5th blocks the address
    assert kinds.count(errors.RateLimited) == 7
    with Session(engine) as session:
        assert session.get(ThrottleCounter, "login:pair:ann@example.com:10.0.0.1").failures == 5
        # all twelve were tried (they passed the check together); the account counts them
        assert session.get(ThrottleCounter, "login:account:ann@example.com").failures == 12
    assert isinstance(login(engine), errors.RateLimited)  # even the right password waits
    assert isinstance(login(engine, client="10.0.0.2"), dict)  # the owner, elsewhere


def test_concurrent_guesses_from_many_addresses_lock_the_account_exactly(engine):
    sign_up(engine)
    pool = eventlet.GreenPool(25)
    answers = list(pool.imap(lambda n: login(engine, f"wrong password {n}",
                                             client=f"10.0.1.{n}"), range(25)))
    kinds = [type(a) for a in answers]
    assert kinds.count(errors.NotAuthenticated) == 20  # ACCOUNT_LIMIT
    assert kinds.count(errors.RateLimited) == 5
    with Session(engine) as session:
        assert session.get(ThrottleCounter, "login:account:ann@example.com").failures == 20
    assert isinstance(login(engine, client="10.0.2.1"), errors.RateLimited)


def test_an_outdated_hash_is_upgraded_unless_the_password_changed_meanwhile(engine):
    from argon2 import PasswordHasher

    account = sign_up(engine)
    old = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    with Session(engine) as session:
        session.get(Customer, account["id"]).password_hash = old
        session.commit()
    assert isinstance(login(engine), dict)
    with Session(engine) as session:
        upgraded = session.scalar(select(Customer.password_hash))
    assert upgraded != old and upgraded.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
