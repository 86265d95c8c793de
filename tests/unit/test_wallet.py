"""The prepaid wallet, top-ups and payment methods, in process (SQLite, the sandbox provider)."""

import datetime as dt

import pytest
from sqlalchemy import select, text

from services.billing.models import Payment, PaymentMethod
from services.billing.money import ledger
from services.common import errors
from services.common.kernel_tables import OutboxMessage
from tests.unit.billing_world import World

START = dt.datetime(2026, 11, 21, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def world():
    w = World(START)
    w.accounts.add("cus_p", billing_type="prepaid")
    w.accounts.add("cus_q", billing_type="postpaid")
    return w


def balance(world, customer="cus_p"):
    return world.billing.get_wallet(customer)["balance"]["amount"]


def events(world, event_type):
    return [m.payload for m in world.billing_session.scalars(
        select(OutboxMessage).where(OutboxMessage.event_type == event_type))]


def test_a_card_is_stored_as_token_brand_last4_and_never_the_number(world):
    card = world.billing.add_payment_method("cus_p", {
        "number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2028, "cvc": "913",
        "holder": "Paula P"})
    assert card == {"id": card["id"], "brand": "visa", "last4": "4242", "exp_month": 12,
                    "exp_year": 2028, "holder": "Paula P", "is_default": True}
    rows = world.billing_session.execute(text("SELECT * FROM payment_methods")).mappings().all()
    assert "4242424242424242" not in repr(rows)
    # random ids, tokens and the fingerprint hash are hex and may hold "913" by chance
    # (CI once drew one): the CVC must be no field, and in no field a person wrote
    random = {"id", "token", "fingerprint", "idempotency_key"}
    for row in rows:
        assert "913" not in [str(value) for value in row.values()]
        assert not [name for name, value in row.items()
                    if name not in random and "913" in str(value)]
    stored = world.billing_session.scalar(select(PaymentMethod))
    assert stored.token.startswith("tok_sandbox_")


@pytest.mark.parametrize(("card", "field"), [
    ({"number": "4242424242424241"}, "number"),  # Luhn
    ({"number": "1234"}, "number"),  # too short (the length rule: "between 12 and 40")
    ({"cvc": "12"}, "cvc"),
    ({"exp_month": 13}, "exp_month"),
    ({"exp_year": 2025}, "exp_year"),  # expired
    ({"exp_month": "12"}, "exp_month"),  # strings are not numbers
])
def test_bad_cards_are_refused_without_echoing_the_number(world, card, field):
    data = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2028, "cvc": "913",
            "holder": "P", **card}
    with pytest.raises(errors.InvalidArgument) as exc:
        world.billing.add_payment_method("cus_p", data)
    assert field in exc.value.fields
    assert data["number"] not in repr(exc.value.args)


def test_cards_can_be_removed_and_the_default_moves(world):
    first, second = world.card("cus_p"), world.card("cus_p", "5555555555554444")
    world.billing.set_default_payment_method("cus_p", second)
    listed = world.billing.list_payment_methods("cus_p")["data"]
    assert [(c["id"], c["is_default"]) for c in listed] == [(second, True), (first, False)]
    world.billing.remove_payment_method("cus_p", second)
    assert [(c["id"], c["is_default"]) for c in
            world.billing.list_payment_methods("cus_p")["data"]] == [(first, True)]
    with pytest.raises(errors.NotFound):
        world.billing.remove_payment_method("cus_q", first)  # not theirs


def test_a_top_up_credits_the_wallet_once_per_key(world):
    card = world.card("cus_p")
    first = world.top_up("cus_p", 2000, key="k1", card=card)
    again = world.top_up("cus_p", 2000, key="k1", card=card)
    assert first == again
    assert first["wallet"]["balance"]["amount"] == 2000
    assert first["transaction"]["balance_after"]["amount"] == 2000
    assert balance(world) == 2000
    assert world.provider.charge_count() == 1
    with pytest.raises(errors.Conflict) as exc:
        world.top_up("cus_p", 2500, key="k1", card=card)
    assert exc.value.code == "IDEMPOTENCY_KEY_REUSED"


