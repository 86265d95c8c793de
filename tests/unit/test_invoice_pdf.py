"""Invoice and receipt PDFs, read back as text with poppler's `pdftotext` (Debian
`poppler-utils`): what a customer sees, in their language and currency."""

import re
import shutil
import subprocess

import pytest

from services.billing.invoicing import pdf as invoice_pdf
from services.billing.invoicing.pdf import DEFAULT_OPERATOR, render_invoice, render_receipt
from services.common.money import Money, format_money

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None,
    reason="pdftotext missing: apt-get install -y poppler-utils")


def money(amount, currency="EUR"):
    return {"amount": amount, "currency": currency}


def line(description, amount, kind="fee", rate_bp=1900, tax=None, currency="EUR"):
    tax = round(amount * rate_bp / 10_000) if tax is None else tax
    return {"description": description, "kind": kind, "amount": money(amount, currency),
            "tax_rate_bp": rate_bp, "tax": money(tax, currency)}


def make_invoice(lines, currency="EUR", status="open", paid=0):
    discount = -sum(x["amount"]["amount"] for x in lines if x["kind"] == "discount")
    subtotal = sum(x["amount"]["amount"] for x in lines if x["kind"] != "discount")
    tax = sum(x["tax"]["amount"] for x in lines)
    total = subtotal - discount + tax
    return {"id": "inv_k2n4p6r8t2v4x6z2b4d6f8h2", "number": "INV-2026-000042", "status": status,
            "issue_date": "2026-12-01", "due_date": "2026-12-15",
            "period": {"start": "2026-11-01", "end": "2026-12-01"}, "currency": currency,
            "lines": lines, "subtotal": money(subtotal, currency),
            "discount": money(discount, currency), "tax": money(tax, currency),
            "total": money(total, currency), "amount_paid": money(paid, currency)}


EUR_LINES = [
    line("Family (21 Nov 2026 – 21 Dec 2026)", 2999),
    line("Sports add-on (25 Nov 2026 – 21 Dec 2026)", 850),
    line("Welcome promotion", -500, kind="discount", tax=-95),
    line("Set-top box rental", 1000, kind="one_off", rate_bp=700),
]

CUSTOMER = {"id": "cus_m3q5s7u3w5y7a3c5e7g3j5l7", "name": "Jürgen Müller-Lüdenscheidt",
            "email": "juergen@example.org",
            "address": {"line1": "Königsallee 12", "line2": "3. OG", "city": "Düsseldorf",
                        "postal_code": "40212", "country": "DE"}}


def pdf_text(data: bytes, tmp_path, name="doc.pdf") -> str:
    path = tmp_path / name
    path.write_bytes(data)
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                         check=True, encoding="utf-8").stdout
    return out.replace("\u00a0", " ").replace("\u202f", " ")


def flat(text: str) -> str:
    """Without any white space: immune to how pdftotext lays out columns."""
    return re.sub(r"\s+", "", text.replace("\u00a0", " ").replace("\u202f", " "))


def fmt(amount, currency="EUR", locale="en"):
    return format_money(Money(amount, currency), locale)


def assert_pdf(data: bytes):
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")


def test_english_eur_invoice_holds_everything_a_customer_needs(tmp_path):
    invoice = make_invoice(EUR_LINES)
    data = render_invoice(invoice, CUSTOMER, DEFAULT_OPERATOR, "en")
    assert_pdf(data)
    text = pdf_text(data, tmp_path)
    squashed = flat(text)

    for expected in ("Example IPTV GmbH", "Hauptstraße 1, 10115 Berlin, DE", "DE123456789",
                     "billing@example.com", "Invoice", "INV-2026-000042",
                     "Jürgen Müller-Lüdenscheidt", "Königsallee 12", "3. OG",
                     "40212 Düsseldorf", "Germany", "juergen@example.org",
                     "December 1, 2026", "December 15, 2026", "November 1, 2026",
                     "Subtotal", "Discount", "Total", "Amount paid", "Amount due",
                     "Please pay by December 15, 2026"):
        assert expected in text, expected
    for item in EUR_LINES:
        assert item["description"] in text
    # The discount line is marked as one; the totals show it taken off.
    assert "Discount: Welcome promotion" in text
    assert fmt(-500) == "-€5.00"
    assert fmt(-500) in squashed
    # Tax per rate (two rates here), totals exactly as format_money writes them.
    assert "VAT 19 %" in text and "VAT 7 %" in text
    assert flat(fmt(637)) in squashed and flat(fmt(70)) in squashed
    for key in ("subtotal", "total"):
        assert flat(fmt(invoice[key]["amount"])) in squashed
    assert fmt(invoice["total"]["amount"]) == "€50.56"
    assert fmt(2999) in squashed and fmt(1000) in squashed
    assert "Page 1 of 1" in text
    assert not re.search(r"\bPAID\b|\bVOID\b", text)


