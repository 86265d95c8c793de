"""Recommendations end to end, on the real services and PostgreSQL: viewing reported by RPC (as
the TV platform does) becomes advice in the API, priced by the catalog with the customer's tax,
within the operator's rules; "Apply" is the normal change flow, "Not interested" hides it,
switching the use of viewing off or the kind off removes it."""

import datetime as dt

from nameko.standalone.rpc import ClusterRpcProxy

from deploy import demo

FAMILY_CHANNELS = ["Docu World", "Nature HD", "Drama Channel", "Kids Club HD", "Family Movies"]
CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123",
        "holder": "Ann"}


def report(portal, customer_id, channels, days=30, minutes=40, batch="b", consent=True):
    today = dt.datetime.now(dt.UTC).date()
    records = [{"customer_id": customer_id, "channel": channel,
                "day": (today - dt.timedelta(days=back)).isoformat(), "minutes": minutes}
               for back in range(1, days + 1) for channel in channels]
    with ClusterRpcProxy({"AMQP_URI": portal.config["AMQP_URI"]}, timeout=30) as cluster:
        if consent:  # the customer agreed (tests/integration/test_consents.py: in Settings)
            cluster.insights.set_viewing_use(customer_id, True, "settings")
        return cluster.insights.report_viewing(f"{batch}-{customer_id}", records)


def advice(portal, token):
    return portal.ok("GET", "/api/v1/insights/recommendations", token)["data"]


def test_viewing_by_rpc_becomes_advice_priced_and_within_the_rules(start_portal):
    portal = start_portal()
    token = portal.customer("postpaid")
    me = portal.ok("GET", "/api/v1/me", token)
    sub = portal.ok("POST", "/api/v1/subscriptions", token, status=201,
                    json={"package": "family", "addons": ["sports"]},
                    headers={"Idempotency-Key": "advice-sub"})
    # no viewing reported yet: nothing is judged on what is not known
    assert [a for a in advice(portal, token) if a["kind"] == "unused_addon"] == []

    answer = report(portal, me["id"], FAMILY_CHANNELS + ["Football TV"], minutes=30)
    assert answer["stored"] == 30 * 6 and answer["status"] == "accepted"
    assert advice(portal, token) == [], "half an hour of football a day is watching it"

    # another customer who never watches the sports they pay for
    token = portal.customer("postpaid")
    me = portal.ok("GET", "/api/v1/me", token)
    sub = portal.ok("POST", "/api/v1/subscriptions", token, status=201,
                    json={"package": "family", "addons": ["sports"]},
                    headers={"Idempotency-Key": "advice-sub-2"})
    report(portal, me["id"], FAMILY_CHANNELS)
    shown = advice(portal, token)
    unused = [a for a in shown if a["kind"] == "unused_addon"]
    assert len(unused) == 1, shown
    [tip] = unused
    sports = next(a for a in sub["addons"] if a["code"] == "sports")
    # what the bill loses: the add-on's price with the customer's tax (€9.99 + 19 % = €11.89)
    assert tip["monthly_effect"] == -sports["taxed_price"]["gross"]["amount"] == -1189
    assert tip["action"] == {"type": "remove_addon", "subscription_id": sub["id"],
                             "addon": "sports"}
    assert tip["reason"]["code"] == "unused_addon"
    assert tip["reason"]["params"]["minutes"] == 0 and tip["reason"]["params"]["days"] == 60
    # family watchers: Basic lacks what they watch, so no cheaper package is advised
    assert not [a for a in shown if a["kind"] in ("cheaper_package", "unused_package")], shown

    # "Apply" is the normal flow: its preview prices the removal
    preview = portal("DELETE", f"/api/v1/subscriptions/{sub['id']}/addons/sports", token,
                     params={"preview": "true"})
    assert preview.status_code == 200, (preview.status_code, preview.text)
    preview = preview.json()
    assert [line["kind"] for line in preview["lines"]] == ["credit", "tax"]
    assert preview["amount_due"]["amount"] < 0, "nothing to pay: the unused part is credited"

    # "Not interested" hides it for good
    dismissed = portal("POST", f"/api/v1/insights/recommendations/{tip['id']}/dismiss", token)
    assert dismissed.status_code == 204, dismissed.text
    assert tip["id"] not in [a["id"] for a in advice(portal, token)]


