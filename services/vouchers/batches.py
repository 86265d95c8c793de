"""Voucher batches: creation (up to a million vouchers, generated in chunks by whichever
vouchers instance takes each chunk's work message), voiding, and the print-house export.

Creating a batch records it (`created`) and its chunks and emits `voucher_batch_chunk_ready`
for the first `LANES` chunks through the outbox, in one transaction; the answer comes at once.
Each finished chunk announces the next one of its lane in its own transaction, so a million
vouchers never flood the service's workers (its RPCs stay answered) and no chunk is forgotten.
A chunk is one transaction (its event handler's): its vouchers (serial and code hash only, see
codes.py) go in by multi-row INSERTs, and the chunk is marked done; a repeated or re-delivered
message finds it done. The batch turns `active` with its last chunk.

The export streams: the gateway reads pages of rows (`export_page`, keyset by serial) and
writes them out as it goes, so memory stays flat however large the batch; each export is
recorded with who made it.

The functions here flush; the entrypoints in service.py commit (one transaction each).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from marshmallow import post_load
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import errors, outbox, pages
from services.common.clock import isoformat
from services.common.contract.vouchers import VoidIn, VoucherBatchIn
from services.common.ids import new_id
from services.common.money import decimal_string
from services.common.schemas import load_or_raise
from services.vouchers import events, exceptions
from services.vouchers.codes import CodeKeys, display
from services.vouchers.models import (
    BatchChunk,
    BatchExport,
    Redemption,
    Voucher,
    VoucherBatch,
)

CHUNK_SIZE = 50_000
LANES = 2  # chunks of one batch in the works at once (each finished chunk sends the next)


class BatchSchema(VoucherBatchIn):
    """The API's batch with vouchers' defaults: valid from now, unrestricted, no description."""

    @post_load
    def _defaults(self, data, **kwargs):
        return {"valid_from": None, "restriction": None, "description": "", **data}


def serial_of(batch_number: int, n: int) -> str:
    """A voucher's public serial: the batch number and its place in the batch."""
    return f"{batch_number:05d}{n:07d}"


def in_batch(batch: VoucherBatch):
    """The batch's vouchers, as a range of the unique serial index."""
    return Voucher.serial.between(serial_of(batch.number, 0), serial_of(batch.number, 9_999_999))


def status_of(batch: VoucherBatch, now: dt.datetime) -> str:
    if batch.status == "active" and batch.valid_until <= now:
        return "expired"
    return batch.status


def dump(batch: VoucherBatch, now: dt.datetime) -> dict:
    return {"id": batch.id, "number": batch.number, "type": batch.type,
            "value": {"amount": batch.value, "currency": batch.currency},
            "count": batch.count, "generated": batch.generated,
            "status": status_of(batch, now), "restriction": batch.restriction,
            "valid_from": isoformat(batch.valid_from), "valid_until": isoformat(batch.valid_until),
            "description": batch.description, "offer": batch.offer_code,
            "created_by": batch.created_by, "created_at": isoformat(batch.created_at),
            "voided_at": isoformat(batch.voided_at), "void_reason": batch.void_reason,
            "voided_by": batch.voided_by}


def next_number(session: Session) -> int:
    return (session.scalar(select(func.max(VoucherBatch.number))) or 0) + 1


class _TwinFirst(Exception):
    """`create`'s `once` answered False: a twin recorded the key first."""


def create(session: Session, request: dict, actor: str, now: dt.datetime,
           chunk_size: int = CHUNK_SIZE,
           once: Callable[[dict], bool] | None = None) -> dict | None:
    """Create a print batch and announce its first chunks, flushed for the caller to commit
    (one transaction). `once(batch)`, if given, runs in that transaction (it records an
    idempotency key's outcome); when it answers False a twin recorded first: nothing of this
    call is kept (a savepoint undoes it), None."""
    values = load_or_raise(BatchSchema(), request)
    if values["valid_until"] <= now:
        raise errors.InvalidArgument(fields={"valid_until": ["must be in the future"]})
    if values["type"] == "online":
        raise errors.InvalidArgument(fields={"type": [
            "online vouchers are sold from offers (POST /api/v1/ops/voucher-offers); "
            "a batch made here is `print`"]})
    try:
        with session.begin_nested():  # all of it, or (a twin's key first) none of it
            made = _create(session, values, actor, now, chunk_size)
            if once is not None and not once(made):
                raise _TwinFirst
    except _TwinFirst:
        return None
    return made


