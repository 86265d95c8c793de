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

from sqlalchemy import JSON, BigInteger, Boolean, Column, Date, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import Migration, add_columns
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
    """The customer's consent to the use of their viewing data (no row: none given, so none is
    stored or used): when it was given or withdrawn, and how (`source`: settings, signup,
    insights, import...)."""

    __tablename__ = "viewing_choices"
    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    use_viewing: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    source: Mapped[str | None] = mapped_column(String(20))


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


def _consent(ops, conn) -> None:
    """v2: viewing is stored and used only with consent, recorded with how it was given. It
    was in use unless switched off before: days stored for customers who never gave consent
    are deleted by the retention timer (viewing.prune_without_consent)."""
    add_columns(ops, conn, ["viewing_choices"], lambda: Column("source", String(20)))


MIGRATIONS: tuple = (Migration(2, "viewing consent: how it was given", _consent),)
