"""The insights service: viewing reported by the TV platform, the customer's choice about its
use, monthly budgets and their alerts, and recommendations (docs/insights.md).

RPC (errors are `services.common.errors` kinds):
- report_viewing(batch_id, records [{customer_id, channel, day, minutes}]) → {batch_id,
  status: accepted | duplicate, records, stored, unknown_customers, unknown_channels,
  opted_out, too_old, invalid}: daily aggregates per customer, channel and day; a batch id
  counts once (a repeat answers the first outcome as `duplicate`); at most 50,000 records
  (viewing.py says what each count means)
- viewing(customer_id, days=60) → {use_viewing, consent, retention_days, start, end, channels
  [{channel, minutes, days}]} · viewing_consent(customer_id) → {purpose, granted, changed_at,
  source} · set_viewing_use(customer_id, enabled, source) → the view (consent is opt-in):
  switching off deletes every stored day of the customer at once and drops their records from
  then on; recommendations do not use viewing while it is off
- budget(customer_id) → {budget {amount, currency} | null, currency, month, so_far, projected,
  percent, projected_percent, state: none | ok | warning | over | projected_over} ·
  set_budget(customer_id, amount) (minor units of the account's currency, 1 to 10^9; checked
  against the month at once) · clear_budget(customer_id) → the same view. Figures are billing's
  month_status.
- recommendations(customer_id, language=None) → {data: [recommendation]} (advice.py) ·
  dismiss_recommendation(customer_id, recommendation_id) (for good) ·
  recommendation_kinds() → {kinds: {kind: bool}} · set_recommendation_kinds(kinds) (ops;
  an unknown kind is InvalidArgument UNKNOWN_RECOMMENDATION_KIND)
- a customer's data (GDPR; privacy.py; accounts' erasure saga calls them):
  export_customer(customer_id) → {service, data: {viewing_daily, viewing_choice, budget,
  budget_alerts, dismissed_recommendations}} · forget_customer(customer_id, pseudonym,
  personal=None) → {service, forgotten: {viewing_days, viewing_choice, budget, budget_alerts,
  dismissed, events}}: all of it deleted, the viewing choice set to off (later records about
  them are dropped); idempotent, one transaction
- health()
Events consumed: tv_platform viewing_reported {batch_id, records} (as report_viewing; a batch
that is not valid is logged and dropped); billing wallet_debited, invoice_issued,
subscription_renewed, subscription_changed, subscription_activated (the customer's budget is
checked against billing's month_status).
Events emitted: budget_alert {customer_id, threshold: 80 | 100 | projected, month, budget,
so_far, projected, currency}, at most once per customer, month and threshold (budgets.py);
customer_forgotten {id, pseudonym, forgotten} when forget_customer erased anything.
Timer (every INSIGHTS_TIMER_SECONDS, default 3600): viewing days older than
VIEWING_RETENTION_DAYS (default 90) deleted, in batches, with the days of customers who
switched viewing off and batch ids past any use.
Each entrypoint ends its unit of work; the flows around RPCs and the timer's batches are in
transactions.py.
"""

from __future__ import annotations

import logging

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from sqlalchemy import text

from services.common import config as keys
from services.common import errors
from services.common.clock import ClockProvider
from services.common.db import Database, snapshot, unit_of_work
from services.common.events import event_handler
from services.common.observability import Observability
from services.common.rpc import BoundedRpcProxy, rpc
from services.common.timers import timer
from services.insights import advice, budgets, preferences, privacy, transactions, viewing
from services.insights.models import MIGRATIONS, Base

log = logging.getLogger(__name__)
EXPECTED = (errors.ServiceError,)


class KnownChannels(DependencyProvider):
    """The catalog's channels, cached per process (`viewing.ChannelCache`)."""

    def setup(self) -> None:
        self.cache = viewing.ChannelCache()

    def get_dependency(self, worker_ctx) -> viewing.ChannelCache:
        return self.cache


def retention_days(config: dict) -> int:
    value = config.get(keys.VIEWING_RETENTION_DAYS)
    days = viewing.DEFAULT_RETENTION_DAYS if value in (None, "") else int(value)
    if days < 1:
        raise ValueError(f"{keys.VIEWING_RETENTION_DAYS} must be at least 1 day, not {days}")
    return days


