"""Households (services/accounts/households.py): the holder invites, changes and removes
members; a person joins with an invitation, sees the households they belong to, leaves one,
and switches their session between their own account and a household's."""

from __future__ import annotations

from gateway.http import Call, Reply
from services.common import errors


def _holder(call: Call) -> str:
    return call.principal.customer_id  # members cannot reach these routes (gateway/auth.py)


def _settings(call: Call) -> dict:
    """The body's sharing and limit, the limit in minor units of the account's currency."""
    out = {k: v for k, v in call.body.items() if k == "share_wallet"}
    if "monthly_limit" in call.body:
        limit = call.body["monthly_limit"]
        currency = call.principal.account["currency"]
        if limit is not None and limit["currency"] != currency:
            raise errors.InvalidArgument(f"The limit is in the account's currency, {currency}.",
                                         fields={"monthly_limit.currency": [
                                             f"must be {currency}"]})
        out["monthly_limit"] = None if limit is None else limit["amount"]
    return out


def household(gw, call: Call) -> dict:
    return gw.accounts.household(_holder(call))


def invite(gw, call: Call) -> Reply:
    return Reply(gw.accounts.invite_member(_holder(call), call.body["email"], _settings(call),
                                           call.principal.session_id), status=201)


def revoke_invitation(gw, call: Call) -> Reply:
    gw.accounts.revoke_invitation(_holder(call), call.path["invitation_id"])
    return Reply(None, status=204)


def update_member(gw, call: Call) -> dict:
    changed = gw.accounts.update_member(_holder(call), call.path["member_id"], _settings(call),
                                        call.principal.session_id)
    gw.sessions.evict_customer(call.path["member_id"])  # other gateways: household_changed
    return changed


def remove_member(gw, call: Call) -> Reply:
    gw.accounts.remove_member(_holder(call), call.path["member_id"], call.principal.session_id)
    gw.sessions.evict_customer(call.path["member_id"])  # other gateways: household_changed
    return Reply(None, status=204)


def join(gw, call: Call) -> Reply:
    return Reply(gw.accounts.accept_invitation(call.principal.person_id, call.body["token"],
                                               call.client_ip), status=201)


def memberships(gw, call: Call) -> dict:
    return {"data": gw.accounts.memberships(call.principal.person_id), "has_more": False,
            "next_cursor": None}


def leave(gw, call: Call) -> Reply:
    gw.accounts.leave_household(call.principal.person_id, call.path["account_id"])
    gw.sessions.evict_customer(call.principal.person_id)
    return Reply(None, status=204)


def act_in(gw, call: Call) -> dict:
    done = gw.accounts.act_in(call.principal.person_id, call.principal.session_id,
                              call.body["account_id"])
    gw.sessions.evict_sessions([call.principal.session_id])  # the next request acts anew
    return done