def test_german_invoice_has_german_labels_and_money(tmp_path):
    data = render_invoice(make_invoice(EUR_LINES), CUSTOMER, DEFAULT_OPERATOR, "de")
    assert_pdf(data)
    text = pdf_text(data, tmp_path)
    for expected in ("Rechnung", "RECHNUNGSEMPFÄNGER", "Rechnungsnummer", "Rechnungsdatum",
                     "Fällig am", "Leistungszeitraum", "Beschreibung", "Zwischensumme",
                     "Rabatt: Welcome promotion", "USt. 19 %", "Gesamtbetrag", "Offener Betrag",
                     "USt-IdNr.: DE123456789", "Deutschland", "15. Dezember 2026",
                     "Bitte zahlen Sie bis zum 15. Dezember 2026", "Seite 1 von 1"):
        assert expected in text, expected
    assert fmt(2999, locale="de") == "29,99\u00a0€"
    assert "29,99 €" in text
    assert "50,56 €" in text
    assert "-5,00 €" in text
    for english in ("Invoice number", "Subtotal", "Amount due", "€29.99"):
        assert english not in text


@pytest.mark.parametrize(("currency", "amounts", "expected"), [
    ("JPY", (3300, 1200), ("¥3,300", "¥1,200", "¥4,950")),
    ("BHD", (12345, 2500), ("BHD12.345", "BHD2.500", "BHD16.329")),
])
def test_zero_and_three_decimal_currencies(tmp_path, currency, amounts, expected):
    lines = [line("Premium", amounts[0], currency=currency, rate_bp=1000),
             line("Movie rental", amounts[1], kind="one_off", currency=currency, rate_bp=1000)]
    invoice = make_invoice(lines, currency=currency)
    text = pdf_text(render_invoice(invoice, CUSTOMER, DEFAULT_OPERATOR, "en"), tmp_path)
    squashed = flat(text)
    for value in expected:
        assert value in squashed, value
    for key in ("subtotal", "tax", "total"):
        assert flat(fmt(invoice[key]["amount"], currency)) in squashed
    if currency == "JPY":
        assert "¥3,300.00" not in squashed
    de = pdf_text(render_invoice(invoice, CUSTOMER, DEFAULT_OPERATOR, "de"), tmp_path, "de.pdf")
    assert flat(fmt(invoice["total"]["amount"], currency, "de")) in flat(de)


def test_sixty_lines_flow_over_pages_with_the_header_repeated(tmp_path):
    lines = [line(f"Pay-per-view event {i:02d}: Championship replay", 499 + i)
             for i in range(60)]
    invoice = make_invoice(lines)
    text = pdf_text(render_invoice(invoice, CUSTOMER, DEFAULT_OPERATOR, "en"), tmp_path)
    pages = [p for p in text.split("\f") if p.strip()]
    assert len(pages) >= 2
    for item in lines:
        assert text.count(item["description"]) == 1, item["description"]
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page
        if "Pay-per-view event" in page:
            assert "Description" in page and "VAT rate" in page
    assert flat(fmt(invoice["total"]["amount"])) in flat(pages[-1])