def _create(session: Session, values: dict, actor: str, now: dt.datetime,
            chunk_size: int) -> dict:
    for _ in range(5):  # the batch number is unique; two creators at once: take the next
        batch = VoucherBatch(
            id=new_id("vb"), number=next_number(session), type=values["type"], offer_code=None,
            value=values["value"]["amount"], currency=values["value"]["currency"],
            count=values["count"], generated=0, valid_from=values["valid_from"] or now,
            valid_until=values["valid_until"], restriction=values["restriction"],
            status="created", description=values["description"], created_by=actor,
            created_at=now)
        try:
            with session.begin_nested():
                session.add(batch)
            break
        except IntegrityError:
            continue
    else:
        raise errors.Conflict("Could not number the batch; try again.", code=exceptions.BUSY)
    sizes = range(0, batch.count, chunk_size)
    batch.chunks_total = len(sizes)
    for index, first in enumerate(sizes):
        session.add(BatchChunk(batch_id=batch.id, index=index, first=first + 1,
                               size=min(chunk_size, batch.count - first), done=False))
        if index < LANES:
            _announce(session, batch.id, index, now)
    outbox.emit(session, events.VOUCHER_BATCH_CREATED, "batch", dump(batch, now), now)
    return dump(batch, now)


def _announce(session: Session, batch_id: str, index: int, now: dt.datetime) -> None:
    outbox.emit(session, events.VOUCHER_BATCH_CHUNK_READY, "chunk",
                {"batch_id": batch_id, "index": index}, now)


def generate_chunk(session: Session, keys: CodeKeys, batch_id: str, index: int,
                   now: dt.datetime) -> int:
    """Make one chunk's vouchers, flushed for the caller to commit (one transaction; a repeat
    is a no-op). Returns how many."""
    chunk = session.get(BatchChunk, (batch_id, index), with_for_update=True)
    batch = session.get(VoucherBatch, batch_id)
    if chunk is None or batch is None or chunk.done:
        return 0
    serials = [serial_of(batch.number, n) for n in range(chunk.first, chunk.first + chunk.size)]
    rows = [(serial, keys.lookup_hash(keys.code_for(batch.id, serial)), 0)
            for serial in serials]
    try:
        with session.begin_nested():
            _bulk_insert(session, batch.id, rows, now)
    except IntegrityError:  # two codes met on the unique hash (about once in 10^13): redo
        _insert_resolving_collisions(session, keys, batch.id, serials, now)
    chunk.done = True
    if chunk.index + LANES < batch.chunks_total:  # this lane's next chunk
        _announce(session, batch.id, chunk.index + LANES, now)
    progressed = session.execute(
        update(VoucherBatch).where(VoucherBatch.id == batch.id)
        .values(generated=VoucherBatch.generated + chunk.size,
                chunks_done=VoucherBatch.chunks_done + 1)
        .returning(VoucherBatch.chunks_done, VoucherBatch.chunks_total)
        .execution_options(synchronize_session=False)).first()
    if progressed.chunks_done >= progressed.chunks_total:
        session.execute(update(VoucherBatch)
                        .where(VoucherBatch.id == batch.id, VoucherBatch.status == "created")
                        .values(status="active").execution_options(synchronize_session=False))
    session.flush()
    return chunk.size


def _bulk_insert(session: Session, batch_id: str, rows: list[tuple[str, str, int]],
                 now: dt.datetime) -> None:
    """Multi-row INSERTs (SQLAlchemy's insertmanyvalues: 1,000 rows a statement). Not COPY:
    psycopg2 refuses COPY under the green wait callback that eventlet needs."""
    session.execute(insert(Voucher), [
        {"batch_id": batch_id, "serial": serial, "code_hash": code_hash, "variant": variant,
         "status": "active"} for serial, code_hash, variant in rows])


def _insert_resolving_collisions(session: Session, keys: CodeKeys, batch_id: str,
                                 serials: list[str], now: dt.datetime) -> None:
    """One voucher at a time, moving a colliding serial's code to its next variant."""
    for serial in serials:
        for variant in range(10):
            code_hash = keys.lookup_hash(keys.code_for(batch_id, serial, variant))
            try:
                with session.begin_nested():
                    session.execute(insert(Voucher).values(
                        batch_id=batch_id, serial=serial, code_hash=code_hash, variant=variant,
                        status="active"))
                break
            except IntegrityError:
                continue


def find(session: Session, batch_id: str, lock: bool = False) -> VoucherBatch:
    batch = session.get(VoucherBatch, batch_id, with_for_update=lock or None) \
        if isinstance(batch_id, str) else None
    if batch is None:
        raise errors.NotFound("No such voucher batch.", code=exceptions.VOUCHER_BATCH_NOT_FOUND)
    return batch


PAGE_ORDER = pages.Order((VoucherBatch.number,))  # newest first: numbers are unique


def page(session: Session, now: dt.datetime, limit=pages.DEFAULT_LIMIT, cursor=None) -> dict:
    return pages.keyset(session, select(VoucherBatch), PAGE_ORDER, limit, cursor,
                        dump=lambda b: dump(b, now))


