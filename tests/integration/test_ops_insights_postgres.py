"""The operators' figures (billing's and tickets' ops_insights) on PostgreSQL, from rows laid
out so every figure is known by hand: subscribers by package at each month's end (a package
change, cancellations), churn, cancellation reasons, ARPA (a credit, a credit note, two
currencies), the wallet float, what is overdue; tickets opened and resolved by category and
month, and the nearest-rank median and 90th percentile of the time to resolve. The same rows
give the same figures on SQLite (the local default), and through the services' RPC."""

import datetime as dt

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.utils import get_extension
from sqlalchemy import insert
from sqlalchemy.orm import Session

from services.billing.insights import analytics
from services.billing.models import MIGRATIONS as BILLING_MIGRATIONS
from services.billing.models import Base as BillingBase
from services.billing.models import (
    Charge,
    CreditNote,
    Invoice,
    Subscription,
    SubscriptionItem,
    Wallet,
)
from services.billing.service import BillingService
from services.common import errors
from services.common.clock import ClockProvider, TestClock
from services.common.db import KERNEL, Component, make_engine, migrate
from services.tickets import analytics as ticket_analytics
from services.tickets.models import MIGRATIONS as TICKETS_MIGRATIONS
from services.tickets.models import Base as TicketsBase
from services.tickets.models import Ticket
from services.tickets.service import TicketsService

NOW = dt.datetime(2026, 12, 15, 12, 0, tzinfo=dt.UTC)


def at(month, day, hour=0, minute=0, second=0, year=2026):
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


def session_on(url, name, metadata):
    """A session on a database made (and stamped) as the service makes its own."""
    engine = make_engine(url)
    migrations = {"billing": BILLING_MIGRATIONS, "tickets": TICKETS_MIGRATIONS}[name]
    migrate(engine, [KERNEL, Component(name, metadata, migrations)])
    return Session(engine)


@pytest.fixture(params=["postgresql", "sqlite"])
def database(request, tmp_path):
    if request.param == "sqlite":
        return lambda: f"sqlite:///{tmp_path}/{len(list(tmp_path.iterdir()))}.db"
    return request.getfixturevalue("new_pg_url")


# billing -------------------------------------------------------------------------------------

def subscription(sid, activated, cancelled=None, reason=None, currency="EUR"):
    return {"id": sid, "customer_id": f"cus_{sid}", "status": "cancelled" if cancelled
            else "active", "currency": currency, "billing_type": "postpaid",
            "billing_period": "month", "tax_region": "DE", "tax_rate_bp": 1900,
            "tax_name": "VAT", "activation_date": activated, "anchor_day": activated.day,
            "current_period_start": activated, "current_period_end": activated,
            "cancelled_at": cancelled, "cancel_reason": reason, "created_at": activated,
            "updated_at": activated, "version": 1}


def package(sid, code, added, removed=None):
    return {"id": f"si_{sid}_{code}", "subscription_id": sid, "kind": "package", "code": code,
            "name": code.title(), "list_price": 1000, "discount": 0, "charged": 1000,
            "charged_since": added, "added_at": added, "removed_at": removed}


def charge(n, customer, amount, when, currency="EUR", kind="fee"):
    return {"id": f"chg_{n}", "customer_id": customer, "subscription_id": None, "kind": kind,
            "description": "x", "amount": amount, "tax_rate_bp": 1900, "tax": 0,
            "currency": currency, "operation_key": f"op:{n}", "created_at": when,
            "settled": True}


def invoice(n, status, due, total, paid=0, credited=0, currency="EUR", number=True):
    return {"id": f"inv_{n}", "customer_id": f"cus_{n}", "period_key": due,
            "number": f"INV-{n}" if number else None, "status": status, "currency": currency,
            "issue_date": due, "due_date": due, "subtotal": total, "discount": 0, "tax": 0,
            "total": total, "amount_paid": paid, "amount_credited": credited,
            "created_at": NOW}