class InsightsService:
    name = "insights"
    observability = Observability()  # health, metrics, correlation ids

    db = Database(Base.metadata, MIGRATIONS)
    clock = ClockProvider()
    accounts = BoundedRpcProxy("accounts")
    billing = BoundedRpcProxy("billing")
    catalog = BoundedRpcProxy("catalog")
    channels = KnownChannels()
    config = Config()

    @property
    def _retention_days(self) -> int:
        return retention_days(self.config)

    # viewing ----------------------------------------------------------------------------------
    def _report(self, batch_id, records) -> dict:
        return transactions.report_viewing(
            self.db, self.accounts, self.catalog, self.channels, batch_id, records,
            self.clock.now(), self._retention_days)

    @rpc(expected_exceptions=EXPECTED)
    def report_viewing(self, batch_id, records):
        return self._report(batch_id, records)

    @event_handler("tv_platform", "viewing_reported")
    def on_viewing_reported(self, payload):
        """The batch id is the idempotency key (the TV platform's messages may carry no
        event_id). A batch that is not valid cannot become valid by redelivery: dropped with a
        log line; a backing service that does not answer raises, and the event comes back."""
        try:
            body = payload if isinstance(payload, dict) else {}
            outcome = self._report(body.get("batch_id"), body.get("records"))
        except errors.InvalidArgument as exc:
            log.error("viewing_reported dropped, not a valid batch: %s %s", exc, exc.fields)
            return None
        log.info("viewing batch %s %s: %s stored of %s", outcome["batch_id"],
                 outcome["status"], outcome["stored"], outcome["records"])
        return outcome

    @rpc(expected_exceptions=EXPECTED)
    def viewing(self, customer_id, days=60):
        return viewing.view(self.db, customer_id, days, self.clock.today(),
                            self._retention_days)

    @rpc(expected_exceptions=EXPECTED)
    def viewing_consent(self, customer_id):
        return viewing.consent(self.db, customer_id)

    @rpc(expected_exceptions=EXPECTED)
    def set_viewing_use(self, customer_id, enabled, source=None):
        now = self.clock.now()
        with unit_of_work(self.db):
            viewing.set_use(self.db, customer_id, enabled, now, source)
        return viewing.view(self.db, customer_id, 60, now.date(), self._retention_days)

    @timer(keys.INSIGHTS_TIMER_SECONDS, 3600.0)
    def tick(self):
        """Retention (see transactions.prune); deleting is idempotent, so every instance may
        run it (rows are taken SKIP LOCKED on PostgreSQL)."""
        return transactions.prune(self.db, self.clock.now(), self._retention_days)

    # budgets ----------------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def budget(self, customer_id):
        return transactions.budget_view(self.db, self.billing, customer_id)

    @rpc(expected_exceptions=EXPECTED)
    def set_budget(self, customer_id, amount):
        return transactions.set_budget(self.db, self.billing, customer_id, amount,
                                       self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def clear_budget(self, customer_id):
        with unit_of_work(self.db):
            budgets.clear(self.db, customer_id)
        return transactions.budget_view(self.db, self.billing, customer_id)

    def _charged(self, payload, entity: str) -> None:
        """A billing event that may change what the customer was charged this month: their
        budget (if any) is checked. Repeats are harmless (the thresholds' unique keys)."""
        customer_id = budgets.customer_of(payload, entity)
        if customer_id is None:
            log.error("billing event without a customer dropped: %r", payload)
            return
        transactions.check_budget(self.db, self.billing, customer_id, self.clock.now())

    @event_handler("billing", "wallet_debited")
    def on_wallet_debited(self, payload):
        self._charged(payload, "wallet")

    @event_handler("billing", "invoice_issued")
    def on_invoice_issued(self, payload):
        self._charged(payload, "invoice")

    @event_handler("billing", "subscription_renewed")
    def on_subscription_renewed(self, payload):
        self._charged(payload, "subscription")

    @event_handler("billing", "subscription_changed")
    def on_subscription_changed(self, payload):
        self._charged(payload, "subscription")

    @event_handler("billing", "subscription_activated")
    def on_subscription_activated(self, payload):
        self._charged(payload, "subscription")

    # a customer's data (GDPR) ------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def export_customer(self, customer_id):
        snapshot(self.db)  # one consistent view of every section
        return privacy.export(self.db, customer_id)

    @rpc(expected_exceptions=EXPECTED)
    def forget_customer(self, customer_id, pseudonym, personal=None):
        """`personal` is accepted for the calling convention billing and tickets share:
        nothing insights keeps names the person."""
        with unit_of_work(self.db):
            return privacy.forget(self.db, customer_id, pseudonym, self.clock.now())

    # recommendations --------------------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def recommendations(self, customer_id, language=None):
        return advice.for_customer(self.db, self.billing, self.catalog, customer_id, language,
                                   self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def dismiss_recommendation(self, customer_id, recommendation_id):
        with unit_of_work(self.db):
            return preferences.dismiss(self.db, customer_id, recommendation_id,
                                       self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def recommendation_kinds(self):
        return {"kinds": preferences.kinds(self.db)}

    @rpc(expected_exceptions=EXPECTED)
    def set_recommendation_kinds(self, kinds):
        with unit_of_work(self.db):
            return {"kinds": preferences.set_kinds(self.db, kinds)}

    @rpc
    def health(self):
        self.db.execute(text("SELECT 1"))
        return {"service": self.name, "database": "ok"}
