"""The notifier service: customer notifications (portal inbox and e-mail), team alert channels
and every delivery, each once.

RPC:
- notifications(customer_id, limit, cursor, unread_only) → inbox page with `unread_count` ·
  unread_count(customer_id) · mark_read(customer_id, notification_id) · mark_all_read
- get_preferences(customer_id) · set_preferences(customer_id, request {preferences: [{topic,
  channel, enabled}]})
- consents(customer_id) → [{purpose, granted, changed_at, source}] · set_consent(customer_id,
  purpose, granted, source): consent to promotions, recorded with when and how; promotion
  broadcasts reach only those who gave it (consents.py)
- create_channel(team, request) · list_channels(team=None) (whole) · delete_channel(channel_id)
  (ops)
- raise_alert(team, severity, title, text, fields, dedup_key) → {alert, deliveries, duplicate}:
  what the ticket service calls to page a team (one page per dedup key)
- list_deliveries(status, limit, cursor) · retry_delivery(delivery_id) (ops)
- create_broadcast(request {kind, title, body, segment, send_at}, actor) ·
  list_broadcasts(limit, cursor) · get_broadcast(broadcast_id) (ops; sent in pages by the
  timer, see broadcasts.py)
- export_customer(customer_id) → {service, data: {contacts, preferences, notifications,
  deliveries}}: everything kept about the customer (GDPR; privacy.py) ·
  forget_customer(customer_id, pseudonym, personal=None) → {service, forgotten: {contacts,
  preferences, notifications, deliveries, alerts}}: their preferences and inbox deleted, their
  contact copy emptied, their e-mails' address and contents and their tickets' alerts' texts
  erased (the rows stay for ops' counts); idempotent, one transaction (accounts' erasure saga
  calls both)
- health()
Events consumed (each turned into the customer's notification by templates.py, in their
language and by their preferences): accounts customer_registered, password_changed (and
customer_updated, which keeps notifier's copy of e-mail address and language current),
portal_link_issued, password_reset_requested, email_verification_requested (e-mail only, the
links to the address they are for), household_invitation (to the invited address),
data_export_ready, account_deletion_scheduled /
cancelled / blocked; billing
invoice_issued/payment_due/overdue/payment_reminder/paid/collection_failed, credit_note_issued,
payment_succeeded/failed, subscription_suspended/resumed/renewed/renewal_upcoming/cancelled,
wallet_low_balance, wallet_debited (a charge for services or an adjustment taken from the
wallet), payment_method_expiring; vouchers voucher_redeemed; insights budget_alert (a
monthly budget's 80 %, 100 % or projection crossed); tickets ticket_opened,
ticket_updated (an agent's reply, waiting on the customer), ticket_resolved. The tickets
service's alert_requested events are raised like raise_alert.
Events emitted: inbox_changed {customer_ids, change: created | read}, with every change of a
customer's unread count (the gateways' dashboard cache listens); customer_forgotten {id,
pseudonym, forgotten} when forget_customer erased anything.
Timers: every NOTIFIER_DELIVERY_SECONDS, sends due deliveries (retries with backoff, then
dead-lettered; see deliveries.py), and sends pages of due broadcasts. A new notification's
e-mail is tried at once as well.
Each entrypoint ends its unit of work (the modules flush); sending deliveries takes several
transactions by design, sequenced in transactions.py; a broadcast commits page by page.
"""

from __future__ import annotations

import logging
import time

from nameko.dependency_providers import Config
from sqlalchemy import text

from services.common import config as keys
from services.common import errors
from services.common.clock import ClockProvider
from services.common.db import Database, snapshot, unit_of_work
from services.common.events import event_handler
from services.common.observability import Observability
from services.common.rpc import BoundedRpcProxy, rpc
from services.common.timers import timer
from services.notifier import (
    alerts,
    broadcasts,
    consents,
    customers,
    deliveries,
    privacy,
    transactions,
)
from services.notifier.models import MIGRATIONS, Base
from services.notifier.senders import SendersProvider

log = logging.getLogger(__name__)
EXPECTED = (errors.ServiceError,)
BROADCAST_SLICE_SECONDS = 1.0  # per timer round: broadcasts share the process with the rest


