"""vouchers' rules as plain functions on an in-memory world (SQLite, a TestClock): batches and
their chunks, voiding and the export, redemption (once per code, each refusal with its own code,
wrong guesses throttled per account and per address), online offers. The same claims under
concurrency on PostgreSQL: tests/integration/test_voucher_redemption_postgres.py."""

import datetime as dt

import pytest
from sqlalchemy import func, select

from services.common import errors
from services.vouchers import batches, codes, events, exceptions, offers, redemption
from services.vouchers.models import (
    MIGRATIONS,
    Base,
    Redemption,
    ThrottleCounter,
    ThrottleEvent,
    Voucher,
    VoucherBatch,
)
from tests.unit.service_world import World

START = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)
KEYS = codes.CodeKeys("unit-test voucher secret, not a real one")
PREPAID_EUR = {"currency": "EUR", "billing_type": "prepaid"}
POSTPAID_EUR = {"currency": "EUR", "billing_type": "postpaid"}
ADDRESS = "203.0.113.9"


@pytest.fixture
def world():
    w = World("vouchers", Base.metadata, MIGRATIONS, start=START)
    yield w
    w.close()


def new_batch(world, count=3, amount=2500, currency="EUR", days=30, generate=True,
              chunk_size=batches.CHUNK_SIZE, **request):
    made = batches.create(world.session, {
        "type": "print", "value": {"amount": amount, "currency": currency}, "count": count,
        "valid_until": (world.now() + dt.timedelta(days=days)).isoformat(), **request},
        "ops_1", world.now(), chunk_size)
    if generate:
        for index in range(-(-count // chunk_size)):
            batches.generate_chunk(world.session, KEYS, made["id"], index, world.now())
    return made


def code_of(batch, n=1):
    return KEYS.code_for(batch["id"], batches.serial_of(batch["number"], n))


def redeem(world, code, customer="cus_a", account=PREPAID_EUR, client=ADDRESS):
    return redemption.redeem(world.session, KEYS, customer, code, account, client, world.now())


def refused(kind, call, *args, **kwargs):
    with pytest.raises(kind) as exc:
        call(*args, **kwargs)
    return exc.value


def voucher_status(world, batch, n=1):
    return world.session.scalar(select(Voucher.status).where(
        Voucher.serial == batches.serial_of(batch["number"], n)))


def count(world, model):
    return world.session.scalar(select(func.count()).select_from(model))


# codes and serials ------------------------------------------------------------------------------

def test_a_code_typed_the_crockford_way_reads_as_the_code():
    code = KEYS.code_for("vb_x", "000010000001")
    typed = codes.display(code).lower().replace("0", "o").replace("1", "l").replace("-", " - ")
    assert codes.normalize(typed) == code and codes.is_well_formed(codes.normalize(typed))


def test_a_serial_is_the_batch_number_then_the_place_and_a_batch_is_its_serial_range(world):
    assert batches.serial_of(12, 345) == "000120000345"
    first = new_batch(world, count=2)
    second = new_batch(world, count=2)
    assert second["number"] == first["number"] + 1
    batch = world.session.get(VoucherBatch, first["id"])
    mine = world.session.scalars(select(Voucher.serial).where(batches.in_batch(batch))
                                 .order_by(Voucher.serial)).all()
    assert mine == [batches.serial_of(first["number"], 1), batches.serial_of(first["number"], 2)]


# batches --------------------------------------------------------------------------------------

def test_a_new_batch_announces_only_its_first_lanes_and_each_chunk_its_lanes_next(world):
    made = new_batch(world, count=5, chunk_size=2, generate=False)
    assert made["status"] == "created" and made["generated"] == 0
    announced = [p["chunk"]["index"] for _, p in world.events(events.VOUCHER_BATCH_CHUNK_READY)]
    assert announced == list(range(batches.LANES)) == [0, 1]
    assert [p["batch"]["id"] for _, p in world.events(events.VOUCHER_BATCH_CREATED)] == [
        made["id"]]
    assert batches.generate_chunk(world.session, KEYS, made["id"], 0, world.now()) == 2
    announced = [p["chunk"]["index"] for _, p in world.events(events.VOUCHER_BATCH_CHUNK_READY)]
    assert announced == [0, 1, 2]  # chunk 0's lane goes on with chunk 2
    assert batches.generate_chunk(world.session, KEYS, made["id"], 1, world.now()) == 2
    assert batches.find(world.session, made["id"]).status == "created"  # one chunk to go
    assert batches.generate_chunk(world.session, KEYS, made["id"], 2, world.now()) == 1
    done = batches.find(world.session, made["id"])
    assert (done.status, done.generated, done.chunks_done) == ("active", 5, 3)
    assert count(world, Voucher) == 5


def test_a_repeated_chunk_message_makes_no_second_voucher(world):
    made = new_batch(world, count=3)
    assert batches.generate_chunk(world.session, KEYS, made["id"], 0, world.now()) == 0
    assert count(world, Voucher) == 3
    assert batches.find(world.session, made["id"]).generated == 3


def test_the_stored_rows_hold_the_codes_hash_and_never_the_code(world):
    made = new_batch(world, count=2)
    code = code_of(made, 2)
    row = world.session.scalar(select(Voucher).where(
        Voucher.serial == batches.serial_of(made["number"], 2)))
    assert row.code_hash == KEYS.lookup_hash(code) and code not in row.code_hash


@pytest.mark.parametrize("change, field", [
    ({"valid_until": (START - dt.timedelta(minutes=1)).isoformat()}, "valid_until"),
    ({"type": "online"}, "type"),
    ({"valid_from": (START + dt.timedelta(days=40)).isoformat()}, "valid_until"),
    ({"value": {"amount": 0, "currency": "EUR"}}, "value.amount"),  # PositiveMoney, as the API
])
def test_a_batch_request_that_breaks_a_rule_is_a_field_error_and_stores_nothing(world, change,
                                                                                 field):
    request = {"type": "print", "value": {"amount": 1000, "currency": "EUR"}, "count": 2,
               "valid_until": (START + dt.timedelta(days=30)).isoformat(), **change}
    error = refused(errors.InvalidArgument, batches.create, world.session, request, "ops_1",
                    world.now())
    assert field in error.fields
    world.session.rollback()
    assert count(world, VoucherBatch) == 0


def test_a_batch_whose_idempotency_record_lost_the_race_is_not_kept(world):
    request = {"type": "print", "value": {"amount": 1000, "currency": "EUR"}, "count": 2,
               "valid_until": (START + dt.timedelta(days=30)).isoformat()}
    assert batches.create(world.session, request, "ops_1", world.now(),
                          once=lambda batch: False) is None
    assert count(world, VoucherBatch) == 0 and world.events() == []


def test_a_batch_past_its_end_reads_expired_without_being_changed(world):
    made = new_batch(world, days=10)
    world.advance(days=10)
    batch = batches.find(world.session, made["id"])
    assert batches.dump(batch, world.now())["status"] == "expired" and batch.status == "active"


def test_voiding_a_batch_voids_its_unused_vouchers_keeps_the_redeemed_and_tells_once(world):
    made = new_batch(world, count=3)
    redeem(world, code_of(made, 1))
    voided = batches.void_batch(world.session, made["id"], {"reason": "misprint"}, "ops_1",
                                world.now())
    assert voided["status"] == "voided" and voided["void_reason"] == "misprint"
    assert [voucher_status(world, made, n) for n in (1, 2, 3)] == ["redeemed", "voided",
                                                                   "voided"]
    batches.void_batch(world.session, made["id"], {"reason": "again"}, "ops_1", world.now())
    assert len(world.events(events.VOUCHER_BATCH_VOIDED)) == 1
    assert batches.find(world.session, made["id"]).void_reason == "misprint"


def test_voiding_one_voucher_refuses_a_redeemed_one_and_an_unknown_serial(world):
    made = new_batch(world, count=2)
    serial = batches.serial_of(made["number"], 1)
    assert batches.void_voucher(world.session, serial, {"reason": "lost"}, "ops_1",
                                world.now())["status"] == "voided"
    assert voucher_status(world, made, 1) == "voided"
    # voiding it again answers the same and tells nobody twice
    assert batches.void_voucher(world.session, serial, {"reason": "lost again"}, "ops_1",
                                world.now())["status"] == "voided"
    assert len(world.events(events.VOUCHER_VOIDED)) == 1
    redeem(world, code_of(made, 2))
    error = refused(errors.Conflict, batches.void_voucher, world.session,
                    batches.serial_of(made["number"], 2), {"reason": "lost"}, "ops_1",
                    world.now())
    assert error.code == exceptions.VOUCHER_ALREADY_REDEEMED == "VOUCHER_ALREADY_REDEEMED"
    error = refused(errors.NotFound, batches.void_voucher, world.session, "999990000001",
                    {"reason": "lost"}, "ops_1", world.now())
    assert error.code == "VOUCHER_NOT_FOUND"


def test_support_sees_a_vouchers_state_and_redeemer_but_never_its_code(world):
    made = new_batch(world, count=2, days=5)
    serial = batches.serial_of(made["number"], 1)
    redeem(world, code_of(made, 1), customer="cus_7")
    seen = batches.lookup(world.session, serial, world.now())
    assert (seen["status"], seen["redeemed_by"]) == ("redeemed", "cus_7")
    assert code_of(made, 1) not in str(seen) and codes.display(code_of(made, 1)) not in str(seen)
    other = batches.serial_of(made["number"], 2)
    assert batches.lookup(world.session, other, world.now())["status"] == "active"
    world.advance(days=5)
    assert batches.lookup(world.session, other, world.now())["status"] == "expired"


def test_only_an_active_print_batch_is_exported(world):
    waiting = new_batch(world, count=2, generate=False)
    error = refused(errors.Conflict, batches.start_export, world.session, waiting["id"], "ops_1",
                    world.now())
    assert error.code == exceptions.VOUCHER_BATCH_NOT_ACTIVE
    offers.create_offer(world.session, {"code": "gift-25", "name": "Gift 25",
                                        "value": {"amount": 2500, "currency": "EUR"},
                                        "price": {"amount": 2500, "currency": "EUR"}},
                        world.now())
    offers.issue_online(world.session, KEYS, "pay_1", "gift-25", "cus_b", world.now())
    online = world.session.scalar(select(VoucherBatch).where(VoucherBatch.type == "online"))
    error = refused(errors.Conflict, batches.start_export, world.session, online.id, "ops_1",
                    world.now())
    assert error.code == exceptions.NOT_A_PRINT_BATCH
    error = refused(errors.NotFound, batches.start_export, world.session, "vb_nope", "ops_1",
                    world.now())
    assert error.code == "VOUCHER_BATCH_NOT_FOUND"


def test_the_export_pages_by_serial_and_its_codes_are_the_redeemable_ones(world):
    made = new_batch(world, count=5, amount=1050)
    started = batches.start_export(world.session, made["id"], "ops_1", world.now())
    assert started["rows"] == 5 and len(world.events(events.VOUCHER_BATCH_EXPORTED)) == 1
    rows, after = [], None
    while True:
        page = batches.export_page(world.session, KEYS, made["id"], after, limit=2)
        rows += page["rows"]
        if page["next"] is None:
            break
        after = page["next"]
    assert [r[0] for r in rows] == [batches.serial_of(made["number"], n) for n in range(1, 6)]
    assert {(r[2], r[3]) for r in rows} == {("10.50", "EUR")}
    assert rows[2][1] == codes.display(code_of(made, 3))
    assert redeem(world, rows[2][1])["serial"] == rows[2][0]


# redemption ------------------------------------------------------------------------------------

def test_a_redemption_is_recorded_with_its_event_and_the_voucher_turns_redeemed(world):
    made = new_batch(world, amount=2500)
    answer = redeem(world, codes.display(code_of(made)).lower())
    assert answer["value"] == {"amount": 2500, "currency": "EUR"}
    assert answer["customer_id"] == "cus_a" and answer["serial"] == batches.serial_of(
        made["number"], 1)
    assert voucher_status(world, made) == "redeemed"
    [(_, envelope)] = world.events(events.VOUCHER_REDEEMED)
    assert envelope["redemption"] == answer
    assert redemption.history(world.session, "cus_a")["data"] == [answer]


def test_a_code_is_redeemed_once_whoever_tries_again(world):
    made = new_batch(world)
    redeem(world, code_of(made))
    for customer in ("cus_a", "cus_b"):
        error = refused(errors.Conflict, redeem, world, code_of(made), customer=customer)
        assert error.code == exceptions.VOUCHER_ALREADY_REDEEMED
    assert count(world, Redemption) == 1 and len(world.events(events.VOUCHER_REDEEMED)) == 1
    assert count(world, ThrottleCounter) == 0  # a real code is not a guess


@pytest.mark.parametrize("setup, account, code", [
    (lambda w, b: w.advance(days=30), PREPAID_EUR, "VOUCHER_EXPIRED"),
    (lambda w, b: None, {"currency": "CHF", "billing_type": "prepaid"},
     "VOUCHER_CURRENCY_MISMATCH"),
    (lambda w, b: batches.void_batch(w.session, b["id"], {"reason": "stolen"}, "ops_1",
                                     w.now()), PREPAID_EUR, "VOUCHER_VOIDED"),
])
def test_a_real_code_that_cannot_be_used_says_why_and_is_not_counted_as_a_guess(world, setup,
                                                                                 account, code):
    made = new_batch(world, days=30)
    setup(world, made)
    error = refused(errors.Conflict, redeem, world, code_of(made), account=account)
    assert error.code == code
    assert voucher_status(world, made) in ("active", "voided") and count(world, Redemption) == 0
    assert count(world, ThrottleCounter) == 0


def test_a_voucher_is_not_valid_before_its_start(world):
    made = new_batch(world, valid_from=(START + dt.timedelta(days=2)).isoformat())
    error = refused(errors.Conflict, redeem, world, code_of(made))
    assert error.code == exceptions.VOUCHER_NOT_YET_VALID
    world.advance(days=2)
    assert redeem(world, code_of(made))["value"]["amount"] == 2500


def test_a_voucher_of_a_batch_still_being_generated_cannot_be_used_yet(world):
    made = new_batch(world, count=3, chunk_size=2, generate=False)
    batches.generate_chunk(world.session, KEYS, made["id"], 0, world.now())
    error = refused(errors.Conflict, redeem, world, code_of(made, 1))
    assert error.code == exceptions.VOUCHER_NOT_YET_VALID


def test_a_prepaid_only_voucher_refuses_a_postpaid_account_and_serves_a_prepaid_one(world):
    made = new_batch(world, restriction="prepaid")
    error = refused(errors.Conflict, redeem, world, code_of(made), account=POSTPAID_EUR)
    assert error.code == exceptions.VOUCHER_NOT_ALLOWED
    assert redeem(world, code_of(made), account=PREPAID_EUR)["customer_id"] == "cus_a"
    unrestricted = new_batch(world)
    assert redeem(world, code_of(unrestricted), customer="cus_p", account=POSTPAID_EUR)


def test_a_typo_is_refused_before_any_lookup_but_counts_as_a_guess(world):
    made = new_batch(world)
    good = code_of(made)
    typo = good[:3] + next(c for c in codes.ALPHABET if c != good[3]) + good[4:]
    error = refused(errors.InvalidArgument, redeem, world, typo)
    assert error.code == exceptions.VOUCHER_CODE_INVALID and "code" in error.fields
    counters = dict(world.session.execute(select(ThrottleCounter.key,
                                                 ThrottleCounter.failures)).all())
    assert counters == {"redeem:account:cus_a": 1, f"redeem:ip:{ADDRESS}": 1}
    assert voucher_status(world, made) == "active"


def test_a_well_formed_unknown_code_is_not_found_and_counts_as_a_guess(world):
    body = "0" * 12 + "1"
    error = refused(errors.NotFound, redeem, world, body + codes.check_symbol(body))
    assert error.code == exceptions.VOUCHER_NOT_FOUND
    assert world.session.get(ThrottleCounter, "redeem:account:cus_a").failures == 1


def unknown(n):
    body = f"{n:013d}"
    return body + codes.check_symbol(body)


def test_five_wrong_codes_block_the_account_even_for_a_right_code_until_the_block_ends(world):
    made = new_batch(world)
    for n in range(5):
        refused(errors.NotFound, redeem, world, unknown(n), client=None)
    blocked = refused(errors.RateLimited, redeem, world, code_of(made), client=None)
    assert blocked.retry_after == 60 and blocked.code == exceptions.TOO_MANY_ATTEMPTS
    assert voucher_status(world, made) == "active"
    [(_, envelope)] = world.events(events.VOUCHER_GUESSING_THROTTLED)
    assert envelope["throttle"]["key"] == "redeem:account:cus_a"
    assert count(world, ThrottleEvent) == 1
    assert redeem(world, code_of(made), customer="cus_other", client=None)  # only this account
    world.advance(seconds=60)
    assert redeem(world, code_of(new_batch(world)), client=None)["customer_id"] == "cus_a"


def test_a_wrong_code_after_a_block_blocks_twice_as_long(world):
    for n in range(redemption.ACCOUNT_LIMIT.max_failures):
        refused(errors.NotFound, redeem, world, unknown(n), client=None)
    world.advance(seconds=61)
    refused(errors.NotFound, redeem, world, unknown(99), client=None)
    assert refused(errors.RateLimited, redeem, world, unknown(98),
                   client=None).retry_after == 120


def test_while_blocked_guesses_are_not_counted_so_the_block_does_not_grow(world):
    for n in range(redemption.ACCOUNT_LIMIT.max_failures):
        refused(errors.NotFound, redeem, world, unknown(n), client=None)
    for n in range(5):
        refused(errors.RateLimited, redeem, world, unknown(100 + n), client=None)
        refused(errors.RateLimited, redeem, world, "not a code", client=None)
    counter = world.session.get(ThrottleCounter, "redeem:account:cus_a")
    assert counter.failures == redemption.ACCOUNT_LIMIT.max_failures
    assert counter.blocked_until == START + dt.timedelta(seconds=60)


def test_one_address_guessing_for_many_accounts_is_blocked_at_twenty(world):
    made = new_batch(world)
    for n in range(20):
        refused(errors.NotFound, redeem, world, unknown(n), customer=f"cus_{n}")
    blocked = refused(errors.RateLimited, redeem, world, code_of(made), customer="cus_new")
    assert blocked.retry_after == 120
    assert redeem(world, code_of(made), customer="cus_new", client="198.51.100.1")


# online vouchers -----------------------------------------------------------------------------

def offer(world, code="gift-50", amount=5000, price=4500, valid_days=365, currency="EUR"):
    return offers.create_offer(world.session, {
        "code": code, "name": f"Gift {amount // 100}",
        "value": {"amount": amount, "currency": currency},
        "price": {"amount": price, "currency": currency}, "valid_days": valid_days},
        world.now())


def test_an_offer_needs_positive_value_and_price_in_one_currency_and_a_free_code(world):
    error = refused(errors.InvalidArgument, offers.create_offer, world.session, {
        "code": "mixed", "name": "Mixed", "value": {"amount": 5000, "currency": "EUR"},
        "price": {"amount": 4500, "currency": "CHF"}}, world.now())
    assert "price" in error.fields
    offer(world)
    error = refused(errors.Conflict, offer, world)
    assert error.code == exceptions.ALREADY_EXISTS


def test_offers_on_sale_are_listed_cheapest_first_and_a_retired_one_is_gone(world):
    offer(world, "gift-50", 5000, 4500)
    offer(world, "gift-10", 1000, 1000)
    assert [o["code"] for o in offers.list_offers(world.session)["data"]] == ["gift-10",
                                                                              "gift-50"]
    offers.retire_offer(world.session, "gift-10")
    assert [o["code"] for o in offers.list_offers(world.session)["data"]] == ["gift-50"]
    error = refused(errors.NotFound, offers.get_offer, world.session, "gift-10")
    assert error.code == exceptions.VOUCHER_OFFER_NOT_FOUND


def test_a_payment_buys_one_voucher_however_often_it_is_asked(world):
    offer(world)
    first = offers.issue_online(world.session, KEYS, "pay_1", "gift-50", "cus_b", world.now())
    again = offers.issue_online(world.session, KEYS, "pay_1", "gift-50", "cus_b", world.now())
    assert first == again and codes.is_well_formed(codes.normalize(first["code"]))
    assert len(world.events(events.VOUCHER_PURCHASED)) == 1
    second = offers.issue_online(world.session, KEYS, "pay_2", "gift-50", "cus_b", world.now())
    assert second["code"] != first["code"]
    batch = world.session.scalar(select(VoucherBatch).where(VoucherBatch.offer_code == "gift-50"))
    assert (batch.type, batch.count, batch.generated) == ("online", 2, 2)
    error = refused(errors.NotFound, offers.issue_online, world.session, KEYS, "pay_3", "nope",
                    "cus_b", world.now())
    assert error.code == exceptions.VOUCHER_OFFER_NOT_FOUND


def test_an_online_voucher_expires_after_its_offers_days_not_with_its_batch(world):
    offer(world, valid_days=10)
    bought = offers.issue_online(world.session, KEYS, "pay_1", "gift-50", "cus_b", world.now())
    assert bought["valid_until"] == "2026-05-14T09:00:00Z"
    world.advance(days=10)
    error = refused(errors.Conflict, redeem, world, bought["code"], customer="cus_b")
    assert error.code == exceptions.VOUCHER_EXPIRED
    world.advance(days=-1)
    assert redeem(world, bought["code"], customer="cus_b")["value"]["amount"] == 5000


def test_throttle_events_are_pages_newest_first_ties_broken_by_id(world):
    at = [START, START, START + dt.timedelta(minutes=1), START + dt.timedelta(minutes=2),
          START + dt.timedelta(minutes=2)]  # two pairs at one time: the id orders them
    world.session.add_all([ThrottleEvent(key=f"redeem:account:cus_{n}", failures=5,
                                         blocked_until=t + dt.timedelta(minutes=15),
                                         created_at=t) for n, t in enumerate(at)])
    world.session.flush()
    seen, cursor = [], None
    while True:
        page = redemption.throttle_events(world.session, 2, cursor)
        seen += [e["key"] for e in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert seen == [f"redeem:account:cus_{n}" for n in (4, 3, 2, 1, 0)]
    for bad in ({"limit": 0}, {"limit": 101}, {"cursor": "12"}):
        with pytest.raises(errors.InvalidArgument):
            redemption.throttle_events(world.session, **bad)


def test_an_offer_is_named_in_the_customers_language_where_ops_translated_it(world):
    made = offers.create_offer(world.session, {
        "code": "gift-20", "name": "20 € gift voucher",
        "value": {"amount": 2000, "currency": "EUR"}, "price": {"amount": 2000, "currency": "EUR"},
        "translations": {"de": {"name": "Geschenkgutschein über 20 €"}}}, world.now())
    assert made["translations"] == {"de": {"name": "Geschenkgutschein über 20 €"}}
    [german] = offers.list_offers(world.session, "de")["data"]
    assert german["name"] == "Geschenkgutschein über 20 €" and "translations" not in german
    for language in ("it", "en", None):  # not translated: as entered
        assert offers.list_offers(world.session, language)["data"][0]["name"] == \
            "20 € gift voucher"
    error = refused(errors.InvalidArgument, offers.create_offer, world.session, {
        "code": "gift-30", "name": "30 €", "value": {"amount": 3000, "currency": "EUR"},
        "price": {"amount": 3000, "currency": "EUR"},
        "translations": {"xx": {"name": "?"}}}, world.now())
    assert any(key.startswith("translations") for key in error.fields), error.fields
