"""catalog's own tables. Nothing else reads them: other services ask by RPC.

A change to a table that exists in a deployed database needs a `Migration` in `MIGRATIONS`.
Entries are definitions, never deleted: subscriptions (billing's) refer to them by code and keep
their own price snapshot, so retiring an entry only sets `active = false`. List and dict fields
(channels, prices, rules, codes of related entries) are JSON columns: they are read and written
whole, never queried into.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, Column, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import Migration, add_columns
from services.common.sqltypes import UtcDateTime


class Base(DeclarativeBase):
    pass


PERIODS = ("month", "year")
DEVICE_KINDS = ("set_top_box", "router")
PROMOTION_KINDS = ("percent", "fixed")
DOWNGRADE_TIMINGS = ("now", "period_end")


class Package(Base):
    """A base package: channels, prices per billing period in one currency, service rules."""

    __tablename__ = "packages"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    channels: Mapped[list] = mapped_column(JSON)
    prices: Mapped[dict] = mapped_column(JSON)  # {"month": minor units, "year": minor units}
    currency: Mapped[str] = mapped_column(String(3))
    included_devices: Mapped[list] = mapped_column(JSON)  # device codes
    rules: Mapped[dict] = mapped_column(JSON)  # see schemas.RulesSchema
    # {language: {name, description}}: what customers read in another language
    translations: Mapped[dict | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Addon(Base):
    """A channel bundle (sports, movies, …) that may be added to the packages it lists."""

    __tablename__ = "addons"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    channels: Mapped[list] = mapped_column(JSON)
    prices: Mapped[dict] = mapped_column(JSON)
    currency: Mapped[str] = mapped_column(String(3))
    packages: Mapped[list] = mapped_column(JSON)  # package codes it may be added to
    # {language: {name, description}}: what customers read in another language
    translations: Mapped[dict | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Device(Base):
    """Physical goods: sold once (`sale_price`) and/or rented per month (`rental_price`)."""

    __tablename__ = "devices"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    sale_price: Mapped[int | None] = mapped_column(BigInteger)
    rental_price: Mapped[int | None] = mapped_column(BigInteger)  # per month
    currency: Mapped[str] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class TaxRate(Base):
    """The tax of a tax region (a customer's `tax_region`, e.g. "DE"), in basis points."""

    __tablename__ = "tax_rates"
    region: Mapped[str] = mapped_column(String(20), primary_key=True)
    rate_bp: Mapped[int] = mapped_column(Integer)  # 1900 = 19 %
    name: Mapped[str] = mapped_column(String(200))
    translations: Mapped[dict | None] = mapped_column(JSON)  # {language: {name}}
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Promotion(Base):
    """A discount on packages for a time window: percent (basis points) or fixed (minor units)."""

    __tablename__ = "promotions"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))  # fixed only
    packages: Mapped[list] = mapped_column(JSON)
    # {language: {name}}: what customers read in another language (operators maintain it)
    translations: Mapped[dict | None] = mapped_column(JSON)
    valid_from: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    valid_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())  # inclusive
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


TRANSLATED = ("packages", "addons", "tax_rates", "promotions")


def _translations(ops, conn) -> None:
    """v2: `translations` on packages, add-ons, tax rates and promotions (null: none yet)."""
    add_columns(ops, conn, TRANSLATED, lambda: Column("translations", JSON))


MIGRATIONS = (Migration(2, "translations of what customers read", _translations),)
