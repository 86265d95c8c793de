"""insights' own tables. Nothing else reads them: other services ask by RPC.

Viewing is stored only as daily aggregates per (customer, channel, day): the primary key is the
unique key every upsert adds to. A reported batch is a row of `viewing_batches` (its id the
primary key) written in the same transaction as its minutes, so a batch counts once whatever
repeats or races it. A budget alert is a row of `budget_alerts`, unique per (customer, month,
threshold), written with its outbox event: one alert each, ever.
A change to a table that exists in a deployed database needs a `Migration` in `MIGRATIONS`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, Date, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.sqltypes import UtcDateTime


class Base(DeclarativeBase):
    pass


class ViewingDay(Base):
    """Minutes a customer watched a channel on a day (UTC), summed over every batch."""

    __tablename__ = "viewing_daily"
    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(100), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    minutes: Mapped[int] = mapped_column(Integer)

    # the retention timer deletes by day
    __table_args__ = (Index("ix_viewing_daily_day", "day"),)


class ViewingBatch(Base):
    """A batch the TV platform reported, with the answer it got: a repeat answers it again."""

    __tablename__ = "viewing_batches"
    batch_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    outcome: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)


class ViewingChoice(Base):
    """The customer's choice about the use of their viewing data (no row: in use)."""

    __tablename__ = "viewing_choices"
    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    use_viewing: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Budget(Base):
    """A customer's monthly budget, in minor units of the account's currency."""

    __tablename__ = "budgets"
    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class BudgetAlert(Base):
    """A threshold ("80", "100", "projected") reached in a month: the key that makes its alert
    once. `announced` is false for a threshold recorded silently because a more severe one was
    announced in the same check (80 % when a charge went straight past 100 %)."""

    __tablename__ = "budget_alerts"
    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    threshold: Mapped[str] = mapped_column(String(10), primary_key=True)
    budget: Mapped[int] = mapped_column(BigInteger)
    so_far: Mapped[int] = mapped_column(BigInteger)
    projected: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    announced: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class DismissedRecommendation(Base):
    """"Not interested": this recommendation (a stable id) is not shown to the customer again."""

    __tablename__ = "dismissed_recommendations"
    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    recommendation_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    dismissed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class RecommendationSetting(Base):
    """The operator's switch for a kind of recommendation (no row: on)."""

    __tablename__ = "recommendation_settings"
    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)


MIGRATIONS: tuple = ()