@pytest.mark.parametrize(("number", "code"), [
    ("4000000000000002", "card_declined"), ("4000000000009995", "insufficient_funds"),
    ("4000000000000069", "expired_card"),
    ("4000000000009979", "card_declined"),  # stolen: the customer is told only "declined"
])
def test_a_declined_card_credits_nothing_and_says_why(world, number, code):
    card = world.card("cus_p", number)
    with pytest.raises(errors.PaymentDeclined) as exc:
        world.top_up("cus_p", 2000, key="k", card=card)
    assert exc.value.details["decline_code"] == code
    with pytest.raises(errors.PaymentDeclined):  # the same key answers the same
        world.top_up("cus_p", 2000, key="k", card=card)
    assert balance(world) == 0
    payment = world.billing_session.scalar(select(Payment))
    assert (payment.status, payment.decline_code) == ("failed", code)
    assert [e["payment"]["decline_code"] for e in events(world, "payment_failed")] == [code]


def test_a_provider_timeout_credits_nothing_and_the_retry_completes_once(world):
    card = world.card("cus_p", "4000000000000408")
    with pytest.raises(errors.ServiceUnavailable):
        world.top_up("cus_p", 3000, key="t1", card=card)
    assert balance(world) == 0
    assert world.provider.charge_count() == 1  # the provider took it; its answer was lost
    done = world.top_up("cus_p", 3000, key="t1", card=card)
    assert done["payment"]["status"] == "succeeded" and balance(world) == 3000
    assert world.top_up("cus_p", 3000, key="t1", card=card) == done
    assert world.provider.charge_count() == 1 and balance(world) == 3000


def test_a_lost_answer_is_completed_by_the_timer_if_the_client_never_retries(world):
    card = world.card("cus_p", "4000000000000408")
    with pytest.raises(errors.ServiceUnavailable):
        world.top_up("cus_p", 1500, key="t2", card=card)
    world.clock.advance(minutes=3)
    assert world.billing.run_due()["payments_completed"] == 1
    assert balance(world) == 1500
    assert world.billing.run_due()["payments_completed"] == 0
    assert world.top_up("cus_p", 1500, key="t2", card=card)["wallet"]["balance"]["amount"] \
        == 1500  # a late retry finds it done


def test_a_retryable_provider_error_is_a_503_and_nothing_moves(world):
    card = world.card("cus_p", "4000000000000119")
    with pytest.raises(errors.ServiceUnavailable):
        world.top_up("cus_p", 1000, key="e1", card=card)
    assert balance(world) == 0 and world.provider.charge_count() == 0


def test_postpaid_accounts_have_no_wallet(world):
    with pytest.raises(errors.Conflict) as exc:
        world.billing.get_wallet("cus_q")
    assert exc.value.code == "NOT_PREPAID"
    card = world.card("cus_q")
    with pytest.raises(errors.Conflict):
        world.top_up("cus_q", 1000, card=card)


def test_top_ups_must_be_in_the_wallet_currency_and_within_limits(world):
    card = world.card("cus_p")
    for amount, field in (({"amount": 1000, "currency": "USD"}, "amount.currency"),
                          ({"amount": 50, "currency": "EUR"}, "amount.amount"),
                          ({"amount": 10.5, "currency": "EUR"}, "amount.amount")):
        with pytest.raises(errors.InvalidArgument) as exc:
            world.billing.top_up("cus_p", {"amount": amount, "payment_method_id": card})
        assert field in exc.value.fields


def test_prepaid_subscriptions_are_paid_from_the_wallet_or_refused(world):
    with pytest.raises(errors.Conflict) as exc:
        world.billing.subscribe("cus_p", {"package": "basic"})
    assert exc.value.code == "INSUFFICIENT_BALANCE"
    assert world.billing.list_subscriptions("cus_p")["data"] == []
    world.top_up("cus_p", 5000)
    sub = world.billing.subscribe("cus_p", {"package": "basic"})
    paid = sub["charges"]["amount_due"]["amount"]
    assert balance(world) == 5000 - paid
    history = world.billing.wallet_transactions("cus_p")["data"]
    assert [(e["type"], e["direction"]) for e in history] == [("service_charge", "debit"),
                                                             ("top_up", "credit")]


