"""Households through the gateway on the real services, RabbitMQ and PostgreSQL (issue #18 item
1): the holder invites by e-mail; only that address joins, once; the member switches to the
holder's account and sees and buys only their own subscriptions, the wallet when shared, within
the monthly limit (enforced in the purchase's transaction, also under concurrent purchases);
the holder sees everything and removes the member. Then every customer route, as the holder's
member and as an outsider, with the holder's ids: nothing of the holder's leaks."""

import concurrent.futures
import json
import re
import uuid

import pytest
import sqlalchemy as sa

from deploy import demo
from gateway.http import ROUTES
from services.common.db import normalize_url
from tests.integration.conftest import PASSWORD
from tests.integration.test_privacy_services_postgres import CARD


@pytest.fixture
def portal(start_portal):
    return start_portal(RPC_TIMEOUT_SECONDS=5)


def sign_up(portal, email=None, billing_type="prepaid") -> tuple[str, dict]:
    email = email or f"hh-{uuid.uuid4().hex[:8]}@example.com"
    portal.ok("POST", "/api/v1/accounts", None, status=201, json={
        "email": email, "password": PASSWORD, "name": email.split("@")[0],
        "billing_type": billing_type, "currency": "EUR"})
    token = demo.login(portal.url, email, PASSWORD)
    return token, portal.ok("GET", "/api/v1/me", token)


def invitation_token(portal, invitation_id) -> str:
    engine = sa.create_engine(normalize_url(portal.database_urls["accounts"]))
    try:
        with engine.connect() as conn:
            for (payload,) in conn.execute(sa.text(
                    "SELECT payload FROM outbox_messages WHERE event_type = "
                    "'household_invitation'")):
                event = payload if isinstance(payload, dict) else json.loads(payload)
                if event["invitation"]["id"] == invitation_id:
                    return event["invitation"]["url"].rsplit("/", 1)[1]
    finally:
        engine.dispose()
    raise AssertionError("no invitation mailed")


def basic_price(portal, token) -> int:
    return next(p for p in portal.ok("GET", "/api/v1/catalog/packages", token)["data"]
                if p["code"] == "basic")["taxed_prices"]["month"]["gross"]["amount"]


def household_with_member(portal, limit_packages=1, share_wallet=True):
    """A prepaid holder with money in the wallet and a subscription of their own, and a member
    who joined and switched to the holder's account; the member's limit buys
    `limit_packages` Basic packages."""
    holder_token, holder = sign_up(portal)
    portal.ok("POST", "/api/v1/me/payment-methods", holder_token, status=201, json=CARD)
    portal.ok("POST", "/api/v1/wallet/top-ups", holder_token, status=201,
              json={"amount": {"amount": 20000, "currency": "EUR"}},
              headers={"Idempotency-Key": f"hh-top-up-{holder['id']}"})
    own = portal.ok("POST", "/api/v1/subscriptions", holder_token, status=201,
                    json={"package": "basic"}, headers={"Idempotency-Key": "hh-own"})
    price = basic_price(portal, holder_token)
    member_email = f"member-{uuid.uuid4().hex[:8]}@example.com"
    invited = portal.ok("POST", "/api/v1/household/invitations", holder_token, status=201,
                        json={"email": member_email, "share_wallet": share_wallet,
                              "monthly_limit": {"amount": price * limit_packages + 1,
                                                "currency": "EUR"}})
    token = invitation_token(portal, invited["id"])
    member_token, member = sign_up(portal, member_email)
    joined = portal.ok("POST", "/api/v1/me/households/join", member_token, status=201,
                       json={"token": token})
    assert joined["account_id"] == holder["id"]
    portal.ok("PUT", "/api/v1/me/acting", member_token, json={"account_id": holder["id"]})
    return {"holder_token": holder_token, "holder": holder, "own": own, "price": price,
            "member_token": member_token, "member": member, "invitation": token}


