"""Vouchers end to end through the gateway on the real services, RabbitMQ and PostgreSQL: ops
create and export a print batch, customers redeem codes from the CSV (once, whatever races),
typos and guesses are refused and throttled, voids hold, online vouchers are bought by card and
redeemed by someone else, and a billing that died after the redemption credits it once."""

import csv
import datetime as dt
import io
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcProxy, ServiceRpcProxy
from nameko.testing.services import replace_dependencies
from nameko.testing.utils import get_container, get_extension

from deploy import demo
from services.billing.service import BillingService
from services.common import errors
from services.common.clock import ClockProvider, TestClock
from services.common.db import normalize_url
from services.vouchers import codes
from services.vouchers.service import VouchersService
from tests.integration.conftest import eventually, walk


@pytest.fixture
def portal(start_portal):
    return start_portal(VOUCHER_CHUNK_SIZE=7)


def card(portal, token, number="4242424242424242"):
    return portal.ok("POST", "/api/v1/me/payment-methods", token, status=201, json={
        "number": number, "exp_month": 12, "exp_year": 2040, "cvc": "123", "holder": "Ann"})


def admin_of(portal):
    return demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])


def make_batch(portal, admin, count=30, value=1500, **extra):
    until = (dt.datetime.now(dt.UTC) + dt.timedelta(days=365)).isoformat()
    batch = portal.ok("POST", "/api/v1/ops/voucher-batches", admin, status=202, json={
        "type": "print", "value": {"amount": value, "currency": "EUR"}, "count": count,
        "valid_until": until, "description": "Shop cards", **extra},
        headers={"Idempotency-Key": uuid.uuid4().hex})
    assert batch["status"] == "created" and batch["count"] == count
    batch = eventually(lambda: (lambda b: b if b["status"] == "active" else None)(
        portal.ok("GET", f"/api/v1/ops/voucher-batches/{batch['id']}", admin)), timeout=30)
    assert batch and batch["generated"] == count
    return batch


def export(portal, admin, batch):
    response = portal("GET", f"/api/v1/ops/voucher-batches/{batch['id']}/export.csv", admin)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["X-Export-Id"].startswith("vex_")
    return list(csv.DictReader(io.StringIO(response.text)))


def wallet_balance(portal, token):
    return portal.ok("GET", "/api/v1/wallet", token)["balance"]["amount"]


def test_a_print_batch_is_exported_and_its_codes_redeem_once(portal):
    admin = admin_of(portal)
    batch = make_batch(portal, admin)
    rows = export(portal, admin, batch)
    assert len(rows) == 30 and list(rows[0]) == ["serial", "code", "value", "currency",
                                                  "valid_until"]
    assert len({r["serial"] for r in rows}) == 30 and len({r["code"] for r in rows}) == 30
    assert all(codes.is_well_formed(codes.normalize(r["code"])) for r in rows)
    assert {(r["value"], r["currency"]) for r in rows} == {("15.00", "EUR")}
    with sa.create_engine(normalize_url(portal.database_urls["vouchers"])).connect() as conn:
        stored = " ".join(str(v) for row in conn.execute(sa.text("SELECT * FROM vouchers"))
                          for v in row)
        exports = conn.execute(sa.text("SELECT count(*) FROM voucher_batch_exports")).scalar()
    assert exports == 1
    assert not any(codes.normalize(r["code"]) in stored for r in rows)  # no code in the DB

    ann, bob = portal.customer("prepaid"), portal.customer("prepaid")
    first = rows[0]["code"].lower().replace("-", " ")  # typed loosely: still the code
    redeemed = portal.ok("POST", "/api/v1/vouchers/redeem", ann, status=201,
                         json={"code": first})
    assert redeemed["redemption"]["serial"] == rows[0]["serial"]
    assert redeemed["transaction"]["type"] == "voucher"
    assert wallet_balance(portal, ann) == 1500
    again = portal("POST", "/api/v1/vouchers/redeem", bob, json={"code": rows[0]["code"]})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "VOUCHER_ALREADY_REDEEMED"
    by_top_up = portal.ok("POST", "/api/v1/wallet/top-ups", bob, status=201,
                          json={"voucher_code": rows[1]["code"]},
                          headers={"Idempotency-Key": "bob-voucher"})
    assert by_top_up["wallet"]["balance"]["amount"] == 1500
    history = portal.ok("GET", "/api/v1/vouchers/redemptions", ann)["data"]
    assert [h["serial"] for h in history] == [rows[0]["serial"]]

    portal.ok("POST", f"/api/v1/ops/vouchers/{rows[2]['serial']}/void", admin,
              json={"reason": "Card reported stolen"})
    voided = portal("POST", "/api/v1/vouchers/redeem", ann, json={"code": rows[2]["code"]})
    assert voided.status_code == 409 and voided.json()["error"]["code"] == "VOUCHER_VOIDED"
    usd = portal.customer("prepaid", currency="USD")
    other_currency = portal("POST", "/api/v1/vouchers/redeem", usd, json={"code": rows[3]["code"]})
    assert other_currency.json()["error"]["code"] == "VOUCHER_CURRENCY_MISMATCH"
    postpaid = portal.customer("postpaid")
    assert portal("POST", "/api/v1/vouchers/redeem", postpaid,
                  json={"code": rows[3]["code"]}).json()["error"]["code"] == "NOT_PREPAID"
    assert portal.ok("POST", "/api/v1/vouchers/redeem", ann, status=201,
                     json={"code": rows[3]["code"]})  # not used up by the refusals

    portal.ok("POST", f"/api/v1/ops/voucher-batches/{batch['id']}/void", admin,
              json={"reason": "Print run lost"})
    after_void = portal("POST", "/api/v1/vouchers/redeem", bob, json={"code": rows[4]["code"]})
    assert after_void.json()["error"]["code"] == "VOUCHER_VOIDED"
    assert portal("GET", f"/api/v1/ops/voucher-batches/{batch['id']}/export.csv",
                  admin).status_code == 409
    assert portal("GET", "/api/v1/ops/voucher-batches", ann).status_code == 403