def test_an_unpaid_renewal_suspends_and_a_top_up_pays_and_resumes(world):
    world.top_up("cus_p", 2000)
    sub = world.billing.subscribe("cus_p", {"package": "basic"})  # 14.99 + 19 % = 17.84
    assert balance(world) == 216
    world.clock.set(dt.datetime(2026, 12, 21, 10, 0, 1, tzinfo=dt.UTC))
    world.billing.run_due()
    suspended = world.billing.get_subscription("cus_p", sub["id"])
    assert suspended["status"] == "suspended" and balance(world) == 216
    assert [e["subscription"]["id"] for e in events(world, "subscription_suspended")] == [
        sub["id"]]
    world.clock.set(dt.datetime(2026, 12, 23, 10, 0, 1, tzinfo=dt.UTC))
    result = world.top_up("cus_p", 2000)
    assert result["reinstated"] == [sub["id"]]
    resumed = world.billing.get_subscription("cus_p", sub["id"])
    assert resumed["status"] == "active"
    assert resumed["current_period"]["end"] == "2027-01-23T10:00:00Z"  # + the 2 suspended days
    assert balance(world) == 216 + 2000 - 1784
    assert world.billing.verify_ledger()["ok"]


def test_cancelling_a_prepaid_subscription_credits_the_wallet(world):
    world.top_up("cus_p", 5000)
    sub = world.billing.subscribe("cus_p", {"package": "family"})
    before = balance(world)
    world.clock.advance(days=15)
    cancelled = world.billing.cancel("cus_p", sub["id"], {"reason": "moving", "when": "now"})
    assert balance(world) == before - cancelled["amount_due"]["amount"] > before
    assert world.billing.wallet_transactions("cus_p")["data"][0]["type"] == \
        "cancellation_credit"


def test_low_balance_is_announced_once_until_the_balance_recovers(world):
    world.billing.set_low_balance("cus_p", {"low_balance_threshold": {"amount": 1000,
                                                                      "currency": "EUR"}})
    world.top_up("cus_p", 2000)
    world.billing.subscribe("cus_p", {"package": "basic"})  # leaves 2.16
    assert len(events(world, "wallet_low_balance")) == 1
    assert world.billing.get_wallet("cus_p")["low_balance"] is True
    world.top_up("cus_p", 5000)
    assert world.billing.get_wallet("cus_p")["low_balance"] is False
    world.billing.adjust_wallet("cus_p", {"amount": {"amount": -5000, "currency": "EUR"},
                                          "reason": "test debit"}, "ops@example.com")
    assert len(events(world, "wallet_low_balance")) == 2


def test_ops_adjustments_have_a_reason_and_cannot_overdraw(world):
    done = world.billing.adjust_wallet("cus_p", {"amount": {"amount": 700, "currency": "EUR"},
                                                 "reason": "goodwill"}, "agent@example.com")
    assert done["transaction"]["type"] == "adjustment"
    assert "goodwill" in done["transaction"]["description"]
    with pytest.raises(errors.Conflict) as exc:
        world.billing.adjust_wallet("cus_p", {"amount": {"amount": -701, "currency": "EUR"},
                                              "reason": "too much"}, "agent@example.com")
    assert exc.value.code == "INSUFFICIENT_BALANCE"
    assert balance(world) == 700


def test_verify_reports_a_tampered_balance(world):
    world.top_up("cus_p", 2000)
    assert world.billing.verify_ledger() == {"wallets_checked": 1, "differences": [],
                                             "ok": True}
    world.billing_session.execute(text("UPDATE wallets SET balance = balance + 1"))
    world.billing_session.commit()
    report = world.billing.verify_ledger()
    assert not report["ok"] and report["differences"][0]["customer_id"] == "cus_p"


