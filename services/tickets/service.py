"""The tickets service: customer issues routed to ops teams by automated alerts, escalations,
incidents and the FAQ (docs/support.md tells the whole flow).

RPC (errors are `services.common.errors` kinds; `actor` is `{"id", "name"}` of the agent, and
`"teams"` when the agent may act only for those teams' tickets: another's is NotFound):
- customers: list_categories(language) · search_faq(q, category, language, limit) ·
  open_ticket(customer_id, request {category, subject, description, subscription_id?},
  idempotency_key) → ticket (captured context, priority, routed, alerted) ·
  list_tickets(customer_id, status, limit, cursor) · get_ticket(customer_id, ticket_id) ·
  comment(customer_id, ticket_id, request {text}) · open_tickets(customer_id) (dashboard)
- agents: list_queue(filters {team, teams, status, assignee, incident}, limit, cursor) ·
  get_ticket_ops(ticket_id, actor) · acknowledge(ticket_id, actor) · assign(ticket_id, request
  {assignee}, actor) · update_ticket(ticket_id, request {status?, priority?}, actor) ·
  add_comment(ticket_id, request {text, internal}, actor) · resolve(ticket_id, request
  {resolution}, actor)
- teams, whole (the row here, members from accounts, channels from the notifier):
  list_teams() · get_team(name) · create_team(request {name, description?, lead?, members?,
  channels?}) · update_team(name, request {description?, lead?, members?, channels?}) ·
  delete_team(name) (TEAM_IN_USE while rules, the default route or open tickets use it)
- configuration (ops): create_category/update_category · list_rules/create_rule/
  replace_rule/delete_rule/set_default_route/test_route · list_policies/create_policy/
  replace_policy/delete_policy · list_incident_rules/create_incident_rule/
  delete_incident_rule · list_silences/create_silence/expire_silence · list_faq/create_faq/
  update_faq/delete_faq · list_canned_replies(filters {category, language}, limit, cursor)/
  create_canned_reply(request)/update_canned_reply(reply_id, request)/
  delete_canned_reply(reply_id)
- incidents: list_incidents(status) · get_incident(id) · acknowledge_incident(id, actor) ·
  resolve_incident(id, request {resolution, credit?}, actor)
- ops_insights(months=12) (ops) → tickets_by_category [{month, category, opened, resolved}]
  and time_to_resolve [{category, resolved, median_minutes, p90_minutes}] (analytics.py,
  set-based; docs/insights.md)
- a customer's data (GDPR; privacy.py; accounts' erasure saga calls them):
  export_customer(customer_id) → {service, data: {tickets (as the customer sees them, with
  their history and the context captured about them; no internal notes), incident_credits}} ·
  forget_customer(customer_id, pseudonym, personal=None) → {service, forgotten: {tickets,
  comments, history, closed, events}}: tickets stay for ops' figures, what the customer wrote
  is erased, their name becomes the pseudonym everywhere (and `personal`'s details are taken
  out of agents' texts), open tickets are closed; idempotent, one transaction
- health()
Lists answer pages (services/common/pages.py): list_tickets and list_queue are keyset pages
(opaque cursor), and so are canned replies (by title); teams, categories, rules, policies,
incident rules and the FAQ are whole. Agents' views of a ticket carry its SLA (`sla.py`: the
minutes per priority of TICKETS_SLA_MINUTES, checked when the service starts).
Events: ticket_opened, ticket_routed, ticket_updated (a customer-visible change: an agent's
reply, waiting on the customer, reopened, acknowledged, another status or priority; the
customer's own comment), ticket_escalated, ticket_resolved, ticket_closed,
incident_opened, incident_resolved, and alert_requested (the notifier pages the team's
channels from it, once per dedup key); customer_forgotten when forget_customer erased
anything.
Timer (every TICKETS_TIMER_SECONDS): due escalation steps, pending service credits, closing
resolved tickets past the reopen window. Every step is guarded in the database.
Units of work: the modules flush; each entrypoint here ends its own (`unit_of_work`), and
the flows of several transactions (opening a ticket around the context's RPCs, one
transaction per escalation step, service credits claimed before billing is asked, a team's
row committed before accounts and the notifier are asked, undone if they fail) are in
transactions.py.
"""

from __future__ import annotations

import logging

from nameko.dependency_providers import Config
from sqlalchemy import text

from services.common import config as keys
from services.common import errors
from services.common.clock import ClockProvider
from services.common.db import Database, snapshot, unit_of_work
from services.common.observability import Observability
from services.common.rpc import BoundedRpcProxy, rpc
from services.common.timers import timer
from services.tickets import (
    analytics,
    canned,
    categories,
    escalation,
    faq,
    incidents,
    privacy,
    rules,
    silences,
    sla,
    tickets,
    transactions,
    views,
)
from services.tickets.models import MIGRATIONS, Base

log = logging.getLogger(__name__)
EXPECTED = (errors.ServiceError,)


