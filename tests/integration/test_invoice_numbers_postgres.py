"""Invoice numbers are gapless and unique under concurrent issuers, and a rolled-back invoice
gives its number back (PostgreSQL)."""

import eventlet
from sqlalchemy.orm import Session

from services.billing.invoicing.arithmetic import allocate_block
from services.billing.models import Base
from services.common.db import KERNEL, Component, make_engine, migrate


def test_concurrent_issuers_get_gapless_unique_numbers_and_rollbacks_return_theirs(pg_url):
    engine = make_engine(pg_url, pool_size=30)
    migrate(engine, [KERNEL, Component("billing", Base.metadata)])
    kept = []

    def issue(n):
        with Session(engine) as session:
            number = allocate_block(session, "INV", 1)
            eventlet.sleep(0.01)  # the invoice's other work, holding the number
            if n % 5 == 0:
                session.rollback()  # this invoice failed: its number must not be lost
                return None
            session.commit()
            kept.append(number)
            return number

    results = list(eventlet.GreenPool(30).imap(issue, range(60)))
    assert results.count(None) == 12
    assert sorted(kept) == list(range(1, 49))  # 48 committed invoices: 1..48, no gaps
    engine.dispose()
