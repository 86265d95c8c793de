"""billing's own tables: subscriptions, their items and devices, scheduled changes, charges,
cards and payments, the wallet ledger, invoices and billing runs, collection (autopay, dunning)
and credit notes. Nothing else reads them: other services ask by RPC.

A change to a table that exists in a deployed database needs a `Migration` in `MIGRATIONS`."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.db import Migration, add_columns
from services.common.sqltypes import AutoId, UtcDateTime


class Base(DeclarativeBase):
    pass


class Subscription(Base):
    """A customer's service. Prices are snapshots taken from the catalog when the subscription
    starts, changes or renews, so a catalog price change never alters a running period.

    `version` is SQLAlchemy's optimistic lock: two writers of the same subscription (two billing
    instances renewing it, two concurrent changes) cannot both commit.
    """

    __tablename__ = "subscriptions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), index=True)
    # the household member who uses it and bought it (accounts' households), if not the holder
    member_id: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12))
    currency: Mapped[str] = mapped_column(String(3))
    billing_type: Mapped[str] = mapped_column(String(10))
    billing_period: Mapped[str] = mapped_column(String(8))
    tax_region: Mapped[str | None] = mapped_column(String(20))
    tax_rate_bp: Mapped[int] = mapped_column(Integer)
    tax_name: Mapped[str] = mapped_column(String(60))
    activation_date: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    anchor_day: Mapped[int] = mapped_column(Integer)
    current_period_start: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    current_period_end: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    paused_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    pause_until: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    suspended_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # the period end the "renews soon" (or "stops soon") notice was sent for: once per period
    renewal_notice_for: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    items: Mapped[list[SubscriptionItem]] = relationship(
        back_populates="subscription", order_by="SubscriptionItem.added_at", lazy="selectin")
    devices: Mapped[list[Device]] = relationship(order_by="Device.created_at", lazy="selectin")
    scheduled: Mapped[list[ScheduledChange]] = relationship(
        order_by="ScheduledChange.effective_at", lazy="selectin")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_subscriptions_due", "status", "current_period_end"),)

    @property
    def active_items(self) -> list[SubscriptionItem]:
        return [i for i in self.items if i.removed_at is None]

    @property
    def package(self) -> SubscriptionItem:
        return next(i for i in self.active_items if i.kind == "package")

    @property
    def addons(self) -> list[SubscriptionItem]:
        return [i for i in self.active_items if i.kind == "addon"]

    @property
    def pending_changes(self) -> list[ScheduledChange]:
        return [c for c in self.scheduled if c.status == "pending"]


class SubscriptionItem(Base):
    """A priced part of a subscription: its package, an add-on, or a rented device.

    `list_price` and `discount` are per billing period (snapshot); `charged` is what the
    customer was charged for `[charged_since, current period end]`, the base of any credit.
    """

    __tablename__ = "subscription_items"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # package | addon | device_rental
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    list_price: Mapped[int] = mapped_column(Integer)
    discount: Mapped[int] = mapped_column(Integer, default=0)
    promotion: Mapped[dict | None] = mapped_column(JSON)
    charged: Mapped[int] = mapped_column(Integer)
    charged_since: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    credited: Mapped[int | None] = mapped_column(Integer)  # credited when removed mid-period
    added_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    removed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    subscription: Mapped[Subscription] = relationship(back_populates="items")

    @property
    def net_price(self) -> int:
        return self.list_price - self.discount


class Device(Base):
    """Physical goods on the account (set-top box, router) with its serial number."""

    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), index=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"))
    code: Mapped[str] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    acquisition: Mapped[str] = mapped_column(String(10))  # purchase | rental | included
    serial_number: Mapped[str] = mapped_column(String(64), unique=True)
    previous_serials: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class ScheduledChange(Base):
    """A change that takes effect later (a downgrade or a cancellation at period end).

    `pending_key` is `<subscription>:<kind>` while pending and NULL afterwards; its unique index
    allows one pending change of each kind per subscription.
    """

    __tablename__ = "scheduled_changes"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # change_package | cancel
    details: Mapped[dict] = mapped_column(JSON)
    effective_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(10))  # pending | applied | cancelled
    pending_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class Charge(Base):
    """A money consequence: what is owed (positive) or credited (negative), for which
    subscription and period, and why. The wallet (prepaid) and invoicing (postpaid) consume
    these. `operation_key` is unique: the operation that caused the line, so a repeated or
    concurrent operation cannot record it twice."""

    __tablename__ = "charges"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), index=True)
    subscription_id: Mapped[str | None] = mapped_column(ForeignKey("subscriptions.id"),
                                                        index=True)
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(String(300))  # English, as it always was
    # the description as data, {"code", "params"} (money/texts.py); null on rows from before v6
    text: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    item_code: Mapped[str | None] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(Integer)
    tax_rate_bp: Mapped[int] = mapped_column(Integer)
    tax: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    period_start: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    period_end: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    operation_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    settled: Mapped[bool] = mapped_column(Boolean, default=False)
    invoice_id: Mapped[str | None] = mapped_column(String(40))  # postpaid: the invoice it is on

    __table_args__ = (Index("ix_charges_unsettled", "settled", "customer_id"),)


class Wallet(Base):
    """A prepaid account's balance. `balance` changes only together with a ledger entry, by an
    atomic conditional UPDATE (never below zero); `entries` numbers the ledger."""

    __tablename__ = "wallets"
    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    balance: Mapped[int] = mapped_column(Integer, default=0)
    entries: Mapped[int] = mapped_column(Integer, default=0)
    low_balance_threshold: Mapped[int] = mapped_column(Integer)
    low_balance_alerted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class WalletTransaction(Base):
    """An immutable ledger entry. `source` (the operation that caused it) is unique, so an
    operation can move money once; `(customer_id, seq)` is unique and gapless per wallet."""

    __tablename__ = "wallet_transactions"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40))
    seq: Mapped[int] = mapped_column(Integer)
    direction: Mapped[str] = mapped_column(String(6))  # credit | debit
    type: Mapped[str] = mapped_column(String(24))
    amount: Mapped[int] = mapped_column(Integer)  # > 0; the direction gives the sign
    currency: Mapped[str] = mapped_column(String(3))
    balance_after: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(300))
    text: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))  # as Charge.text
    source: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    __table_args__ = (Index("ux_wallet_transactions_seq", "customer_id", "seq", unique=True),)


class PaymentMethod(Base):
    """A card, as the provider's token plus what may be shown. Never the number or the CVC."""

    __tablename__ = "payment_methods"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    token: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str] = mapped_column(String(20))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int] = mapped_column(Integer)
    exp_year: Mapped[int] = mapped_column(Integer)
    holder: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    expiry_notice_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    removed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    # a customer saves a card once: the same number (the provider's fingerprint) and expiry
    # among their cards not removed (concurrent adds meet here)
    __table_args__ = (Index("ux_payment_methods_card", "customer_id", "fingerprint", "exp_year",
                            "exp_month", unique=True, postgresql_where=text("removed_at IS NULL"),
                            sqlite_where=text("removed_at IS NULL")),)


