"""The Bills tab (postpaid accounts) and the ops side of billing runs. A prepaid account has no
bills: 409 NOT_POSTPAID."""

from __future__ import annotations

import base64

from werkzeug.wrappers import Response

from gateway.http import Call, Reply, idempotency_key
from services.common import errors


def _postpaid(call: Call) -> str:
    if call.principal.account["billing_type"] != "postpaid":
        raise errors.Conflict("This account is prepaid: it has a wallet, not bills.",
                              code="NOT_POSTPAID")
    return call.principal.customer_id


def invoices(gw, call: Call) -> dict:
    return gw.billing.list_invoices(_postpaid(call), call.query["limit"],
                                    call.query.get("cursor"))


def invoice(gw, call: Call) -> dict:
    return gw.billing.get_invoice(_postpaid(call), call.path["invoice_id"])


def _pdf(document: dict) -> Response:
    return Response(base64.b64decode(document["content"]), mimetype="application/pdf",
                    headers={"Content-Disposition":
                             f'attachment; filename="{document["filename"]}"',
                             "Cache-Control": "private, no-store"})


def invoice_pdf(gw, call: Call) -> Response:
    return _pdf(gw.billing.invoice_pdf(_postpaid(call), call.path["invoice_id"]))


def receipt(gw, call: Call) -> Response:
    return _pdf(gw.billing.receipt_pdf(call.principal.customer_id, call.path["payment_id"]))


def pay(gw, call: Call) -> Reply:
    result = gw.billing.pay_invoice(_postpaid(call), call.path["invoice_id"], call.body,
                                    idempotency_key(call))
    return Reply(result, status=201)


def payments(gw, call: Call) -> dict:
    return gw.billing.list_payments(call.principal.customer_id, call.query["limit"],
                                    call.query.get("cursor"))


def ops_start_run(gw, call: Call) -> Reply:
    day = call.body.get("date")
    return Reply(gw.billing.start_billing_run(day.isoformat() if day else None), status=202)


def ops_runs(gw, call: Call) -> dict:
    return gw.billing.list_billing_runs(call.query["limit"], call.query.get("cursor"))


def ops_run(gw, call: Call) -> dict:
    return gw.billing.get_billing_run(call.path["run_id"])


def autopay(gw, call: Call) -> dict:
    return gw.billing.get_autopay(_postpaid(call))


def set_autopay(gw, call: Call) -> dict:
    return gw.billing.set_autopay(_postpaid(call), call.body)


def ops_billing_profile(gw, call: Call) -> dict:
    return gw.billing.get_billing_profile(call.path["customer_id"])


def ops_set_payment_terms(gw, call: Call) -> dict:
    return gw.billing.set_payment_terms(call.path["customer_id"], call.body)


def ops_customer_invoices(gw, call: Call) -> dict:
    return gw.billing.list_invoices(call.path["customer_id"], call.query["limit"],
                                    call.query.get("cursor"))
