import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, inspect, select, text

from services.common.db import KERNEL, Component, Migration, SchemaTooNew, make_engine, migrate


def plans_v1():
    metadata = MetaData()
    Table("plans", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)))
    return metadata


def plans_v2():
    metadata = MetaData()
    Table("plans", metadata, Column("id", Integer, primary_key=True), Column("name", String(50)),
          Column("period", String(10), nullable=False, server_default="month"))
    return metadata


def add_period(ops, conn):
    ops.add_column("plans", Column("period", String(10), nullable=False,
                                   server_default="month"))


def test_fresh_database_is_created_at_the_latest_version(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/fresh.db")
    migrate(engine, [KERNEL, Component("svc", plans_v2(), [Migration(2, "period", add_period)])])
    with engine.connect() as conn:
        version = conn.execute(text(
            "SELECT version FROM schema_versions WHERE component='svc'")).scalar()
    assert version == 2
    assert "period" in {c["name"] for c in inspect(engine).get_columns("plans")}
    assert {"outbox_messages", "processed_events", "idempotency_records"} <= set(
        inspect(engine).get_table_names())


def test_existing_database_is_upgraded_without_losing_rows(tmp_path):
    url = f"sqlite:///{tmp_path}/old.db"
    engine = make_engine(url)
    migrate(engine, [KERNEL, Component("svc", plans_v1())])
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO plans (id, name) VALUES (1, 'basic'), (2, 'sports')"))
    engine.dispose()

    engine = make_engine(url)
    metadata = plans_v2()
    migrate(engine, [KERNEL, Component("svc", metadata, [Migration(2, "period", add_period)])])
    with engine.connect() as conn:
        rows = conn.execute(select(metadata.tables["plans"]).order_by(text("id"))).all()
        version = conn.execute(text(
            "SELECT version FROM schema_versions WHERE component='svc'")).scalar()
    assert [tuple(r) for r in rows] == [(1, "basic", "month"), (2, "sports", "month")]
    assert version == 2
    # running again changes nothing
    migrate(engine, [KERNEL, Component("svc", metadata, [Migration(2, "period", add_period)])])


def test_a_database_newer_than_the_code_refuses_to_start(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/new.db")
    migrate(engine, [KERNEL, Component("svc", plans_v2(), [Migration(2, "period", add_period)])])
    with pytest.raises(SchemaTooNew):
        migrate(engine, [KERNEL, Component("svc", plans_v1())])


def test_a_notifier_database_from_before_contacts_gets_the_table(tmp_path):
    """v2 of notifier added `contacts` (its copy of customers' address and language)."""
    from services.notifier.models import MIGRATIONS as NOTIFIER_MIGRATIONS
    from services.notifier.models import Base as NotifierBase

    before = MetaData()
    for table in NotifierBase.metadata.sorted_tables:
        if table.name != "contacts":
            table.to_metadata(before)
    engine = make_engine(f"sqlite:///{tmp_path}/notifier.db")
    migrate(engine, [KERNEL, Component("notifier", before)])
    assert "contacts" not in inspect(engine).get_table_names()
    migrate(engine, [KERNEL, Component("notifier", NotifierBase.metadata, NOTIFIER_MIGRATIONS)])
    assert "contacts" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(text(
            "SELECT version FROM schema_versions WHERE component='notifier'")).scalar() == 3


def test_an_accounts_database_from_before_staff_governance_gets_its_tables(tmp_path):
    """v2 of accounts added staff allowances, money grants, approvals and the audit log."""
    from services.accounts.models import MIGRATIONS as ACCOUNTS_MIGRATIONS
    from services.accounts.models import Base as AccountsBase

    added = {"staff_allowances", "money_grants", "approvals", "audit_log"}
    before = MetaData()
    for table in AccountsBase.metadata.sorted_tables:
        if table.name not in added:
            table.to_metadata(before)
    engine = make_engine(f"sqlite:///{tmp_path}/accounts.db")
    migrate(engine, [KERNEL, Component("accounts", before)])
    assert not added & set(inspect(engine).get_table_names())
    migrate(engine, [KERNEL, Component("accounts", AccountsBase.metadata, ACCOUNTS_MIGRATIONS)])
    assert added <= set(inspect(engine).get_table_names())
