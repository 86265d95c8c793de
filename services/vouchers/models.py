"""vouchers' own tables. Nothing else reads them: other services ask by RPC.

A voucher row holds no code: only the keyed hash that finds it (see codes.py). Redemptions are
their own table with a unique voucher id: a voucher is redeemed once, whatever races.
A change to a table that exists in a deployed database needs a `Migration` in `MIGRATIONS`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, Column, Index, Integer, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import Migration, add_columns
from services.common.sqltypes import AutoId, UtcDateTime
from services.common.throttle import ThrottleCounterColumns


class Base(DeclarativeBase):
    pass


class VoucherBatch(Base):
    """A batch: `print` (exported for a print house) or `online` (one per offer, grows as
    vouchers are sold). `status`: created (vouchers being generated), active, voided. Expiry is
    `valid_until` (a batch past it reads as expired)."""

    __tablename__ = "voucher_batches"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, unique=True)  # the serials' prefix
    type: Mapped[str] = mapped_column(String(10))
    offer_code: Mapped[str | None] = mapped_column(String(40), unique=True)  # online batches
    value: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    count: Mapped[int] = mapped_column(Integer)
    generated: Mapped[int] = mapped_column(Integer, default=0)
    chunks_total: Mapped[int] = mapped_column(Integer, default=0)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    valid_from: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    valid_until: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    restriction: Mapped[str | None] = mapped_column(String(20))  # None | "prepaid"
    status: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(String(300), default="")
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    voided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    void_reason: Mapped[str | None] = mapped_column(String(300))
    voided_by: Mapped[str | None] = mapped_column(String(40))


class BatchChunk(Base):
    """A slice of a batch's serials, generated in one transaction by whichever instance takes
    its work message; `done` makes a repeated message a no-op."""

    __tablename__ = "voucher_batch_chunks"
    batch_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    first: Mapped[int] = mapped_column(Integer)  # serial numbers [first, first + size)
    size: Mapped[int] = mapped_column(Integer)
    done: Mapped[bool] = mapped_column(Boolean, default=False)


class Voucher(Base):
    """One voucher: its public serial and the keyed hash of its code. `status`: active,
    redeemed, voided (expired is read from the batch's `valid_until`)."""

    __tablename__ = "vouchers"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(String(40))
    serial: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    variant: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(10), default="active")
    purchase_id: Mapped[str | None] = mapped_column(String(40))  # online: the card payment
    buyer_id: Mapped[str | None] = mapped_column(String(40))
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())  # online: its own
    changed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    # as few indexes as the reads need: creating a million vouchers pays for each one. A
    # batch's vouchers are a range of serials (the batch number is their prefix).
    __table_args__ = (
        Index("ux_vouchers_code_hash", "code_hash", unique=True),
        Index("ux_vouchers_serial", "serial", unique=True),
        Index("ux_vouchers_purchase", "purchase_id", unique=True,
              postgresql_where=text("purchase_id IS NOT NULL"),
              sqlite_where=text("purchase_id IS NOT NULL")),
    )


class Redemption(Base):
    """A voucher redeemed into an account's wallet. `voucher_id` is unique: once, ever."""

    __tablename__ = "redemptions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    voucher_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    serial: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[str] = mapped_column(String(40), index=True)
    value: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class BatchExport(Base):
    """Each export of a print batch: who, when, how many rows (the codes are sensitive)."""

    __tablename__ = "voucher_batch_exports"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    batch_id: Mapped[str] = mapped_column(String(40), index=True)
    exported_by: Mapped[str] = mapped_column(String(40))
    rows: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class VoucherOffer(Base):
    """An online voucher on sale: its value (credited on redemption) and its price."""

    __tablename__ = "voucher_offers"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    value: Mapped[int] = mapped_column(BigInteger)
    price: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    valid_days: Mapped[int] = mapped_column(Integer, default=365)
    # {language: {name}}: the offer's name in the portal's other languages (ops maintain it)
    translations: Mapped[dict | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class ThrottleCounter(ThrottleCounterColumns, Base):
    """Failed redemptions per key (`redeem:account:<id>`, `redeem:ip:<addr>`)."""

    __tablename__ = "throttle_counters"


class ThrottleEvent(Base):
    """A key that started being blocked: what ops see of guessing."""

    __tablename__ = "throttle_events"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300))
    failures: Mapped[int] = mapped_column(Integer)
    blocked_until: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)


def _offer_translations(ops, conn) -> None:
    """v2: voucher offers' names in other languages (null: none yet)."""
    add_columns(ops, conn, ["voucher_offers"], lambda: Column("translations", JSON))


MIGRATIONS: tuple = (Migration(2, "voucher offers' translations", _offer_translations),)
