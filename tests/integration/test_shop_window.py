"""What customers are offered, through the gateway on the real services: prices with the tax of
their region and equal to what billing then charges; the packages a change may go to and why
not; names and descriptions (packages, add-ons, ticket categories) in their language."""

import requests


def _premium(answer: dict) -> dict:
    return next(p for p in answer["data"] if p["code"] == "premium")


def _money(amount: int) -> dict:
    return {"amount": amount, "currency": "EUR"}


def test_visitors_see_the_default_regions_prices_and_customers_their_own(start_portal):
    portal = start_portal(DEFAULT_TAX_REGION="AT", PRICE_DISPLAY="gross")
    visitor = requests.get(portal.url + "/api/v1/catalog/packages", timeout=15)
    assert visitor.status_code == 200, visitor.text
    assert visitor.json()["price_display"] == "gross"
    premium = _premium(visitor.json())
    assert premium["tax"] == {"region": "AT", "rate_bp": 2000, "name": "VAT (USt.)"}
    assert premium["taxed_prices"]["month"] == {
        "net": _money(3999), "tax": _money(800), "gross": _money(4799)}

    token = portal.customer()  # an address in Germany: tax region DE
    premium = _premium(portal.ok("GET", "/api/v1/catalog/packages", token))
    assert premium["tax"]["region"] == "DE"
    assert premium["taxed_prices"]["month"]["gross"] == _money(4759)  # €39.99 + 19 %
    addons = portal.ok("GET", "/api/v1/catalog/addons", token, params={"package": "premium"})
    sports = next(a for a in addons["data"] if a["code"] == "sports")
    assert sports["taxed_prices"]["month"]["gross"] == _money(1189)
    devices = portal.ok("GET", "/api/v1/catalog/devices", token)["data"]
    box = next(d for d in devices if d["code"] == "stb-4k")
    assert box["taxed_rental_price"]["gross"] == _money(594)  # €4.99 + 19 %

    # a move to Austria: the next answer has Austria's tax
    moved = portal("PATCH", "/api/v1/me", token, json={"address": {
        "line1": "Ring 1", "city": "Wien", "postal_code": "1010", "country": "AT"}})
    assert moved.status_code == 200, moved.text
    premium = _premium(portal.ok("GET", "/api/v1/catalog/packages", token))
    assert premium["tax"]["region"] == "AT"
    assert premium["taxed_prices"]["month"]["gross"] == _money(4799)

    # a session that is no longer valid is a visitor here, not a 401
    stale = requests.get(portal.url + "/api/v1/catalog/packages", timeout=15,
                         headers={"Authorization": "Bearer not-a-session"})
    assert stale.status_code == 200 and _premium(stale.json())["tax"]["region"] == "AT"


def test_the_gross_price_shown_is_what_the_renewal_charges(start_portal):
    portal = start_portal(PRICE_DISPLAY="net")
    token = portal.customer()
    assert portal.ok("GET", "/api/v1/catalog/packages", token)["price_display"] == "net"
    shown = _premium(portal.ok("GET", "/api/v1/catalog/packages", token))
    addon = next(a for a in portal.ok("GET", "/api/v1/catalog/addons", token,
                                      params={"package": "premium"})["data"]
                 if a["code"] == "sports")
    sub = portal.ok("POST", "/api/v1/subscriptions", token, status=201,
                    json={"package": "premium", "addons": ["sports"]},
                    headers={"Idempotency-Key": "prices-with-tax-1"})
    assert sub["tax"] == {"region": "DE", "rate_bp": 1900, "name": "VAT (MwSt.)"}
    assert sub["package"]["taxed_price"] == shown["taxed_prices"]["month"]
    assert sub["addons"][0]["taxed_price"] == addon["taxed_prices"]["month"]
    # the renewal is exactly the sum of the gross prices shown (tax per line, half-even)
    expected = (shown["taxed_prices"]["month"]["gross"]["amount"]
                + addon["taxed_prices"]["month"]["gross"]["amount"])
    assert sub["next_renewal"]["amount"] == _money(expected) == _money(4759 + 1189)
    # and the first period's invoice lines carry the same taxes
    preview = portal.ok("POST", f"/api/v1/subscriptions/{sub['id']}/change", token,
                        json={"package": "family", "when": "period_end", "preview": True})
    assert preview["next_renewal"]["amount"]["amount"] < expected