def load_billing(session):
    session.execute(insert(Subscription), [
        subscription("s1", at(8, 10)),
        subscription("s2", at(10, 5), at(11, 20), "Too expensive"),
        subscription("s3", at(9, 1)),
        subscription("s4", at(7, 1), at(12, 2), "Moving abroad"),
        subscription("s5", at(5, 1), at(9, 15), "Too expensive"),  # before the window
        subscription("s6", at(12, 1, 9), at(12, 10), "Too expensive"),
        subscription("s7", at(10, 1), currency="USD")])  # an account with no package item
    session.execute(insert(SubscriptionItem), [
        package("s1", "basic", at(8, 10)),
        package("s2", "basic", at(10, 5), at(11, 20)),
        package("s3", "family", at(9, 1), at(11, 10)),  # changed to premium on 10 Nov
        package("s3", "premium", at(11, 10)),
        package("s4", "premium", at(7, 1), at(12, 2)),
        package("s5", "kids", at(5, 1), at(9, 15)),
        package("s6", "basic", at(12, 1, 9), at(12, 10))])
    session.execute(insert(Charge), [
        charge(1, "cus_1", 1000, at(10, 3)), charge(2, "cus_2", 500, at(10, 31, 23, 59)),
        charge(3, "cus_1", -100, at(10, 20), kind="credit"),
        charge(4, "cus_1", 1001, at(11, 1)), charge(5, "cus_3", 2000, at(11, 2), "USD"),
        charge(6, "cus_1", 9999, at(9, 30, 23, 59, 59))])  # before the window
    session.execute(insert(CreditNote), [
        {"id": "cn_1", "number": "CN-1", "invoice_id": "inv_x", "customer_id": "cus_1",
         "amount": 119, "tax": 19, "currency": "EUR", "reason": "x", "applied_to": "invoice",
         "created_by": "ops", "operation_key": "cn:1", "created_at": at(11, 5)},
        {"id": "cn_2", "number": "CN-2", "invoice_id": "inv_y", "customer_id": "cus_1",
         "amount": 5000, "tax": 0, "currency": "EUR", "reason": "billed as a charge",
         "applied_to": "next_invoice", "created_by": "ops", "operation_key": "cn:2",
         "created_at": at(11, 6)}])
    session.execute(insert(Wallet), [
        {"customer_id": f"cus_w{n}", "currency": cur, "balance": balance, "entries": 1,
         "low_balance_threshold": 500, "low_balance_alerted": False, "created_at": NOW}
        for n, (cur, balance) in enumerate([("EUR", 1500), ("EUR", 0), ("EUR", 250),
                                            ("USD", 700)])])
    session.execute(insert(Invoice), [
        invoice(1, "overdue", "2026-12-01", 5000, credited=1000),
        invoice(2, "open", "2026-12-10", 2000, paid=500),  # past due, not marked yet
        invoice(3, "open", "2026-12-20", 9000),  # not due yet
        invoice(4, "paid", "2026-11-01", 7000, paid=7000),
        invoice(5, "overdue", "2026-11-30", 300, currency="USD"),
        invoice(6, "open", "2026-11-30", 400, number=False),  # never issued
        invoice(7, "overdue", "2026-11-30", 800, paid=300, credited=500)])  # nothing left
    session.commit()


BILLING_FIGURES = {
    "subscribers_by_package": [
        {"month": "2026-10", "package": "basic", "active": 2},
        {"month": "2026-10", "package": "family", "active": 1},
        {"month": "2026-10", "package": "premium", "active": 1},
        {"month": "2026-11", "package": "basic", "active": 1},
        {"month": "2026-11", "package": "family", "active": 0},
        {"month": "2026-11", "package": "premium", "active": 2},
        {"month": "2026-12", "package": "basic", "active": 1},
        {"month": "2026-12", "package": "family", "active": 0},
        {"month": "2026-12", "package": "premium", "active": 1}],
    "churn": [
        {"month": "2026-10", "active_at_start": 3, "cancelled": 0, "rate": "0.0000"},
        {"month": "2026-11", "active_at_start": 5, "cancelled": 1, "rate": "0.2000"},
        {"month": "2026-12", "active_at_start": 4, "cancelled": 2, "rate": "0.5000"}],
    "cancellation_reasons": [{"reason": "Too expensive", "count": 2},
                             {"reason": "Moving abroad", "count": 1}],
    # revenue: EUR October 1000 + 500 - 100, November 1001 - the credit note's 100 net;
    # accounts served: s1-s4 in October and November, s1, s3, s4, s6 in December; s7 (USD)
    "arpa": [{"month": "2026-10", "currency": "EUR", "amount": 350, "accounts": 4},
             {"month": "2026-10", "currency": "USD", "amount": 0, "accounts": 1},
             {"month": "2026-11", "currency": "EUR", "amount": 225, "accounts": 4},
             {"month": "2026-11", "currency": "USD", "amount": 2000, "accounts": 1},
             {"month": "2026-12", "currency": "EUR", "amount": 0, "accounts": 4},
             {"month": "2026-12", "currency": "USD", "amount": 0, "accounts": 1}],
    "wallet_float": [{"currency": "EUR", "amount": 1750, "wallets": 2},
                     {"currency": "USD", "amount": 700, "wallets": 1}],
    "overdue": [{"currency": "EUR", "amount": 5500, "invoices": 2},
                {"currency": "USD", "amount": 300, "invoices": 1}],
}