class Payment(Base):
    """A charge to a card, from its first attempt. `provider_key` (unique) is the provider-side
    idempotency key: repeating it can never charge twice. `status`: pending (asked, no answer
    yet), succeeded, failed (declined, with its code)."""

    __tablename__ = "payments"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40), index=True)
    payment_method_id: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(String(20))  # top_up | invoice | voucher
    invoice_id: Mapped[str | None] = mapped_column(String(40))
    reference: Mapped[str | None] = mapped_column(String(40))  # e.g. the voucher offer bought
    amount: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(10))
    provider_key: Mapped[str] = mapped_column(String(200), unique=True)
    provider_charge_id: Mapped[str | None] = mapped_column(String(100))
    decline_code: Mapped[str | None] = mapped_column(String(40))
    failure_message: Mapped[str | None] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # provider asked, no answer
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())

    __table_args__ = (
        # one payment at a time per invoice: a customer paying while autopay's retry runs
        # cannot charge the invoice twice
        Index("ux_payments_pending_invoice", "invoice_id", unique=True,
              postgresql_where=text("status = 'pending' AND invoice_id IS NOT NULL"),
              sqlite_where=text("status = 'pending' AND invoice_id IS NOT NULL")),
    )


class InvoiceSeries(Base):
    """A gapless invoice number sequence; `next_number` moves only inside the transaction that
    issues the invoice, so a rolled-back invoice gives its number back."""

    __tablename__ = "invoice_series"
    series: Mapped[str] = mapped_column(String(20), primary_key=True)
    next_number: Mapped[int] = mapped_column(Integer, default=1)