def test_long_descriptions_wrap_within_their_column(tmp_path):
    words = ("Sports add-on, prorated from 25 Nov 2026 to 21 Dec 2026 because the customer "
             "upgraded in the middle of the period; includes every football channel in HD")
    invoice = make_invoice([line(words, 850)])
    text = pdf_text(render_invoice(invoice, CUSTOMER, DEFAULT_OPERATOR, "en"), tmp_path)
    rows = [row for row in text.splitlines() if any(w in row for w in ("Sports", "channel"))]
    assert len(rows) >= 2  # wrapped onto further lines of the row
    description = flat(text).replace(flat(fmt(850)), "").replace("19%", "")
    assert flat(words) in description  # nothing cut off


def test_receipt_shows_the_payment_and_nothing_else_of_the_card(tmp_path):
    invoice = make_invoice(EUR_LINES, status="paid", paid=5056)
    payment = {"id": "pay_c3e5g7j3l5n7q3s5u7w3y5a7", "status": "succeeded",
               "amount": money(5056), "created_at": "2026-12-03T09:41:00Z",
               "payment_method": {"brand": "visa", "last4": "4242", "number": "4242424242424242",
                                  "exp_month": 12, "exp_year": 2030, "cvc": "123",
                                  "fingerprint": "Xt5EWLLDS7FJjR1c"},
               "invoice_id": invoice["id"], "purpose": "invoice"}
    data = render_receipt(payment, CUSTOMER, DEFAULT_OPERATOR, "en", invoice)
    assert_pdf(data)
    text = pdf_text(data, tmp_path)
    for expected in ("Receipt", payment["id"], "Visa •••• 4242", "Invoice INV-2026-000042",
                     "December 3, 2026", "Succeeded", "Jürgen Müller-Lüdenscheidt"):
        assert expected in text, expected
    assert fmt(5056) in flat(text)
    allowed = set(re.findall(r"\d{12,}", payment["id"] + invoice["number"]))
    assert set(re.findall(r"\d{12,}", text)) <= allowed
    assert set(re.findall(r"\d{12,}", flat(text))) <= allowed
    for secret in ("4242424242", "2030", "Xt5EWLLDS7FJjR1c", "cvc"):
        assert secret not in text


def test_top_up_receipt_in_german(tmp_path):
    payment = {"id": "pay_d4f6h8k4m6p8r4t6v8x4z6b8", "status": "succeeded",
               "amount": money(2000), "created_at": "2026-12-03T09:41:00+00:00",
               "payment_method": {"brand": "mastercard", "last4": "4444"},
               "invoice_id": None, "purpose": "top_up"}
    text = pdf_text(render_receipt(payment, CUSTOMER, DEFAULT_OPERATOR, "de"), tmp_path)
    for expected in ("Zahlungsbeleg", "Guthabenaufladung", "Mastercard •••• 4444",
                     "20,00 €", "3. Dezember 2026", "Erfolgreich"):
        assert expected in text, expected


@pytest.mark.parametrize(("status", "locale", "mark", "note"), [
    ("paid", "en", "PAID", "paid in full"),
    ("void", "en", "VOID", "voided"),
    ("overdue", "en", "OVERDUE", "Please pay by"),
    ("paid", "de", "BEZAHLT", "vollständig bezahlt"),
    ("void", "de", "STORNIERT", "storniert"),
])
def test_status_marks(tmp_path, status, locale, mark, note):
    paid = 5056 if status == "paid" else 0
    invoice = make_invoice(EUR_LINES, status=status, paid=paid)
    text = pdf_text(render_invoice(invoice, CUSTOMER, DEFAULT_OPERATOR, locale), tmp_path)
    assert re.search(rf"\b{mark}\b", text)
    assert note in text
    if status in ("paid", "void"):  # nothing left to pay
        due = "Offener Betrag" if locale == "de" else "Amount due"
        row = next(r for r in text.splitlines() if due in r)
        assert flat(fmt(0, locale=locale)) in flat(row)