def test_billing_figures_are_counted_by_month_package_and_currency(database):
    session = session_on(database(), "billing", BillingBase.metadata)
    load_billing(session)
    assert analytics.ops_insights(session, 3, NOW) == BILLING_FIGURES


# tickets -------------------------------------------------------------------------------------

def ticket(n, category, created, resolved=None):
    return {"id": f"tk_{n}", "number": n, "customer_id": "cus_1", "category": category,
            "subject": "s", "description": "d", "context": {}, "urgency": "low",
            "impact": "low", "priority": "P4", "status": "resolved" if resolved else "new",
            "rules": [], "escalation_round": 0, "escalation_step": 0, "created_at": created,
            "updated_at": created, "resolved_at": resolved}


def load_tickets(session):
    session.execute(insert(Ticket), [
        ticket(1, "billing", at(11, 2, 10), at(11, 2, 10, 30)),  # 30 min
        ticket(2, "billing", at(11, 5), at(11, 6)),  # 1,440
        ticket(3, "billing", at(11, 28), at(12, 1)),  # 4,320, resolved in December
        ticket(4, "billing", at(12, 3)),  # open
        ticket(5, "technical", at(10, 31, 23), at(11, 1, 1)),  # opened before, 120 min
        ticket(6, "technical", at(12, 10, 10), at(12, 10, 10, 7, 30)),  # 7.5 min: 8 (even)
        ticket(7, "technical", at(9, 1), at(9, 2))])  # before the window
    session.commit()


TICKET_FIGURES = {
    "tickets_by_category": [
        {"month": "2026-11", "category": "billing", "opened": 3, "resolved": 2},
        {"month": "2026-11", "category": "technical", "opened": 0, "resolved": 1},
        {"month": "2026-12", "category": "billing", "opened": 1, "resolved": 1},
        {"month": "2026-12", "category": "technical", "opened": 1, "resolved": 1}],
    # nearest rank: billing [30, 1440, 4320] → ranks 2 and 3; technical [7.5, 120] → 1 and 2
    "time_to_resolve": [
        {"category": "billing", "resolved": 3, "median_minutes": 1440, "p90_minutes": 4320},
        {"category": "technical", "resolved": 2, "median_minutes": 8, "p90_minutes": 120}],
}


def test_tickets_are_counted_by_category_and_month_with_nearest_rank_times(database):
    session = session_on(database(), "tickets", TicketsBase.metadata)
    load_tickets(session)
    assert ticket_analytics.ops_insights(session, 2, NOW) == TICKET_FIGURES


# through the services' RPC on PostgreSQL -----------------------------------------------------

def test_both_services_answer_ops_insights_over_rpc(new_pg_url, rabbit_config,
                                                    container_factory):
    urls = {"billing": new_pg_url(), "tickets": new_pg_url()}
    load_billing(session_on(urls["billing"], "billing", BillingBase.metadata))
    load_tickets(session_on(urls["tickets"], "tickets", TicketsBase.metadata))
    config = {**rabbit_config, "DATABASE_URLS": urls, "BILLING_TIMER_SECONDS": 3600,
              "TICKETS_TIMER_SECONDS": 3600}
    for cls in (BillingService, TicketsService):
        container = container_factory(cls, config)
        container.start()
        get_extension(container, ClockProvider).clock = TestClock(NOW)
    with ServiceRpcProxy("billing", config) as billing:
        assert billing.ops_insights(3) == BILLING_FIGURES
        assert billing.ops_insights("3") == BILLING_FIGURES
        with pytest.raises(errors.InvalidArgument) as refused:
            billing.ops_insights(0)
        assert refused.value.fields == {"months": ["must be 1 to 60"]}
    with ServiceRpcProxy("tickets", config) as tickets:
        assert tickets.ops_insights(2) == TICKET_FIGURES
        with pytest.raises(errors.InvalidArgument) as refused:
            tickets.ops_insights(61)
        assert refused.value.code == "VALIDATION_FAILED"
