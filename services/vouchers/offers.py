"""Online vouchers: offers on sale in the portal, and the voucher a card payment bought.

billing takes the card payment (it owns payments) and then asks `issue_online(purchase_id,
…)` for the voucher: the purchase id (the payment's id) is unique on the voucher, so asking
again (a retried request, billing's own `payment_succeeded` handler after a crash) answers the
same voucher, and the code is derived again, never stored (codes.py). Each offer has its own
online batch, which grows by one voucher per sale.

The functions here flush; the entrypoints in service.py commit.
"""

from __future__ import annotations

import datetime as dt

from marshmallow import post_load
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import errors, outbox, pages
from services.common.clock import isoformat
from services.common.contract.vouchers import VoucherOfferIn
from services.common.ids import new_id
from services.common.schemas import load_or_raise, localized
from services.vouchers import events, exceptions
from services.vouchers.batches import next_number, serial_of
from services.vouchers.codes import CodeKeys, display
from services.vouchers.models import Voucher, VoucherBatch, VoucherOffer

FAR_FUTURE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


class OfferSchema(VoucherOfferIn):
    """The API's offer with vouchers' default: valid for a year."""

    @post_load
    def _defaults(self, data, **kwargs):
        return {"valid_days": 365, **data}


def dump_offer(o: VoucherOffer) -> dict:
    return {"code": o.code, "name": o.name, "value": {"amount": o.value, "currency": o.currency},
            "price": {"amount": o.price, "currency": o.currency}, "valid_days": o.valid_days,
            "translations": dict(o.translations or {}), "active": o.active}


def list_offers(session: Session, language: str | None = None) -> dict:
    """The offers on sale, each named in `language` where ops translated it."""
    rows = session.scalars(select(VoucherOffer).where(VoucherOffer.active.is_(True))
                           .order_by(VoucherOffer.price)).all()
    # a handful on sale: never cut
    return pages.whole([localized(dump_offer(o), language) for o in rows])


def get_offer(session: Session, code: str) -> dict:
    offer = session.get(VoucherOffer, code) if isinstance(code, str) else None
    if offer is None or not offer.active:
        raise errors.NotFound("No such voucher offer.", code=exceptions.VOUCHER_OFFER_NOT_FOUND)
    return dump_offer(offer)


def create_offer(session: Session, request: dict, now: dt.datetime) -> dict:
    values = load_or_raise(OfferSchema(), request)
    value, price = values["value"], values["price"]
    if value["currency"] != price["currency"] or value["amount"] <= 0 or price["amount"] <= 0:
        raise errors.InvalidArgument(fields={"price": [
            "value and price must be more than zero, in one currency"]})
    offer = VoucherOffer(code=values["code"], name=values["name"], value=value["amount"],
                         price=price["amount"], currency=value["currency"],
                         valid_days=values["valid_days"], translations=values["translations"],
                         active=True, created_at=now)
    try:
        with session.begin_nested():
            session.add(offer)
    except IntegrityError:
        raise errors.Conflict("An offer with this code exists.",
                              code=exceptions.ALREADY_EXISTS) from None
    return dump_offer(offer)


def retire_offer(session: Session, code: str) -> dict:
    offer = session.get(VoucherOffer, code) if isinstance(code, str) else None
    if offer is None:
        raise errors.NotFound("No such voucher offer.", code=exceptions.VOUCHER_OFFER_NOT_FOUND)
    offer.active = False
    session.flush()
    return dump_offer(offer)


def _online_batch(session: Session, offer: VoucherOffer, now: dt.datetime) -> VoucherBatch:
    for _ in range(5):
        batch = session.scalar(select(VoucherBatch).where(
            VoucherBatch.offer_code == offer.code))
        if batch is not None:
            return batch
        try:
            with session.begin_nested():
                session.add(VoucherBatch(
                    id=new_id("vb"), number=next_number(session), type="online",
                    offer_code=offer.code, value=offer.value, currency=offer.currency, count=0,
                    generated=0, chunks_total=0, chunks_done=0, valid_from=now,
                    valid_until=FAR_FUTURE, restriction=None, status="active",
                    description=f"Online: {offer.name}"[:300], created_by="portal",
                    created_at=now))
        except IntegrityError:
            continue  # made concurrently, or the number was taken: look again
    raise errors.ServiceUnavailable("Could not open the offer's batch; try again.")


class _SoldConcurrently(Exception):
    """The same purchase's voucher was made by a concurrent call."""


def issue_online(session: Session, keys: CodeKeys, purchase_id: str, offer_code: str,
                 buyer_id: str, now: dt.datetime) -> dict:
    """The voucher bought by payment `purchase_id` (made once, flushed for the caller to
    commit; a repeat answers it again)."""
    existing = session.scalar(select(Voucher).where(Voucher.purchase_id == purchase_id))
    if existing is None:
        offer = session.get(VoucherOffer, offer_code)
        if offer is None:
            raise errors.NotFound("No such voucher offer.", code=exceptions.VOUCHER_OFFER_NOT_FOUND)
        try:
            with session.begin_nested():  # the sale whole, or (a twin made it) nothing
                existing = _sell(session, keys, offer, purchase_id, buyer_id, now)
        except _SoldConcurrently:
            existing = session.scalar(select(Voucher).where(Voucher.purchase_id == purchase_id))
    return _bought(keys, existing, session)


def _sell(session: Session, keys: CodeKeys, offer: VoucherOffer, purchase_id: str,
          buyer_id: str, now: dt.datetime) -> Voucher:
    batch = _online_batch(session, offer, now)
    n = session.execute(update(VoucherBatch).where(VoucherBatch.id == batch.id)
                        .values(count=VoucherBatch.count + 1,
                                generated=VoucherBatch.generated + 1)
                        .returning(VoucherBatch.count)
                        .execution_options(synchronize_session=False)).scalar_one()
    serial = serial_of(batch.number, n)
    for variant in range(10):
        try:
            with session.begin_nested():
                voucher = Voucher(
                    batch_id=batch.id, serial=serial, variant=variant, status="active",
                    code_hash=keys.lookup_hash(keys.code_for(batch.id, serial, variant)),
                    purchase_id=purchase_id, buyer_id=buyer_id,
                    expires_at=now + dt.timedelta(days=offer.valid_days), changed_at=now)
                session.add(voucher)
            break
        except IntegrityError:
            if session.scalar(select(Voucher.id).where(Voucher.purchase_id == purchase_id)):
                raise _SoldConcurrently from None  # the same purchase, concurrently
    outbox.emit(session, events.VOUCHER_PURCHASED, "voucher", {
        "serial": serial, "purchase_id": purchase_id, "customer_id": buyer_id,
        "offer": offer.code, "value": {"amount": offer.value, "currency": offer.currency}},
        now)
    session.flush()
    return voucher


def _bought(keys: CodeKeys, voucher: Voucher, session: Session) -> dict:
    batch = session.get(VoucherBatch, voucher.batch_id)
    return {"code": display(keys.code_for(batch.id, voucher.serial, voucher.variant)),
            "serial": voucher.serial, "value": {"amount": batch.value,
                                                "currency": batch.currency},
            "valid_until": isoformat(voucher.expires_at), "status": voucher.status}