class Invoice(Base):
    """A postpaid account's bill for one billing period. `(customer_id, period_key)` is unique:
    exactly one invoice per account and period, however often and wherever a run is started.
    A finalized invoice is never edited (corrections are credit notes)."""

    __tablename__ = "invoices"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(40))
    period_key: Mapped[str] = mapped_column(String(20))  # the billing run's date
    number: Mapped[str | None] = mapped_column(String(40), unique=True)
    run_id: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10))  # open | paid | overdue | void
    currency: Mapped[str] = mapped_column(String(3))
    issue_date: Mapped[str] = mapped_column(String(10))
    due_date: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[str | None] = mapped_column(String(10))
    period_end: Mapped[str | None] = mapped_column(String(10))
    subtotal: Mapped[int] = mapped_column(Integer)
    discount: Mapped[int] = mapped_column(Integer)
    tax: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    amount_paid: Mapped[int] = mapped_column(Integer, default=0)
    amount_credited: Mapped[int] = mapped_column(Integer, default=0)  # credit notes on it
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    paid_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    # collection: None, "retrying" (a dunning schedule runs), "exhausted" (services suspended)
    dunning: Mapped[str | None] = mapped_column(String(12))
    due_reminder_sent_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    @property
    def amount_due(self) -> int:
        return max(0, self.total - self.amount_paid - self.amount_credited)

    __table_args__ = (
        Index("ux_invoices_customer_period", "customer_id", "period_key", unique=True),
        Index("ix_invoices_customer", "customer_id", "created_at"),
    )


class InvoiceLine(Base):
    __tablename__ = "invoice_lines"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    invoice_id: Mapped[str] = mapped_column(String(40), index=True)
    position: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(300))
    text: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))  # the charge's text
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(Integer)
    tax_rate_bp: Mapped[int] = mapped_column(Integer)
    tax: Mapped[int] = mapped_column(Integer)
    charge_id: Mapped[str] = mapped_column(String(40), unique=True)  # a charge is billed once


class BillingRun(Base):
    """A run invoicing every postpaid account's due charges up to `run_date`, split into chunks
    that billing instances take from RabbitMQ (competing consumers)."""

    __tablename__ = "billing_runs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    run_date: Mapped[str] = mapped_column(String(10), unique=True)
    status: Mapped[str] = mapped_column(String(10))  # running | completed | failed
    chunks_total: Mapped[int] = mapped_column(Integer)
    chunks_done: Mapped[int] = mapped_column(Integer, default=0)
    accounts_total: Mapped[int] = mapped_column(Integer)
    accounts_done: Mapped[int] = mapped_column(Integer, default=0)
    invoices_issued: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class BillingRunChunk(Base):
    __tablename__ = "billing_run_chunks"
    run_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_ids: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10))  # pending | done
    invoices_issued: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class BillingProfile(Base):
    """How a postpaid account is billed and collected: its payment terms (None: the operator's
    default) and autopay (charge each new invoice on issue, to this card or the default one)."""

    __tablename__ = "billing_profiles"
    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    payment_terms_days: Mapped[int | None] = mapped_column(Integer)
    autopay_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    autopay_method_id: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class CollectionAttempt(Base):
    """One step of collecting an unpaid invoice. Attempt 0 is autopay at issue; 1..n are the
    dunning steps after a decline or after the due date (a card charge when there is a card to
    charge, else a reminder). `(invoice_id, attempt)` is unique: each step happens once, and its
    payment's provider key is derived from it, so no step can charge twice."""

    __tablename__ = "collection_attempts"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    invoice_id: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str] = mapped_column(String(40), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    remind_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(10))  # scheduled|succeeded|failed|cancelled
    payment_id: Mapped[str | None] = mapped_column(String(40))
    decline_code: Mapped[str | None] = mapped_column(String(40))
    processed_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())

    __table_args__ = (
        Index("ux_collection_invoice_attempt", "invoice_id", "attempt", unique=True),
        Index("ix_collection_due", "status", "due_at"),
    )


class CreditNote(Base):
    """A correction of a finalized invoice (which itself is never edited). On an unpaid invoice
    it lowers the amount due; on a paid one it becomes a credit line on the next invoice.
    Numbered from its own gapless series; `operation_key` (unique) makes issuing it idempotent."""

    __tablename__ = "credit_notes"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    invoice_id: Mapped[str] = mapped_column(String(40), index=True)
    customer_id: Mapped[str] = mapped_column(String(40), index=True)
    amount: Mapped[int] = mapped_column(Integer)  # gross, tax included
    tax: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(500))
    applied_to: Mapped[str] = mapped_column(String(20))  # "invoice" | "next_invoice"
    created_by: Mapped[str] = mapped_column(String(40))
    operation_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