def void_batch(session: Session, batch_id: str, request: dict, actor: str,
               now: dt.datetime) -> dict:
    """Void a batch: none of its unredeemed vouchers can be redeemed any more."""
    reason = load_or_raise(VoidIn(), request)["reason"]
    batch = find(session, batch_id, lock=True)
    if batch.status != "voided":
        batch.status, batch.voided_at = "voided", now
        batch.void_reason, batch.voided_by = reason[:300], actor
        session.execute(update(Voucher).where(in_batch(batch), Voucher.status == "active")
                        .values(status="voided", changed_at=now)
                        .execution_options(synchronize_session=False))
        outbox.emit(session, events.VOUCHER_BATCH_VOIDED, "batch", dump(batch, now), now)
    session.flush()
    return dump(batch, now)


def lookup(session: Session, serial: str, now: dt.datetime) -> dict:
    """One voucher as support sees it (never its code): state, batch, who redeemed it."""
    voucher = session.scalar(select(Voucher).where(Voucher.serial == serial)) \
        if isinstance(serial, str) else None
    if voucher is None:
        raise errors.NotFound("No such voucher.", code=exceptions.VOUCHER_NOT_FOUND)
    batch = session.get(VoucherBatch, voucher.batch_id)
    redeemed = session.scalar(select(Redemption).where(Redemption.voucher_id == voucher.id))
    until = voucher.expires_at or batch.valid_until
    status = voucher.status
    if status == "active" and (batch.status == "voided"):
        status = "voided"
    elif status == "active" and until <= now:
        status = "expired"
    return {"serial": voucher.serial, "status": status, "batch_id": batch.id,
            "batch_number": batch.number, "type": batch.type,
            "value": {"amount": batch.value, "currency": batch.currency},
            "valid_until": isoformat(until), "purchase_id": voucher.purchase_id,
            "buyer_id": voucher.buyer_id,
            "redeemed_by": redeemed.customer_id if redeemed else None,
            "redeemed_at": isoformat(redeemed.created_at) if redeemed else None,
            "redemption_id": redeemed.id if redeemed else None}


def void_voucher(session: Session, serial: str, request: dict, actor: str,
                 now: dt.datetime) -> dict:
    reason = load_or_raise(VoidIn(), request)["reason"]
    voucher = session.scalar(select(Voucher).where(Voucher.serial == serial)) \
        if isinstance(serial, str) else None
    if voucher is None:
        raise errors.NotFound("No such voucher.", code=exceptions.VOUCHER_NOT_FOUND)
    changed = session.execute(update(Voucher).where(Voucher.id == voucher.id,
                                                    Voucher.status == "active")
                              .values(status="voided", changed_at=now)
                              .execution_options(synchronize_session=False)).rowcount
    if not changed and voucher.status != "voided":
        raise errors.Conflict(f"This voucher is {voucher.status}; it cannot be voided.",
                              code=exceptions.VOUCHER_ALREADY_REDEEMED)
    if changed:  # voiding a voided voucher again answers the same, and tells nobody twice
        outbox.emit(session, events.VOUCHER_VOIDED, "voucher", {
            "serial": serial, "batch_id": voucher.batch_id, "reason": reason, "by": actor}, now)
    session.flush()
    return {"serial": serial, "status": "voided", "batch_id": voucher.batch_id}


def start_export(session: Session, batch_id: str, actor: str, now: dt.datetime) -> dict:
    """Record an export of a print batch and answer what the file will hold."""
    batch = find(session, batch_id)
    if batch.type != "print":
        raise errors.Conflict("Only print batches are exported.", code=exceptions.NOT_A_PRINT_BATCH)
    if batch.status != "active":
        raise errors.Conflict(f"This batch is {batch.status}; only an active batch is "
                              "exported.", code=exceptions.VOUCHER_BATCH_NOT_ACTIVE)
    export = BatchExport(id=new_id("vex"), batch_id=batch.id, exported_by=actor,
                         rows=batch.count, created_at=now)
    session.add(export)
    outbox.emit(session, events.VOUCHER_BATCH_EXPORTED, "export", {
        "id": export.id, "batch_id": batch.id, "rows": batch.count, "by": actor}, now)
    session.flush()
    return {"export_id": export.id, "rows": batch.count, "batch": dump(batch, now)}


def export_page(session: Session, keys: CodeKeys, batch_id: str, after: str | None,
                limit: int = 10_000) -> dict:
    """Rows `serial, code, value, currency, valid_until` after serial `after` (keyset)."""
    batch = find(session, batch_id)
    if batch.type != "print" or batch.status != "active":
        raise errors.Conflict("Only an active print batch is exported.",
                              code=exceptions.VOUCHER_BATCH_NOT_ACTIVE)
    query = (select(Voucher.serial, Voucher.variant, Voucher.status)
             .where(in_batch(batch)).order_by(Voucher.serial).limit(limit))
    if after:
        query = query.where(Voucher.serial > after)
    value = decimal_string(batch.value, batch.currency)
    until = batch.valid_until.date().isoformat()
    rows = [[serial, display(keys.code_for(batch.id, serial, variant)), value, batch.currency,
             until] for serial, variant, _ in session.execute(query)]
    return {"rows": rows, "next": rows[-1][0] if len(rows) == limit else None}
