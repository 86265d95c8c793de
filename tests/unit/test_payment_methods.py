"""Saved cards, in process (SQLite, the sandbox provider): a card is saved once, and the card list
says whether the provider is a test one (the portal shows the sandbox's test cards only then)."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from services.billing.models import MIGRATIONS, Base, BillingProfile, PaymentMethod
from services.billing.money.provider import SandboxProvider
from services.common import errors
from services.common.db import KERNEL, Component, make_engine, migrate
from tests.unit.billing_world import World

START = dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC)
VISA = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2028, "cvc": "913",
        "holder": "Paula P"}


@pytest.fixture
def world():
    w = World(START)
    w.accounts.add("cus_p", billing_type="prepaid")
    w.accounts.add("cus_q", billing_type="prepaid")
    return w


def saved(world, customer="cus_p"):
    return world.billing_session.scalar(select(func.count()).select_from(PaymentMethod).where(
        PaymentMethod.customer_id == customer, PaymentMethod.removed_at.is_(None)))


def test_the_same_card_again_is_refused_with_card_already_saved(world):
    first = world.billing.add_payment_method("cus_p", VISA)
    # written differently, another CVC and holder: the same card all the same
    again = {**VISA, "number": "4242 4242 4242 4242", "cvc": "123", "holder": "P. P."}
    with pytest.raises(errors.Conflict) as exc:
        world.billing.add_payment_method("cus_p", again)
    assert exc.value.code == "CARD_ALREADY_SAVED"
    assert "4242424242424242" not in repr(exc.value.args)
    assert [c["id"] for c in world.billing.list_payment_methods("cus_p")["data"]] == [first["id"]]
    assert saved(world) == 1


def test_another_card_another_expiry_or_another_customer_is_not_a_duplicate(world):
    world.billing.add_payment_method("cus_p", VISA)
    world.billing.add_payment_method("cus_p", {**VISA, "number": "5555555555554444"})
    world.billing.add_payment_method("cus_p", {**VISA, "exp_year": 2029})  # a renewed card
    world.billing.add_payment_method("cus_q", VISA)
    assert saved(world) == 3
    assert saved(world, "cus_q") == 1


def test_a_removed_card_can_be_saved_again(world):
    card = world.billing.add_payment_method("cus_p", VISA)
    world.billing.remove_payment_method("cus_p", card["id"])
    again = world.billing.add_payment_method("cus_p", VISA)
    assert again["id"] != card["id"] and again["is_default"]


def test_the_database_refuses_a_second_row_for_one_card(world):
    """The unique key behind the check: a second active row for one card cannot be written."""
    world.billing.add_payment_method("cus_p", VISA)
    row = world.billing_session.scalar(select(PaymentMethod))
    twin = PaymentMethod(**{c.name: getattr(row, c.name) for c in PaymentMethod.__table__.c})
    twin.id = "pm_twin"
    world.billing_session.add(twin)
    with pytest.raises(Exception, match="UNIQUE constraint failed"):
        world.billing_session.flush()
    world.billing_session.rollback()


def test_the_card_list_says_whether_the_provider_is_a_test_one(world):
    assert world.billing.list_payment_methods("cus_p")["test_mode"] is True

    class LiveProvider(SandboxProvider):  # a real provider is no test one
        name = "live"
        test_mode = False

    world.billing.payments = LiveProvider("sqlite://", b"a key for the fingerprints")
    assert world.billing.list_payment_methods("cus_p")["test_mode"] is False


def test_migration_5_keeps_one_row_of_a_card_saved_twice_before(tmp_path):
    """Cards saved twice before version 5: the one autopay uses, else the default one, else the
    newest stays; the default mark moves to it; then the unique key is made."""
    engine = make_engine(f"sqlite:///{tmp_path}/billing.db")
    billing = Component("billing", Base.metadata, MIGRATIONS)
    migrate(engine, [KERNEL, billing])
    table = PaymentMethod.__table__
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP INDEX ux_payment_methods_card")
        conn.exec_driver_sql("UPDATE schema_versions SET version = 4 WHERE component = 'billing'")

        def card(pm_id, customer, fingerprint, minutes, default=False):
            conn.execute(table.insert().values(
                id=pm_id, customer_id=customer, provider="sandbox", token=f"tok_{pm_id}",
                brand="visa", last4="4242", exp_month=12, exp_year=2028, holder="H",
                fingerprint=fingerprint, is_default=default, expiry_notice_sent=False,
                created_at=START + dt.timedelta(minutes=minutes)))

        card("pm_a1", "cus_a", "fp_a", 0, default=True)  # the default stays
        card("pm_a2", "cus_a", "fp_a", 5)
        card("pm_b1", "cus_b", "fp_b", 0, default=True)
        card("pm_b2", "cus_b", "fp_b", 5)  # autopay's card stays and becomes the default
        card("pm_c1", "cus_c", "fp_c", 0)
        card("pm_c2", "cus_c", "fp_c", 5)  # the newest stays
        card("pm_c3", "cus_c", "fp_other", 1)  # another card
        conn.execute(BillingProfile.__table__.insert().values(
            customer_id="cus_b", autopay_enabled=True, autopay_method_id="pm_b2",
            updated_at=START))
    migrate(engine, [KERNEL, billing])
    with engine.connect() as conn:
        active = dict(conn.execute(select(table.c.id, table.c.is_default)
                                   .where(table.c.removed_at.is_(None))).all())
        version = conn.exec_driver_sql(
            "SELECT version FROM schema_versions WHERE component = 'billing'").scalar()
    assert active == {"pm_a1": True, "pm_b2": True, "pm_c2": False, "pm_c3": False}
    assert version == MIGRATIONS[-1].version
    with engine.begin() as conn, pytest.raises(Exception, match="UNIQUE constraint failed"):
        conn.execute(table.update().where(table.c.id == "pm_a2").values(removed_at=None))
