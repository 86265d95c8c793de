"""Cards (Settings) and the prepaid wallet (the Wallet tab). A postpaid account has no wallet:
409 NOT_PREPAID, answered here without asking billing."""

from __future__ import annotations

from gateway.http import Call, Reply, idempotency_key
from services.common import errors


def _me(call: Call) -> str:
    return call.principal.customer_id


def _prepaid(call: Call) -> str:
    if call.principal.account["billing_type"] != "prepaid":
        raise errors.Conflict("This account is postpaid: it has bills, not a wallet.",
                              code="NOT_PREPAID")
    return _me(call)


def payment_methods(gw, call: Call) -> dict:
    return gw.billing.list_payment_methods(_me(call))


def add_payment_method(gw, call: Call) -> Reply:
    """A new card is a sensitive change: the person proved who they are recently."""
    gw.accounts.require_recent_auth(_me(call), call.principal.session_id)
    return Reply(gw.billing.add_payment_method(_me(call), call.body), status=201)


def remove_payment_method(gw, call: Call) -> Reply:
    gw.billing.remove_payment_method(_me(call), call.path["payment_method_id"])
    return Reply(None, status=204)


def default_payment_method(gw, call: Call) -> dict:
    return gw.billing.set_default_payment_method(_me(call), call.path["payment_method_id"])


def wallet(gw, call: Call) -> dict:
    return gw.billing.get_wallet(_prepaid(call))


def wallet_settings(gw, call: Call) -> dict:
    return gw.billing.set_low_balance(_prepaid(call), call.body)


def transactions(gw, call: Call) -> dict:
    return gw.billing.wallet_transactions(_prepaid(call), call.query["limit"],
                                          call.query.get("cursor"))


def top_up(gw, call: Call) -> Reply:
    """By card (`amount`, `payment_method_id`) or by voucher (`voucher_code`)."""
    if call.body.get("voucher_code") is not None:
        result = gw.billing.redeem_voucher(_prepaid(call), {"code": call.body["voucher_code"]},
                                           call.client_ip, account=billing_facts(call))
    else:
        body = {k: v for k, v in call.body.items() if k != "voucher_code"}
        result = gw.billing.top_up(_prepaid(call), body, idempotency_key(call),
                                   account=billing_facts(call))
    return Reply(result, status=201)


def billing_facts(call: Call) -> dict:
    """What billing needs to know of the account, as authentication told it: passed along,
    billing asks accounts nothing on the money paths."""
    account = call.principal.account
    return {"billing_type": account["billing_type"], "currency": account["currency"]}


def ops_verify_ledger(gw, call: Call) -> dict:
    return gw.billing.verify_ledger()