def test_package_options_say_what_the_rules_allow_before_any_click_and_equipment_follows(
        start_portal):
    portal = start_portal()
    token = portal.customer()
    sub = portal.ok("POST", "/api/v1/subscriptions", token, status=201,
                    json={"package": "basic", "addons": ["international"]},
                    headers={"Idempotency-Key": "options-1"})
    path = f"/api/v1/subscriptions/{sub['id']}/package-options"
    answer = portal.ok("GET", path, token)
    options = {o["package"]["code"]: o for o in answer["data"]}
    assert options["basic"]["current"] and not options["basic"]["allowed"]
    assert options["basic"]["refusal"]["code"] == "SAME_PACKAGE"
    premium = options["premium"]
    assert premium["allowed"] and premium["kind"] == "upgrade" and premium["effective"] == "now"
    assert premium["refusal"] is None
    assert premium["package"]["taxed_prices"]["month"]["gross"] == _money(4759)
    assert premium["devices_added"] == [{"code": "stb-4k", "model": "StreamBox 4K",
                                         "kind": "set_top_box"}]
    # Kids is not a path from Basic, and the refusal says so in words and in parts
    kids = options["kids"]
    assert not kids["allowed"] and kids["refusal"] == {
        "code": "CHANGE_NOT_ALLOWED", "reason": "Basic cannot be changed to Kids.",
        "params": {"current": "Basic", "target": "Kids"}}
    refused = portal("POST", f"/api/v1/subscriptions/{sub['id']}/change", token,
                     json={"package": "kids", "preview": True})
    assert refused.status_code == 409
    assert refused.json()["error"]["params"] == {"current": "Basic", "target": "Kids"}
    # another customer's subscription is not found
    other = portal.customer()
    assert portal("GET", path, other).status_code == 404

    # the upgrade into Premium provisions the box it includes, at no charge of its own
    changed = portal.ok("POST", f"/api/v1/subscriptions/{sub['id']}/change", token,
                        json={"package": "premium"}, headers={"Idempotency-Key": "options-2"})
    devices = changed["subscription"]["devices"]
    assert [(d["code"], d["acquisition"]) for d in devices] == [("stb-4k", "included")]
    assert devices[0]["serial_number"].startswith("STB-")
    assert all("StreamBox" not in line["description"] for line in changed["lines"])
    after = {o["package"]["code"]: o for o in portal.ok("GET", path, token)["data"]}
    assert after["premium"]["current"] and after["premium"]["devices_added"] == []
    assert after["family"]["kind"] == "downgrade" and after["family"]["effective"] == "period_end"


def test_the_catalog_speaks_the_customers_language_and_a_visitors_browsers(start_portal):
    portal = start_portal(DEFAULT_TAX_REGION="DE")
    german = requests.get(portal.url + "/api/v1/catalog/packages", timeout=15,
                          headers={"Accept-Language": "de-CH, de;q=0.9, en;q=0.5"}).json()
    basic = next(p for p in german["data"] if p["code"] == "basic")
    assert basic["description"].startswith("Das Wichtigste")
    assert basic["tax"]["name"] == "MwSt." and "translations" not in basic
    thai = portal.customer(language="th")
    addons = portal.ok("GET", "/api/v1/catalog/addons", thai, params={"package": "premium"},
                       headers={"Accept-Language": "de"})  # the account's language wins
    assert next(a for a in addons["data"] if a["code"] == "movies")["name"] == \
        "ภาพยนตร์และซีรีส์"
    sub = portal.ok("POST", "/api/v1/subscriptions", thai, status=201, json={"package": "basic"},
                    headers={"Idempotency-Key": "thai-1"})
    options = portal.ok("GET", f"/api/v1/subscriptions/{sub['id']}/package-options", thai)
    assert next(o for o in options["data"]
                if o["package"]["code"] == "premium")["package"]["name"] == "พรีเมียม"


def test_ticket_categories_in_the_customers_language(start_portal):
    portal = start_portal()
    italian = portal.customer(language="it")
    names = [c["name"] for c in portal.ok("GET", "/api/v1/ticket-categories", italian)["data"]]
    assert "Domanda sulla fattura" in names and "Billing question" not in names
