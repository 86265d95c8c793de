"""The main page says what happens next, through the gateway on the real services and
PostgreSQL: for a prepaid customer the next renewal, whether the wallet pays it and what is
missing; for a postpaid one what is due and whether autopay pays it."""

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123",
        "holder": "Ann"}


def _fresh(portal, token):
    return portal.ok("GET", "/api/v1/dashboard", token, headers={"Cache-Control": "no-cache"})


def test_prepaid_the_next_renewal_what_is_missing_and_how_long_the_balance_lasts(start_portal):
    portal = start_portal()
    token = portal.customer("prepaid")
    wallet = _fresh(portal, token)["wallet"]
    assert wallet["next_renewal"] is None and wallet["lasts_until"] is None

    portal.ok("POST", "/api/v1/me/payment-methods", token, status=201, json=CARD)
    portal.ok("POST", "/api/v1/wallet/top-ups", token, status=201,
              json={"amount": {"amount": 2000, "currency": "EUR"}},
              headers={"Idempotency-Key": "outlook-top-up-1"})
    sub = portal.ok("POST", "/api/v1/subscriptions", token, status=201,
                    json={"package": "basic"}, headers={"Idempotency-Key": "outlook-sub-1"})
    renewal = sub["next_renewal"]["amount"]["amount"]  # €14.99 + 19 % VAT = €17.84
    assert renewal == 1784
    board = _fresh(portal, token)
    wallet = board["wallet"]
    balance = wallet["balance"]["amount"]
    assert balance == 2000 - 1784  # the first period was paid from the wallet
    nxt = wallet["next_renewal"]
    assert nxt["date"] == sub["current_period"]["end"]
    assert nxt["subscription_id"] == sub["id"] and nxt["package"] == "Basic"
    assert nxt["amount"] == {"amount": renewal, "currency": "EUR"}
    assert nxt["covered"] is False
    assert nxt["missing"] == {"amount": renewal - balance, "currency": "EUR"}
    assert wallet["lasts_until"] == nxt["date"] and wallet["renewals_covered"] == 0

    # a top-up of exactly what is missing: the renewal is paid, the one after is not
    portal.ok("POST", "/api/v1/wallet/top-ups", token, status=201,
              json={"amount": {"amount": renewal - balance, "currency": "EUR"}},
              headers={"Idempotency-Key": "outlook-top-up-2"})
    wallet = _fresh(portal, token)["wallet"]
    assert wallet["next_renewal"]["covered"] is True
    assert wallet["next_renewal"]["missing"]["amount"] == 0
    assert wallet["renewals_covered"] == 1 and wallet["lasts_until"] > nxt["date"]


def test_postpaid_the_amount_due_and_whether_autopay_pays_it(start_portal):
    portal = start_portal()
    token = portal.customer("postpaid")
    bills = _fresh(portal, token)["bills"]
    assert bills["autopay"] == {"enabled": False, "method": None}
    card = portal.ok("POST", "/api/v1/me/payment-methods", token, status=201, json=CARD)
    portal.ok("PUT", "/api/v1/autopay", token, json={"enabled": True})
    bills = _fresh(portal, token)["bills"]
    assert bills["autopay"] == {"enabled": True, "method": {
        "id": card["id"], "brand": card["brand"], "last4": "4242"}}
    assert bills["outstanding_total"] == {"amount": 0, "currency": "EUR"}
