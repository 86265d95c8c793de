"""Every customer notification renders in every language the portal speaks (English, German,
Italian, Thai) from the events' real shapes, with money and dates in the customer's language;
a text missing a language, or with other placeholders than the English, fails here."""

import re
import string

import pytest

from services.common.schemas import SUPPORTED_LANGUAGES
from services.notifier import templates

EUR = {"amount": 123456, "currency": "EUR"}
EVENTS = {
    "customer_registered": {"id": "cus_1", "name": "Ann", "email": "a@example.com"},
    "password_changed": {"id": "cus_1", "email": "a@example.com"},
    "portal_link_issued": {"id": "pl_1", "customer_id": "cus_1",
                           "url": "https://portal.example/#/portal-link/t0ken",
                           "expires_at": "2026-12-02T10:00:00Z"},
    "password_reset_requested": {"customer_id": "cus_1", "email": "a@example.com",
                                 "url": "https://portal.example/#/reset-password/t0ken",
                                 "expires_at": "2026-12-02T10:00:00Z"},
    "email_verification_requested": {"customer_id": "cus_1", "email": "b@example.com",
                                     "change": True, "previous_email": "a@example.com",
                                     "url": "https://portal.example/#/verify-email/t0ken",
                                     "expires_at": "2026-12-02T10:00:00Z"},
    "household_invitation": {"id": "hhi_1", "customer_id": "cus_1", "email": "b@example.com",
                             "holder_name": "Ann", "url": "https://portal.example/#/household/"
                             "join/t0ken", "expires_at": "2026-12-11T10:00:00Z"},
    "data_export_ready": {"id": "dex_1", "customer_id": "cus_1",
                          "url": "https://portal.example/#/settings/privacy",
                          "expires_at": "2026-12-09T10:00:00Z"},
    "account_deletion_scheduled": {"id": "del_1", "customer_id": "cus_1",
                                   "due_at": "2026-12-18T10:00:00Z"},
    "account_deletion_cancelled": {"id": "del_1", "customer_id": "cus_1"},
    "account_deletion_blocked": {"id": "del_1", "customer_id": "cus_1",
                                 "reasons": ["MONEY_OWED"]},
    "invoice_issued": {"customer_id": "cus_1", "number": "INV-2026-000042", "total": EUR,
                       "due_date": "2026-12-05", "issue_date": "2026-11-21"},
    "invoice_payment_due": {"customer_id": "cus_1", "number": "INV-2026-000042",
                            "amount_due": EUR, "due_date": "2026-12-05", "days_left": 3},
    "invoice_overdue": {"customer_id": "cus_1", "number": "INV-2026-000042", "amount_due": EUR,
                        "due_date": "2026-12-05"},
    "invoice_payment_reminder": {"customer_id": "cus_1", "number": "INV-2026-000042",
                                 "amount_due": EUR, "at": "2026-12-08T10:00:00Z",
                                 "will_charge_card": True, "suspension_follows": True},
    "invoice_paid": {"customer_id": "cus_1", "number": "INV-2026-000042", "total": EUR},
    "invoice_collection_failed": {"customer_id": "cus_1", "number": "INV-2026-000042",
                                  "amount_due": EUR},
    "credit_note_issued": {"customer_id": "cus_1", "amount": EUR, "reason": "Outage",
                           "invoice_number": "INV-2026-000042"},
    "payment_succeeded": {"customer_id": "cus_1", "purpose": "top_up", "amount": EUR},
    "wallet_debited": {"customer_id": "cus_1", "type": "service_charge", "direction": "debit",
                       "amount": {"amount": 1784, "currency": "EUR"},
                       "balance": {"amount": 216, "currency": "EUR"}},
    "payment_failed": {"customer_id": "cus_1", "purpose": "invoice", "amount": EUR,
                       "decline_code": "insufficient_funds",
                       "next_retry_at": "2026-12-06T10:00:00Z"},
    "subscription_suspended": {"customer_id": "cus_1", "package": {"name": "Family"},
                               "reason": "unpaid_invoice"},
    "subscription_resumed": {"customer_id": "cus_1", "package": {"name": "Family"}},
    "subscription_renewed": {"customer_id": "cus_1", "package": {"name": "Family"},
                             "current_period": {"end": "2026-12-21T10:00:00Z"}},
    "subscription_renewal_upcoming": {
        "customer_id": "cus_1", "package": {"name": "Family"}, "days_left": 3,
        "renewal": {"date": "2026-12-21T10:00:00Z", "amount": EUR}, "wallet_covers": True},
    "subscription_cancelled": {"customer_id": "cus_1", "package": {"name": "Family"}},
    "wallet_low_balance": {"customer_id": "cus_1", "balance": {"amount": 250,
                                                               "currency": "EUR"}},
    "payment_method_expiring": {"customer_id": "cus_1", "brand": "visa", "last4": "4242",
                                "exp_month": 12, "exp_year": 2026},
    "voucher_redeemed": {"customer_id": "cus_1", "serial": "000010000001", "value": EUR},
    "budget_alert": {"customer_id": "cus_1", "threshold": "80", "month": "2026-12",
                     "budget": 5000, "so_far": 4100, "projected": 5300, "currency": "EUR"},
    "ticket_opened": {"customer_id": "cus_1", "number": 1042, "subject": "No picture"},
    "ticket_updated": {"customer_id": "cus_1", "number": 1042, "subject": "No picture",
                       "change": "reply", "text": "Please restart the box."},
    "ticket_resolved": {"customer_id": "cus_1", "number": 1042, "subject": "No picture",
                        "resolution": "The line was repaired",
                        "service_credit": {"amount": 500, "currency": "EUR"}},
}
# templates an event reaches by what it carries (a renewal the wallet cannot cover; an agent's
# reply or question on a ticket)
DERIVED = {"subscription_stops_soon", "ticket_reply", "ticket_waiting"}


