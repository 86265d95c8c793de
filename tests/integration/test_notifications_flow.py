"""Customer notifications end to end on the real services, RabbitMQ, PostgreSQL and a real SMTP
server: events become inbox notifications and e-mails in the customer's language, once even
when an event arrives twice, by the customer's preferences; the inbox through the gateway;
broadcasts to many customers do not hold up a payment notice."""

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
from nameko.standalone.events import event_dispatcher
from nameko.testing.utils import get_container, get_extension

from deploy import demo
from services.common.clock import ClockProvider, TestClock
from services.common.db import normalize_url
from services.common.events import make_envelope
from services.notifier.service import NotifierService
from tests.integration.conftest import (
    PASSWORD,
    after_timer_rounds,
    eventually,
    walk,
    walk_pages,
)


@pytest.fixture
def portal(start_portal, mail):
    return start_portal(SMTP_PORT=mail.port, NOTIFIER_DELIVERY_SECONDS=0.2)



def is_verification(message) -> bool:
    return "/#/verify-email/" in message.get_content()


def mails_to(mail, address):
    """The notices mailed to an address (not the links to verify it: verification_mails_to)."""
    return [m for m in mail.messages if m["To"] == address and not is_verification(m)]


def verification_mails_to(mail, address):
    return [m for m in mail.messages if m["To"] == address and is_verification(m)]


def test_welcome_in_the_customers_language_in_the_inbox_and_by_mail(portal, mail):
    token = portal.customer("prepaid", language="it")
    me = portal.ok("GET", "/api/v1/me", token)
    inbox = eventually(lambda: portal.ok("GET", "/api/v1/notifications", token)["data"])
    assert [n["title"] for n in inbox] == ["Benvenuto, Ann"]
    assert portal.ok("GET", "/api/v1/notifications", token)["unread_count"] == 1
    [welcome] = eventually(lambda: mails_to(mail, me["email"]))
    assert welcome["Subject"] == "Benvenuto, Ann" and "servizi" in welcome.get_content()
    # and a link to verify the address, by mail only (the inbox holds no links)
    [verify] = eventually(lambda: verification_mails_to(mail, me["email"]))
    assert verify["Subject"] == "Confermi il suo indirizzo e-mail"
    board = portal.ok("GET", "/api/v1/dashboard", token)
    assert board["unread_notifications"] == {"unavailable": False, "count": 1}

    other = portal.customer("prepaid")
    assert portal("POST", f"/api/v1/notifications/{inbox[0]['id']}/read",
                  other).status_code == 404  # not theirs
    read = portal.ok("POST", f"/api/v1/notifications/{inbox[0]['id']}/read", token)
    assert read["read_at"] and read["unread_count"] == 0
    assert portal.ok("GET", "/api/v1/dashboard", token)["unread_notifications"]["count"] == 0


def test_an_event_delivered_twice_notifies_once_and_preferences_are_kept(portal, mail):
    token = portal.customer("postpaid")
    me = portal.ok("GET", "/api/v1/me", token)
    eventually(lambda: mails_to(mail, me["email"]))  # the welcome
    dispatch = event_dispatcher(portal.config)
    failed = make_envelope("payment", {
        "id": "pay_x", "customer_id": me["id"], "status": "failed", "purpose": "invoice",
        "amount": {"amount": 2999, "currency": "EUR"}, "decline_code": "insufficient_funds",
        "next_retry_at": "2026-12-01T10:00:00Z"}, dt.datetime.now(dt.UTC))
    dispatch("billing", "payment_failed", failed)
    dispatch("billing", "payment_failed", failed)  # redelivered
    assert eventually(lambda: len(mails_to(mail, me["email"])) == 2)
    after_timer_rounds("notifier", "send_due")  # a second mail would have gone by now
    titles = [n["title"] for n in portal.ok("GET", "/api/v1/notifications", token)["data"]]
    assert titles.count("Payment of €29.99 failed") == 1
    assert len(mails_to(mail, me["email"])) == 2  # welcome + one payment notice
    assert "insufficient funds" in mails_to(mail, me["email"])[-1].get_content()

    prefs = portal.ok("PUT", "/api/v1/me/notification-preferences", token, json={
        "preferences": [{"topic": "billing", "channel": "email", "enabled": False}]})
    billing = next(p for p in prefs["preferences"] if p["topic"] == "billing")
    assert (billing["portal"], billing["email"]) == (True, False)
    locked = portal("PUT", "/api/v1/me/notification-preferences", token, json={
        "preferences": [{"topic": "account", "channel": "portal", "enabled": False}]})
    assert locked.status_code == 409 and locked.json()["error"]["code"] == "PREFERENCE_LOCKED"
    assert portal("PUT", "/api/v1/me/notification-preferences", token, json={
        "preferences": [{"topic": "nope", "channel": "email", "enabled": False}]}
    ).status_code == 400
    again = {**failed, "event_id": str(uuid.uuid4())}
    dispatch("billing", "payment_failed", again)
    assert eventually(lambda: len(portal.ok("GET", "/api/v1/notifications", token)["data"]) == 3)
    after_timer_rounds("notifier", "send_due")
    assert len(mails_to(mail, me["email"])) == 2  # billing e-mail is off now