class NotifierService:
    name = "notifier"
    observability = Observability()  # health, metrics, correlation ids

    db = Database(Base.metadata, MIGRATIONS)
    clock = ClockProvider()
    accounts = BoundedRpcProxy("accounts")
    billing = BoundedRpcProxy("billing")
    senders = SendersProvider()
    config = Config()

    # customer notifications -----------------------------------------------------------------
    def _notify(self, payload: dict, event_type: str, entity_name: str) -> None:
        """One event → the customer's notification, once (unique keys), e-mail tried now."""
        entity = payload[entity_name]
        try:
            if entity_name == "customer" and entity.get("email"):
                customers.remember(self.db, entity)
                account = customers.contact(self.db, self.accounts, entity["id"])
            else:
                account = customers.contact(self.db, self.accounts, entity.get(
                    "id" if entity_name == "customer" else "customer_id"))
        except errors.NotFound:  # redelivering cannot make the customer exist: say so, drop
            self.db.rollback()  # (or one forgotten: nothing more is written about them)
            log.error("%s %s for an unknown or forgotten customer dropped", event_type,
                      payload.get("event_id"))
            return
        now = self.clock.now()
        with unit_of_work(self.db):
            made = customers.notify(self.db, account, event_type, payload["event_id"], entity,
                                    now)
        self._send_now(made["delivery"], now)

    def _send_now(self, delivery: str | None, now) -> None:
        """An e-mail made for an event is tried at once; the timer retries it if this fails."""
        if delivery:
            try:
                transactions.send_now(self.db, self.senders, [delivery], now)
            except Exception:  # noqa: BLE001 - the timer sends it; the event is done
                self.db.rollback()
                log.exception("immediate send of %s failed; the timer retries", delivery)

    @event_handler("accounts", "customer_registered")
    def on_customer_registered(self, payload):
        self._notify(payload, "customer_registered", "customer")

    @event_handler("accounts", "customer_updated")
    def on_customer_updated(self, payload):
        """A new e-mail address or language: the copy in `contacts` follows."""
        with unit_of_work(self.db):
            customers.remember(self.db, payload["customer"])

    @event_handler("accounts", "password_reset_requested")
    def on_password_reset_requested(self, payload):
        """A reset link: e-mailed to the account's address, nowhere else."""
        self._mail_link(payload, "password_reset_requested")

    @event_handler("accounts", "email_verification_requested")
    def on_email_verification_requested(self, payload):
        """A verification link: e-mailed to the address being verified (for a change, the new
        one), which is not the customer's address yet: the contact copy stays as it is."""
        self._mail_link(payload, "email_verification_requested")

    @event_handler("accounts", "household_invitation")
    def on_household_invitation(self, payload):
        """An invitation to join a household: e-mailed to the invited address only."""
        self._mail_link(payload, "household_invitation", "invitation")

    def _mail_link(self, payload: dict, event_type: str, entity_name: str = "customer") -> None:
        entity = payload[entity_name]
        to = {"id": entity["customer_id"], "email": entity["email"],
              "language": entity.get("language")}
        now = self.clock.now()
        with unit_of_work(self.db):
            made = customers.notify(self.db, to, event_type, payload["event_id"], entity, now,
                                    priority=1)
        self._send_now(made["delivery"], now)

    @event_handler("accounts", "data_export_ready")
    def on_data_export_ready(self, payload):
        self._notify(payload, "data_export_ready", "data_export")

    @event_handler("accounts", "account_deletion_scheduled")
    def on_account_deletion_scheduled(self, payload):
        self._notify(payload, "account_deletion_scheduled", "deletion")

    @event_handler("accounts", "account_deletion_cancelled")
    def on_account_deletion_cancelled(self, payload):
        self._notify(payload, "account_deletion_cancelled", "deletion")

    @event_handler("accounts", "account_deletion_blocked")
    def on_account_deletion_blocked(self, payload):
        self._notify(payload, "account_deletion_blocked", "deletion")

    @event_handler("accounts", "portal_link_issued")
    def on_portal_link_issued(self, payload):
        """A sign-in link an agent asked for: e-mailed to the address on file, nowhere else."""
        self._notify(payload, "portal_link_issued", "portal_link")

    @event_handler("accounts", "password_changed")
    def on_password_changed(self, payload):
        self._notify(payload, "password_changed", "customer")

    @event_handler("billing", "invoice_issued")
    def on_invoice_issued(self, payload):
        self._notify(payload, "invoice_issued", "invoice")

    @event_handler("billing", "invoice_payment_due")
    def on_invoice_payment_due(self, payload):
        self._notify(payload, "invoice_payment_due", "invoice")

    @event_handler("billing", "invoice_overdue")
    def on_invoice_overdue(self, payload):
        self._notify(payload, "invoice_overdue", "invoice")

    @event_handler("billing", "invoice_payment_reminder")
    def on_invoice_payment_reminder(self, payload):
        self._notify(payload, "invoice_payment_reminder", "invoice")

    @event_handler("billing", "invoice_paid")
    def on_invoice_paid(self, payload):
        self._notify(payload, "invoice_paid", "invoice")

    @event_handler("billing", "invoice_collection_failed")
    def on_invoice_collection_failed(self, payload):
        self._notify(payload, "invoice_collection_failed", "invoice")

    @event_handler("billing", "credit_note_issued")
    def on_credit_note_issued(self, payload):
        self._notify(payload, "credit_note_issued", "credit_note")

    @event_handler("billing", "payment_succeeded")
    def on_payment_succeeded(self, payload):
        self._notify(payload, "payment_succeeded", "payment")

    @event_handler("billing", "payment_failed")
    def on_payment_failed(self, payload):
        self._notify(payload, "payment_failed", "payment")

    @event_handler("billing", "wallet_debited")
    def on_wallet_debited(self, payload):
        # money taken from the wallet (a renewal, an upgrade, an adjustment), with what is left
        wallet = payload["wallet"]
        self._notify({"event_id": payload["event_id"], "debit": {
            **wallet["transaction"], "customer_id": wallet["customer_id"],
            "balance": wallet["balance"]}}, "wallet_debited", "debit")

    @event_handler("billing", "subscription_suspended")
    def on_subscription_suspended(self, payload):
        self._notify(payload, "subscription_suspended", "subscription")

    @event_handler("billing", "subscription_resumed")
    def on_subscription_resumed(self, payload):
        self._notify(payload, "subscription_resumed", "subscription")

    @event_handler("billing", "subscription_renewed")
    def on_subscription_renewed(self, payload):
        self._notify(payload, "subscription_renewed", "subscription")

    @event_handler("billing", "subscription_renewal_upcoming")
    def on_subscription_renewal_upcoming(self, payload):
        self._notify(payload, "subscription_renewal_upcoming", "subscription")

    @event_handler("tickets", "ticket_opened")
    def on_ticket_opened(self, payload):
        self._notify(payload, "ticket_opened", "ticket")

    @event_handler("tickets", "ticket_updated")
    def on_ticket_updated(self, payload):
        self._notify(payload, "ticket_updated", "ticket")

    @event_handler("tickets", "ticket_resolved")
    def on_ticket_resolved(self, payload):
        self._notify(payload, "ticket_resolved", "ticket")

    @event_handler("billing", "subscription_cancelled")
    def on_subscription_cancelled(self, payload):
        self._notify(payload, "subscription_cancelled", "subscription")

    @event_handler("billing", "wallet_low_balance")
    def on_wallet_low_balance(self, payload):
        self._notify(payload, "wallet_low_balance", "wallet")

    @event_handler("billing", "payment_method_expiring")
    def on_payment_method_expiring(self, payload):
        self._notify(payload, "payment_method_expiring", "payment_method")

    @event_handler("insights", "budget_alert")
    def on_budget_alert(self, payload):
        """Once per event, like every notification (`<event id>:budget_alert` keys); insights
        emits one per customer, month and threshold."""
        self._notify(payload, "budget_alert", "budget_alert")

    @event_handler("vouchers", "voucher_redeemed")
    def on_voucher_redeemed(self, payload):
        self._notify(payload, "voucher_redeemed", "redemption")

    # the inbox and preferences --------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def notifications(self, customer_id, limit=20, cursor=None, unread_only=False):
        return customers.inbox(self.db, customer_id, limit, cursor, bool(unread_only))

    @rpc(expected_exceptions=EXPECTED)
    def unread_count(self, customer_id):
        return {"unread_count": customers.unread_count(self.db, customer_id)}

    @rpc(expected_exceptions=EXPECTED)
    def mark_read(self, customer_id, notification_id):
        with unit_of_work(self.db):
            return customers.mark_read(self.db, customer_id, notification_id,
                                       self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def mark_all_read(self, customer_id):
        with unit_of_work(self.db):
            return customers.mark_all_read(self.db, customer_id, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def get_preferences(self, customer_id):
        return customers.preferences(self.db, customer_id)

    @rpc(expected_exceptions=EXPECTED)
    def set_preferences(self, customer_id, request):
        with unit_of_work(self.db):
            return customers.set_preferences(self.db, customer_id, request,
                                             self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def consents(self, customer_id):
        return consents.of(self.db, customer_id)

    @rpc(expected_exceptions=EXPECTED)
    def set_consent(self, customer_id, purpose, granted, source=None):
        with unit_of_work(self.db):
            return consents.record(self.db, customer_id, purpose, granted, source,
                                   self.clock.now())

    # a customer's data (GDPR) ----------------------------------------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def export_customer(self, customer_id):
        snapshot(self.db)  # one consistent view of every section
        return privacy.export(self.db, customer_id)

    @rpc(expected_exceptions=EXPECTED)
    def forget_customer(self, customer_id, pseudonym, personal=None):
        """`personal` (the person's details, as billing and tickets take them) is accepted
        for one calling convention across services, and not needed: what the notifier keeps
        of the person is deleted or erased whole."""
        with unit_of_work(self.db):
            return privacy.forget(self.db, customer_id, pseudonym, self.clock.now())

    # team channels and alerts (ops, and the ticket service) ---------------------------------
    @rpc(expected_exceptions=EXPECTED)
    def create_channel(self, team, request):
        with unit_of_work(self.db):
            return alerts.create_channel(self.db, team, request, self.clock.now(),
                                         self.senders.targets)

    @rpc(expected_exceptions=EXPECTED)
    def list_channels(self, team=None):
        return alerts.list_channels(self.db, team)

    @rpc(expected_exceptions=EXPECTED)
    def delete_channel(self, channel_id):
        with unit_of_work(self.db):
            return alerts.delete_channel(self.db, channel_id)

    @rpc(expected_exceptions=EXPECTED)
    def raise_alert(self, team, severity, title, text, fields=None, dedup_key=None):
        return self._raise_alert(team, severity, title, text, fields, dedup_key)

    @event_handler("tickets", "alert_requested")
    def on_alert_requested(self, payload):
        """The tickets service's pages (routing, escalation, incidents) arrive as events: a
        page requested while the notifier was down waits on the queue; its dedup key makes a
        redelivered one a no-op."""
        alert = payload["alert"]
        try:
            self._raise_alert(alert["team"], alert["severity"], alert["title"], alert["text"],
                              alert.get("fields"), alert.get("dedup_key") or payload["event_id"])
        except errors.InvalidArgument as bad:  # redelivering cannot fix it: say so, drop it
            self.db.rollback()
            log.error("alert requested by tickets refused (%s): %r", bad.fields, alert)

    def _raise_alert(self, team, severity, title, text, fields=None, dedup_key=None):
        now = self.clock.now()
        with unit_of_work(self.db):
            result = alerts.raise_alert(self.db, team, severity, title, text, fields or {},
                                        dedup_key, now)
        if result["deliveries"]:
            try:
                transactions.send_now(self.db, self.senders, result["deliveries"], now)
            except Exception:  # noqa: BLE001 - the timer sends them
                self.db.rollback()
                log.exception("immediate send of alert %s failed", result["alert"]["id"])
        return result

    @rpc(expected_exceptions=EXPECTED)
    def list_deliveries(self, status=None, limit=50, cursor=None):
        return deliveries.page(self.db, status, limit, cursor)

    @rpc(expected_exceptions=EXPECTED)
    def retry_delivery(self, delivery_id):
        with unit_of_work(self.db):
            return deliveries.retry(self.db, delivery_id, self.clock.now())

    # broadcasts (ops)
    @rpc(expected_exceptions=EXPECTED)
    def create_broadcast(self, request, actor):
        with unit_of_work(self.db):
            return broadcasts.create(self.db, request, actor, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def list_broadcasts(self, limit=20, cursor=None):
        return broadcasts.page(self.db, limit, cursor)

    @rpc(expected_exceptions=EXPECTED)
    def get_broadcast(self, broadcast_id):
        return broadcasts.get(self.db, broadcast_id)

    @timer(keys.NOTIFIER_DELIVERY_SECONDS, 1.0)
    def send_due(self):
        """Due deliveries, priority 0 (transactional, alerts) before 1 (broadcasts)."""
        return transactions.send_due(self.db, self.senders, self.clock.now())

    @timer(keys.NOTIFIER_DELIVERY_SECONDS, 1.0)
    def send_broadcasts(self):
        """Pages of due broadcasts for up to a second a round, in its own worker: customer
        notifications (event handlers) and deliveries (send_due) go on meanwhile. Each page is
        one transaction."""
        done = 0
        until = time.monotonic() + BROADCAST_SLICE_SECONDS
        for broadcast_id in broadcasts.due(self.db, self.clock.now()):
            while time.monotonic() < until:
                try:
                    done += 1
                    with unit_of_work(self.db):
                        finished = broadcasts.send_page(self.db, self.accounts, self.billing,
                                                        broadcast_id, self.clock.now())
                    if finished:
                        break
                except errors.ServiceUnavailable as exc:  # accounts or billing: next round
                    log.warning("broadcast %s waits: %s", broadcast_id, exc.message)
                    break
        return done

    @rpc
    def health(self):
        self.db.execute(text("SELECT 1"))
        return {"service": self.name, "database": "ok"}