def test_a_member_joins_sees_only_their_own_and_is_held_to_the_limit(portal):
    h = household_with_member(portal)
    holder_token, member_token = h["holder_token"], h["member_token"]
    # the invitation is single use, and for its address only
    outsider_token, _ = sign_up(portal)
    assert portal("POST", "/api/v1/me/households/join", outsider_token,
                  json={"token": h["invitation"]}).status_code == 400  # used up
    me = portal.ok("GET", "/api/v1/me", member_token)
    assert me["id"] == h["member"]["id"] and me["acting"]["account_id"] == h["holder"]["id"]

    assert portal.ok("GET", "/api/v1/subscriptions", member_token)["data"] == []
    hidden = portal("GET", f"/api/v1/subscriptions/{h['own']['id']}", member_token)
    assert hidden.status_code == 404  # the holder's own subscription
    wallet = portal.ok("GET", "/api/v1/wallet", member_token)  # shared with them
    before = wallet["balance"]["amount"]
    for path in ("/api/v1/dashboard", "/api/v1/me/payment-methods", "/api/v1/notifications",
                 "/api/v1/household", "/api/v1/tickets"):
        refused = portal("GET", path, member_token)
        assert refused.status_code == 403, path
        assert refused.json()["error"]["code"] == "MEMBER_NOT_ALLOWED"

    mine = portal.ok("POST", "/api/v1/subscriptions", member_token, status=201,
                     json={"package": "basic"}, headers={"Idempotency-Key": "m-1"})
    assert mine["member_id"] == h["member"]["id"]
    over = portal("POST", "/api/v1/subscriptions", member_token, json={"package": "basic"},
                  headers={"Idempotency-Key": "m-2"})
    assert over.status_code == 409 and over.json()["error"]["code"] == "MEMBER_SPENDING_LIMIT"
    assert [s["id"] for s in portal.ok("GET", "/api/v1/subscriptions", member_token)[
        "data"]] == [mine["id"]]  # the refused purchase left nothing
    after = portal.ok("GET", "/api/v1/wallet", member_token)["balance"]["amount"]
    assert before - after == h["price"]  # the holder's wallet paid the one purchase

    # the holder sees and pays for everything
    ids = {s["id"] for s in portal.ok("GET", "/api/v1/subscriptions", holder_token)["data"]}
    assert ids == {h["own"]["id"], mine["id"]}
    members = portal.ok("GET", "/api/v1/household", holder_token)["members"]
    assert [m["member_id"] for m in members] == [h["member"]["id"]]

    # the holder stops sharing the wallet, then removes the member
    portal.ok("PATCH", f"/api/v1/household/members/{h['member']['id']}", holder_token,
              json={"share_wallet": False})
    assert portal("GET", "/api/v1/wallet", member_token).status_code == 403
    assert portal("DELETE", f"/api/v1/household/members/{h['member']['id']}",
                  holder_token).status_code == 204
    back = portal.ok("GET", "/api/v1/me", member_token)
    assert back["acting"] is None  # in their own account again
    assert portal.ok("GET", "/api/v1/subscriptions", member_token)["data"] == []
    assert portal("PUT", "/api/v1/me/acting", member_token,
                  json={"account_id": h["holder"]["id"]}).status_code == 404


def test_concurrent_purchases_never_pass_the_limit_together(portal):
    h = household_with_member(portal, limit_packages=2)
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda n: portal(
            "POST", "/api/v1/subscriptions", h["member_token"], json={"package": "basic"},
            headers={"Idempotency-Key": f"race-{n}"}).status_code, range(6)))
    assert statuses.count(201) == 2, statuses
    assert set(statuses) - {201} <= {409}, statuses
    assert len(portal.ok("GET", "/api/v1/subscriptions", h["member_token"])["data"]) == 2


CUSTOMER_ACCESS = {"session"}
OWN_OBJECT = re.compile(r"<string:(\w+)>")
# ids that name nothing of anyone's: "not interested" in a suggestion is recorded for the caller
CALLERS_OWN = ("recommendation_id",)


def customer_routes():
    return [r for r in ROUTES if r.access in CUSTOMER_ACCESS and r.in_schema
            and not r.path.startswith("/api/v1/ops")]


def test_every_customer_route_keeps_the_holder_s_things_from_members_and_outsiders(portal):
    """For each customer route: the member (acting on the holder's account) is either allowed
    it (their own sign-in, privacy, their subscriptions, the shared wallet) or refused with
    MEMBER_NOT_ALLOWED; the holder's objects named in the path are a 404 (or another 4xx) to
    the member and to an outsider, never an answer."""
    h = household_with_member(portal, share_wallet=False)
    outsider_token, _ = sign_up(portal)
    ids = {"subscription_id": h["own"]["id"], "member_id": h["member"]["id"],
           "account_id": h["holder"]["id"]}
    allowed_for_member = set()
    routes = customer_routes()
    assert len(routes) > 40
    # these would end the member's session or membership, so what follows would not be tried
    # as a member: the tests above show each
    ending = {("POST", "/api/v1/auth/logout"), ("PUT", "/api/v1/me/acting"),
              ("DELETE", "/api/v1/me/households/<string:account_id>"),
              ("POST", "/api/v1/me/sessions/sign-out-others")}
    for route in routes:
        if (route.method, route.path) in ending:
            continue
        if route.method == "GET" and "<string:subscription_id>" in route.path:
            path_for_holder = route.path.replace("<string:subscription_id>", h["own"]["id"])
            assert portal("GET", path_for_holder, h["holder_token"]).status_code == 200
        path = OWN_OBJECT.sub(lambda m: ids.get(m.group(1), f"x_{m.group(1)}"), route.path)
        headers = {"Idempotency-Key": f"authz-{uuid.uuid4().hex}"}
        as_member = portal(route.method, path, h["member_token"], json={}, headers=headers)
        code = as_member.json()["error"]["code"] if as_member.status_code >= 400 and \
            as_member.headers.get("Content-Type", "").startswith("application/json") else None
        if code != "MEMBER_NOT_ALLOWED":
            allowed_for_member.add((route.method, route.path))
        if OWN_OBJECT.search(route.path) and not any(
                name in route.path for name in ("account_id", *CALLERS_OWN)):
            assert as_member.status_code >= 400, (route.method, path, as_member.text[:200])
            as_outsider = portal(route.method, path, outsider_token, json={}, headers=headers)
            assert as_outsider.status_code >= 400, (route.method, path, as_outsider.text[:200])
            assert h["holder"]["email"] not in as_outsider.text
    assert portal.ok("GET", "/api/v1/me", h["member_token"])["acting"]  # still the member
    # what a member may reach is exactly the allow-list: their own person, their subscriptions
    assert {p for _, p in allowed_for_member if not p.startswith(
        ("/api/v1/me", "/api/v1/subscriptions", "/api/v1/auth/"))} == set(), allowed_for_member
    assert ("GET", "/api/v1/subscriptions") in allowed_for_member
    assert ("GET", "/api/v1/dashboard") not in allowed_for_member
