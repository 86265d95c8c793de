"""Support (docs/support.md): the customer's tickets and FAQ, and the ops side — the queue,
ticket categories, teams, routing rules, escalation policies, incidents, silences, the FAQ.

The tickets service owns all of it; a team's members (agents' accounts) and alert channels
are kept by accounts and the notifier, and the tickets service answers and writes teams whole:
each view is one tickets call.
"""

from __future__ import annotations

import re

from gateway.http import Call, Reply, idempotency_key
from services.common import errors, permissions
from services.common.contract.tickets import CATEGORY_CODE_PATTERN


def _actor(call: Call) -> dict:
    """The agent as the tickets service records them in a ticket's history, with the teams
    they may act for when their role does not reach every team's tickets."""
    account = call.principal.account
    actor = {"id": account["id"], "name": account["name"]}
    if not permissions.allows(account["role"], "tickets.all_teams"):
        actor["teams"] = list(account.get("teams") or [])
    return actor


def _created(result) -> Reply:
    return Reply(result, status=201)


def _deleted() -> Reply:
    return Reply(None, status=204)


# customers ------------------------------------------------------------------------------------

def categories(gw, call: Call) -> dict:
    return gw.tickets.list_categories(language=call.principal.account.get("language") or "en")


def faq(gw, call: Call) -> dict:
    q = call.query
    language = q.get("language") or call.principal.account.get("language")
    return gw.tickets.search_faq(q.get("q"), q.get("category"), language, q["limit"])


def tickets(gw, call: Call) -> dict:
    q = call.query
    return gw.tickets.list_tickets(call.principal.customer_id, q.get("status"), q["limit"],
                                   q.get("cursor"))


def open_ticket(gw, call: Call) -> Reply:
    return _created(gw.tickets.open_ticket(call.principal.customer_id, call.body,
                                           idempotency_key(call)))


def ticket(gw, call: Call) -> dict:
    return gw.tickets.get_ticket(call.principal.customer_id, call.path["ticket_id"])


def comment(gw, call: Call) -> Reply:
    return _created(gw.tickets.comment(call.principal.customer_id, call.path["ticket_id"],
                                       call.body))


# ops: tickets ---------------------------------------------------------------------------------

def ops_queue(gw, call: Call) -> dict:
    q = call.query
    filters = {k: q[k] for k in ("team", "status", "assignee", "incident", "customer")
               if q.get(k)}
    teams = _actor(call).get("teams")
    if teams is not None:
        filters["teams"] = teams
    return gw.tickets.list_queue(filters, q["limit"], q.get("cursor"))


def ops_ticket(gw, call: Call) -> dict:
    return gw.tickets.get_ticket_ops(call.path["ticket_id"], _actor(call))


def ops_acknowledge(gw, call: Call) -> dict:
    return gw.tickets.acknowledge(call.path["ticket_id"], _actor(call))


def ops_assign(gw, call: Call) -> dict:
    return gw.tickets.assign(call.path["ticket_id"], call.body, _actor(call))


def ops_update(gw, call: Call) -> dict:
    return gw.tickets.update_ticket(call.path["ticket_id"], call.body, _actor(call))


def ops_comment(gw, call: Call) -> Reply:
    return _created(gw.tickets.add_comment(call.path["ticket_id"], call.body, _actor(call)))


def ops_resolve(gw, call: Call) -> dict:
    return gw.tickets.resolve(call.path["ticket_id"], call.body, _actor(call))


# ops: categories --------------------------------------------------------------------------------

def ops_categories(gw, call: Call) -> dict:
    return gw.tickets.list_categories(call.query["inactive"])


def ops_create_category(gw, call: Call) -> Reply:
    return _created(gw.tickets.create_category(call.body))


def ops_replace_category(gw, call: Call) -> dict:
    code = call.path["code"]
    if not re.fullmatch(CATEGORY_CODE_PATTERN, code):  # no category can have it: not found
        raise errors.NotFound("There is no such ticket category.", code="CATEGORY_NOT_FOUND")
    if call.body.get("code", code) != code:
        raise errors.InvalidArgument(fields={"code": ["cannot be changed"]})
    return gw.tickets.update_category(code, {**call.body, "code": code})


# ops: teams -------------------------------------------------------------------------------------

def ops_teams(gw, call: Call) -> dict:
    return gw.tickets.list_teams()


def ops_team(gw, call: Call) -> dict:
    return gw.tickets.get_team(call.path["team"])


def ops_create_team(gw, call: Call) -> Reply:
    """The tickets service makes the team whole or not at all (its row, its members in
    accounts, its channels in the notifier; what a failed step wrote is undone)."""
    return _created(gw.tickets.create_team(call.body))


def ops_update_team(gw, call: Call) -> dict:
    return gw.tickets.update_team(call.path["team"], call.body)


def ops_delete_team(gw, call: Call) -> Reply:
    gw.tickets.delete_team(call.path["team"])
    return _deleted()


# ops: routing rules ---------------------------------------------------------------------------

def ops_rules(gw, call: Call) -> dict:
    return gw.tickets.list_rules()