def test_redemptions_and_batches_page_through_every_row_once(portal):
    clock = TestClock(dt.datetime.now(dt.UTC))
    get_extension(get_container(portal.runner, VouchersService), ClockProvider).clock = clock
    admin = admin_of(portal)
    batches = [make_batch(portal, admin, count=5 if n == 0 else 1, value=100 * (n + 1))
               for n in range(3)]
    rows = export(portal, admin, batches[0])
    ann = portal.customer("prepaid")
    for row in rows:
        clock.advance(seconds=1)  # redemptions are listed by time: one a second
        portal.ok("POST", "/api/v1/vouchers/redeem", ann, status=201, json={"code": row["code"]})
    history = walk(portal, ann, "/api/v1/vouchers/redemptions")
    assert [h["serial"] for h in history] == [r["serial"] for r in rows][::-1]  # newest first
    listed = walk(portal, admin, "/api/v1/ops/voucher-batches")
    assert [b["id"] for b in listed] == [b["id"] for b in batches][::-1]
    assert walk(portal, admin, "/api/v1/ops/voucher-throttles") == []
    for bad in ("%25%25", "12", "x" * 201):
        refused = portal("GET", f"/api/v1/vouchers/redemptions?cursor={bad}", ann)
        assert refused.status_code == 400, (bad, refused.text)
        assert refused.json()["error"]["code"] == "VALIDATION_FAILED"


def test_typos_are_caught_without_a_lookup_and_guessing_is_throttled(portal):
    admin = admin_of(portal)
    [row] = export(portal, admin, make_batch(portal, admin, count=1))
    code = codes.normalize(row["code"])
    typo = code[:5] + ("1" if code[5] != "1" else "2") + code[6:]
    ann = portal.customer("prepaid")
    refused = portal("POST", "/api/v1/vouchers/redeem", ann, json={"code": typo})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "VOUCHER_CODE_INVALID"
    assert "code" in refused.json()["error"]["fields"]

    answers = []
    for n in range(20):  # well-formed guesses (a valid check symbol), none of them real
        body = f"{n:013d}".replace("0", "A")
        answers.append(portal("POST", "/api/v1/vouchers/redeem", ann,
                              json={"code": body + codes.check_symbol(body)}))
    statuses = [a.status_code for a in answers]
    assert statuses[:4] == [404] * 4 and answers[0].json()["error"]["code"] == \
        "VOUCHER_NOT_FOUND"
    assert 429 in statuses and set(statuses[statuses.index(429):]) == {429}
    blocked = answers[-1]
    assert blocked.json()["error"]["code"] == "TOO_MANY_ATTEMPTS"
    assert int(blocked.headers["Retry-After"]) > 0
    # even the real code waits out the block
    assert portal("POST", "/api/v1/vouchers/redeem", ann,
                  json={"code": row["code"]}).status_code == 429
    events = portal.ok("GET", "/api/v1/ops/voucher-throttles", admin)["data"]
    assert any(e["key"].startswith("redeem:account:") for e in events)