def test_every_template_has_an_event_here():
    assert set(templates.TEMPLATES) - DERIVED == set(EVENTS) - {"ticket_updated"}


@pytest.mark.parametrize("language", templates.LANGUAGES)
@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_each_event_renders_in_each_language_without_placeholders(event_type, language):
    topic, title, body = templates.render(event_type, EVENTS[event_type], language)
    assert topic in templates.TOPICS
    assert title and body and "{" not in title + body and "None" not in title + body


def test_money_and_dates_follow_the_language():
    _, en_title, en_body = templates.render("invoice_issued", EVENTS["invoice_issued"], "en")
    _, de_title, de_body = templates.render("invoice_issued", EVENTS["invoice_issued"], "de")
    _, it_title, it_body = templates.render("invoice_issued", EVENTS["invoice_issued"], "it")
    _, th_title, th_body = templates.render("invoice_issued", EVENTS["invoice_issued"], "th")
    assert "€1,234.56" in en_body and "Dec 5, 2026" in en_body
    assert "1.234,56\xa0€" in de_body and "05.12.2026" in de_body
    assert "1.234,56\xa0€" in it_body and "Rechnung" in de_title and "fattura" in it_body
    assert "5 dic 2026" in it_body
    # Thai: Thai month names, Gregorian years (as the portal shows them: format.js)
    assert "€1,234.56" in th_body and "5 ธ.ค. 2026" in th_body and "ใบแจ้งค่าบริการ" in th_title
    zero_digits = templates.render("invoice_paid", {"number": "X", "total": {
        "amount": 1500, "currency": "JPY"}}, "en")[2]
    assert "¥1,500" in zero_digits


def test_an_unknown_language_falls_back_to_english_and_quiet_events_render_nothing():
    assert templates.render("invoice_paid", EVENTS["invoice_paid"], "fr")[1] == \
        "Bill INV-2026-000042 is paid"
    assert templates.render("payment_succeeded", {**EVENTS["payment_succeeded"],
                                                  "purpose": "invoice"}, "en") is None
    assert templates.render("subscription_activated", {}, "en") is None


def test_a_renewal_the_wallet_cannot_cover_says_the_service_stops():
    event = {**EVENTS["subscription_renewal_upcoming"], "wallet_covers": False,
             "wallet_balance": {"amount": 300, "currency": "EUR"}}
    topic, title, body = templates.render("subscription_renewal_upcoming", event, "en")
    assert topic == "wallet" and title == "Family stops in 3 days"
    assert "€3.00" in body and "€1,234.56" in body
    failed = templates.render("payment_failed", EVENTS["payment_failed"], "de")[2]
    assert "Deckung nicht ausreichend" in failed and "06.12.2026" in failed


