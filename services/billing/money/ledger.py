"""The prepaid wallet's ledger: immutable entries, and a balance that moves only with them.

`post()` is the one way money moves in or out of a wallet. In the caller's transaction it
1. changes the balance with a single conditional UPDATE (`balance = balance - :x WHERE
   balance >= :x` for a debit, and no entry with this source yet), which also numbers the
   entry (`entries = entries + 1`) and returns both; on PostgreSQL the row lock orders
   concurrent posts to one wallet;
2. inserts the entry with that `seq` and `balance_after`; `source` (the operation that caused
   it) is unique, so an operation moves money once, even when repeated concurrently.
Both are prepared Core statements: they are the inner loop of every money path.
Invariants (checked by `verify()` and by property tests): balance = credits − debits; entries
are numbered 1..n without gaps; each `balance_after` is the previous one ± its amount; the
balance is never below zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import bindparam, case, exists, func, insert, select, update
from sqlalchemy.orm import Session

from services.billing import events
from services.billing.models import Wallet, WalletTransaction
from services.common import errors, outbox, pages
from services.common.clock import isoformat
from services.common.db import dialect_insert
from services.common.ids import new_id

CREDIT, DEBIT = "credit", "debit"
TYPES = ("top_up", "service_charge", "refund", "cancellation_credit", "voucher", "adjustment")
INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
DEFAULT_LOW_BALANCE = 500


def wallet_for(session: Session, customer_id: str, currency: str, now: dt.datetime,
               threshold: int = DEFAULT_LOW_BALANCE) -> Wallet:
    """The wallet as an ORM object (for settings); money moves only through `post`."""
    wallet = session.get(Wallet, customer_id)
    if wallet is not None:
        return wallet
    _create(session, customer_id, currency, now, threshold)
    return session.get(Wallet, customer_id, populate_existing=True)


def _create(session: Session, customer_id: str, currency: str, now: dt.datetime,
            threshold: int = DEFAULT_LOW_BALANCE) -> None:
    """An empty wallet, unless one exists (created concurrently: the other one is kept)."""
    session.execute(dialect_insert(session, Wallet.__table__).values(
        customer_id=customer_id, currency=currency, balance=0, entries=0,
        low_balance_threshold=threshold, low_balance_alerted=False, created_at=now)
        .on_conflict_do_nothing())


@dataclass(frozen=True)
class WalletState:
    """The wallet as a posting left it (what `dump_wallet` shows)."""

    customer_id: str
    currency: str
    balance: int
    low_balance_threshold: int


@dataclass(frozen=True)
class Entry:
    """A ledger entry just posted (or found posted), with the wallet it left."""

    id: str
    customer_id: str
    seq: int
    direction: str
    type: str
    amount: int
    currency: str
    balance_after: int
    description: str
    source: str
    created_at: dt.datetime
    wallet: WalletState
    text: dict | None = None  # the description as data (texts.py)


def find(session: Session, source: str) -> WalletTransaction | None:
    return session.scalar(select(WalletTransaction).where(WalletTransaction.source == source))


_WALLET = Wallet.__table__
_ENTRIES = WalletTransaction.__table__
# the balance moves unless the source was posted already (and, for a debit, only if it covers)
_CREDIT = (update(_WALLET)
           .where(_WALLET.c.customer_id == bindparam("p_customer"),
                  ~exists().where(_ENTRIES.c.source == bindparam("p_source")))
           .values(balance=_WALLET.c.balance + bindparam("p_delta"),
                   entries=_WALLET.c.entries + 1)
           .returning(_WALLET.c.balance, _WALLET.c.entries, _WALLET.c.currency,
                      _WALLET.c.low_balance_threshold, _WALLET.c.low_balance_alerted))
_DEBIT = _CREDIT.where(_WALLET.c.balance >= bindparam("p_amount"))
_INSERT_ENTRY = insert(_ENTRIES)


def post(session: Session, customer_id: str, currency: str, direction: str, type_: str,
         amount: int, description: str, source: str, now: dt.datetime,
         text: dict | None = None, _retried: bool = False) -> Entry:
    """Move `amount` (> 0) in or out of the customer's wallet (created by a first credit); the
    entry for `source` if it was posted already. A debit larger than the balance is
    `Conflict(INSUFFICIENT_BALANCE)` and changes nothing.

    Two statements (Core, no ORM objects: this is every money path's inner loop): the
    conditional UPDATE of the balance, which numbers the entry and refuses a source already
    posted, then the entry's INSERT; the unique `source` still refuses a concurrent twin.
    `text`: the description as data ({"code", "params"}, texts.py), stored beside it."""
    if not isinstance(amount, int) or amount <= 0:
        raise errors.InvalidArgument(fields={"amount": ["must be a positive amount"]})
    if type_ not in TYPES or direction not in (CREDIT, DEBIT):
        raise ValueError(f"unknown ledger entry {direction}/{type_}")  # a bug, not input
    values = {"p_customer": customer_id, "p_source": source, "p_delta": amount}
    if direction == DEBIT:
        values.update(p_delta=-amount, p_amount=amount)
    row = session.execute(_CREDIT if direction == CREDIT else _DEBIT, values).first()
    if row is None:
        done = find(session, source)
        if done is not None:
            return _entry(done, _state(session, customer_id))
        if direction == CREDIT and not _retried:
            # the first money in: the wallet is created (unless a concurrent first credit
            # just did), then the balance moves
            _create(session, customer_id, currency, now)
            return post(session, customer_id, currency, direction, type_, amount,
                        description, source, now, text, _retried=True)
        raise errors.Conflict(
            f"The wallet balance is too low for this ({amount} needed). Top up first.",
            code=INSUFFICIENT_BALANCE, details={"needed": str(amount)})
    wallet = WalletState(customer_id, row.currency, row.balance, row.low_balance_threshold)
    entry = Entry(id=new_id("txn"), customer_id=customer_id, seq=row.entries,
                  direction=direction, type=type_, amount=amount, currency=row.currency,
                  balance_after=row.balance, description=description[:300], source=source,
                  created_at=now, wallet=wallet, text=text)
    session.execute(_INSERT_ENTRY, {
        "id": entry.id, "customer_id": customer_id, "seq": entry.seq, "direction": direction,
        "type": type_, "amount": amount, "currency": entry.currency,
        "balance_after": entry.balance_after, "description": entry.description,
        "text": text, "source": source, "created_at": now})
    _emit(session, entry, row.low_balance_alerted, now)
    return entry


def _state(session: Session, customer_id: str) -> WalletState:
    row = session.execute(select(_WALLET.c.currency, _WALLET.c.balance,
                                 _WALLET.c.low_balance_threshold)
                          .where(_WALLET.c.customer_id == customer_id)).one()
    return WalletState(customer_id, row.currency, row.balance, row.low_balance_threshold)


def _entry(row: WalletTransaction, wallet: WalletState) -> Entry:
    return Entry(id=row.id, customer_id=row.customer_id, seq=row.seq, direction=row.direction,
                 type=row.type, amount=row.amount, currency=row.currency,
                 balance_after=row.balance_after, description=row.description,
                 source=row.source, created_at=row.created_at, wallet=wallet, text=row.text)


def _emit(session: Session, entry: Entry, alerted: bool, now: dt.datetime) -> None:
    wallet = entry.wallet
    event = events.WALLET_CREDITED if entry.direction == CREDIT else events.WALLET_DEBITED
    outbox.emit(session, event, "wallet", {"customer_id": wallet.customer_id,
                                           "transaction": dump_entry(entry),
                                           "balance": money(wallet.balance, wallet.currency)},
                now)
    low = wallet.balance < wallet.low_balance_threshold
    if low != alerted:
        # the alert flag follows the balance across the threshold; the conditional UPDATE
        # makes the crossing announced once, however many posts race over it
        flipped = session.execute(
            update(_WALLET).where(_WALLET.c.customer_id == wallet.customer_id,
                                  _WALLET.c.low_balance_alerted.is_(not low))
            .values(low_balance_alerted=low)).rowcount
        if low and flipped:
            outbox.emit(session, events.WALLET_LOW_BALANCE, "wallet", {
                "customer_id": wallet.customer_id,
                "balance": money(wallet.balance, wallet.currency),
                "threshold": money(wallet.low_balance_threshold, wallet.currency)}, now)


def money(amount: int, currency: str) -> dict:
    return {"amount": amount, "currency": currency}


def dump_entry(entry: WalletTransaction) -> dict:
    return {"id": entry.id, "type": entry.type, "direction": entry.direction,
            "amount": money(entry.amount, entry.currency),
            "balance_after": money(entry.balance_after, entry.currency),
            "description": entry.description, "text": entry.text,
            "created_at": isoformat(entry.created_at)}


def dump_wallet(wallet: Wallet) -> dict:
    return {"balance": money(wallet.balance, wallet.currency), "currency": wallet.currency,
            "low_balance": wallet.balance < wallet.low_balance_threshold,
            "low_balance_threshold": money(wallet.low_balance_threshold, wallet.currency)}


HISTORY_ORDER = pages.Order((WalletTransaction.seq,))  # newest first; seq is per wallet


def history(session: Session, customer_id: str, limit, cursor) -> dict:
    return pages.keyset(session, select(WalletTransaction).where(
        WalletTransaction.customer_id == customer_id), HISTORY_ORDER, limit, cursor,
        dump=dump_entry)


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