def test_switching_viewing_off_or_the_kind_off_removes_the_advice(start_portal):
    portal = start_portal()
    token = portal.customer("postpaid")
    me = portal.ok("GET", "/api/v1/me", token)
    portal.ok("POST", "/api/v1/subscriptions", token, status=201,
              json={"package": "family", "addons": ["sports"]},
              headers={"Idempotency-Key": "advice-off-sub"})
    report(portal, me["id"], FAMILY_CHANNELS)
    assert [a["kind"] for a in advice(portal, token)] == ["unused_addon"]

    admin = demo.admin_login(portal.url, demo.ADMIN)
    kinds = portal.ok("GET", "/api/v1/ops/insights/recommendation-kinds", admin)["kinds"]
    assert kinds["unused_addon"] is True
    portal.ok("PUT", "/api/v1/ops/insights/recommendation-kinds", admin,
              json={"kinds": {"unused_addon": False}})
    assert advice(portal, token) == []
    portal.ok("PUT", "/api/v1/ops/insights/recommendation-kinds", admin,
              json={"kinds": {"unused_addon": True}})
    assert [a["kind"] for a in advice(portal, token)] == ["unused_addon"]

    # the customer switches the use of their viewing off: no advice uses it, and it is gone
    portal.ok("PUT", "/api/v1/insights/viewing", token, json={"use_viewing": False})
    assert advice(portal, token) == []
    seen = portal.ok("GET", "/api/v1/insights/viewing", token)
    assert seen["use_viewing"] is False and seen["channels"] == []
    # what the platform reports now is not stored
    answer = report(portal, me["id"], FAMILY_CHANNELS, days=2, batch="later", consent=False)
    assert answer["opted_out"] == 2 * len(FAMILY_CHANNELS) and answer["stored"] == 0


def test_a_package_change_the_rules_forbid_is_never_advised(start_portal):
    """A Premium customer who watches only Basic's channels is told Basic costs less while the
    operator's rules allow that downgrade, and no longer once the rules forbid it."""
    portal = start_portal()
    token = portal.customer("postpaid")
    me = portal.ok("GET", "/api/v1/me", token)
    portal.ok("POST", "/api/v1/subscriptions", token, status=201,
              json={"package": "premium"}, headers={"Idempotency-Key": "advice-premium"})
    report(portal, me["id"], ["News 24", "Metro TV"])
    changes = [a for a in advice(portal, token) if a["action"]["type"] == "change_package"]
    assert [a["action"]["package"] for a in changes] == ["basic"]

    admin = demo.admin_login(portal.url, demo.ADMIN)
    premium = portal.ok("GET", "/api/v1/ops/catalog/packages/premium", admin)
    portal.ok("PATCH", "/api/v1/ops/catalog/packages/premium", admin,
              json={"rules": {**premium["rules"], "downgrades_to": []}})
    assert [a for a in advice(portal, token) if a["action"]["type"] == "change_package"] == []


def test_a_cheaper_package_that_carries_what_is_watched(start_portal):
    """Family (downgrades to Basic at once) watched only on Basic's channels: Basic is advised,
    priced as the catalog quotes it (the Family promotion and the tax taken into account)."""
    portal = start_portal()
    token = portal.customer("postpaid")
    me = portal.ok("GET", "/api/v1/me", token)
    sub = portal.ok("POST", "/api/v1/subscriptions", token, status=201,
                    json={"package": "family"}, headers={"Idempotency-Key": "advice-family"})
    report(portal, me["id"], ["News 24", "Metro TV", "Docu World"])
    changes = [a for a in advice(portal, token) if a["action"]["type"] == "change_package"]
    assert len(changes) == 1, changes
    [tip] = changes
    assert tip["action"]["package"] == "basic"
    assert tip["kind"] == "cheaper_package" and tip["reason"]["code"] == "cheaper_package"
    paid = sub["package"]["taxed_price"]["gross"]["amount"] - (
        (sub["package"]["taxed_discount"] or {"gross": {"amount": 0}})["gross"]["amount"])
    assert tip["monthly_effect"] == 1784 - paid  # Basic: €14.99 + 19 % VAT
    # the normal change flow's preview agrees that it is allowed
    preview = portal.ok("POST", f"/api/v1/subscriptions/{sub['id']}/change", token,
                        json={"package": "basic", "when": "now", "preview": True})
    assert preview is not None


def test_prepaid_top_up_advice_covers_the_next_renewal(start_portal):
    portal = start_portal()
    token = portal.customer("prepaid")
    portal.ok("POST", "/api/v1/me/payment-methods", token, status=201, json=CARD)
    portal.ok("POST", "/api/v1/wallet/top-ups", token, status=201,
              json={"amount": {"amount": 2000, "currency": "EUR"}},
              headers={"Idempotency-Key": "advice-top-up"})
    portal.ok("POST", "/api/v1/subscriptions", token, status=201, json={"package": "basic"},
              headers={"Idempotency-Key": "advice-prepaid-sub"})
    missing = 1784 - (2000 - 1784)
    [tip] = [a for a in advice(portal, token) if a["kind"] == "top_up"]
    assert tip["reason"]["params"]["missing"]["amount"] == missing
    assert tip["action"] == {"type": "top_up", "amount": -(-missing // 100) * 100}