def test_names_in_other_scripts_use_the_full_font(tmp_path):
    customer = dict(CUSTOMER, name="Արամ Խաչատրյան", address=None)
    text = pdf_text(render_invoice(make_invoice(EUR_LINES), customer, DEFAULT_OPERATOR, "en"),
                    tmp_path)
    assert "Արամ Խաչատրյան" in text
    greek = dict(CUSTOMER, name="Δημήτρης Παπαδόπουλος")
    text = pdf_text(render_invoice(make_invoice(EUR_LINES), greek, DEFAULT_OPERATOR, "en"),
                    tmp_path, "greek.pdf")
    assert "Δημήτρης Παπαδόπουλος" in text


def test_fonts_are_set_up_once_and_output_is_deterministic(monkeypatch):
    invoice = make_invoice(EUR_LINES)
    first = render_invoice(invoice, CUSTOMER, DEFAULT_OPERATOR, "en")

    def no_parsing(*args, **kwargs):
        raise AssertionError("fonts parsed again")

    monkeypatch.setattr(invoice_pdf.FPDF, "add_font", no_parsing)
    monkeypatch.setattr(invoice_pdf, "_cut_down", no_parsing)
    assert render_invoice(invoice, CUSTOMER, DEFAULT_OPERATOR, "en") == first


def test_plain_add_font_path_still_renders(tmp_path, monkeypatch):
    """If fpdf2's font object ever changes shape, the documented add_font path takes over."""

    def broken(*args, **kwargs):
        raise AttributeError("simulated fpdf2 change")

    monkeypatch.setattr(invoice_pdf, "_install_font", broken)
    text = pdf_text(render_invoice(make_invoice(EUR_LINES), CUSTOMER, DEFAULT_OPERATOR, "en"),
                    tmp_path)
    assert "INV-2026-000042" in text and "€50.56" in flat(text)


def test_unknown_language_falls_back_to_english_labels(tmp_path):
    text = pdf_text(render_invoice(make_invoice(EUR_LINES), CUSTOMER, DEFAULT_OPERATOR, "fr-FR"),
                    tmp_path)
    assert "Amount due" in text
    assert flat(fmt(5056, locale="fr_FR")) in flat(text)  # French number format
    text = pdf_text(render_invoice(make_invoice(EUR_LINES), CUSTOMER, DEFAULT_OPERATOR, "xx"),
                    tmp_path, "xx.pdf")
    assert "€50.56" in flat(text)


def test_concurrent_renders_in_real_threads_match_sequential_ones():
    """Services render in `eventlet.tpool` (real OS threads): the per-process font cache must
    not leak state between documents written at the same time (a shared font descriptor once
    produced broken cross-reference tables when a 1-page and a 3-page document overlapped), and
    nothing may wait on a lock eventlet made green (Babel's locale-data lock once hung here)."""
    import sys

    import eventlet.patcher

    real_threading = eventlet.patcher.original("threading")
    interval = sys.getswitchinterval()
    many = [line(f"Event {i:02d}", 100 + i) for i in range(60)]
    docs = [(make_invoice(EUR_LINES[:1]), "en"), (make_invoice(EUR_LINES, status="paid"), "de"),
            (make_invoice(many), "en"), (make_invoice(EUR_LINES[:2], status="void"), "de")]
    expected = [render_invoice(inv, CUSTOMER, DEFAULT_OPERATOR, loc) for inv, loc in docs]
    results: dict[tuple[int, int], bytes] = {}
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for round_ in range(8):
                inv, loc = docs[(worker + round_) % len(docs)]
                results[(worker, round_)] = render_invoice(inv, CUSTOMER, DEFAULT_OPERATOR, loc)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [real_threading.Thread(target=work, args=(w,), daemon=True) for w in range(4)]
    sys.setswitchinterval(1e-5)  # switch threads often, to make overlaps likely
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        sys.setswitchinterval(interval)
    assert not any(thread.is_alive() for thread in threads), "a render thread hung"
    assert errors == []
    assert len(results) == 32
    for (worker, round_), data in results.items():
        assert data == expected[(worker + round_) % len(docs)]


