"""Postpaid bills through the gateway on the real services, RabbitMQ and PostgreSQL: a billing
run issues the invoice, the customer reads it, downloads its PDF, pays it, gets a receipt."""

import subprocess

import pytest

from deploy import demo
from tests.integration.conftest import eventually


@pytest.fixture
def portal(start_portal):
    return start_portal()


def pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "doc.pdf"
    path.write_bytes(content)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_a_run_issues_the_invoice_which_is_read_downloaded_and_paid(portal, tmp_path):
    token = portal.customer("postpaid")
    portal.ok("POST", "/api/v1/subscriptions", token, status=201,
              json={"package": "family", "addons": ["sports"]})
    admin = demo.login(portal.url, demo.ADMIN["email"], demo.ADMIN["password"])
    run = portal.ok("POST", "/api/v1/ops/billing-runs", admin, status=202, json={})
    run = eventually(lambda: (lambda r: r if r["status"] == "completed" else None)(
        portal.ok("GET", f"/api/v1/ops/billing-runs/{run['id']}", admin)))
    assert run and run["progress"]["invoices_issued"] >= 1

    [invoice] = portal.ok("GET", "/api/v1/invoices", token)["data"]
    assert invoice["status"] == "open" and invoice["number"].startswith("INV-")
    assert [line["description"].split(" (")[0] for line in invoice["lines"]] == [
        "Family", "Promotion on Family", "Sports Plus"]
    assert invoice["discount"]["amount"] == 250 and invoice["tax"]["amount"] == 475 - 48 + 190
    assert invoice["total"]["amount"] == 2499 - 250 + 999 + 617
    board = portal.ok("GET", "/api/v1/dashboard", token)
    assert board["bills"]["outstanding_total"]["amount"] == invoice["total"]["amount"]
    assert board["bills"]["next_due"]["number"] == invoice["number"]

    document = portal("GET", f"/api/v1/invoices/{invoice['id']}/pdf", token)
    assert document.status_code == 200 and document.headers["Content-Type"] == \
        "application/pdf" and document.content.startswith(b"%PDF-")
    text = pdf_text(document.content, tmp_path)
    assert invoice["number"] in text and "Ann" in text and "Sports Plus" in text
    assert "€38.65" in text

    other = portal.customer("postpaid")
    assert portal("GET", f"/api/v1/invoices/{invoice['id']}", other).status_code == 404
    assert portal("GET", f"/api/v1/invoices/{invoice['id']}/pdf", other).status_code == 404

    declining = portal.ok("POST", "/api/v1/me/payment-methods", token, status=201, json={
        "number": "4000000000009995", "exp_month": 12, "exp_year": 2030, "cvc": "913",
        "holder": "Ann"})
    refused = portal("POST", f"/api/v1/invoices/{invoice['id']}/pay", token,
                     json={"payment_method_id": declining["id"]},
                     headers={"Idempotency-Key": "pay-declined"})
    assert refused.status_code == 402
    assert refused.json()["error"]["decline_code"] == "insufficient_funds"
    card = portal.ok("POST", "/api/v1/me/payment-methods", token, status=201, json={
        "number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "913",
        "holder": "Ann"})
    paid = portal.ok("POST", f"/api/v1/invoices/{invoice['id']}/pay", token, status=201,
                     json={"payment_method_id": card["id"]}, headers={"Idempotency-Key": "pay"})
    assert paid["invoice"]["status"] == "paid" and paid["payment"]["status"] == "succeeded"
    assert portal.ok("GET", "/api/v1/dashboard", token)["bills"]["outstanding_total"][
        "amount"] == 0
    history = portal.ok("GET", "/api/v1/payments", token)["data"]
    assert [(p["status"], p["invoice_id"]) for p in history] == [
        ("succeeded", invoice["id"]), ("failed", invoice["id"])]
    receipt = portal("GET", f"/api/v1/payments/{paid['payment']['id']}/receipt", token)
    assert receipt.status_code == 200
    text = pdf_text(receipt.content, tmp_path)
    assert paid["payment"]["id"] in text and "4242" in text and invoice["number"] in text
    prepaid = portal.customer("prepaid")
    assert portal("GET", "/api/v1/invoices", prepaid).json()["error"]["code"] == "NOT_POSTPAID"
