"""billing's half of vouchers: crediting a redeemed voucher to the wallet, and selling online
vouchers by card. The vouchers service owns the vouchers; billing owns money.

Redemption is a saga (ARCHITECTURE.md): billing checks the account is prepaid, vouchers redeems
the code (atomic, single use) and answers the redemption, billing credits the wallet with the
ledger source `voucher:<redemption id>` (unique). If billing dies between the two, the
`voucher_redeemed` event makes it credit later; the unique source makes it once either way.

A purchase records the payment (purpose `voucher`, reference = the offer) before the card is
charged, then asks vouchers for the voucher bought by that payment (unique per payment). If
billing dies after the charge, its own `payment_succeeded` handler asks again; a retried
request with the same Idempotency-Key finds the same payment and the same voucher.
"""

from __future__ import annotations

import datetime as dt

from marshmallow import post_load
from sqlalchemy.orm import Session

from services.billing.money import ledger, payment_methods, payments, texts
from services.billing.money.provider import PaymentProvider
from services.common import errors
from services.common.contract.billing import PurchaseIn, RedeemIn
from services.common.money import Money
from services.common.schemas import load_or_raise

PURPOSE = "voucher"


class PurchaseSchema(PurchaseIn):
    """The API's purchase with billing's default: the default card."""

    @post_load
    def _defaults(self, data, **kwargs):
        return {"payment_method_id": None, **data}


def credit(session: Session, redemption: dict, now: dt.datetime) -> dict:
    """The redeemed value into the wallet (once: the entry's source is the redemption). The
    caller settles what is due and commits."""
    value = redemption["value"]
    entry = ledger.post(session, redemption["customer_id"], value["currency"], ledger.CREDIT,
                        "voucher", value["amount"], f"Voucher {redemption['serial']}",
                        f"voucher:{redemption['id']}", now,
                        texts.text(texts.VOUCHER, serial=redemption["serial"]))
    return {"redemption": redemption, "transaction": ledger.dump_entry(entry),
            "wallet": ledger.dump_wallet(entry.wallet), "reinstated": []}


def begin_purchase(session: Session, vouchers, customer_id: str, account: dict,
                   request: dict, idempotency_key: str | None, now: dt.datetime):
    """Check the offer and record the payment (committed): (payment, card, offer).
    `account`: the customer's currency (the gateway passes what authentication told it)."""
    values = load_or_raise(PurchaseSchema(), request)
    offer = vouchers.get_offer(values["offer"])
    if offer["price"]["currency"] != account["currency"]:
        raise errors.Conflict(f"This voucher is sold in {offer['price']['currency']}; your "
                              f"account is in {account['currency']}.",
                              code="VOUCHER_CURRENCY_MISMATCH")
    method = payment_methods.get(session, customer_id, values["payment_method_id"])
    payment = payments.begin(session, customer_id, PURPOSE, Money.from_dict(offer["price"]),
                             method, idempotency_key, now, reference=offer["code"])
    return payment, method, offer


def charge(session: Session, provider: PaymentProvider, payment, now: dt.datetime,
           method=None) -> dict | None:
    """The card charged and the payment succeeded (its voucher is asked for after the
    commit); None if it was completed already. The caller commits."""
    made = payments.ask_provider(session, provider, payment, "Online voucher", method)
    paid = payments.mark_succeeded(session, payment.id, made, now)
    return None if paid is None else payments.dump(paid)


def redeem_request(request: dict) -> str:
    return load_or_raise(RedeemIn(), request)["code"]
