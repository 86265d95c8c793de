"""Invoice and receipt PDFs: pure functions from the API's dicts to PDF bytes (fpdf2).

    render_invoice(invoice, customer, operator, locale="en") -> bytes
    render_receipt(payment, customer, operator, locale="en", invoice=None) -> bytes

No database, no nameko, no I/O except reading the font files (DejaVu Sans; for Thai, TLWG's
Loma) once per process.
Rendering is CPU work (about 25 ms for a one-page invoice on the 2-core dev machine once the fonts
are loaded; 0.4 s for the first document of a process): in a nameko service run it off the
eventlet hub (`eventlet.tpool.execute(render_invoice, ...)`; safe in real threads), and call
`warm_up()` at start-up, in the hub's thread, so the first document does not pay the font set-up
and no Babel locale data is loaded from a tpool thread (see `_locale`).

Money is formatted with `format_money` for the customer's language, dates with Babel's "long"
format; labels, and the lines' generated texts (their `text` codes, line_texts.py), exist in
English, German, Italian and Thai (other languages get English labels with
their own number and date formats). fpdf2's built-in fonts have no "€", so DejaVu Sans (regular,
bold) is embedded, subset to the glyphs used. DejaVu has no Thai: a document with Thai text (its
labels, a package name) also embeds Loma (Debian `fonts-thai-tlwg`, regular and bold), set as
fpdf2's fallback font, so Thai characters are written in Loma and everything else in DejaVu.

Font cost, and how it is cached: parsing DejaVu (fontTools) costs about 45 ms per document and
subsetting the full 6,000-glyph font at output about 30 ms. So, once per process, each face is cut
down to the scripts customer data needs (Latin, Greek, Cyrillic, punctuation, currency signs) and
its metrics are parsed once; each document then gets its own light `TTFFont` copy over its own
fontTools object (fpdf2 subsets that object in place at output, so it is never shared). A
document whose text needs a glyph outside that set (Armenian, Hebrew, …) uses the full font
(slower, same result). The Thai faces (small: 363 glyphs) are parsed once per process the same
way and copied per document, only for documents that contain Thai. If fpdf2's internals ever
change shape, the plain `add_font` path is used.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from fontTools import subset as ft_subset
from fontTools import ttLib
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import SubsetMap, TTFFont

from services.billing.invoicing import line_texts
from services.common.money import Money, format_money

__all__ = ["DEFAULT_OPERATOR", "render_invoice", "render_receipt", "warm_up"]

DEFAULT_OPERATOR = {
    "name": "Example IPTV GmbH",
    "address": "Hauptstraße 1, 10115 Berlin, DE",
    "vat_id": "DE123456789",
    "email": "billing@example.com",
}

FONT_DIR = Path(os.environ.get("PDF_FONT_DIR", "/usr/share/fonts/truetype/dejavu"))
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
FAMILY = "dejavu"
THAI_FONT_DIR = Path(os.environ.get("PDF_THAI_FONT_DIR", "/usr/share/fonts/truetype/tlwg"))
THAI_FONT_FILES = {"": "Loma.ttf", "B": "Loma-Bold.ttf"}
THAI_FAMILY = "thai"
_THAI_RANGE = (0x0E00, 0x0E7F)

# What the cut-down faces keep: Latin (with IPA, modifiers, combining marks), Greek, Cyrillic,
# Latin Extended Additional, general punctuation, super/subscripts, currency signs, letterlike
# symbols, number forms, the minus sign. Anything else makes that document use the full face.
_CORE_RANGES = ((0x20, 0x7E), (0xA0, 0x52F), (0x1E00, 0x1EFF), (0x2000, 0x218F),
                (0x2212, 0x2212))

# ---------------------------------------------------------------------------------------------
# Labels

LABELS = {
    "en": {
        "invoice": "Invoice", "receipt": "Receipt", "bill_to": "Bill to",
        "received_from": "Received from", "number": "Invoice number",
        "issue_date": "Issue date", "due_date": "Due date", "period": "Billing period",
        "description": "Description", "tax_rate": "VAT rate", "amount": "Amount",
        "subtotal": "Subtotal", "discount": "Discount", "credit": "Credit", "vat": "VAT",
        "on": "on", "total": "Total", "amount_paid": "Amount paid",
        "amount_due": "Amount due", "vat_id": "VAT ID", "email": "Email",
        "paid": "PAID", "void": "VOID", "overdue": "OVERDUE",
        "terms": "Payment terms",
        "pay_by": "Please pay by {date}, quoting the invoice number {number}.",
        "paid_note": "This invoice has been paid in full. Thank you.",
        "void_note": "This invoice has been voided. No payment is due.",
        "page": "Page {page} of {pages}", "payment_id": "Payment ID", "date": "Date",
        "payment_method": "Payment method", "paid_for": "Paid for",
        "invoice_ref": "Invoice {number}", "top_up": "Wallet top-up", "status": "Status",
        "thanks": "Thank you for your payment.",
        "statuses": {"succeeded": "Succeeded", "pending": "Pending", "processing": "Processing",
                     "failed": "Failed", "refunded": "Refunded", "canceled": "Canceled"},
    },
    "de": {
        "invoice": "Rechnung", "receipt": "Zahlungsbeleg", "bill_to": "Rechnungsempfänger",
        "received_from": "Zahlung von", "number": "Rechnungsnummer",
        "issue_date": "Rechnungsdatum", "due_date": "Fällig am",
        "period": "Leistungszeitraum", "description": "Beschreibung",
        "tax_rate": "USt.-Satz", "amount": "Betrag", "subtotal": "Zwischensumme",
        "discount": "Rabatt", "credit": "Gutschrift", "vat": "USt.", "on": "auf",
        "total": "Gesamtbetrag", "amount_paid": "Bereits bezahlt",
        "amount_due": "Offener Betrag", "vat_id": "USt-IdNr.", "email": "E-Mail",
        "paid": "BEZAHLT", "void": "STORNIERT", "overdue": "ÜBERFÄLLIG",
        "terms": "Zahlungsbedingungen",
        "pay_by": "Bitte zahlen Sie bis zum {date} unter Angabe der Rechnungsnummer {number}.",
        "paid_note": "Diese Rechnung ist vollständig bezahlt. Vielen Dank.",
        "void_note": "Diese Rechnung wurde storniert. Es ist keine Zahlung fällig.",
        "page": "Seite {page} von {pages}", "payment_id": "Zahlungs-ID", "date": "Datum",
        "payment_method": "Zahlungsmittel", "paid_for": "Bezahlt für",
        "invoice_ref": "Rechnung {number}", "top_up": "Guthabenaufladung", "status": "Status",
        "thanks": "Vielen Dank für Ihre Zahlung.",
        "statuses": {"succeeded": "Erfolgreich", "pending": "Ausstehend",
                     "processing": "In Bearbeitung", "failed": "Fehlgeschlagen",
                     "refunded": "Erstattet", "canceled": "Abgebrochen"},
    },
    "it": {
        "invoice": "Fattura", "receipt": "Ricevuta", "bill_to": "Intestatario",
        "received_from": "Ricevuto da", "number": "Numero fattura",
        "issue_date": "Data di emissione", "due_date": "Scadenza",
        "period": "Periodo di fatturazione", "description": "Descrizione",
        "tax_rate": "Aliquota IVA", "amount": "Importo", "subtotal": "Imponibile",
        "discount": "Sconto", "credit": "Accredito", "vat": "IVA", "on": "su",
        "total": "Totale", "amount_paid": "Già pagato", "amount_due": "Da pagare",
        "vat_id": "Partita IVA", "email": "E-mail",
        "paid": "PAGATA", "void": "ANNULLATA", "overdue": "SCADUTA",
        "terms": "Condizioni di pagamento",
        "pay_by": "Si prega di pagare entro il {date} indicando il numero di fattura {number}.",
        "paid_note": "Questa fattura è stata interamente pagata. Grazie.",
        "void_note": "Questa fattura è stata annullata. Nessun pagamento è dovuto.",
        "page": "Pagina {page} di {pages}", "payment_id": "ID pagamento", "date": "Data",
        "payment_method": "Metodo di pagamento", "paid_for": "Pagato per",
        "invoice_ref": "Fattura {number}", "top_up": "Ricarica del credito", "status": "Stato",
        "thanks": "Grazie per il pagamento.",
        "statuses": {"succeeded": "Riuscito", "pending": "In attesa",
                     "processing": "In lavorazione", "failed": "Non riuscito",
                     "refunded": "Rimborsato", "canceled": "Annullato"},
    },
    "th": {
        "invoice": "ใบแจ้งค่าบริการ", "receipt": "ใบเสร็จรับเงิน", "bill_to": "เรียกเก็บจาก",
        "received_from": "ได้รับชำระจาก", "number": "เลขที่ใบแจ้งค่าบริการ",
        "issue_date": "วันที่ออก", "due_date": "วันครบกำหนดชำระ", "period": "รอบบิล",
        "description": "รายการ", "tax_rate": "อัตราภาษี", "amount": "จำนวนเงิน",
        "subtotal": "ยอดรวมก่อนภาษี", "discount": "ส่วนลด", "credit": "เครดิต",
        "vat": "ภาษีมูลค่าเพิ่ม", "on": "จากยอด", "total": "ยอดรวมทั้งสิ้น",
        "amount_paid": "ชำระแล้ว", "amount_due": "ยอดค้างชำระ",
        "vat_id": "เลขประจำตัวผู้เสียภาษี", "email": "อีเมล",
        "paid": "ชำระแล้ว", "void": "ยกเลิก", "overdue": "เกินกำหนด",
        "terms": "เงื่อนไขการชำระเงิน",
        "pay_by": "กรุณาชำระภายในวันที่ {date} โดยระบุเลขที่ใบแจ้งค่าบริการ {number}",
        "paid_note": "ใบแจ้งค่าบริการนี้ชำระครบถ้วนแล้ว ขอบคุณที่ใช้บริการ",
        "void_note": "ใบแจ้งค่าบริการนี้ถูกยกเลิกแล้ว ไม่ต้องชำระเงิน",
        "page": "หน้า {page} จาก {pages}", "payment_id": "รหัสการชำระเงิน", "date": "วันที่",
        "payment_method": "วิธีการชำระเงิน", "paid_for": "ชำระสำหรับ",
        "invoice_ref": "ใบแจ้งค่าบริการ {number}", "top_up": "เติมเงินเข้ากระเป๋าเงิน",
        "status": "สถานะ", "thanks": "ขอบคุณสำหรับการชำระเงิน",
        "statuses": {"succeeded": "สำเร็จ", "pending": "รอดำเนินการ",
                     "processing": "กำลังดำเนินการ", "failed": "ไม่สำเร็จ",
                     "refunded": "คืนเงินแล้ว", "canceled": "ยกเลิกแล้ว"},
    },
}

CARD_BRANDS = {"visa": "Visa", "mastercard": "Mastercard", "amex": "American Express",
               "american_express": "American Express", "discover": "Discover",
               "diners": "Diners Club", "jcb": "JCB", "unionpay": "UnionPay",
               "maestro": "Maestro", "cartes_bancaires": "Cartes Bancaires"}

# ---------------------------------------------------------------------------------------------
# Fonts: parsed and cut down once per process, copied cheaply per document


@dataclass(frozen=True)
class _Face:
    data: bytes  # the TTF this document's fontTools object is read from
    proto: TTFFont  # metrics parsed once; never output itself


_faces: dict[tuple[str, str], _Face] = {}  # (variant "core"|"full"|"thai", style) -> face
_core_chars: frozenset[int] | None = None


def _cut_down(path: Path) -> bytes:
    font = ttLib.TTFont(path, recalcTimestamp=False)
    options = ft_subset.Options()
    options.glyph_names = True
    options.notdef_outline = True
    options.recommended_glyphs = True
    options.layout_features = []
    options.hinting = False
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "kern", "hdmx", "FFTM", "MATH", "meta"]
    subsetter = ft_subset.Subsetter(options)
    subsetter.populate(unicodes=[c for lo, hi in _CORE_RANGES for c in range(lo, hi + 1)])
    subsetter.subset(font)
    out = BytesIO()
    font.save(out)
    return out.getvalue()


def _face(variant: str, style: str) -> _Face:
    face = _faces.get((variant, style))
    if face is None:
        # Built without a lock: two threads racing both build a valid face, the last one wins.
        family = THAI_FAMILY if variant == "thai" else FAMILY
        path = (THAI_FONT_DIR / THAI_FONT_FILES[style] if variant == "thai"
                else FONT_DIR / FONT_FILES[style])
        data = _cut_down(path) if variant == "core" else path.read_bytes()
        proto = TTFFont(FPDF(), BytesIO(data), f"{family}{style}", style)
        face = _faces[(variant, style)] = _Face(data, proto)
    return face


def _core_charset() -> frozenset[int]:
    global _core_chars
    if _core_chars is None:
        _core_chars = frozenset(_face("core", "").proto.cmap) & frozenset(
            _face("core", "B").proto.cmap)
    return _core_chars


def warm_up(locales: Iterable[str] = ("en", "de", "it", "th")) -> None:
    """Do the once-per-process work now (about 0.4 s: fonts cut down and parsed, locale data
    loaded), e.g. when a service starts, before any render runs in `eventlet.tpool`."""
    _core_charset()
    locales = tuple(locales)
    if any(str(tag).lower().startswith("th") for tag in locales):
        for style in THAI_FONT_FILES:
            _face("thai", style)
    for tag in locales:
        _locale(tag)


# Large, read-only per face: shared by every document's copy. Every other attribute of the
# prototype is copied (shallowly) or made fresh: fpdf2 writes into some of them at output (the
# font descriptor gets the document's object number and font stream).
_SHARED_FONT_ATTRIBUTES = frozenset({"cmap", "glyph_ids"})


def _install_font(pdf: FPDF, face: _Face, style: str, family: str = FAMILY) -> None:
    """A fresh TTFFont for this document, built from the face's parsed metrics without parsing
    the font again; it owns its fontTools object, which fpdf2 subsets in place at output."""
    proto = face.proto
    font = TTFFont.__new__(TTFFont)
    stream = BytesIO(face.data)
    fresh = {"i": len(pdf.fonts) + 1, "ttffile": stream,
             "ttfont": ttLib.TTFont(stream, recalcTimestamp=False, recalcBBoxes=False,
                                    lazy=True),
             "missing_glyphs": [], "biggest_size_pt": 0, "_hbfont": None}
    for name in TTFFont.__slots__:
        if name in fresh or name == "subset" or not hasattr(proto, name):
            continue
        value = getattr(proto, name)
        setattr(font, name, value if name in _SHARED_FONT_ATTRIBUTES else copy.copy(value))
    for name, value in fresh.items():
        setattr(font, name, value)
    font.subset = SubsetMap(font)
    pdf.fonts[f"{family}{style}"] = font


def _setup_fonts(pdf: FPDF, texts: Iterable[str]) -> None:
    thai = False
    try:
        core = _core_charset()
        extra = {ord(ch) for text in texts for ch in text if ch >= " " and ord(ch) not in core}
        thai = any(_THAI_RANGE[0] <= c <= _THAI_RANGE[1] for c in extra)
        extra = {c for c in extra if not _THAI_RANGE[0] <= c <= _THAI_RANGE[1]}
        # The full face only when it has one of those glyphs (DejaVu has no CJK, for instance).
        full = extra and not extra.isdisjoint(_face("full", "").proto.cmap)
        for style in FONT_FILES:
            _install_font(pdf, _face("full" if full else "core", style), style)
        if thai:
            for style in THAI_FONT_FILES:
                _install_font(pdf, _face("thai", style), style, THAI_FAMILY)
    except (AttributeError, TypeError, KeyError, ValueError):
        # fpdf2's font object changed shape: the documented way (about 45 ms more per document).
        for key in (FAMILY, f"{FAMILY}B", THAI_FAMILY, f"{THAI_FAMILY}B"):
            pdf.fonts.pop(key, None)
        for style, name in FONT_FILES.items():
            pdf.add_font(FAMILY, style, str(FONT_DIR / name))
        if thai:
            for style, name in THAI_FONT_FILES.items():
                pdf.add_font(THAI_FAMILY, style, str(THAI_FONT_DIR / name))
    if thai:
        # Characters DejaVu lacks are written in Loma, the same style (bold in bold).
        pdf.set_fallback_fonts([THAI_FAMILY], exact_match=True)


# ---------------------------------------------------------------------------------------------
# Formatting helpers

INK = (33, 37, 41)
MUTED = (108, 117, 125)
RULE = (206, 212, 218)
SHADE = (241, 243, 245)
ACCENT = (13, 71, 161)
MARKS = {"paid": (25, 135, 84), "void": (200, 35, 51), "overdue": (214, 104, 0)}


_locales: dict[str, Locale] = {}


def _locale(tag: str | None) -> Locale:
    """The Babel locale for a language tag ("de", "de-AT", "en_GB"; unknown ones give English),
    one object per language for the whole process, its CLDR data loaded on first use. Passing
    these objects (never strings) to Babel keeps rendering off `babel.localedata.load`, whose
    lock becomes a green lock under eventlet: taken by two OS threads at once (eventlet.tpool),
    it never wakes the waiter up."""
    key = str(tag or "en")
    loc = _locales.get(key)
    if loc is None:
        try:
            parsed = Locale.parse(key.replace("-", "_"))
        except (UnknownLocaleError, ValueError, TypeError):
            parsed = Locale.parse("en")
        loc = _locales.setdefault(str(parsed), parsed)
        loc.territories  # noqa: B018 - loads the locale's data now, once
        if len(_locales) < 512:  # tags come from user data: bounded
            _locales[key] = loc
    return loc


def _labels(loc: Locale) -> dict:
    return LABELS.get(loc.language, LABELS["en"])


def _text(value) -> str:
    """One line of printable, NFC-normalised text: control characters (newlines too) become
    spaces; invisible format characters (zero-width joiners, direction marks) are dropped."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    text = "".join(" " if ch < " " else ch for ch in text
                   if ch < " " or unicodedata.category(ch) != "Cf")
    return " ".join(text.split())