def _collection_and_credit_notes(ops, conn) -> None:
    """v2: payment terms and autopay, dunning steps, credit notes."""
    from sqlalchemy import Column

    for table in ("billing_profiles", "collection_attempts", "credit_notes"):
        Base.metadata.tables[table].create(conn, checkfirst=True)
    ops.add_column("invoices", Column("amount_credited", Integer, nullable=False,
                                      server_default="0"))
    ops.add_column("invoices", Column("dunning", String(12)))
    ops.add_column("invoices", Column("due_reminder_sent_at", UtcDateTime()))
    next(i for i in Base.metadata.tables["payments"].indexes
         if i.name == "ux_payments_pending_invoice").create(conn, checkfirst=True)


def _payment_reference(ops, conn) -> None:
    """v3: what a payment bought (a voucher offer), to finish the purchase after a crash."""
    from sqlalchemy import Column

    ops.add_column("payments", Column("reference", String(40)))


def _renewal_notices(ops, conn) -> None:
    """v4: renewal notices, once per period."""
    from sqlalchemy import Column

    ops.add_column("subscriptions", Column("renewal_notice_for", UtcDateTime()))


def _cards_saved_once(ops, conn) -> None:
    """v5: a customer's card is saved once (`ux_payment_methods_card`). A card saved twice
    before (same fingerprint and expiry, neither removed) keeps one row: the one autopay uses,
    else the default one, else the newest; the others are removed (the default mark moves to
    the one kept)."""
    from sqlalchemy import func, select, update

    methods = PaymentMethod.__table__
    autopay = BillingProfile.__table__.c.autopay_method_id
    key = (methods.c.customer_id, methods.c.fingerprint, methods.c.exp_year, methods.c.exp_month)
    active = methods.c.removed_at.is_(None)
    twice = select(*key).where(active).group_by(*key).having(func.count() > 1).subquery()
    rows = conn.execute(
        select(methods.c.id, *key, methods.c.is_default, methods.c.created_at,
               select(autopay).where(autopay == methods.c.id).exists().label("autopay"))
        .join(twice, (methods.c.customer_id == twice.c.customer_id)
              & (methods.c.fingerprint == twice.c.fingerprint)
              & (methods.c.exp_year == twice.c.exp_year)
              & (methods.c.exp_month == twice.c.exp_month))
        .where(active)).all()
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault((row.customer_id, row.fingerprint, row.exp_year, row.exp_month),
                          []).append(row)
    now = dt.datetime.now(dt.UTC)
    for group in groups.values():
        keep = max(group, key=lambda r: (r.autopay, r.is_default, r.created_at, r.id))
        others = [r.id for r in group if r.id != keep.id]
        conn.execute(update(methods).where(methods.c.id.in_(others))
                     .values(removed_at=now, is_default=False))
        if any(r.is_default for r in group):
            conn.execute(update(methods).where(methods.c.id == keep.id).values(is_default=True))
    next(i for i in methods.indexes
         if i.name == "ux_payment_methods_card").create(conn, checkfirst=True)


def _line_texts(ops, conn) -> None:
    """v6: generated line texts as data ({"code", "params"}), worded in the customer's language
    by the portal and the PDFs; rows from before keep showing their English description."""
    add_columns(ops, conn, ("charges", "invoice_lines", "wallet_transactions"),
                lambda: Column("text", JSON(none_as_null=True), nullable=True))


class MemberSpending(Base):
    """What a household member spent on the holder's account in a month (UTC), in minor units
    of its currency: purchases, add-ons and vouchers, counted against the member's monthly
    limit in the purchase's own transaction (subscriptions/member_spending.py)."""

    __tablename__ = "member_spending"
    customer_id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the holder
    member_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # YYYY-MM
    currency: Mapped[str] = mapped_column(String(3))
    spent: Mapped[int] = mapped_column(BigInteger, default=0)


def _households(ops, conn) -> None:
    """v7: subscriptions a household member uses; members' spending per month."""
    add_columns(ops, conn, ["subscriptions"], lambda: Column("member_id", String(40)))
    Base.metadata.tables["member_spending"].create(conn, checkfirst=True)


MIGRATIONS = (Migration(2, "payment terms, autopay, dunning, credit notes",
                        _collection_and_credit_notes),
              Migration(3, "payments.reference", _payment_reference),
              Migration(4, "subscriptions.renewal_notice_for", _renewal_notices),
              Migration(5, "a card is saved once per customer", _cards_saved_once),
              Migration(6, "charges, invoice_lines, wallet_transactions .text", _line_texts),
              Migration(7, "households: subscriptions.member_id, member_spending",
                        _households))