def test_fifty_concurrent_redemptions_of_one_code_credit_exactly_once(portal):
    admin = admin_of(portal)
    [row] = export(portal, admin, make_batch(portal, admin, count=1, value=700))
    with ThreadPoolExecutor(10) as pool:
        tokens = list(pool.map(lambda _: portal.customer("prepaid"), range(50)))
    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(lambda t: portal("POST", "/api/v1/vouchers/redeem", t,
                                                 json={"code": row["code"]}), tokens))
    assert sorted(a.status_code for a in answers).count(201) == 1, [a.text for a in answers]
    assert {a.json()["error"]["code"] for a in answers if a.status_code != 201} == {
        "VOUCHER_ALREADY_REDEEMED"}
    with sa.create_engine(normalize_url(portal.database_urls["billing"])).connect() as conn:
        credits = conn.execute(sa.text(
            "SELECT count(*), sum(amount) FROM wallet_transactions WHERE type = 'voucher'"
        )).one()
    assert tuple(credits) == (1, 700)


def test_a_billing_that_died_after_the_redemption_credits_it_once_when_back(
        portal, container_factory):
    admin = admin_of(portal)
    [row] = export(portal, admin, make_batch(portal, admin, count=1, value=900))
    ann = portal.customer("prepaid")
    me = portal.ok("GET", "/api/v1/me", ann)
    [billing] = [c for c in portal.runner.containers if c.service_name == "billing"]
    billing.kill()  # billing dies: vouchers redeems, nobody credits yet
    with ServiceRpcProxy("vouchers", portal.config) as vouchers:
        redemption = vouchers.redeem(me["id"], row["code"],
                                     {"currency": "EUR", "billing_type": "prepaid"}, None)
    assert redemption["value"] == {"amount": 900, "currency": "EUR"}
    container_factory(BillingService, portal.config).start()  # back: the event credits it
    assert eventually(lambda: wallet_balance(portal, ann) == 900)
    with ServiceRpcProxy("vouchers", portal.config) as vouchers:
        refused = None
        try:
            vouchers.redeem(me["id"], row["code"], {"currency": "EUR",
                                                    "billing_type": "prepaid"}, None)
        except Exception as exc:  # noqa: BLE001 - the typed remote error
            refused = exc
    assert refused is not None and "VOUCHER_ALREADY_REDEEMED" in str(refused)
    transactions = portal.ok("GET", "/api/v1/wallet/transactions", ann)["data"]
    assert [(t["type"], t["amount"]["amount"]) for t in transactions] == [("voucher", 900)]


def test_an_online_voucher_is_bought_by_card_and_redeemed_by_someone_else(portal):
    admin = admin_of(portal)
    portal.ok("POST", "/api/v1/ops/voucher-offers", admin, status=201, json={
        "code": "gift-20", "name": "20 € gift", "value": {"amount": 2000, "currency": "EUR"},
        "price": {"amount": 1900, "currency": "EUR"},
        "translations": {"it": {"name": "Regalo da 20 €"}}})
    offers = portal.ok("GET", "/api/v1/vouchers/offers", portal.customer("prepaid"))["data"]
    assert [(o["code"], o["name"]) for o in offers] == [("gift-20", "20 € gift")]
    italian = portal.ok("GET", "/api/v1/vouchers/offers",
                        portal.customer("prepaid", language="it"))["data"]
    assert [o["name"] for o in italian] == ["Regalo da 20 €"]  # in the customer's language
    buyer = portal.customer("postpaid")  # anyone may buy; redeeming needs a wallet
    card(portal, buyer)
    bought = portal.ok("POST", "/api/v1/vouchers/purchases", buyer, status=201,
                       json={"offer": "gift-20"}, headers={"Idempotency-Key": "gift-1"})
    assert codes.is_well_formed(codes.normalize(bought["code"]))
    assert bought["payment"]["status"] == "succeeded"
    assert bought["payment"]["amount"] == {"amount": 1900, "currency": "EUR"}
    repeat = portal.ok("POST", "/api/v1/vouchers/purchases", buyer, status=201,
                       json={"offer": "gift-20"}, headers={"Idempotency-Key": "gift-1"})
    assert (repeat["code"], repeat["payment"]["id"]) == (bought["code"],
                                                         bought["payment"]["id"])
    assert len(portal.ok("GET", "/api/v1/payments", buyer)["data"]) == 1
    receipt = portal("GET", f"/api/v1/payments/{bought['payment']['id']}/receipt", buyer)
    assert receipt.status_code == 200 and receipt.content.startswith(b"%PDF")

    friend = portal.customer("prepaid")
    portal.ok("POST", "/api/v1/vouchers/redeem", friend, status=201,
              json={"code": bought["code"]})
    assert wallet_balance(portal, friend) == 2000
    declining = portal.customer("prepaid")
    card(portal, declining, "4000000000000002")
    declined = portal("POST", "/api/v1/vouchers/purchases", declining,
                      json={"offer": "gift-20"}, headers={"Idempotency-Key": "declined"})
    assert declined.status_code == 402 and declined.json()["error"]["decline_code"] == \
        "card_declined"
    assert portal("POST", "/api/v1/vouchers/purchases", declining, json={"offer": "nope"},
                  headers={"Idempotency-Key": "nope"}).status_code == 404


