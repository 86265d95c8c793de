"""insights' part of a GDPR export and erasure (services/insights/privacy.py), in process on
SQLite: the export holds viewing, the choice, the budget, its alerts and dismissals; forget
deletes them (the viewing choice is left off, so later records are dropped), a second call
changes nothing. With the services running on PostgreSQL: tests/integration/
test_privacy_services_postgres.py."""

import datetime as dt
import json

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.common import errors
from services.common.db import KERNEL, Component, make_engine, migrate
from services.common.kernel_tables import OutboxMessage
from services.insights import budgets, preferences, privacy, viewing
from services.insights.models import MIGRATIONS, Base, ViewingChoice, ViewingDay

NOW = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def session():
    engine = make_engine("sqlite://")
    migrate(engine, [KERNEL, Component("insights", Base.metadata, MIGRATIONS)])
    with Session(engine, expire_on_commit=False) as s:
        yield s
    engine.dispose()


def _customer_with_data(session, customer_id="cus_1"):
    viewing.add_minutes(session, {(customer_id, "sport-1", dt.date(2026, 12, 1)): 95,
                                  (customer_id, "news-24", dt.date(2026, 12, 2)): 30,
                                  ("cus_other", "news-24", dt.date(2026, 12, 2)): 10})
    budget = budgets.put(session, customer_id, 5000, "EUR", NOW)
    budgets.check(session, budget, {"month": "2026-12", "so_far": 4500, "projected": 4600,
                                    "currency": "EUR"}, NOW)
    preferences.dismiss(session, customer_id, "top_up:-:wallet", NOW)
    session.commit()


def test_export_lists_viewing_budget_alerts_and_dismissals(session):
    _customer_with_data(session)
    data = privacy.export(session, "cus_1")["data"]
    json.dumps(data)
    assert data["viewing_daily"] == [
        {"channel": "sport-1", "day": "2026-12-01", "minutes": 95},
        {"channel": "news-24", "day": "2026-12-02", "minutes": 30}]
    assert data["budget"][0]["amount"] == 5000 and data["viewing_choice"] == []
    assert [a["threshold"] for a in data["budget_alerts"]] == ["80"]
    assert data["dismissed_recommendations"][0]["recommendation_id"] == "top_up:-:wallet"


def test_forget_deletes_everything_once_and_leaves_viewing_off(session):
    _customer_with_data(session)
    session.execute(update(OutboxMessage).values(published_at=NOW))  # the relay's part
    first = privacy.forget(session, "cus_1", "Customer 4f2a", NOW)
    session.commit()
    assert first == {"service": "insights", "forgotten": {
        "viewing_days": 2, "viewing_choice": 1, "budget": 1, "budget_alerts": 1,
        "dismissed": 1, "events": 1}}
    assert privacy.export(session, "cus_1")["data"] == {
        "viewing_daily": [], "viewing_choice": [{"use_viewing": False,
                                                 "changed_at": "2026-12-04T10:00:00Z",
                                                 "source": "erasure"}],
        "budget": [], "budget_alerts": [], "dismissed_recommendations": []}
    assert session.get(ViewingChoice, "cus_1").use_viewing is False
    assert viewing.opted_out(session, ["cus_1"]) == {"cus_1"}
    assert session.scalar(select(func.count()).select_from(ViewingDay)) == 1  # another's
    session.execute(update(OutboxMessage).values(published_at=NOW))

    second = privacy.forget(session, "cus_1", "Customer 4f2a", NOW)
    session.commit()
    assert second == {"service": "insights", "forgotten": dict.fromkeys(privacy.KINDS, 0)}
    assert session.scalars(select(OutboxMessage.event_type)).all() == ["customer_forgotten"]


def test_bad_arguments_are_field_errors(session):
    with pytest.raises(errors.InvalidArgument) as refused:
        privacy.forget(session, "cus_1", "  ", NOW)
    assert "pseudonym" in refused.value.fields
    with pytest.raises(errors.InvalidArgument) as refused:
        privacy.export(session, None)
    assert "customer_id" in refused.value.fields