def test_ticket_updates_tell_the_customer_only_what_an_agent_did():
    reply = templates.render("ticket_updated", EVENTS["ticket_updated"], "it")
    assert reply == ("support", "Nuova risposta alla sua richiesta n. 1042",
                     "Please restart the box.")
    asked = templates.render("ticket_updated", {**EVENTS["ticket_updated"],
                                                "change": "waiting_on_customer"}, "de")
    assert asked[1] == "Wir brauchen Ihre Antwort zu Anfrage #1042" and "No picture" in asked[2]
    assert templates.render("ticket_updated", {**EVENTS["ticket_updated"],
                                               "change": "customer_comment"}, "en") is None
    resolved = templates.render("ticket_resolved", EVENTS["ticket_resolved"], "en")[2]
    assert resolved == "“No picture”: The line was repaired. As an apology we credit you €5.00."
    plain = templates.render("ticket_resolved", {**EVENTS["ticket_resolved"],
                                                 "service_credit": None}, "en")[2]
    assert plain == "“No picture”: The line was repaired."


def test_every_topic_the_api_offers_has_its_label_and_no_other():
    from services.common.contract.notifier import TOPICS
    from services.notifier import templates

    assert tuple(templates.TOPICS) == TOPICS


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _words(text: str) -> bool:
    """Whether a text has words of its own besides its placeholders."""
    return bool(re.search(r"[^\W\d_]", re.sub(r"\{\w+\}", "", text)))


def test_the_notifier_speaks_every_portal_language():
    assert templates.LANGUAGES == SUPPORTED_LANGUAGES


@pytest.mark.parametrize("event_type", sorted(templates.TEMPLATES))
def test_every_template_has_every_language_with_the_same_placeholders(event_type):
    texts = templates.TEMPLATES[event_type].texts
    assert set(texts) == set(SUPPORTED_LANGUAGES)
    en_title, en_body = texts["en"]
    for language, (title, body) in texts.items():
        assert title.strip() and body.strip(), language
        assert _fields(title) == _fields(en_title), (language, title)
        assert _fields(body) == _fields(en_body), (language, body)
        for text, en_text in ((title, en_title), (body, en_body)):
            if language != "en" and _words(en_text):  # not only placeholders ("{text}")
                assert text != en_text, (language, "untranslated")


# every phrase table of the module (a dict by language), found rather than listed, so a new one
# is checked too
PHRASES = sorted(name for name, value in vars(templates).items()
                 if name.isupper() and isinstance(value, dict) and "en" in value)


def test_the_phrase_tables_are_found():
    assert {"CREDIT_TEXT", "DECLINES", "NEXT_RETRY", "SUSPENSION_REASONS", "DEBITS"} <= set(PHRASES)


@pytest.mark.parametrize("name", PHRASES)
def test_every_generated_phrase_has_every_language(name):
    texts = getattr(templates, name)
    assert set(texts) == set(SUPPORTED_LANGUAGES)
    for language, text in texts.items():
        if isinstance(text, dict):  # a phrase per code: the same codes in every language
            assert set(text) == set(texts["en"]), language
            assert all(v.strip() for v in text.values()), language
        else:
            assert text.strip() and _fields(text) == _fields(texts["en"]), language
        if language != "en":
            assert text != texts["en"], (language, "untranslated")


@pytest.mark.parametrize("event_type", sorted(EVENTS))
def test_thai_notifications_are_in_thai(event_type):
    _, title, body = templates.render(event_type, EVENTS[event_type], "th")
    assert re.search("[\u0e00-\u0e7f]", title), title


def test_thai_generated_phrases_follow_the_event():
    payment_failed = templates.render("payment_failed", EVENTS["payment_failed"], "th")[2]
    assert "วงเงินไม่เพียงพอ" in payment_failed and "6 ธ.ค. 2026" in payment_failed


def test_a_debit_for_services_or_an_adjustment_is_told_with_the_balance_left():
    _, title, body = templates.render("wallet_debited", EVENTS["wallet_debited"], "de")
    assert title == "17,84\xa0€ aus Ihrem Guthaben bezahlt"
    assert "Ihre Dienste" in body and "2,16\xa0€" in body
    adjusted = {**EVENTS["wallet_debited"], "type": "adjustment"}
    assert "adjustment by our staff" in templates.render("wallet_debited", adjusted, "en")[2]
    for other in ({"type": "voucher_void"}, {"direction": "credit"}):
        assert templates.render("wallet_debited", {**EVENTS["wallet_debited"], **other},
                                "en") is None
