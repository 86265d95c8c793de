"""The prepaid wallet's ledger: immutable entries, and a balance that moves only with them.

`post()` is the one way money moves in or out of a wallet. In one transaction it
1. changes the balance with a single conditional UPDATE (`balance = balance - :x WHERE
   balance >= :x` for a debit), which also numbers the entry (`entries = entries + 1`) and
   returns both; on PostgreSQL the row lock orders concurrent posts to one wallet;
2. inserts the entry with that `seq` and `balance_after`; `source` (the operation that caused
   it) is unique, so an operation moves money once, even when repeated concurrently.
Invariants (checked by `verify()` and by property tests): balance = credits − debits; entries
are numbered 1..n without gaps; each `balance_after` is the previous one ± its amount; the
balance is never below zero.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.billing.models import Wallet, WalletTransaction
from services.common import errors, outbox
from services.common.clock import isoformat
from services.common.ids import new_id

CREDIT, DEBIT = "credit", "debit"
TYPES = ("top_up", "service_charge", "refund", "cancellation_credit", "voucher", "adjustment")
INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
DEFAULT_LOW_BALANCE = 500


def wallet_for(session: Session, customer_id: str, currency: str, now: dt.datetime,
               threshold: int = DEFAULT_LOW_BALANCE) -> Wallet:
    wallet = session.get(Wallet, customer_id)
    if wallet is not None:
        return wallet
    try:
        with session.begin_nested():
            wallet = Wallet(customer_id=customer_id, currency=currency, balance=0, entries=0,
                            low_balance_threshold=threshold, low_balance_alerted=False,
                            created_at=now)
            session.add(wallet)
    except IntegrityError:  # created concurrently
        wallet = session.get(Wallet, customer_id, populate_existing=True)
    return wallet


def find(session: Session, source: str) -> WalletTransaction | None:
    return session.scalar(select(WalletTransaction).where(WalletTransaction.source == source))


def post(session: Session, wallet: Wallet, direction: str, type_: str, amount: int,
         description: str, source: str, now: dt.datetime) -> WalletTransaction:
    """Move `amount` (> 0) in or out; the entry for `source` if it was posted already.
    A debit larger than the balance is `Conflict(INSUFFICIENT_BALANCE)` and changes nothing."""
    if not isinstance(amount, int) or amount <= 0:
        raise errors.InvalidArgument(fields={"amount": ["must be a positive amount"]})
    if type_ not in TYPES or direction not in (CREDIT, DEBIT):
        raise ValueError(f"unknown ledger entry {direction}/{type_}")  # a bug, not input
    done = find(session, source)
    if done is not None:
        return done
    delta = amount if direction == CREDIT else -amount
    stmt = (update(Wallet).where(Wallet.customer_id == wallet.customer_id)
            .values(balance=Wallet.balance + delta, entries=Wallet.entries + 1)
            .returning(Wallet.balance, Wallet.entries)
            .execution_options(synchronize_session=False))
    if direction == DEBIT:
        stmt = stmt.where(Wallet.balance >= amount)
    row = session.execute(stmt).first()
    if row is None:
        raise errors.Conflict(
            f"The wallet balance is too low for this ({amount} needed). Top up first.",
            code=INSUFFICIENT_BALANCE, details={"needed": str(amount)})
    entry = WalletTransaction(
        id=new_id("txn"), customer_id=wallet.customer_id, seq=row.entries, direction=direction,
        type=type_, amount=amount, currency=wallet.currency, balance_after=row.balance,
        description=description[:300], source=source, created_at=now)
    session.add(entry)
    session.flush()
    session.refresh(wallet)
    _emit(session, wallet, entry, now)
    return entry


def _emit(session: Session, wallet: Wallet, entry: WalletTransaction, now: dt.datetime) -> None:
    event = "wallet_credited" if entry.direction == CREDIT else "wallet_debited"
    outbox.emit(session, event, "wallet", {"customer_id": wallet.customer_id,
                                           "transaction": dump_entry(entry),
                                           "balance": money(wallet.balance, wallet.currency)},
                now)
    low = wallet.balance < wallet.low_balance_threshold
    if low and not wallet.low_balance_alerted:
        wallet.low_balance_alerted = True
        outbox.emit(session, "wallet_low_balance", "wallet", {
            "customer_id": wallet.customer_id,
            "balance": money(wallet.balance, wallet.currency),
            "threshold": money(wallet.low_balance_threshold, wallet.currency)}, now)
    elif not low and wallet.low_balance_alerted:
        wallet.low_balance_alerted = False


def money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency}


def dump_entry(entry: WalletTransaction) -> dict:
    return {"id": entry.id, "type": entry.type, "direction": entry.direction,
            "amount": money(entry.amount, entry.currency),
            "balance_after": money(entry.balance_after, entry.currency),
            "description": entry.description, "created_at": isoformat(entry.created_at)}


def dump_wallet(wallet: Wallet) -> dict:
    return {"balance": money(wallet.balance, wallet.currency), "currency": wallet.currency,
            "low_balance": wallet.balance < wallet.low_balance_threshold,
            "low_balance_threshold": money(wallet.low_balance_threshold, wallet.currency)}


def history(session: Session, customer_id: str, limit: int, before_seq: int | None) -> dict:
    query = select(WalletTransaction).where(WalletTransaction.customer_id == customer_id)
    if before_seq is not None:
        query = query.where(WalletTransaction.seq < before_seq)
    rows = session.scalars(query.order_by(WalletTransaction.seq.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {"data": [dump_entry(r) for r in rows], "has_more": more,
            "next_cursor": str(rows[-1].seq) if more else None}


def verify(session: Session) -> dict:
    """Every wallet's balance against its ledger; the differences found (normally none)."""
    sums = select(
        WalletTransaction.customer_id,
        func.coalesce(func.sum(case((WalletTransaction.direction == CREDIT,
                                     WalletTransaction.amount),
                                    else_=-WalletTransaction.amount)), 0).label("net"),
        func.count().label("n"), func.max(WalletTransaction.seq).label("last"),
    ).group_by(WalletTransaction.customer_id).subquery()
    rows = session.execute(select(Wallet, sums.c.net, sums.c.n, sums.c.last)
                           .outerjoin(sums, sums.c.customer_id == Wallet.customer_id)).all()
    differences = []
    for wallet, net, n, last in rows:
        net, n, last = net or 0, n or 0, last or 0
        problems = []
        if wallet.balance != net:
            problems.append(f"balance {wallet.balance} but ledger sums to {net}")
        if wallet.balance < 0:
            problems.append("balance below zero")
        if not (wallet.entries == n == last):
            problems.append(f"{wallet.entries} entries counted, {n} found, last seq {last}")
        if n:
            tail = session.scalar(select(WalletTransaction.balance_after).where(
                WalletTransaction.customer_id == wallet.customer_id,
                WalletTransaction.seq == last))
            if tail != wallet.balance:
                problems.append(f"last balance_after {tail} differs from the balance")
        if problems:
            differences.append({"customer_id": wallet.customer_id, "problems": problems})
    return {"wallets_checked": len(rows), "differences": differences, "ok": not differences}