def _strings(*values) -> Iterator[str]:
    for value in values:
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            yield from _strings(*value.values())
        elif isinstance(value, list | tuple):
            yield from _strings(*value)


def _chain(*groups: Iterable[str]) -> Iterator[str]:
    for group in groups:
        yield from group


def _money(data: dict | None, currency: str) -> Money:
    if not data:
        return Money.zero(currency)
    return Money.from_dict(data)


def _fmt(money: Money, loc: Locale) -> str:
    return format_money(money, loc)  # a Locale object: Babel accepts it where a tag goes


def _parse_date(value) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _date(value, loc: Locale) -> str:
    day = _parse_date(value)
    return format_date(day, format="long", locale=loc) if day else ""


def _instant(value) -> dt.datetime | None:
    if value is None or value == "":
        return None
    when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _rate(basis_points: int, loc: Locale) -> str:
    return f"{format_decimal(Decimal(basis_points) / 100, locale=loc)} %"


def _address_lines(address: dict | None, loc: Locale) -> list[str]:
    if not address:
        return []
    lines = [_text(address.get("line1")), _text(address.get("line2"))]
    lines.append(" ".join(x for x in (_text(address.get("postal_code")),
                                      _text(address.get("city"))) if x))
    country = _text(address.get("country"))
    lines.append(loc.territories.get(country.upper(), country) if country else "")
    return [line for line in lines if line]