class VouchersThatFailOnce:
    """billing's vouchers proxy, except that the first issue_online fails as if the buying
    call had died after the charge (what billing's voucher_purchase_paid handler repairs)."""

    def __init__(self, config):
        self.cluster = ClusterRpcProxy(config)
        self.real = self.cluster.start().vouchers
        self.failed = False

    def __getattr__(self, name):
        return getattr(self.real, name)

    def issue_online(self, *args):
        if not self.failed:
            self.failed = True
            raise errors.ServiceUnavailable("The vouchers service did not answer in time.")
        return self.real.issue_online(*args)


def test_a_voucher_paid_for_but_not_issued_is_issued_by_billing_s_event_once(
        portal, container_factory):
    admin = admin_of(portal)
    portal.ok("POST", "/api/v1/ops/voucher-offers", admin, status=201, json={
        "code": "gift-5", "name": "5 € gift", "value": {"amount": 500, "currency": "EUR"},
        "price": {"amount": 500, "currency": "EUR"}})
    [billing] = [c for c in portal.runner.containers if c.service_name == "billing"]
    billing.kill()
    flaky = container_factory(BillingService, portal.config)
    vouchers = VouchersThatFailOnce(portal.config)
    replace_dependencies(flaky, vouchers=vouchers)
    flaky.start()
    try:
        buyer = portal.customer("prepaid")
        card(portal, buyer)
        lost = portal("POST", "/api/v1/vouchers/purchases", buyer, json={"offer": "gift-5"},
                      headers={"Idempotency-Key": "lost-answer"})
        assert lost.status_code == 503 and vouchers.failed  # charged, the voucher not issued
        vouchers_db = sa.create_engine(normalize_url(portal.database_urls["vouchers"]))
        with vouchers_db.connect() as conn:  # the event issues it, with nobody asking again
            issued = eventually(lambda: conn.execute(sa.text(
                "SELECT purchase_id FROM vouchers WHERE purchase_id IS NOT NULL")).all())
        vouchers_db.dispose()
        assert len(issued) == 1
        again = portal.ok("POST", "/api/v1/vouchers/purchases", buyer, status=201,
                          json={"offer": "gift-5"}, headers={"Idempotency-Key": "lost-answer"})
        assert again["payment"]["id"] == issued[0][0]  # the same payment and voucher
        assert len(portal.ok("GET", "/api/v1/payments", buyer)["data"]) == 1
    finally:
        vouchers.cluster.stop()


def test_the_csv_holds_exactly_the_batch_and_every_code_redeems(portal):
    admin = admin_of(portal)
    make_batch(portal, admin, count=5, value=100)  # another batch: must not leak into the file
    batch = make_batch(portal, admin, count=12, value=250)
    rows = export(portal, admin, batch)
    with sa.create_engine(normalize_url(portal.database_urls["vouchers"])).connect() as conn:
        serials = conn.execute(sa.text("SELECT serial FROM vouchers WHERE batch_id = :b"),
                               {"b": batch["id"]}).scalars().all()
    assert sorted(r["serial"] for r in rows) == sorted(serials) and len(serials) == 12
    ann = portal.customer("prepaid")
    me = portal.ok("GET", "/api/v1/me", ann)
    for r in rows:
        portal.ok("POST", "/api/v1/vouchers/redeem", ann, status=201, json={"code": r["code"]})
    assert wallet_balance(portal, ann) == 12 * 250
    seen = portal.ok("GET", f"/api/v1/ops/vouchers/{rows[0]['serial']}", admin)
    assert (seen["status"], seen["redeemed_by"]) == ("redeemed", me["id"])
    assert "code" not in seen
    assert portal("GET", "/api/v1/ops/vouchers/000000000000", admin).status_code == 404


def test_a_batch_that_would_be_born_expired_is_refused(portal):
    admin = admin_of(portal)
    once = {"Idempotency-Key": "born-expired"}
    past = portal("POST", "/api/v1/ops/voucher-batches", admin, headers=once, json={
        "type": "print", "value": {"amount": 500, "currency": "EUR"}, "count": 2,
        "valid_until": "2020-01-01T00:00:00Z"})
    assert past.status_code == 400 and "valid_until" in past.json()["error"]["fields"]
    backwards = portal("POST", "/api/v1/ops/voucher-batches", admin, headers=once, json={
        "type": "print", "value": {"amount": 500, "currency": "EUR"}, "count": 2,
        "valid_from": "2031-01-01T00:00:00Z", "valid_until": "2030-01-01T00:00:00Z"})
    assert backwards.status_code == 400 and "valid_until" in backwards.json()["error"]["fields"]
