"""A customer's data in vouchers (issue #18): export and forgetting, on the real vouchers
service, RabbitMQ and PostgreSQL. vouchers holds no name or contact details: forgetting deletes
the account's guessing counter and keeps the redemptions, the vouchers bought and the blocks
ops saw; two concurrent calls have one effect."""

import datetime as dt
import json
import uuid

import eventlet
import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from services.common import errors
from services.vouchers.service import VouchersService

ACCOUNT = {"currency": "EUR", "billing_type": "prepaid"}
CLIENT = "203.0.113.7"


@pytest.fixture
def vouchers(new_pg_url, rabbit_config, container_factory):
    config = {**rabbit_config, "DATABASE_URLS": {"vouchers": new_pg_url()},
              "VOUCHER_SECRET_KEY": "integration-test-voucher-secret", "max_workers": 10}
    container_factory(VouchersService, config).start()
    with ServiceRpcProxy("vouchers", config) as proxy:
        yield config, proxy


def print_codes(vouchers, count):
    batch = vouchers.create_batch({
        "type": "print", "value": {"amount": 1000, "currency": "EUR"}, "count": count,
        "valid_until": (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).isoformat()},
        "ops_admin", uuid.uuid4().hex)
    for _ in range(200):
        if vouchers.get_batch(batch["id"])["status"] == "active":
            break
        eventlet.sleep(0.1)
    vouchers.start_export(batch["id"], "ops_admin")
    return [row[1] for row in vouchers.export_page(batch["id"], None, count)["rows"]]


def test_a_customers_vouchers_are_exported_then_forgotten_once(vouchers):
    config, rpc = vouchers
    customer, other = f"cus_{uuid.uuid4().hex[:12]}", f"cus_{uuid.uuid4().hex[:12]}"
    rpc.create_offer({"code": "topup-10", "name": "10 € top-up voucher",
                      "value": {"amount": 1000, "currency": "EUR"},
                      "price": {"amount": 1000, "currency": "EUR"}})
    bought = rpc.issue_online("pay_1", "topup-10", customer)
    code, other_code = print_codes(rpc, 2)
    redeemed = rpc.redeem(customer, code, ACCOUNT, CLIENT)
    rpc.redeem(other, other_code, ACCOUNT, CLIENT)
    for _ in range(5):  # wrong codes until the account is blocked
        with pytest.raises(errors.ServiceError):
            rpc.redeem(customer, "ABCD-EFGH-JKLM-NPQR", ACCOUNT, CLIENT)
    with pytest.raises(errors.RateLimited):
        rpc.redeem(customer, "ABCD-EFGH-JKLM-NPQR", ACCOUNT, CLIENT)

    exported = rpc.export_customer(customer)
    assert exported["service"] == "vouchers" and exported["files"] == []
    data = exported["data"]
    assert set(data) == {"redemptions", "vouchers_bought", "throttle_counters",
                         "throttle_events"}
    assert [r["id"] for r in data["redemptions"]] == [redeemed["id"]]
    assert [v["serial"] for v in data["vouchers_bought"]] == [bought["serial"]]
    assert bought["code"] not in json.dumps(exported)  # a code is money: never exported
    assert [c["key"] for c in data["throttle_counters"]] == [f"redeem:account:{customer}"]
    assert [e["key"] for e in data["throttle_events"]] == [f"redeem:account:{customer}"]

    def forget(_):
        with ServiceRpcProxy("vouchers", config) as proxy:
            return proxy.forget_customer(customer, "Customer 7f3a")
    answers = list(eventlet.GreenPool(2).imap(forget, range(2)))
    kept = {"redemptions": 1, "vouchers_bought": 1, "throttle_events": 1}
    assert sorted(a["forgotten"]["throttle_counters"] for a in answers) == [0, 1]
    assert all(a["service"] == "vouchers" and a["kept"] == kept for a in answers)
    assert rpc.forget_customer(customer, "Customer 7f3a") == {
        "service": "vouchers", "forgotten": {"throttle_counters": 0}, "kept": kept}

    after = rpc.export_customer(customer)["data"]
    assert after["throttle_counters"] == [] and after["redemptions"] == data["redemptions"]
    assert after["vouchers_bought"] == data["vouchers_bought"]
    # the other customer and the shared address's counter are untouched
    assert [r["customer_id"] for r in rpc.export_customer(other)["data"]["redemptions"]] == [
        other]
    assert any(e["key"] == f"redeem:account:{customer}"
               for e in rpc.throttle_events(20)["data"])
    with pytest.raises(errors.InvalidArgument):
        rpc.forget_customer(customer, "")
