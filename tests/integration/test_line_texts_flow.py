"""Generated line texts through the gateway on the real services, RabbitMQ and PostgreSQL: a
prepaid customer's top-up and subscription, and a postpaid customer's invoice, carry `text`
codes beside their English descriptions, and a German customer's invoice PDF words its lines
in German."""

import subprocess

import pytest

from deploy import demo
from tests.integration.conftest import eventually


@pytest.fixture
def portal(start_portal):
    return start_portal()


def test_wallet_entries_and_subscription_lines_carry_text_codes(portal):
    token = portal.customer("prepaid")
    portal.ok("POST", "/api/v1/me/payment-methods", token, status=201, json={
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "913",
        "holder": "Ann"})
    topped = portal.ok("POST", "/api/v1/wallet/top-ups", token, status=201,
                       json={"amount": {"amount": 5000, "currency": "EUR"}},
                       headers={"Idempotency-Key": "texts-1"})
    assert topped["transaction"]["text"] == {"code": "top_up_card",
                                             "params": {"brand": "visa", "last4": "4242"}}
    sub = portal.ok("POST", "/api/v1/subscriptions", token, status=201,
                    json={"package": "family"})
    start = sub["current_period"]["start"][:10]
    end = sub["current_period"]["end"][:10]
    assert [line["text"] for line in sub["charges"]["lines"]] == [
        {"code": "period_fee", "params": {"name": "Family", "start": start, "end": end}},
        {"code": "promotion", "params": {"name": "Family"}},
        {"code": "tax", "params": {"name": sub["tax"]["name"],
                                   "rate": f"{sub['tax']['rate_bp'] / 100:g}"}}]
    assert sub["charges"]["lines"][1]["description"] == "Promotion on Family"

    ledger = portal.ok("GET", "/api/v1/wallet/transactions", token)["data"]
    assert [(e["type"], e["text"]) for e in ledger] == [
        ("service_charge", {"code": "service_charges", "params": {
            "first": "period_fee", "name": "Family", "start": start, "end": end,
            "count": "1"}}),
        ("top_up", {"code": "top_up_card", "params": {"brand": "visa", "last4": "4242"}})]
    assert ledger[1]["description"] == "Top-up by card Visa …4242"


def pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_invoice_lines_carry_text_codes_and_the_pdf_words_them_in_german(portal, tmp_path):
    token = portal.customer("postpaid", language="de")
    portal.ok("POST", "/api/v1/subscriptions", token, status=201, json={"package": "family"})
    admin = demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])
    run = portal.ok("POST", "/api/v1/ops/billing-runs", admin, status=202, json={})
    assert eventually(lambda: portal.ok("GET", f"/api/v1/ops/billing-runs/{run['id']}",
                                        admin)["status"] == "completed", timeout=30)
    [invoice] = portal.ok("GET", "/api/v1/invoices", token)["data"]
    assert [line["text"]["code"] for line in invoice["lines"]] == ["period_fee", "promotion"]
    assert invoice["lines"][1]["text"] == {"code": "promotion", "params": {"name": "Family"}}
    assert invoice["lines"][1]["description"] == "Promotion on Family"
    document = portal("GET", f"/api/v1/invoices/{invoice['id']}/pdf", token)
    assert document.status_code == 200
    text = pdf_text(document.content, tmp_path)
    assert "Aktionsrabatt auf Family" in text and "Promotion on Family" not in text
