"""Vouchers: redeem into the wallet, buy online vouchers (the Vouchers tab), and the ops side
(batches, the print-house export, voids, offers, guessing seen by the throttle)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from werkzeug.wrappers import Response

from gateway.http import Call, Reply, idempotency_key
from gateway.views.wallet import _prepaid, billing_facts

CSV_HEADER = ["serial", "code", "value", "currency", "valid_until"]


def redeem(gw, call: Call) -> Reply:
    """Redeem a code into the prepaid wallet (also reachable as a top-up by `voucher_code`)."""
    result = gw.billing.redeem_voucher(_prepaid(call), {"code": call.body["code"]},
                                       call.client_ip, account=billing_facts(call))
    return Reply(result, status=201)


def offers(gw, call: Call) -> dict:
    return gw.vouchers.list_offers(call.principal.account.get("language"))


def purchase(gw, call: Call) -> Reply:
    result = gw.billing.buy_voucher(call.principal.customer_id, call.body,
                                    idempotency_key(call), account=billing_facts(call))
    return Reply(result, status=201)


def redemptions(gw, call: Call) -> dict:
    return gw.vouchers.redemptions(call.principal.customer_id, call.query["limit"],
                                   call.query.get("cursor"))


# ops

def ops_create_batch(gw, call: Call) -> Reply:
    body = {**call.body, "valid_until": call.body["valid_until"].isoformat()}
    if body.get("valid_from"):
        body["valid_from"] = body["valid_from"].isoformat()
    # the route requires an Idempotency-Key: vouchers makes one batch per key
    return Reply(gw.vouchers.create_batch(body, call.principal.customer_id,
                                          idempotency_key(call)), status=202)


def ops_batches(gw, call: Call) -> dict:
    return gw.vouchers.list_batches(call.query["limit"], call.query.get("cursor"))


def ops_batch(gw, call: Call) -> dict:
    return gw.vouchers.get_batch(call.path["batch_id"])


def ops_void_batch(gw, call: Call) -> dict:
    return gw.vouchers.void_batch(call.path["batch_id"], call.body, call.principal.customer_id)


def ops_voucher(gw, call: Call) -> dict:
    return gw.vouchers.get_voucher(call.path["serial"])


def ops_void_voucher(gw, call: Call) -> dict:
    return gw.vouchers.void_voucher(call.path["serial"], call.body, call.principal.customer_id)


def ops_export(gw, call: Call) -> Response:
    """The print batch as CSV, streamed page by page: memory stays flat for a million rows.
    The export is recorded (who, when) before the first byte."""
    batch_id = call.path["batch_id"]
    started = gw.vouchers.start_export(batch_id, call.principal.customer_id)
    vouchers = gw.vouchers

    def rows() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        after = None
        while True:
            page = vouchers.export_page(batch_id, after)
            writer.writerows(page["rows"])
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            after = page["next"]
            if after is None:
                return

    name = f"vouchers-{started['batch']['number']:05d}.csv"
    return Response(rows(), mimetype="text/csv", direct_passthrough=True, headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Cache-Control": "private, no-store", "X-Export-Id": started["export_id"]})


def ops_throttles(gw, call: Call) -> dict:
    return gw.vouchers.throttle_events(call.query["limit"], call.query.get("cursor"))


def ops_create_offer(gw, call: Call) -> Reply:
    return Reply(gw.vouchers.create_offer(call.body), status=201)


def ops_retire_offer(gw, call: Call) -> dict:
    return gw.vouchers.retire_offer(call.path["code"])