def test_cards_expiring_next_month_are_announced_once(world):
    world.billing.add_payment_method("cus_p", {"number": "4242424242424242", "exp_month": 12,
                                               "exp_year": 2026, "cvc": "913", "holder": "P"})
    world.card("cus_p", "5555555555554444")  # expires in two years
    world.billing.run_due()
    world.billing.run_due()
    notices = events(world, "payment_method_expiring")
    assert [n["payment_method"]["last4"] for n in notices] == ["4242"]


def test_the_ledger_post_is_the_only_way_money_moves(world):
    session = world.billing_session
    first = ledger.post(session, "cus_x", "EUR", ledger.CREDIT, "adjustment", 100, "x", "s1",
                        START)  # the first credit opens the wallet
    again = ledger.post(session, "cus_x", "EUR", ledger.CREDIT, "adjustment", 100, "x", "s1",
                        START)
    assert again.id == first.id and again.seq == 1 and again.wallet.balance == 100
    with pytest.raises(errors.Conflict):
        ledger.post(session, "cus_x", "EUR", ledger.DEBIT, "adjustment", 101, "x", "s2", START)
    with pytest.raises(errors.Conflict):  # no wallet yet: nothing to take
        ledger.post(session, "cus_y", "EUR", ledger.DEBIT, "adjustment", 1, "x", "s3", START)
    assert ledger.verify(session)["ok"]


def test_cancelling_a_suspended_subscription_voids_what_it_never_delivered(world):
    world.top_up("cus_p", 2000)
    sub = world.billing.subscribe("cus_p", {"package": "basic"})
    world.clock.set(dt.datetime(2026, 12, 21, 10, 0, 1, tzinfo=dt.UTC))
    world.billing.run_due()
    assert world.billing.get_subscription("cus_p", sub["id"])["status"] == "suspended"
    done = world.billing.cancel("cus_p", sub["id"], {"reason": "too expensive", "when": "now"})
    assert done["subscription"]["status"] == "cancelled" and done["lines"] == []
    assert balance(world) == 216  # the unpaid renewal is not owed, nothing is credited
    assert world.billing.verify_ledger()["ok"]
    world.top_up("cus_p", 1000)
    assert balance(world) == 1216  # and a later top-up does not pay for it


def test_a_pending_top_up_the_provider_never_answers_is_retried_with_backoff_then_failed(world):
    card = world.card("cus_p", "4000000000000119")  # the provider keeps failing
    with pytest.raises(errors.ServiceUnavailable):
        world.top_up("cus_p", 1500, key="never", card=card)
    for _ in range(12):
        world.clock.advance(days=1)
        world.billing.run_due()
    payment = world.billing_session.scalar(select(Payment))
    assert (payment.status, payment.decline_code) == ("failed", "provider_unavailable")
    assert balance(world) == 0 and world.provider.charge_count() == 0
    assert [e["payment"]["decline_code"] for e in events(world, "payment_failed")] == [
        "provider_unavailable"]


def test_the_timer_never_charges_a_removed_card_but_credits_a_charge_already_made(world):
    lost = world.card("cus_p", "4000000000000408")  # charged, answer lost
    failing = world.card("cus_p", "4000000000000119")  # never charged
    for card, key in ((lost, "lost"), (failing, "failing")):
        with pytest.raises(errors.ServiceUnavailable):
            world.top_up("cus_p", 1500, key=key, card=card)
        world.billing.remove_payment_method("cus_p", card)
    world.clock.advance(minutes=3)
    world.billing.run_due()
    statuses = {p.payment_method_id: (p.status, p.decline_code)
                for p in world.billing_session.scalars(select(Payment))}
    assert statuses == {lost: ("succeeded", None), failing: ("failed", "card_removed")}
    assert balance(world) == 1500 and world.provider.charge_count() == 1


def issue_invoices(world):
    """Run today's billing run in process (the chunks' events are not consumed here)."""
    run = world.billing.start_billing_run(world.clock.now().date().isoformat())
    for index in range(run["progress"]["chunks_total"]):
        world.billing.on_chunk_ready({"chunk": {"run_id": run["id"], "index": index}})
    return run