def test_warm_renders_never_load_babel_locale_data(monkeypatch):
    """`babel.localedata.load` takes a lock that is green under eventlet; after `warm_up` a
    render must not call it (so it is safe in eventlet.tpool's OS threads)."""
    import babel.localedata

    invoice_pdf.warm_up(("en", "de"))
    calls = []
    real_load = babel.localedata.load

    def counting_load(*args, **kwargs):
        calls.append(args)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(babel.localedata, "load", counting_load)
    payment = {"id": "pay_x", "status": "succeeded", "amount": money(5056),
               "created_at": "2026-12-03T09:41:00Z", "purpose": "top_up",
               "payment_method": {"brand": "visa", "last4": "4242"}, "invoice_id": None}
    for locale in ("en", "de"):
        render_invoice(make_invoice(EUR_LINES), CUSTOMER, DEFAULT_OPERATOR, locale)
        render_receipt(payment, CUSTOMER, DEFAULT_OPERATOR, locale)
    assert calls == []


def test_characters_no_font_has_become_question_marks(tmp_path):
    customer = dict(CUSTOMER, name="山田 Taro")
    text = pdf_text(render_invoice(make_invoice(EUR_LINES), customer, DEFAULT_OPERATOR, "en"),
                    tmp_path)
    assert "?? Taro" in text


THAI_CUSTOMER = dict(CUSTOMER, name="สมชาย ใจดี")
THAI_LINES = [
    line("แพ็กเกจครอบครัว (21 Nov 2026 – 21 Dec 2026)", 2999, rate_bp=700),
    line("Sports add-on", 850, rate_bp=700),
]


def test_thai_invoice_has_thai_labels_and_names_as_text(tmp_path):
    """DejaVu has no Thai: Thai text is written in Loma (fonts-thai-tlwg), the rest in DejaVu,
    and every line after a Thai one still comes out right (fpdf2's fallback font state)."""
    invoice = make_invoice(THAI_LINES, status="paid", paid=4119)
    data = render_invoice(invoice, THAI_CUSTOMER, DEFAULT_OPERATOR, "th")
    assert_pdf(data)
    text = pdf_text(data, tmp_path)
    for expected in ("ใบแจ้งค่าบริการ", "เรียกเก็บจาก", "เลขที่ใบแจ้งค่าบริการ", "วันครบกำหนดชำระ",
                     "รายการ",
                     "อัตราภาษี", "จำนวนเงิน", "ยอดรวมก่อนภาษี", "ภาษีมูลค่าเพิ่ม 7 %",
                     "ยอดรวมทั้งสิ้น", "ยอดค้างชำระ", "ชำระแล้ว", "เงื่อนไขการชำระเงิน",
                     "ใบแจ้งค่าบริการนี้ชำระครบถ้วนแล้ว", "หน้า 1 จาก 1", "สมชาย ใจดี",
                     "แพ็กเกจครอบครัว", "Sports add-on", "INV-2026-000042", "Königsallee 12"):
        assert expected in text, expected
    assert "?" not in text  # no glyph was missing
    rows = {r.split()[0]: flat(r) for r in text.splitlines() if r.strip()}
    assert rows["Sports"].endswith("7%€8.50")  # a Latin line after a Thai one: DejaVu again
    assert "€41.19" in flat(text) and "€0.00" in flat(text)
    assert b"DejaVuSans" in data and b"Loma" in data  # both embedded


def test_thai_receipt(tmp_path):
    payment = {"id": "pay_th", "status": "succeeded", "amount": money(2000),
               "created_at": "2026-12-03T09:41:00Z", "invoice_id": None, "purpose": "top_up",
               "payment_method": {"brand": "visa", "last4": "4242"}}
    text = pdf_text(render_receipt(payment, THAI_CUSTOMER, DEFAULT_OPERATOR, "th"), tmp_path)
    for expected in ("ใบเสร็จรับเงิน", "เติมเงินเข้ากระเป๋าเงิน", "Visa •••• 4242", "สำเร็จ",
                     "€20.00", "ขอบคุณสำหรับการชำระเงิน"):
        assert expected in flat(text) or expected in text, expected