class TicketsService:
    name = "tickets"
    observability = Observability()  # health, metrics, correlation ids

    db = Database(Base.metadata, MIGRATIONS)
    clock = ClockProvider()
    accounts = BoundedRpcProxy("accounts")
    billing = BoundedRpcProxy("billing")
    notifier = BoundedRpcProxy("notifier")
    config = Config()
    sla_minutes = sla.SlaMinutes()  # TICKETS_SLA_MINUTES, checked at start

    @property
    def _policy(self) -> views.Policy:
        return views.Policy.from_config(self.config, self.sla_minutes)

    # customers --------------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def list_categories(self, include_inactive=False, language=None):
        with unit_of_work(self.db):
            return categories.listing(self.db, include_inactive, language)  # may seed them

    @rpc(expected_exceptions=EXPECTED)
    def search_faq(self, q=None, category=None, language=None, limit=20):
        return faq.search(self.db, q, category, language, limit)

    @rpc(expected_exceptions=EXPECTED)
    def open_ticket(self, customer_id, request, idempotency_key=None):
        return transactions.open_ticket(self.db, self.accounts, self.billing, customer_id,
                                        request, idempotency_key, self.clock.now(), self._policy)

    @rpc(expected_exceptions=EXPECTED)
    def list_tickets(self, customer_id, status=None, limit=20, cursor=None):
        return tickets.customer_page(self.db, customer_id, status, limit, cursor,
                                     self._policy, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def get_ticket(self, customer_id, ticket_id):
        return tickets.customer_view(self.db, customer_id, ticket_id, self._policy,
                                     self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def comment(self, customer_id, ticket_id, request):
        with unit_of_work(self.db):
            return tickets.customer_comment(self.db, customer_id, ticket_id, request,
                                            self._policy, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def open_tickets(self, customer_id):
        return tickets.open_summary(self.db, customer_id, self._policy, self.clock.now())

    # a customer's data (GDPR) ------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def export_customer(self, customer_id):
        snapshot(self.db)  # one consistent view of every ticket and its history
        return privacy.export(self.db, customer_id, self._policy)

    @rpc(expected_exceptions=EXPECTED)
    def forget_customer(self, customer_id, pseudonym, personal=None):
        with unit_of_work(self.db):
            return privacy.forget(self.db, customer_id, pseudonym, personal, self.clock.now())

    # agents -----------------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def list_queue(self, filters=None, limit=50, cursor=None):
        return tickets.queue(self.db, filters or {}, limit, cursor, self._policy,
                             self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def get_ticket_ops(self, ticket_id, actor=None):
        return tickets.ops_view(self.db, ticket_id, self._policy, self.clock.now(), actor)

    @rpc(expected_exceptions=EXPECTED)
    def acknowledge(self, ticket_id, actor):
        with unit_of_work(self.db):
            return tickets.acknowledge(self.db, ticket_id, actor, self._policy,
                                       self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def assign(self, ticket_id, request, actor):
        with unit_of_work(self.db):
            return tickets.assign(self.db, self.accounts, ticket_id, request, actor,
                                  self._policy, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def update_ticket(self, ticket_id, request, actor):
        with unit_of_work(self.db):
            return tickets.change(self.db, ticket_id, request, actor, self._policy,
                                  self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def add_comment(self, ticket_id, request, actor):
        with unit_of_work(self.db):
            return tickets.agent_comment(self.db, ticket_id, request, actor,
                                         self._policy, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def resolve(self, ticket_id, request, actor):
        with unit_of_work(self.db):
            return tickets.resolve(self.db, ticket_id, request, actor, self._policy,
                                   self.clock.now())

    # configuration (ops) ------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def create_category(self, request):
        with unit_of_work(self.db):
            return categories.create(self.db, request)

    @rpc(expected_exceptions=EXPECTED)
    def update_category(self, code, request):
        with unit_of_work(self.db):
            return categories.update(self.db, code, request)

    @rpc(expected_exceptions=EXPECTED)
    def list_teams(self):
        return transactions.list_teams(self.db, self.accounts, self.notifier)

    @rpc(expected_exceptions=EXPECTED)
    def get_team(self, name):
        return transactions.get_team(self.db, self.accounts, self.notifier, name)

    @rpc(expected_exceptions=EXPECTED)
    def create_team(self, request):
        return transactions.create_team(self.db, self.accounts, self.notifier, request,
                                        self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def update_team(self, name, request):
        return transactions.update_team(self.db, self.accounts, self.notifier, name, request)

    @rpc(expected_exceptions=EXPECTED)
    def delete_team(self, name):
        return transactions.delete_team(self.db, self.accounts, self.notifier, name)

    @rpc(expected_exceptions=EXPECTED)
    def list_rules(self):
        return rules.listing(self.db, self._policy)

    @rpc(expected_exceptions=EXPECTED)
    def create_rule(self, request):
        with unit_of_work(self.db):
            return rules.create(self.db, request, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def replace_rule(self, rule_id, request):
        with unit_of_work(self.db):
            return rules.replace(self.db, rule_id, request, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def delete_rule(self, rule_id):
        with unit_of_work(self.db):
            return rules.delete(self.db, rule_id)

    @rpc(expected_exceptions=EXPECTED)
    def set_default_route(self, request):
        with unit_of_work(self.db):
            return rules.set_default(self.db, request, self._policy)

    @rpc(expected_exceptions=EXPECTED)
    def test_route(self, request):
        return rules.test(self.db, request, self._policy)

    @rpc(expected_exceptions=EXPECTED)
    def list_policies(self):
        return escalation.listing(self.db)

    @rpc(expected_exceptions=EXPECTED)
    def create_policy(self, request):
        with unit_of_work(self.db):
            return escalation.create(self.db, request, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def replace_policy(self, policy_id, request):
        with unit_of_work(self.db):
            return escalation.replace(self.db, policy_id, request)

    @rpc(expected_exceptions=EXPECTED)
    def delete_policy(self, policy_id):
        with unit_of_work(self.db):
            return escalation.delete(self.db, policy_id)

    @rpc(expected_exceptions=EXPECTED)
    def list_incident_rules(self):
        return incidents.list_rules(self.db)

    @rpc(expected_exceptions=EXPECTED)
    def create_incident_rule(self, request):
        with unit_of_work(self.db):
            return incidents.create_rule(self.db, request, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def delete_incident_rule(self, rule_id):
        with unit_of_work(self.db):
            return incidents.delete_rule(self.db, rule_id)

    @rpc(expected_exceptions=EXPECTED)
    def list_silences(self, active_only=False, limit=20, cursor=None):
        return silences.listing(self.db, active_only, self.clock.now(), limit, cursor)

    @rpc(expected_exceptions=EXPECTED)
    def create_silence(self, request, actor):
        with unit_of_work(self.db):
            return silences.create(self.db, request, actor, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def expire_silence(self, silence_id, actor):
        with unit_of_work(self.db):
            return silences.expire(self.db, silence_id, actor, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def list_faq(self):
        return faq.listing(self.db)

    @rpc(expected_exceptions=EXPECTED)
    def create_faq(self, request):
        with unit_of_work(self.db):
            return faq.create(self.db, request, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def update_faq(self, entry_id, request):
        with unit_of_work(self.db):
            return faq.update(self.db, entry_id, request, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def delete_faq(self, entry_id):
        with unit_of_work(self.db):
            return faq.delete(self.db, entry_id)

    @rpc(expected_exceptions=EXPECTED)
    def list_canned_replies(self, filters=None, limit=20, cursor=None):
        return canned.listing(self.db, filters, limit, cursor)

    @rpc(expected_exceptions=EXPECTED)
    def create_canned_reply(self, request):
        with unit_of_work(self.db):
            return canned.create(self.db, request, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def update_canned_reply(self, reply_id, request):
        with unit_of_work(self.db):
            return canned.update(self.db, reply_id, request, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def delete_canned_reply(self, reply_id):
        with unit_of_work(self.db):
            return canned.delete(self.db, reply_id)

    # incidents --------------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def list_incidents(self, status=None, limit=20, cursor=None):
        return incidents.listing(self.db, status, limit, cursor)

    @rpc(expected_exceptions=EXPECTED)
    def get_incident(self, incident_id):
        return incidents.get(self.db, incident_id, self._policy, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def acknowledge_incident(self, incident_id, actor):
        with unit_of_work(self.db):
            return incidents.acknowledge(self.db, incident_id, actor, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def resolve_incident(self, incident_id, request, actor):
        """Resolved (committed), then its credits asked of billing; its state answered."""
        with unit_of_work(self.db):
            result = incidents.resolve(self.db, incident_id, request, actor, self._policy,
                                       self.clock.now())
        self._grant_credits(incident_id)
        return incidents.get(self.db, incident_id, self._policy, self.clock.now()) \
            if result is None else result

    def _grant_credits(self, incident_id=None) -> int:
        try:
            return transactions.grant_due_credits(self.db, self.billing, self.clock.now(),
                                                  incident_id)
        except Exception:  # noqa: BLE001 - pending credits stay pending; the timer retries
            self.db.rollback()
            log.exception("granting service credits failed; the timer retries")
            return 0

    # timers -----------------------------------------------------------------------------------
    @timer(keys.TICKETS_TIMER_SECONDS, 5.0)
    def tick(self):
        """Due escalation steps (each fires once: a conditional update claims it; one
        transaction each), pending service credits, resolved tickets past the reopen window
        closed (one transaction)."""
        now = self.clock.now()
        fired = transactions.escalate_due(self.db, now)
        granted = self._grant_credits()
        with unit_of_work(self.db):
            closed = tickets.close_expired(self.db, self._policy, now)
        return {"escalated": fired, "credited": granted, "closed": closed}

    @rpc(expected_exceptions=EXPECTED)
    def ops_insights(self, months=12):
        """The operators' figures about tickets (analytics.py)."""
        snapshot(self.db)
        return analytics.ops_insights(self.db, months, self.clock.now())

    @rpc
    def health(self):
        self.db.execute(text("SELECT 1"))
        return {"service": self.name, "database": "ok"}