def test_an_invoice_is_paid_once_by_card_and_a_decline_leaves_it_open(world):
    world.billing.subscribe("cus_q", {"package": "family"})
    issue_invoices(world)
    [invoice] = world.billing.list_invoices("cus_q")["data"]
    assert invoice["status"] == "open" and invoice["amount_due"] == invoice["total"]
    bad = world.card("cus_q", "4000000000000002")
    with pytest.raises(errors.PaymentDeclined) as exc:
        world.billing.pay_invoice("cus_q", invoice["id"], {"payment_method_id": bad}, "p1")
    assert exc.value.details["decline_code"] == "card_declined"
    assert world.billing.get_invoice("cus_q", invoice["id"])["status"] == "open"
    good = world.card("cus_q")
    paid = world.billing.pay_invoice("cus_q", invoice["id"], {"payment_method_id": good}, "p2")
    assert paid["invoice"]["status"] == "paid"
    assert paid["invoice"]["amount_paid"] == invoice["total"]
    assert paid["payment"]["amount"] == invoice["total"]
    again = world.billing.pay_invoice("cus_q", invoice["id"], {"payment_method_id": good}, "p2")
    assert again == paid and world.provider.charge_count() == 1
    with pytest.raises(errors.Conflict) as exc:
        world.billing.pay_invoice("cus_q", invoice["id"], {"payment_method_id": good}, "p3")
    assert exc.value.code == "INVOICE_NOT_PAYABLE"
    assert [e["number"] for e in [m["invoice"] for m in events(world, "invoice_paid")]] == [
        invoice["number"]]
    with pytest.raises(errors.NotFound):
        world.billing.get_invoice("cus_p", invoice["id"])  # another customer's


def test_an_invoice_payment_whose_answer_was_lost_completes_once(world):
    world.billing.subscribe("cus_q", {"package": "basic"})
    issue_invoices(world)
    [invoice] = world.billing.list_invoices("cus_q")["data"]
    lost = world.card("cus_q", "4000000000000408")
    with pytest.raises(errors.ServiceUnavailable):
        world.billing.pay_invoice("cus_q", invoice["id"], {"payment_method_id": lost}, "k")
    assert world.billing.get_invoice("cus_q", invoice["id"])["status"] == "open"
    world.clock.advance(minutes=3)
    assert world.billing.run_due()["payments_completed"] == 1
    assert world.billing.get_invoice("cus_q", invoice["id"])["status"] == "paid"
    assert world.provider.charge_count() == 1
    assert [p["status"] for p in world.billing.list_payments("cus_q")["data"]] == ["succeeded"]


def test_a_renewal_notice_goes_out_once_per_period_saying_whether_the_wallet_covers_it(world):
    world.top_up("cus_p", 2000)
    world.billing.subscribe("cus_p", {"package": "basic"})  # 14.99 + VAT paid; ~3 € left
    world.billing.subscribe("cus_q", {"package": "basic"})  # postpaid: nothing to cover
    world.clock.advance(days=25)
    assert world.billing.run_due()["renewal_notices"] == 0  # more than 3 days to go
    world.clock.advance(days=3)
    world.billing.run_due()
    world.billing.run_due()  # a second round, or another instance: nothing new
    notices = {e["subscription"]["customer_id"]: e["subscription"]
               for e in events(world, "subscription_renewal_upcoming")}
    assert len(events(world, "subscription_renewal_upcoming")) == 2
    assert notices["cus_p"]["wallet_covers"] is False and notices["cus_p"]["days_left"] <= 3
    assert notices["cus_q"]["wallet_covers"] is None
    assert notices["cus_p"]["renewal"]["amount"]["amount"] > balance(world)
    world.clock.advance(days=31)  # renewed (suspended: not covered) - the next period's
    world.billing.run_due()       # notice only for what is still active
    assert len([e for e in events(world, "subscription_renewal_upcoming")
                if e["subscription"]["customer_id"] == "cus_p"]) == 1
