"""billing's schema migrations on PostgreSQL: a database at version 1 (before payment terms,
autopay, dunning, credit notes and payment references) is upgraded in place, keeping its
rows; one at version 5 gets the line texts' columns (v6)."""

import sqlalchemy as sa

from services.billing.models import MIGRATIONS, Base
from services.common.db import KERNEL, Component, make_engine, migrate


def test_a_version_1_billing_database_is_upgraded_to_the_latest_keeping_invoices(new_pg_url):
    engine = make_engine(new_pg_url())
    billing = Component("billing", Base.metadata, MIGRATIONS)
    migrate(engine, [KERNEL, billing])
    with engine.begin() as conn:  # turn it back into what version 1 created
        conn.execute(sa.text("DROP TABLE billing_profiles, collection_attempts, credit_notes"))
        conn.execute(sa.text("DROP INDEX ux_payments_pending_invoice"))
        conn.execute(sa.text("DROP INDEX ux_payment_methods_card"))
        conn.execute(sa.text("ALTER TABLE payments DROP COLUMN reference"))
        conn.execute(sa.text("ALTER TABLE subscriptions DROP COLUMN renewal_notice_for"))
        for table in ("charges", "invoice_lines", "wallet_transactions"):
            conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN text"))
        conn.execute(sa.text("ALTER TABLE invoices DROP COLUMN amount_credited, "
                             "DROP COLUMN dunning, DROP COLUMN due_reminder_sent_at"))
        conn.execute(sa.text("UPDATE schema_versions SET version = 1 "
                             "WHERE component = 'billing'"))
        conn.execute(sa.text(
            "INSERT INTO invoices (id, customer_id, period_key, number, status, currency, "
            "issue_date, due_date, subtotal, discount, tax, total, amount_paid, created_at) "
            "VALUES ('inv_1', 'cus_1', '2026-11-01', 'INV-2026-000001', 'open', 'EUR', "
            "'2026-11-01', '2026-11-15', 1000, 0, 190, 1190, 0, now())"))

    migrate(engine, [KERNEL, billing])

    inspector = sa.inspect(engine)
    assert {"billing_profiles", "collection_attempts", "credit_notes"} <= set(
        inspector.get_table_names())
    assert {"amount_credited", "dunning", "due_reminder_sent_at"} <= {
        c["name"] for c in inspector.get_columns("invoices")}
    assert "ux_payments_pending_invoice" in {i["name"] for i in inspector.get_indexes("payments")}
    assert "reference" in {c["name"] for c in inspector.get_columns("payments")}
    assert "renewal_notice_for" in {c["name"] for c in inspector.get_columns("subscriptions")}
    assert "ux_payment_methods_card" in {
        i["name"] for i in inspector.get_indexes("payment_methods")}
    with engine.connect() as conn:
        assert conn.execute(sa.text(
            "SELECT number, amount_credited, total FROM invoices")).one() == (
            "INV-2026-000001", 0, 1190)
        assert conn.execute(sa.text("SELECT version FROM schema_versions "
                                    "WHERE component = 'billing'")).scalar() == MIGRATIONS[
            -1].version
    for table in ("charges", "invoice_lines", "wallet_transactions"):
        assert "text" in {c["name"] for c in inspector.get_columns(table)}, table


def test_a_version_5_billing_database_gets_line_texts_and_keeps_its_entries(new_pg_url):
    engine = make_engine(new_pg_url())
    billing = Component("billing", Base.metadata, MIGRATIONS)
    migrate(engine, [KERNEL, billing])
    with engine.begin() as conn:  # what version 5 created
        for table in ("charges", "invoice_lines", "wallet_transactions"):
            conn.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN text"))
        conn.execute(sa.text("UPDATE schema_versions SET version = 5 "
                             "WHERE component = 'billing'"))
        conn.execute(sa.text(
            "INSERT INTO wallet_transactions (id, customer_id, seq, direction, type, amount, "
            "currency, balance_after, description, source, created_at) VALUES ('txn_old', "
            "'cus_old', 1, 'credit', 'top_up', 500, 'EUR', 500, 'Top-up by card Visa …4242', "
            "'payment:old', now())"))

    migrate(engine, [KERNEL, billing])

    inspector = sa.inspect(engine)
    for table in ("charges", "invoice_lines", "wallet_transactions"):
        assert "text" in {c["name"] for c in inspector.get_columns(table)}, table
    with engine.connect() as conn:
        assert conn.execute(sa.text(
            "SELECT description, text IS NULL FROM wallet_transactions")).one() == (
            "Top-up by card Visa …4242", True)
        assert conn.execute(sa.text("SELECT version FROM schema_versions "
                                    "WHERE component = 'billing'")).scalar() == MIGRATIONS[
            -1].version