def ops_create_rule(gw, call: Call) -> Reply:
    return _created(gw.tickets.create_rule(call.body))


def ops_replace_rule(gw, call: Call) -> dict:
    return gw.tickets.replace_rule(call.path["rule_id"], call.body)


def ops_delete_rule(gw, call: Call) -> Reply:
    gw.tickets.delete_rule(call.path["rule_id"])
    return _deleted()


def ops_set_default_route(gw, call: Call) -> dict:
    return gw.tickets.set_default_route(call.body)


def ops_test_route(gw, call: Call) -> dict:
    return gw.tickets.test_route(call.body)


# ops: escalation policies ---------------------------------------------------------------------

def ops_policies(gw, call: Call) -> dict:
    return gw.tickets.list_policies()


def ops_create_policy(gw, call: Call) -> Reply:
    return _created(gw.tickets.create_policy(call.body))


def ops_replace_policy(gw, call: Call) -> dict:
    return gw.tickets.replace_policy(call.path["policy_id"], call.body)


def ops_delete_policy(gw, call: Call) -> Reply:
    gw.tickets.delete_policy(call.path["policy_id"])
    return _deleted()


# ops: incidents and their rules ---------------------------------------------------------------

def ops_incidents(gw, call: Call) -> dict:
    return gw.tickets.list_incidents(call.query.get("status"), call.query["limit"],
                                     call.query.get("cursor"))


def ops_incident(gw, call: Call) -> dict:
    return gw.tickets.get_incident(call.path["incident_id"])


def ops_acknowledge_incident(gw, call: Call) -> dict:
    return gw.tickets.acknowledge_incident(call.path["incident_id"], _actor(call))


def ops_resolve_incident(gw, call: Call) -> dict:
    body = {k: v for k, v in call.body.items() if v is not None}
    if body.get("credit") and not permissions.allows(call.principal.role, "incidents.credit"):
        raise errors.PermissionDenied("A service credit to every affected customer needs a "
                                      "supervisor or finance; resolve without one, or ask.",
                                      details={"permission": "incidents.credit"})
    return gw.tickets.resolve_incident(call.path["incident_id"], body, _actor(call))


def ops_incident_rules(gw, call: Call) -> dict:
    return gw.tickets.list_incident_rules()


def ops_create_incident_rule(gw, call: Call) -> Reply:
    return _created(gw.tickets.create_incident_rule(call.body))


def ops_delete_incident_rule(gw, call: Call) -> Reply:
    gw.tickets.delete_incident_rule(call.path["rule_id"])
    return _deleted()


# ops: silences --------------------------------------------------------------------------------

def ops_silences(gw, call: Call) -> dict:
    return gw.tickets.list_silences(call.query["active"], call.query["limit"],
                                    call.query.get("cursor"))


def ops_create_silence(gw, call: Call) -> Reply:
    body = {k: (v.isoformat() if hasattr(v, "isoformat") else v)
            for k, v in call.body.items()}
    return _created(gw.tickets.create_silence(body, _actor(call)))


def ops_expire_silence(gw, call: Call) -> dict:
    return gw.tickets.expire_silence(call.path["silence_id"], _actor(call))


# ops: the FAQ ---------------------------------------------------------------------------------

def ops_faq(gw, call: Call) -> dict:
    return gw.tickets.list_faq()


def ops_create_faq(gw, call: Call) -> Reply:
    return _created(gw.tickets.create_faq(call.body))


def ops_replace_faq(gw, call: Call) -> dict:
    return gw.tickets.update_faq(call.path["entry_id"], call.body)


def ops_delete_faq(gw, call: Call) -> Reply:
    gw.tickets.delete_faq(call.path["entry_id"])
    return _deleted()


# canned replies -------------------------------------------------------------------------------

def ops_canned_replies(gw, call: Call) -> dict:
    q = call.query
    filters = {k: q[k] for k in ("category", "language") if q.get(k)}
    return gw.tickets.list_canned_replies(filters, q["limit"], q.get("cursor"))


def ops_create_canned_reply(gw, call: Call) -> Reply:
    return _created(gw.tickets.create_canned_reply(call.body))


def ops_update_canned_reply(gw, call: Call) -> dict:
    return gw.tickets.update_canned_reply(call.path["reply_id"], call.body)


def ops_delete_canned_reply(gw, call: Call) -> Reply:
    gw.tickets.delete_canned_reply(call.path["reply_id"])
    return _deleted()


# the desk's customer panel: what a ticket's customer has, so "was I charged twice?" is
# answered from the ticket (billing answers; a postpaid account's wallet is a 409 NOT_PREPAID)

def ops_customer_subscriptions(gw, call: Call) -> dict:
    return gw.billing.list_subscriptions(call.path["customer_id"])


def ops_customer_wallet_transactions(gw, call: Call) -> dict:
    return gw.billing.wallet_transactions(call.path["customer_id"], call.query["limit"],
                                          call.query.get("cursor"))


def ops_customer_payments(gw, call: Call) -> dict:
    return gw.billing.list_payments(call.path["customer_id"], call.query["limit"],
                                    call.query.get("cursor"))
