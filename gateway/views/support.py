"""Support (docs/support.md): the customer's tickets and FAQ, and the ops side — the queue,
ticket categories, teams, routing rules, escalation policies, incidents, silences, the FAQ.

The tickets service owns all of it except two parts of a team: its members are agents'
accounts (accounts service) and its alert channels are the notifier's. The team views compose
the three, asking each service in parallel for exactly the teams shown.
"""

from __future__ import annotations

import logging
import time

from gateway.http import Call, Reply, idempotency_key
from services.common import errors, permissions

log = logging.getLogger(__name__)


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


def _until(*proxies) -> float:
    return time.monotonic() + max(proxy.timeout for proxy in proxies)


# customers ------------------------------------------------------------------------------------

def categories(gw, call: Call) -> dict:
    return gw.tickets.list_categories()


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
    filters = {k: q[k] for k in ("team", "status", "assignee", "incident") if q.get(k)}
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
    if call.body.get("code", code) != code:
        raise errors.InvalidArgument(fields={"code": ["cannot be changed"]})
    return gw.tickets.update_category(code, {**call.body, "code": code})


# ops: teams -------------------------------------------------------------------------------------

def _check_staff(gw, body: dict) -> None:
    """Members and the lead must be agent or admin accounts: checked (in parallel) before
    anything is written, so a bad id is a 400 and nothing is created or changed. (accounts
    checks members again when they are set.)"""
    members, lead = body.get("members") or [], body.get("lead")
    wanted = sorted(set(members) | ({lead} if lead else set()))
    if not wanted:
        return
    until = _until(gw.accounts)
    pending = {account_id: gw.accounts.start("get_account", account_id)
               for account_id in wanted}
    not_staff = set()
    for account_id, reply in pending.items():
        try:
            role = reply.wait(until).get("role")
        except errors.NotFound:
            role = None
        if not permissions.is_staff(role):
            not_staff.add(account_id)
    problems = {}
    if bad := [m for m in sorted(set(members)) if m in not_staff]:
        problems["members"] = [f"{m} is not a staff account" for m in bad]
    if lead in not_staff:
        problems["lead"] = [f"{lead} is not a staff account"]
    if problems:
        raise errors.InvalidArgument(fields=problems)


def _channels_by_team(channels: dict) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for channel in channels["data"]:
        grouped.setdefault(channel["team"], []).append(channel)
    return grouped


def _compose(team: dict, members: list[dict], channels: list[dict]) -> dict:
    return {**team, "members": members, "channels": channels}


def ops_teams(gw, call: Call) -> dict:
    teams = gw.tickets.list_teams()["data"]
    if not teams:
        return {"data": []}
    names = [t["name"] for t in teams]
    until = _until(gw.accounts, gw.notifier)
    members = gw.accounts.start("team_members", names)
    # one call for every team's channels: a team has a handful, and the list shows all teams
    channels = gw.notifier.start("list_channels")
    members, channels = members.wait(until), _channels_by_team(channels.wait(until))
    return {"data": [_compose(t, members.get(t["name"], []), channels.get(t["name"], []))
                     for t in teams]}


def ops_team(gw, call: Call) -> dict:
    name = call.path["team"]
    until = _until(gw.tickets, gw.accounts, gw.notifier)
    team = gw.tickets.start("get_team", name)
    members = gw.accounts.start("team_members", [name])
    channels = gw.notifier.start("list_channels", name)
    team = team.wait(until)
    return _compose(team, members.wait(until).get(name, []), channels.wait(until)["data"])


def _replace_channels(gw, name: str, wanted: list[dict]) -> list[dict]:
    """The team's channels become `wanted`: the new ones are created first (so the team is
    never left without a way to be paged; if one fails, those made so far are removed and the
    old ones stay), then the old ones are removed."""
    old = gw.notifier.list_channels(name)["data"]
    created: list[dict] = []
    try:
        for channel in wanted:
            created.append(gw.notifier.create_channel(name, channel))
    except Exception:
        _undo_channels(gw, created)
        raise
    for channel in old:
        gw.notifier.delete_channel(channel["id"])
    return created


def _undo(what: str, step) -> None:
    try:
        step()
    except Exception:  # noqa: BLE001 - the original failure is what the client must see
        log.exception("undoing a half-written team failed: %s", what)


def _undo_channels(gw, channels: list[dict]) -> None:
    for channel in channels:
        _undo(f"channel {channel['id']}", lambda c=channel: gw.notifier.delete_channel(c["id"]))


def ops_create_team(gw, call: Call) -> Reply:
    """The team in tickets first (a taken name is a 409 before anything else), then its
    members in accounts, then its channels in the notifier. The body was validated whole and
    the members checked before the first write; if a later step still fails, what the earlier
    steps wrote is undone, so a team exists whole or not at all.

    Without `members`, agents who already list the team (an admin's role change) stay in it."""
    body = call.body
    _check_staff(gw, body)
    name = body["name"]
    team = gw.tickets.create_team({k: body[k] for k in ("name", "description", "lead")
                                   if k in body})
    created: list[dict] = []
    before: list[dict] | None = None
    try:
        members = gw.accounts.team_members([name]).get(name, [])
        if "members" in body:
            before, members = members, gw.accounts.set_team_members(name, body["members"])
        for channel in body.get("channels") or []:
            created.append(gw.notifier.create_channel(name, channel))
    except Exception:
        _undo_channels(gw, created)
        if before is not None:
            _undo(f"members of {name}", lambda: gw.accounts.set_team_members(
                name, [m["id"] for m in before]))
        _undo(f"team {name}", lambda: gw.tickets.delete_team(name))
        raise
    return _created(_compose(team, members, created))


def ops_update_team(gw, call: Call) -> dict:
    """Description and lead (tickets; a missing team is a 404 before anything changes), then
    the members if given (exactly these), then the channels if given (replaced)."""
    name, body = call.path["team"], call.body
    _check_staff(gw, body)
    team = gw.tickets.update_team(name, {k: body[k] for k in ("description", "lead")
                                         if k in body})
    if "members" in body:
        members = gw.accounts.set_team_members(name, body["members"])
    else:
        members = gw.accounts.team_members([name]).get(name, [])
    if "channels" in body:
        channels = _replace_channels(gw, name, body["channels"])
    else:
        channels = gw.notifier.list_channels(name)["data"]
    return _compose(team, members, channels)


def ops_delete_team(gw, call: Call) -> Reply:
    """Tickets refuses a team still in use (409 TEAM_IN_USE); once it is gone, its members
    leave it and its channels are removed, so a team made later under the name starts empty."""
    name = call.path["team"]
    gw.tickets.delete_team(name)
    gw.accounts.set_team_members(name, [])
    for channel in gw.notifier.list_channels(name)["data"]:
        gw.notifier.delete_channel(channel["id"])
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
    return gw.tickets.list_incidents(call.query.get("status"))


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
    return gw.tickets.list_silences(call.query["active"])


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