def test_the_inbox_and_the_broadcasts_page_through_every_row_once(portal):
    clock = TestClock(dt.datetime.now(dt.UTC))
    get_extension(get_container(portal.runner, NotifierService), ClockProvider).clock = clock
    token = portal.customer("prepaid")
    me = portal.ok("GET", "/api/v1/me", token)
    eventually(lambda: portal.ok("GET", "/api/v1/notifications", token)["data"])  # welcome
    dispatch = event_dispatcher(portal.config)
    for n in range(5):
        clock.advance(seconds=1)  # the inbox is newest first: one a second
        dispatch("billing", "payment_failed", make_envelope("payment", {
            "id": f"pay_{n}", "customer_id": me["id"], "status": "failed",
            "purpose": "top_up", "amount": {"amount": 100 * (n + 1), "currency": "EUR"},
            "decline_code": "card_declined"}, dt.datetime.now(dt.UTC)))
        assert eventually(lambda n=n: len(portal.ok(
            "GET", "/api/v1/notifications?limit=10", token)["data"]) == n + 2)
    pages = walk_pages(portal, token, "/api/v1/notifications")
    assert [len(p["data"]) for p in pages] == [2, 2, 2]
    assert {p["unread_count"] for p in pages} == {6}  # every page says the count
    inbox = [n for p in pages for n in p["data"]]
    assert [n["title"] for n in inbox] == [
        f"Payment of €{n}.00 failed" for n in (5, 4, 3, 2, 1)] + ["Welcome, Ann"]
    portal.ok("POST", f"/api/v1/notifications/{inbox[2]['id']}/read", token)
    unread = [n["id"] for n in walk(portal, token, "/api/v1/notifications", unread="true")]
    assert unread == [n["id"] for n in inbox if n["id"] != inbox[2]["id"]]

    admin = demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    made = []
    for n in range(3):
        clock.advance(seconds=1)
        made.append(portal.ok("POST", "/api/v1/ops/broadcasts", admin, status=202, json={
            "kind": "maintenance", "title": f"Window {n}", "body": "Short outage.",
            "send_at": later})["id"])
    listed = [b["id"] for b in walk(portal, admin, "/api/v1/ops/broadcasts")]
    assert listed == made[::-1]
    for bad in ("%25%25", "12", "x" * 201, "ntf_abc"):
        refused = portal("GET", f"/api/v1/notifications?cursor={bad}", token)
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.json()["error"]["code"] == "VALIDATION_FAILED"


