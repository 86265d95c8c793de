"""The texts billing generates for charge lines, invoice lines and wallet entries, as data.

Every line keeps its English `description` (for API clients and for rows written before these
texts existed) and carries `text` = {"code": ..., "params": {...}}: the portal and the PDFs word
it by `code` in the customer's language (gateway/static/i18n `lines.<code>`, and
invoicing/line_texts.py), formatting the params' dates and money for the customer's locale.
Params are strings: names as the subscription recorded them, dates as ISO dates (YYYY-MM-DD),
money as an amount in minor units with its currency (`amount`, `currency`), counts as digits.

Codes and their params:
- period_fee {name, start, end}: an item for a period (a renewal, or the rest of one)
- promotion {name}: an item's promotion (a negative line)
- credit_unused {name, start, end}: the unused part of an item given back
- device_rental {name, start, end}: a rented device for a period
- device_purchase {name}: a device bought
- top_up_card {brand, last4}: a wallet top-up by card
- voucher {serial}: a voucher redeemed into the wallet
- adjustment {reason, actor}: a wallet adjustment by staff
- service_credit {reason, actor}: an incident's service credit
- service_charges {first, count, + the first line's params}: a wallet entry paying several
  charges: the first one's text (`first` is its code) "and {count} more"
- cancellation_credit {first, count, + the first line's params}: the same, for credits given
  back to the wallet (a cancellation, a removal)
- voided {first, + the voided line's params}: a charge voided because the service was never
  delivered
- credit_note {number, reason}: a paid invoice's credit note, billed on the next invoice
- tax {name, rate}: the tax line of a preview (rate in percent, e.g. "19" or "7.7")
"""

from __future__ import annotations

import datetime as dt

PERIOD_FEE = "period_fee"
PROMOTION = "promotion"
CREDIT_UNUSED = "credit_unused"
DEVICE_RENTAL = "device_rental"
DEVICE_PURCHASE = "device_purchase"
TOP_UP_CARD = "top_up_card"
VOUCHER = "voucher"
ADJUSTMENT = "adjustment"
SERVICE_CREDIT = "service_credit"
SERVICE_CHARGES = "service_charges"
CANCELLATION_CREDIT = "cancellation_credit"
VOIDED = "voided"
CREDIT_NOTE = "credit_note"
TAX = "tax"

CODES = (PERIOD_FEE, PROMOTION, CREDIT_UNUSED, DEVICE_RENTAL, DEVICE_PURCHASE, TOP_UP_CARD,
         VOUCHER, ADJUSTMENT, SERVICE_CREDIT, SERVICE_CHARGES, CANCELLATION_CREDIT, VOIDED,
         CREDIT_NOTE, TAX)
# codes whose `first` param names another line's code, worded inside them
WRAPPING = (SERVICE_CHARGES, CANCELLATION_CREDIT, VOIDED)


def _param(value) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def text(code: str, **params) -> dict:
    """{"code", "params"}: params as strings (dates as ISO dates); None params left out."""
    if code not in CODES:
        raise ValueError(f"unknown line text {code}")  # a bug, not input
    return {"code": code, "params": {k: _param(v) for k, v in params.items() if v is not None}}


def period(code: str, name: str, start, end) -> dict:
    return text(code, name=name, start=start, end=end)


def wrap(code: str, first: dict | None, **params) -> dict | None:
    """A text about other lines (several charges paid at once, a voided one): the first line's
    code as `first` and its params beside the new ones; None if that line has no text."""
    if not first:
        return None
    return text(code, **first.get("params", {}), first=first["code"], **params)


def rental_item_name(name: str) -> str:
    """A rented device's item is named "<model> rental" (English, as recorded since the start);
    its text names the model."""
    return name[:-len(" rental")] if name.endswith(" rental") else name
