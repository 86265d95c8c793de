"""The server's message catalog for generated line texts (money/texts.py): a template per code and
language, the same ones the portal has as `lines.<code>` in gateway/static/i18n/<lang>.json
(tests/unit/test_line_texts.py checks that both have every code in every language, alike).

    render(text, loc) -> str | None   # None: no text (a row from before), use the description

Dates (`start`, `end`) are formatted with Babel's "medium" format, the tax rate as a number, in
the given Babel `Locale` (pass objects, not strings: see pdf._locale). Languages without a
catalog get English."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal

from services.billing.money import texts

CATALOG: dict[str, dict[str, str]] = {
    "en": {
        texts.PERIOD_FEE: "{name} ({start} – {end})",
        texts.PROMOTION: "Promotion on {name}",
        texts.CREDIT_UNUSED: "Credit for unused {name} ({start} – {end})",
        texts.DEVICE_RENTAL: "{name} rental ({start} – {end})",
        texts.DEVICE_PURCHASE: "{name} (purchase)",
        texts.TOP_UP_CARD: "Top-up by card {brand} …{last4}",
        texts.VOUCHER: "Voucher {serial}",
        texts.ADJUSTMENT: "Adjustment: {reason} (by {actor})",
        texts.SERVICE_CREDIT: "Service credit: {reason} (by {actor})",
        texts.SERVICE_CHARGES: "{first} and {count} more",
        texts.CANCELLATION_CREDIT: "{first} and {count} more",
        texts.VOIDED: "Voided, not delivered: {first}",
        texts.CREDIT_NOTE: "Credit note for invoice {number}: {reason}",
        texts.TAX: "{name} {rate} %",
    },
    "de": {
        texts.PERIOD_FEE: "{name} ({start} – {end})",
        texts.PROMOTION: "Aktionsrabatt auf {name}",
        texts.CREDIT_UNUSED: "Gutschrift für nicht genutzte Zeit: {name} ({start} – {end})",
        texts.DEVICE_RENTAL: "Miete {name} ({start} – {end})",
        texts.DEVICE_PURCHASE: "{name} (Kauf)",
        texts.TOP_UP_CARD: "Aufladung per Karte {brand} …{last4}",
        texts.VOUCHER: "Gutschein {serial}",
        texts.ADJUSTMENT: "Korrektur: {reason} (durch {actor})",
        texts.SERVICE_CREDIT: "Servicegutschrift: {reason} (durch {actor})",
        texts.SERVICE_CHARGES: "{first} und {count} weitere",
        texts.CANCELLATION_CREDIT: "{first} und {count} weitere",
        texts.VOIDED: "Storniert, nicht erbracht: {first}",
        texts.CREDIT_NOTE: "Gutschrift zur Rechnung {number}: {reason}",
        texts.TAX: "{name} {rate} %",
    },
    "it": {
        texts.PERIOD_FEE: "{name} ({start} – {end})",
        texts.PROMOTION: "Promozione su {name}",
        texts.CREDIT_UNUSED: "Accredito per {name} non utilizzato ({start} – {end})",
        texts.DEVICE_RENTAL: "Noleggio {name} ({start} – {end})",
        texts.DEVICE_PURCHASE: "{name} (acquisto)",
        texts.TOP_UP_CARD: "Ricarica con carta {brand} …{last4}",
        texts.VOUCHER: "Voucher {serial}",
        texts.ADJUSTMENT: "Rettifica: {reason} (da {actor})",
        texts.SERVICE_CREDIT: "Accredito per disservizio: {reason} (da {actor})",
        texts.SERVICE_CHARGES: "{first} e altri {count}",
        texts.CANCELLATION_CREDIT: "{first} e altri {count}",
        texts.VOIDED: "Annullato, servizio non erogato: {first}",
        texts.CREDIT_NOTE: "Nota di credito per la fattura {number}: {reason}",
        texts.TAX: "{name} {rate} %",
    },
    "th": {
        texts.PERIOD_FEE: "{name} ({start} – {end})",
        texts.PROMOTION: "โปรโมชันสำหรับ {name}",
        texts.CREDIT_UNUSED: "เครดิตคืนสำหรับ {name} ส่วนที่ไม่ได้ใช้ ({start} – {end})",
        texts.DEVICE_RENTAL: "ค่าเช่า {name} ({start} – {end})",
        texts.DEVICE_PURCHASE: "{name} (ซื้อขาด)",
        texts.TOP_UP_CARD: "เติมเงินด้วยบัตร {brand} …{last4}",
        texts.VOUCHER: "บัตรเติมเงิน {serial}",
        texts.ADJUSTMENT: "ปรับยอด: {reason} (โดย {actor})",
        texts.SERVICE_CREDIT: "เครดิตชดเชยบริการ: {reason} (โดย {actor})",
        texts.SERVICE_CHARGES: "{first} และอีก {count} รายการ",
        texts.CANCELLATION_CREDIT: "{first} และอีก {count} รายการ",
        texts.VOIDED: "ยกเลิกเนื่องจากไม่ได้ให้บริการ: {first}",
        texts.CREDIT_NOTE: "ใบลดหนี้ของใบแจ้งค่าบริการ {number}: {reason}",
        texts.TAX: "{name} {rate} %",
    },
}

CARD_BRANDS = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express"}
_DATES = ("start", "end")


class _Params(dict):
    def __missing__(self, key: str) -> str:  # a template's placeholder the params lack
        return "{" + key + "}"


def _params(params: dict, loc: Locale) -> _Params:
    out = _Params((str(k), str(v)) for k, v in (params or {}).items())
    for name in _DATES:
        if name in out:
            try:
                out[name] = format_date(dt.date.fromisoformat(out[name][:10]), format="medium",
                                        locale=loc)
            except ValueError:
                pass
    if "rate" in out:
        try:
            out["rate"] = format_decimal(Decimal(out["rate"]), locale=loc)
        except InvalidOperation:
            pass
    if "brand" in out:
        brand = out["brand"].lower()
        out["brand"] = CARD_BRANDS.get(brand, brand.replace("_", " ").title())
    return out


def render(text: dict | None, loc: Locale) -> str | None:
    """The text in `loc`'s language (English if it has no catalog); None without a text or for
    a code this code does not know (the caller shows the description)."""
    if not text or not isinstance(text, dict):
        return None
    catalog = CATALOG.get(loc.language, CATALOG["en"])
    template = catalog.get(text.get("code"))
    if template is None:
        return None
    values = _params(text.get("params") or {}, loc)
    first = catalog.get(values.get("first", ""))
    if first is not None:
        values["first"] = first.format_map(values)
    return template.format_map(values)