def _card(method: dict | None) -> str:
    """"Visa •••• 4242": the brand and the last four digits, never anything else."""
    if not method:
        return "—"
    raw_brand = str(method.get("brand") or "").strip().lower()
    brand = CARD_BRANDS.get(raw_brand) or "".join(
        ch for ch in raw_brand.replace("_", " ") if ch.isalpha() or ch in " -").title()[:24]
    digits = "".join(ch for ch in str(method.get("last4") or "") if ch.isdigit())
    last4 = f"•••• {digits[-4:]}" if len(digits) >= 4 else ""
    return " ".join(x for x in (brand, last4) if x) or "—"


# ---------------------------------------------------------------------------------------------
# Layout


class _Document(FPDF):
    MARGIN = 18.0

    def __init__(self, loc: Locale, labels: dict, title: str, footer_left: str,
                 created: dt.datetime | None, texts: Iterable[str]) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.loc, self.labels, self.footer_left = loc, labels, footer_left
        self.set_margins(self.MARGIN, self.MARGIN, self.MARGIN)
        self.set_auto_page_break(True, margin=22)
        self.set_title(title)
        self.set_lang(str(loc).replace("_", "-"))
        self.set_creator("customer portal")
        if created is not None:
            self.set_creation_date(created)  # deterministic bytes for the same input
        _setup_fonts(self, _chain(texts, _strings(labels)))
        self.on_new_page = None  # called after a page break inside a table

    def normalize_text(self, text: str) -> str:
        """Characters the font has no glyph for become "?" (instead of an empty box and a
        logged warning at output: logging takes locks, which eventlet makes green)."""
        cmap = getattr(self.current_font, "cmap", None)
        if cmap is None or all(ord(ch) in cmap for ch in text):
            return super().normalize_text(text)
        fallbacks = [self.fonts[key].cmap for key in self._fallback_font_ids]
        return super().normalize_text("".join(
            ch if ord(ch) in cmap or any(ord(ch) in other for other in fallbacks) else "?"
            for ch in text))

    def _render_styled_text_line(self, *args, **kwargs):
        """fpdf2 (2.8) switches to a fallback font inside a line's text object but still
        believes the page's font is the one it set before, so the next line in that font would
        be written with the fallback font's glyph codes. With fallback fonts (Thai), every line
        therefore sets its font again."""
        try:
            return super()._render_styled_text_line(*args, **kwargs)
        finally:
            if self._fallback_font_ids:
                self.current_font_is_set_on_page = False

    def use_font(self, size: float, bold: bool = False, color=INK) -> None:
        self.set_font(FAMILY, "B" if bold else "", size)
        self.set_text_color(*color)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_y(-12)
        self.use_font(7.5, color=MUTED)
        half = self.epw / 2
        self.cell(half, 4, self.footer_left)
        self.cell(half, 4, self.labels["page"].format(page=self.page_no(), pages="{nb}"), align="R")

    def wrap(self, width: float, text: str) -> list[str]:
        """`text` broken into lines that fit `width` with the current font (fast when it fits)."""
        if self.get_string_width(text) <= width - 2 * self.c_margin:
            return [text]
        return [str(line) for line in self.multi_cell(width, 5, text, dry_run=True,
                                                       output="LINES")] or [""]

    def text_block(self, width: float, height: float, text: str, align: str = "L",
                   fill: bool = False) -> None:
        """Wrapped text from the current position; ends below it, at the same x."""
        x = self.get_x()
        for line in self.wrap(width, text):
            self.set_x(x)
            self.cell(width, height, line, align=align, fill=fill, new_x=XPos.LEFT,
                      new_y=YPos.NEXT)

    def header_block(self, operator: dict, title: str, reference: str,
                     mark: str | None = None) -> None:
        """Operator on the left; the document's title and number on the right."""
        top, right_w = self.get_y(), 70.0
        left_w = self.epw - right_w - 4
        self.use_font(14, bold=True)
        self.text_block(left_w, 6.5, _text(operator.get("name")))
        self.ln(1)
        self.use_font(8.5, color=MUTED)
        details = [_text(operator.get("address"))]
        if operator.get("vat_id"):
            details.append(f"{self.labels['vat_id']}: {_text(operator.get('vat_id'))}")
        if operator.get("email"):
            details.append(_text(operator.get("email")))
        for line in details:
            self.text_block(left_w, 4.2, line)
        left_end = self.get_y()

        x = self.l_margin + self.epw - right_w
        self.set_xy(x, top)
        self.use_font(22, bold=True, color=ACCENT)
        self.cell(right_w, 10, title, align="R", new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.use_font(10.5, bold=True)
        self.text_block(right_w, 5, reference, align="R")
        if mark:
            self.stamp(mark, x + right_w, self.get_y() + 2)
        self.set_y(max(left_end, self.get_y()) + 5)
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.6)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_line_width(0.2)
        self.ln(6)

    def stamp(self, status: str, right: float, y: float) -> None:
        """A coloured, framed mark (PAID / VOID / OVERDUE) ending at `right`."""
        color = MARKS[status]
        self.use_font(13, bold=True, color=color)
        text = self.labels[status]
        width = self.get_string_width(text) + 8
        self.set_draw_color(*color)
        self.set_line_width(0.8)
        self.rect(right - width, y, width, 9, round_corners=True, corner_radius=1.5)
        self.set_line_width(0.2)
        self.set_xy(right - width, y)
        self.cell(width, 9, text, align="C", new_x=XPos.LEFT, new_y=YPos.NEXT)

    def party_and_facts(self, heading: str, party: list[str],
                        facts: list[tuple[str, str]]) -> None:
        """The customer on the left; label/value facts (dates, ids) on the right."""
        top = self.get_y()
        left_w, label_w, value_w = 74.0, 30.0, 70.0
        self.use_font(7.5, bold=True, color=MUTED)
        self.cell(left_w, 5, heading.upper(), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        for i, line in enumerate(party):
            self.use_font(10.5, bold=True) if i == 0 else self.use_font(9.5)
            self.text_block(left_w, 5, line)
        left_end = self.get_y()

        x = self.l_margin + self.epw - label_w - value_w
        self.set_y(top)
        for label, value in facts:
            self.set_x(x)
            self.use_font(9, color=MUTED)
            self.cell(label_w, 5.2, label)
            self.use_font(9.5)
            self.text_block(value_w, 5.2, value, align="R")
        self.set_y(max(left_end, self.get_y()) + 8)

    def ensure_space(self, height: float) -> None:
        if self.get_y() + height > self.page_break_trigger:
            self.add_page()
            if self.on_new_page:
                self.on_new_page()


# ---------------------------------------------------------------------------------------------
# Invoice

_DESC_W, _RATE_W, _AMOUNT_W = 112.0, 27.0, 35.0
_LINE_H = 4.8


def _table_header(pdf: _Document) -> None:
    t = pdf.labels
    pdf.set_fill_color(*SHADE)
    pdf.use_font(8.5, bold=True, color=MUTED)
    pdf.cell(_DESC_W, 7, "  " + t["description"], fill=True)
    pdf.cell(_RATE_W, 7, t["tax_rate"], align="R", fill=True)
    pdf.cell(_AMOUNT_W, 7, t["amount"] + "  ", align="R", fill=True,
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1)


def _table_row(pdf: _Document, description: str, rate: str, amount: str,
               tag: str | None) -> None:
    text = f"{tag}: {description}" if tag and not description.lower().startswith(
        tag.lower()) else description
    pdf.use_font(9.5)
    lines = pdf.wrap(_DESC_W - 4, text)
    height = len(lines) * _LINE_H + 2.4
    pdf.ensure_space(height)  # may start a page (footer and header change the font)
    pdf.use_font(9.5, color=MARKS["paid"] if tag else INK)
    y = pdf.get_y() + 1.2
    pdf.set_xy(pdf.l_margin + 2, y)
    for line in lines:
        pdf.cell(_DESC_W - 4, _LINE_H, line, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_xy(pdf.l_margin + _DESC_W, y)
    pdf.cell(_RATE_W, _LINE_H, rate, align="R")
    pdf.cell(_AMOUNT_W - 2, _LINE_H, amount, align="R")
    bottom = y + height - 1.2
    pdf.set_draw_color(*RULE)
    pdf.line(pdf.l_margin, bottom, pdf.w - pdf.r_margin, bottom)
    pdf.set_xy(pdf.l_margin, bottom)


def _tax_rows(invoice: dict, lines: list[dict], currency: str, loc: Locale,
              t: dict) -> list[tuple[str, Money]]:
    """One row per tax rate ("VAT 19 %"), with the net base when there are several; a single
    "VAT" row with the invoice's tax when the lines do not carry consistent taxes."""
    tax = _money(invoice.get("tax"), currency)
    by_rate: dict[int, list[Money]] = {}
    for line in lines:
        if "tax_rate_bp" not in line or not line.get("tax"):
            return [(t["vat"], tax)]
        net, line_tax = _money(line.get("amount"), currency), _money(line["tax"], currency)
        sums = by_rate.setdefault(int(line["tax_rate_bp"]), [Money.zero(currency)] * 2)
        sums[0], sums[1] = sums[0] + net, sums[1] + line_tax
    if not by_rate or sum(s[1].amount for s in by_rate.values()) != tax.amount:
        return [(t["vat"], tax)]
    if len(by_rate) == 1:
        rate = next(iter(by_rate))
        return [(f"{t['vat']} {_rate(rate, loc)}", tax)]
    return [(f"{t['vat']} {_rate(rate, loc)} {t['on']} {_fmt(net, loc)}", rate_tax)
            for rate, (net, rate_tax) in sorted(by_rate.items(), reverse=True)]


def _totals(pdf: _Document, rows: list[tuple[str, str, str]]) -> None:
    """Right-aligned label/value rows; style "" plain, "B" bold, "BB" bold and larger, "-" rule."""
    label_w, value_w = 80.0, 40.0
    x = pdf.l_margin + pdf.epw - label_w - value_w
    pdf.ensure_space(len(rows) * 6.5 + 4)
    pdf.ln(3)
    for label, value, style in rows:
        if style == "-":
            pdf.set_draw_color(*INK)
            pdf.line(x + 20, pdf.get_y() + 1, pdf.w - pdf.r_margin, pdf.get_y() + 1)
            pdf.ln(2.5)
            continue
        size = 11.5 if style == "BB" else 9.5
        pdf.set_x(x)
        pdf.use_font(size, bold=bool(style), color=INK if style else MUTED)
        pdf.cell(label_w, 6, label, align="R")
        pdf.use_font(size, bold=bool(style))
        pdf.cell(value_w - 2, 6, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_invoice(invoice: dict, customer: dict, operator: dict,
                   locale: str = "en") -> bytes:
    """The invoice as a PDF document, in the customer's language (`en`, `de`, `it`, `th`; others get
    English labels with their own number and date formats)."""
    operator = operator or DEFAULT_OPERATOR
    loc = _locale(locale)
    t = _labels(loc)
    currency = invoice.get("currency") or (invoice.get("total") or {}).get("currency")
    number = _text(invoice.get("number") or invoice.get("id"))
    status = str(invoice.get("status") or "").lower()
    lines = list(invoice.get("lines") or [])
    # each line in the customer's language from its text (code and params), else as recorded
    described = [_text(line_texts.render(line.get("text"), loc) or line.get("description"))
                 for line in lines]
    issue = _parse_date(invoice.get("issue_date"))
    created = dt.datetime.combine(issue, dt.time(), dt.UTC) if issue else None
    pdf = _Document(loc, t, f"{t['invoice']} {number}",
                    f"{_text(operator.get('name'))} · {t['invoice']} {number}", created,
                    _strings(invoice, customer, operator, described))
    pdf.add_page()
    mark = status if status in MARKS else None
    pdf.header_block(operator, t["invoice"], number, mark)

    party = [_text(customer.get("name")), *_address_lines(customer.get("address"), loc)]
    if customer.get("email"):
        party.append(_text(customer["email"]))
    period = invoice.get("period") or {}
    facts = [(t["number"], number), (t["issue_date"], _date(invoice.get("issue_date"), loc)),
             (t["due_date"], _date(invoice.get("due_date"), loc))]
    if period.get("start") or period.get("end"):
        start, end = (_date(period.get(k), loc).replace(" ", "\u00a0") for k in ("start", "end"))
        facts.append((t["period"], f"{start} – {end}"))  # breaks only at the dash
    pdf.party_and_facts(t["bill_to"], [p for p in party if p], facts)

    _table_header(pdf)
    pdf.on_new_page = lambda: _table_header(pdf)
    for line, description in zip(lines, described, strict=True):
        kind = str(line.get("kind") or "")
        amount = _money(line.get("amount"), currency)
        if kind == "discount":
            amount = Money(-abs(amount.amount), amount.currency)
        tag = t["discount"] if kind == "discount" else t["credit"] if kind == "credit" else None
        rate = _rate(int(line["tax_rate_bp"]), loc) if "tax_rate_bp" in line else ""
        _table_row(pdf, description, rate, _fmt(amount, loc), tag)
    pdf.on_new_page = None

    subtotal = _money(invoice.get("subtotal"), currency)
    discount = _money(invoice.get("discount"), currency)
    total = _money(invoice.get("total"), currency)
    paid = _money(invoice.get("amount_paid"), currency)
    if status == "void":
        due = Money.zero(total.currency)
    elif invoice.get("amount_due"):
        due = _money(invoice["amount_due"], currency)
    else:
        due = total - paid
    rows = [(t["subtotal"], _fmt(subtotal, loc), "")]
    if discount.amount:
        rows.append((t["discount"], _fmt(Money(-abs(discount.amount), discount.currency), loc),
                     ""))
    rows += [(label, _fmt(value, loc), "") for label, value in
             _tax_rows(invoice, lines, currency, loc, t)]
    rows += [("", "", "-"), (t["total"], _fmt(total, loc), "B"),
             (t["amount_paid"], _fmt(paid, loc), ""), (t["amount_due"], _fmt(due, loc), "BB")]
    _totals(pdf, rows)

    if status == "void":
        note = t["void_note"]
    elif status == "paid" or due.amount <= 0:
        note = t["paid_note"]
    else:
        note = t["pay_by"].format(date=_date(invoice.get("due_date"), loc), number=number)
    pdf.ensure_space(16)
    pdf.ln(8)
    pdf.use_font(9, bold=True)
    pdf.cell(0, 5, t["terms"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.use_font(9, color=MUTED)
    pdf.text_block(pdf.epw, 4.8, note)
    return bytes(pdf.output())


# ---------------------------------------------------------------------------------------------
# Receipt


def render_receipt(payment: dict, customer: dict, operator: dict,
                   locale: str = "en", invoice: dict | None = None) -> bytes:
    """A receipt for one payment: amount, date, card brand and last four digits (nothing else
    of the card), and what it paid for (`invoice`'s number, or a wallet top-up)."""
    operator = operator or DEFAULT_OPERATOR
    loc = _locale(locale)
    t = _labels(loc)
    payment_id = _text(payment.get("id"))
    when = _instant(payment.get("created_at"))
    amount = Money.from_dict(payment["amount"])
    if payment.get("purpose") == "top_up" or not (payment.get("invoice_id") or invoice):
        paid_for = t["top_up"]
    else:
        ref = (invoice or {}).get("number") or (invoice or {}).get("id") or payment["invoice_id"]
        paid_for = t["invoice_ref"].format(number=_text(ref))
    status = str(payment.get("status") or "")
    card = _card(payment.get("payment_method"))
    texts = _strings(customer, operator, payment_id, paid_for, status)
    pdf = _Document(loc, t, f"{t['receipt']} {payment_id}",
                    f"{_text(operator.get('name'))} · {t['receipt']} {payment_id}", when, texts)
    pdf.add_page()
    pdf.header_block(operator, t["receipt"], payment_id)

    party = [_text(customer.get("name")), *_address_lines(customer.get("address"), loc)]
    if customer.get("email"):
        party.append(_text(customer["email"]))
    stamp = format_datetime(when, format="long", tzinfo=dt.UTC, locale=loc) if when else ""
    facts = [(t["payment_id"], payment_id), (t["date"], stamp)]
    pdf.party_and_facts(t["received_from"], [p for p in party if p], facts)

    rows = [(t["amount"], _fmt(amount, loc), True),
            (t["payment_method"], card, False), (t["paid_for"], paid_for, False),
            (t["status"], t["statuses"].get(status, _text(status).capitalize()), False)]
    pdf.set_fill_color(*SHADE)
    for label, value, strong in rows:
        pdf.use_font(9.5, color=MUTED)
        pdf.cell(55, 9 if strong else 7.5, "  " + label, fill=strong)
        pdf.use_font(13 if strong else 10, bold=strong)
        pdf.text_block(pdf.epw - 55, 9 if strong else 7.5, value, fill=strong)
        pdf.set_x(pdf.l_margin)
        pdf.set_draw_color(*RULE)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    if status == "succeeded":
        pdf.ln(8)
        pdf.use_font(9.5, color=MUTED)
        pdf.text_block(pdf.epw, 5, t["thanks"])
    return bytes(pdf.output())