def test_a_broadcast_to_ten_thousand_does_not_hold_up_a_payment_notice(
        portal, mail, monkeypatch):
    # a page or two of 500 a timer round (0.2 s): the broadcast is under way for many rounds,
    # however fast this machine sends a page
    monkeypatch.setattr("services.notifier.service.BROADCAST_SLICE_SECONDS", 0.05)
    token = portal.customer("prepaid")
    me = portal.ok("GET", "/api/v1/me", token)
    eventually(lambda: mails_to(mail, me["email"]))
    engine = sa.create_engine(normalize_url(portal.database_urls["accounts"]))
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO customers (id, email, email_normalized, password_hash, name, language, "
            "billing_type, currency, tax_region, role, created_at, updated_at, "
            "password_changed_at) SELECT 'cus_bulk' || lpad(g::text, 6, '0'), "
            "'bulk' || g || '@example.com', 'bulk' || g || '@example.com', 'x', 'Bulk', 'en', "
            "'prepaid', 'EUR', 'DE', 'customer', now(), now(), now() "
            "FROM generate_series(1, 10000) g"))
    engine.dispose()
    # promotions reach only those who agreed: the customer in Settings, and 7,000 of the others
    consent = portal.ok("PUT", "/api/v1/me/consents/promotions", token, json={"granted": True})
    assert consent["granted"] and consent["source"] == "settings" and consent["changed_at"]
    with sa.create_engine(normalize_url(portal.database_urls["notifier"])).begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO consents (customer_id, purpose, granted, changed_at, source) "
            "SELECT 'cus_bulk' || lpad(g::text, 6, '0'), 'promotions', g <= 7000, now(), "
            "'import' FROM generate_series(1, 9000) g"))
    admin = demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])
    broadcast = portal.ok("POST", "/api/v1/ops/broadcasts", admin, status=202, json={
        "kind": "promotion", "title": "Sports weekend", "body": "Sports Plus free this weekend."})
    after_timer_rounds("notifier", "send_broadcasts", rounds=1)  # under way
    dispatch = event_dispatcher(portal.config)
    dispatch("billing", "payment_failed", make_envelope("payment", {
        "id": "pay_y", "customer_id": me["id"], "status": "failed", "purpose": "top_up",
        "amount": {"amount": 1000, "currency": "EUR"}, "decline_code": "card_declined"},
        dt.datetime.now(dt.UTC)))
    assert eventually(lambda: len(mails_to(mail, me["email"])) == 2, timeout=10)
    # the notice went out while the broadcast was still being sent, not after it
    assert portal.ok("GET", f"/api/v1/ops/broadcasts/{broadcast['id']}", admin)[
        "status"] != "done"
    broadcast = eventually(lambda: (lambda b: b if b["status"] == "done" else None)(
        portal.ok("GET", f"/api/v1/ops/broadcasts/{broadcast['id']}", admin)), timeout=120,
        pause=0.5)
    assert broadcast and broadcast["recipients"] == 7001
    inbox = portal.ok("GET", "/api/v1/notifications", token)["data"]
    assert "Sports weekend" in [n["title"] for n in inbox]
    assert not [m for m in mail.messages if m["Subject"] == "Sports weekend"]  # opt-in only
    with sa.create_engine(normalize_url(portal.database_urls["notifier"])).connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM notifications WHERE title = "
                                    "'Sports weekend'")).scalar() == 7001


def test_a_new_address_and_language_reach_the_notifier_copy_and_the_next_mail(portal, mail):
    """The notifier keeps its own copy of each customer's e-mail address and language (no RPC
    per notification); a profile change reaches it by accounts' customer_updated event."""
    token = portal.customer("postpaid")
    me = portal.ok("GET", "/api/v1/me", token)
    eventually(lambda: mails_to(mail, me["email"]))  # the welcome
    new_address = f"moved-{uuid.uuid4().hex[:8]}@example.com"
    portal.ok("PATCH", "/api/v1/me", token, json={"email": new_address, "language": "de",
                                                    "current_password": PASSWORD})
    # the new address is the account's once the link mailed to it is followed
    [verify] = eventually(lambda: verification_mails_to(mail, new_address))
    assert verify["Subject"] == "Bestätigen Sie Ihre E-Mail-Adresse"
    link = next(word for word in verify.get_content().split() if "/#/verify-email/" in word)
    portal.ok("POST", "/api/v1/auth/verify-email", None, json={"token": link.rsplit("/", 1)[1]})
    notifier_db = sa.create_engine(normalize_url(portal.database_urls["notifier"]))
    with notifier_db.connect() as conn:
        copy = eventually(lambda: conn.execute(sa.text(
            "SELECT email, language FROM contacts WHERE customer_id = :id AND email = :email"),
            {"id": me["id"], "email": new_address}).first())
        assert tuple(copy) == (new_address, "de")
        # an older event (a redelivery) never brings the old address back
        dispatch = event_dispatcher(portal.config)
        dispatch("accounts", "customer_updated", make_envelope("customer", {
            **me, "updated_at": "2000-01-01T00:00:00Z"}, dt.datetime.now(dt.UTC)))
    dispatch("billing", "payment_failed", make_envelope("payment", {
        "id": "pay_y", "customer_id": me["id"], "status": "failed", "purpose": "invoice",
        "amount": {"amount": 2999, "currency": "EUR"}, "decline_code": "insufficient_funds",
        "next_retry_at": "2026-12-01T10:00:00Z"}, dt.datetime.now(dt.UTC)))
    [notice] = eventually(lambda: mails_to(mail, new_address))
    assert notice["Subject"].startswith("Zahlung über")  # German
    assert len(mails_to(mail, me["email"])) == 1  # only the welcome went to the old address
    notifier_db.dispose()


