"""Issue #13, items 8 and 10, through the gateway and the real services (PostgreSQL, RabbitMQ):
bad input is a 400 or a 405 with `Allow`, never a 500; every request that moves money needs an
Idempotency-Key, and the ops ones (wallet adjustments, voucher batches) act once per key."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from deploy import demo


@pytest.fixture
def portal(start_portal):
    return start_portal()


def admin_of(portal) -> str:
    return demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])


def raw_post(portal, path, token, text, headers=None):
    """POST `text` as it is: the JSON escapes under test must reach the server unparsed."""
    return requests.post(portal.url + path, data=text.encode("ascii"), timeout=15, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json",
        **(headers or {})})


def error_of(response) -> dict:
    return response.json()["error"]


def test_strings_that_are_not_text_and_deep_nesting_are_400_never_500(portal):
    admin = admin_of(portal)
    faq = '{"category": "general", "language": "en", "question": "%s", "answer": "Yes."}'
    for bad in (r"Why \ud8d4?", r"Why \udc00 \ud83d?", r"Why\u0000?"):
        refused = raw_post(portal, "/api/v1/ops/faq", admin, faq % bad)
        assert refused.status_code == 400, (bad, refused.text)
        assert error_of(refused)["code"] == "MALFORMED_JSON" and error_of(refused)["fields"]
    # a surrogate pair is one character: a valid emoji is stored as it is
    emoji = raw_post(portal, "/api/v1/ops/faq", admin, faq % r"Why \ud83d\ude00?")
    assert emoji.status_code == 201, emoji.text
    assert emoji.json()["question"] == "Why \U0001F600?"
    # found by the fuzzing tier: an entry with its position was a 500
    placed = portal("POST", "/api/v1/ops/faq", admin, json={
        "category": "general", "language": "en", "question": "Where?", "answer": "Here.",
        "position": 9999})
    assert placed.status_code == 201 and placed.json()["position"] == 9999, placed.text

    for depth in (40, 100_000):  # past our depth limit, and past the parser's recursion limit
        deep = '{"question": ' + "[" * depth + "]" * depth + "}"
        refused = raw_post(portal, "/api/v1/ops/faq", admin, deep)
        assert refused.status_code == 400, (depth, refused.text[:300])
        assert error_of(refused)["code"] == "MALFORMED_JSON"

    nul_in_path = requests.delete(portal.url + "/api/v1/ops/faq/faq_%00x", timeout=15,
                                  headers={"Authorization": f"Bearer {admin}"})
    assert nul_in_path.status_code == 400, nul_in_path.text
    nul_in_query = requests.get(portal.url + "/api/v1/faq?q=a%00b", timeout=15,
                                headers={"Authorization": f"Bearer {admin}"})
    assert nul_in_query.status_code == 400, nul_in_query.text


def test_an_undeclared_method_on_a_known_path_is_405_with_allow(portal):
    for method, path, allow in (("PUT", "/api/v1/ops/faq", "GET, HEAD, POST"),
                                ("OPTIONS", "/api/v1/ops/faq", "GET, HEAD, POST"),
                                ("TRACE", "/api/v1/wallet", "GET, HEAD, PATCH"),
                                ("GET", "/api/v1/wallet/top-ups", "POST"),
                                ("POST", "/api/v1/tickets/tkt_x", "GET, HEAD")):
        answer = requests.request(method, portal.url + path, timeout=15)
        assert answer.status_code == 405, (method, path, answer.status_code)
        assert answer.headers["Allow"] == allow, (method, path)
        assert error_of(answer)["code"] == "METHOD_NOT_ALLOWED"
    assert requests.put(portal.url + "/api/v1/nothing", timeout=15).status_code == 404


MONEY_ROUTES = [  # (who, path) of every POST that moves money
    ("customer", "/api/v1/wallet/top-ups"),
    ("customer", "/api/v1/invoices/inv_x/pay"),
    ("customer", "/api/v1/vouchers/purchases"),
    ("admin", "/api/v1/ops/customers/cus_x/wallet/adjustments"),
    ("admin", "/api/v1/ops/voucher-batches"),
    ("admin", "/api/v1/ops/invoices/inv_x/credit-notes"),
    ("admin", "/api/v1/ops/incidents/inc_x/resolve"),
]


def test_every_request_that_moves_money_needs_an_idempotency_key(portal):
    tokens = {"customer": portal.customer("prepaid"), "admin": admin_of(portal)}
    for who, path in MONEY_ROUTES:
        refused = portal("POST", path, tokens[who], json={})
        assert refused.status_code == 400, (path, refused.text)
        assert error_of(refused)["code"] == "IDEMPOTENCY_KEY_REQUIRED", path
        assert "Idempotency-Key" in error_of(refused)["fields"], path
        with_key = portal("POST", path, tokens[who], json={},
                          headers={"Idempotency-Key": uuid.uuid4().hex})
        assert error_of(with_key)["code"] != "IDEMPOTENCY_KEY_REQUIRED", path
    # a voucher code is its own key (single use, credited once by its redemption)
    redeem = portal("POST", "/api/v1/vouchers/redeem", tokens["customer"],
                    json={"code": "XXXX-XXXX-XXXX-XX"})
    assert error_of(redeem)["code"] != "IDEMPOTENCY_KEY_REQUIRED"


def test_a_retried_wallet_adjustment_credits_once(portal):
    admin, token = admin_of(portal), portal.customer("prepaid")
    me = portal.ok("GET", "/api/v1/me", token)["id"]
    path = f"/api/v1/ops/customers/{me}/wallet/adjustments"
    body = {"amount": {"amount": 250, "currency": "EUR"}, "reason": "goodwill for the outage"}
    key = {"Idempotency-Key": "goodwill-1"}
    with ThreadPoolExecutor(4) as pool:  # a request and its retries, at once
        answers = list(pool.map(lambda _: portal("POST", path, admin, json=body, headers=key),
                                range(4)))
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert len({a.json()["transaction"]["id"] for a in answers}) == 1
    later = portal.ok("POST", path, admin, status=201, json=body, headers=key)
    assert later["transaction"]["id"] == answers[0].json()["transaction"]["id"]
    assert portal.ok("GET", "/api/v1/wallet", token)["balance"]["amount"] == 250
    entries = portal.ok("GET", "/api/v1/wallet/transactions", token)["data"]
    assert [e["type"] for e in entries] == ["adjustment"]

    reused = portal("POST", path, admin, headers=key, json={**body, "reason": "another one"})
    assert reused.status_code == 409 and error_of(reused)["code"] == "IDEMPOTENCY_KEY_REUSED"
    portal.ok("POST", path, admin, status=201, json=body, headers={"Idempotency-Key": "g-2"})
    assert portal.ok("GET", "/api/v1/wallet", token)["balance"]["amount"] == 500


def test_a_retried_voucher_batch_creation_makes_one_batch(portal):
    admin = admin_of(portal)
    body = {"type": "print", "value": {"amount": 500, "currency": "EUR"}, "count": 3,
            "valid_until": "2031-01-01T00:00:00Z", "description": f"once {uuid.uuid4().hex}"}
    key = {"Idempotency-Key": "shop-cards-1"}
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: portal("POST", "/api/v1/ops/voucher-batches", admin,
                                                 json=body, headers=key), range(4)))
    assert [a.status_code for a in answers] == [202] * 4, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    later = portal.ok("POST", "/api/v1/ops/voucher-batches", admin, status=202, json=body,
                      headers=key)
    assert later["id"] == answers[0].json()["id"]
    batches = portal.ok("GET", "/api/v1/ops/voucher-batches?limit=100", admin)["data"]
    assert [b["id"] for b in batches if b["description"] == body["description"]] == [later["id"]]
    reused = portal("POST", "/api/v1/ops/voucher-batches", admin, headers=key,
                    json={**body, "count": 4})
    assert reused.status_code == 409 and error_of(reused)["code"] == "IDEMPOTENCY_KEY_REUSED"