def test_thai_does_not_change_english_or_german_documents(monkeypatch):
    """Documents without Thai embed DejaVu only, byte for byte as without the Thai fonts."""
    invoice = make_invoice(EUR_LINES)
    before = {loc: render_invoice(invoice, CUSTOMER, DEFAULT_OPERATOR, loc) for loc in ("en", "de")}
    render_invoice(make_invoice(THAI_LINES), THAI_CUSTOMER, DEFAULT_OPERATOR, "th")
    for loc, data in before.items():
        assert b"Loma" not in data
        assert render_invoice(invoice, CUSTOMER, DEFAULT_OPERATOR, loc) == data

    def no_thai(*args, **kwargs):
        raise AssertionError("Thai font set up for a document without Thai")

    monkeypatch.setattr(invoice_pdf.FPDF, "set_fallback_fonts", no_thai)
    for loc, data in before.items():
        assert render_invoice(invoice, CUSTOMER, DEFAULT_OPERATOR, loc) == data


def test_thai_fonts_are_parsed_once_per_process(monkeypatch):
    render_invoice(make_invoice(THAI_LINES), THAI_CUSTOMER, DEFAULT_OPERATOR, "th")

    def no_parsing(*args, **kwargs):
        raise AssertionError("fonts parsed again")

    monkeypatch.setattr(invoice_pdf.FPDF, "add_font", no_parsing)
    monkeypatch.setattr(invoice_pdf, "_cut_down", no_parsing)
    monkeypatch.setattr(invoice_pdf.TTFFont, "__init__", no_parsing)
    data = render_invoice(make_invoice(THAI_LINES), THAI_CUSTOMER, DEFAULT_OPERATOR, "th")
    assert b"Loma" in data


def test_thai_with_the_plain_add_font_path(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise AttributeError("simulated fpdf2 change")

    monkeypatch.setattr(invoice_pdf, "_install_font", broken)
    text = pdf_text(render_invoice(make_invoice(THAI_LINES), THAI_CUSTOMER, DEFAULT_OPERATOR,
                                   "th"), tmp_path)
    assert "ใบแจ้งค่าบริการ" in text and "แพ็กเกจครอบครัว" in text and "€8.50" in flat(text)


def texted(description, amount, text, kind="fee", rate_bp=1900, tax=None):
    return {**line(description, amount, kind=kind, rate_bp=rate_bp, tax=tax), "text": text}


TEXTED_LINES = [
    texted("Family (21 Nov 2026 – 21 Dec 2026)", 2499,
           {"code": "period_fee", "params": {"name": "Family", "start": "2026-11-21",
                                             "end": "2026-12-21"}}),
    texted("Promotion on Family", -250, {"code": "promotion", "params": {"name": "Family"}},
           kind="discount", tax=-48),
    texted("StreamBox 4K (purchase)", 9900,
           {"code": "device_purchase", "params": {"name": "StreamBox 4K"}}),
    line("Set-top box rental", 1000, kind="one_off"),  # recorded before texts: as it was
]


@pytest.mark.parametrize(("locale", "expected", "absent"), [
    ("de", ["Family (21.11.2026 – 21.12.2026)", "Rabatt: Aktionsrabatt auf Family",
            "StreamBox 4K (Kauf)", "Set-top box rental"], ["Promotion on Family", "(purchase)"]),
    ("th", ["ส่วนลด: โปรโมชันสำหรับ Family", "StreamBox 4K (ซื้อขาด)", "Set-top box rental"],
     ["Promotion on Family", "(purchase)"]),
    ("en", ["Family (Nov 21, 2026 – Dec 21, 2026)", "Discount: Promotion on Family",
            "StreamBox 4K (purchase)", "Set-top box rental"], []),
])
def test_invoice_lines_are_worded_in_the_customers_language(tmp_path, locale, expected, absent):
    customer = THAI_CUSTOMER if locale == "th" else CUSTOMER
    text = pdf_text(render_invoice(make_invoice(TEXTED_LINES), customer, DEFAULT_OPERATOR,
                                   locale), tmp_path)
    for wanted in expected:
        assert flat(wanted) in flat(text), wanted
    for unwanted in absent:
        assert unwanted not in text, unwanted
    assert "?" not in text