def test_a_portal_link_an_agent_asks_for_reaches_only_the_customer_s_mailbox(portal, mail):
    token = portal.customer("prepaid", language="de")
    me = portal.ok("GET", "/api/v1/me", token)
    eventually(lambda: mails_to(mail, me["email"]))  # the welcome
    admin = demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])
    issued = portal.ok("POST", f"/api/v1/ops/customers/{me['id']}/portal-link", admin,
                       status=201)
    assert "token" not in issued and "url" not in issued
    [mail_] = eventually(lambda: [m for m in mails_to(mail, me["email"])
                                  if m["Subject"] == "Ihr Anmeldelink"])
    link = next(word for word in mail_.get_content().split() if "/#/portal-link/" in word)
    exchanged = portal("POST", "/api/v1/auth/portal-link/" + link.rsplit("/", 1)[1], None)
    assert exchanged.status_code == 200, exchanged.text
    assert portal.ok("GET", "/api/v1/me", exchanged.json()["token"])["id"] == me["id"]
    again = portal("POST", "/api/v1/auth/portal-link/" + link.rsplit("/", 1)[1], None)
    assert again.status_code == 401  # once
    titles = [n["title"] for n in portal.ok("GET", "/api/v1/notifications", token)["data"]]
    assert "Ihr Anmeldelink" not in titles  # not in the inbox


def test_a_wallet_debit_for_services_is_told_in_the_customers_language(portal, mail):
    token = portal.customer("prepaid", language="de")
    portal.ok("POST", "/api/v1/me/payment-methods", token, status=201, json={
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123",
        "holder": "Ann"})
    portal.ok("POST", "/api/v1/wallet/top-ups", token, status=201,
              json={"amount": {"amount": 2000, "currency": "EUR"}},
              headers={"Idempotency-Key": "debit-notice-1"})
    portal.ok("POST", "/api/v1/subscriptions", token, status=201, json={"package": "basic"},
              headers={"Idempotency-Key": "debit-notice-2"})

    def debit_notices():
        titles = [n["title"] for n in walk(portal, token, "/api/v1/notifications")]
        return [t for t in titles if "aus Ihrem Guthaben bezahlt" in t]
    # Basic with German VAT, €17.84, paid from the €20.00 just topped up
    assert eventually(debit_notices) == ["17,84\xa0€ aus Ihrem Guthaben bezahlt"], [
        n["title"] for n in walk(portal, token, "/api/v1/notifications")]
    [notice] = [n for n in walk(portal, token, "/api/v1/notifications")
                if n["title"] in debit_notices()]
    assert "Ihre Dienste" in notice["body"] and "2,16\xa0€" in notice["body"]


def test_a_password_reset_link_is_mailed_to_the_address_and_sets_a_new_password(portal, mail):
    token = portal.customer("prepaid", language="de")
    me = portal.ok("GET", "/api/v1/me", token)
    portal.ok("POST", "/api/v1/auth/password-reset", None, status=202,
              json={"email": me["email"].upper()})
    [reset] = eventually(lambda: [m for m in mails_to(mail, me["email"])
                                  if "/#/reset-password/" in m.get_content()])
    assert reset["Subject"] == "Passwort zurücksetzen"
    link = next(w for w in reset.get_content().split() if "/#/reset-password/" in w)
    portal.ok("POST", "/api/v1/auth/password-reset/confirm", None, json={
        "token": link.rsplit("/", 1)[1], "new_password": "a fresh reset passphrase"})
    assert portal("GET", "/api/v1/me", token).status_code == 401  # signed out everywhere
    assert portal.ok("POST", "/api/v1/auth/login", None, json={
        "email": me["email"], "password": "a fresh reset passphrase"})["account"]["id"] == me["id"]
    inbox = portal.ok("GET", "/api/v1/notifications", portal.ok(
        "POST", "/api/v1/auth/login", None, json={
            "email": me["email"], "password": "a fresh reset passphrase"})["token"])["data"]
    assert not [n for n in inbox if "reset" in n["body"]]  # the link never sits in the inbox
