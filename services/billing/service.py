"""The billing service: subscriptions and their charges, cards, payments, the prepaid wallet,
and postpaid bills (billing runs, invoices, autopay, dunning, credit notes).

RPC (customer-facing calls take the customer id the gateway authenticated; another customer's
subscription, invoice or payment is NotFound):
- subscribe(customer_id, request, idempotency_key=None) → subscription + its first charges
- list_subscriptions(customer_id) · get_subscription(customer_id, subscription_id)
- change_package(customer_id, subscription_id, request, idempotency_key=None)
  request {package, when, preview}: with preview, the proration lines and amount due, nothing
  changed; a change the catalog's rules forbid is Conflict with the rule's code and reason
- add_addon(customer_id, subscription_id, request, idempotency_key=None) · remove_addon(...)
- pause(customer_id, subscription_id, request) · resume(...) · cancel(..., request {reason, when})
- dashboard(customer_id, currency, billing_type) → the billing parts of the portal's main page
  (what happens next: the wallet's next renewal and how long it lasts; bills and autopay)
- list_charges(customer_id, subscription_id=None) → the recorded money consequences
- replace_device(device_id, request {serial_number}) (ops)
- add_payment_method(customer_id, card) · list_payment_methods · remove_payment_method ·
  set_default_payment_method: cards are tokenized at once; number and CVC are never kept
- get_wallet(customer_id) · wallet_transactions(customer_id, limit, cursor) ·
  top_up(customer_id, request {amount, payment_method_id}, idempotency_key) · set_low_balance ·
  adjust_wallet(customer_id, request {amount, reason}, actor, idempotency_key=None) (ops; once
  per key) · verify_ledger() (ops)
- start_billing_run(date) · get_billing_run(id) · list_billing_runs(limit, cursor) (ops)
- list_invoices(customer_id, limit, cursor) · get_invoice · invoice_pdf · receipt_pdf ·
  pay_invoice(customer_id, invoice_id, request {payment_method_id}, idempotency_key) ·
  list_payments(customer_id, limit, cursor) · get_autopay(customer_id) ·
  set_autopay(customer_id, request)
- redeem_voucher(customer_id, request {code}, client, account) → the wallet credited once
  (vouchers redeems the code) · buy_voucher(customer_id, request {offer, payment_method_id},
  idempotency_key, account) → an online voucher paid by card, once per key
- customers_with_package(customer_ids, package) (broadcast segments)
- spending(customer_id, start, end, group="month", account=None) → the customer's spending by
  calendar month and kind (charges, invoices, the ledger; insights/spending.py) ·
  month_status(customer_id, account=None) → this month so far and projected with the renewals
  still due · ops_insights(months=12) (ops) → subscribers by package, churn, cancellation
  reasons, ARPA, wallet float, overdue (set-based; insights/analytics.py); `account`: the
  caller may pass {billing_type, currency}, else accounts is asked (docs/insights.md)
- get_billing_profile(customer_id) · set_payment_terms(customer_id, request) ·
  issue_credit_note(invoice_id, request {amount, reason}, actor, idempotency_key) (ops)
- grant_service_credit(customer_id, request {amount, reason, reference}, actor): an
  incident's service credit, once per reference (wallet credit or credit note; tickets asks)
- export_customer(customer_id) → {service, data: {section: [rows]}, files: [{name, kind,
  invoice_id | payment_id}]}: everything billing holds about the customer (the PDFs named, to
  be fetched by invoice_pdf / receipt_pdf) · deletion_blockers(customer_id) → {blockers: [{code,
  params}]} (MONEY_OWED, CREDIT_LEFT, WALLET_BALANCE_LEFT, PAYMENT_PENDING; none: it may be
  deleted) · forget_customer(customer_id, pseudonym, personal=None) → {service, forgotten:
  {kind: rows changed}, kept: {table: rows}}: subscriptions ended, cards removed at the
  provider, autopay off, the person's details replaced; invoices, payments and the ledger kept
  (privacy.py; idempotent, one transaction)
- health()
Timer: every BILLING_TIMER_SECONDS, ends due pauses and renews due subscriptions (prepaid ones
are paid from the wallet or suspended); each is guarded by the subscription's optimistic
version and the charges' unique operation keys, so several instances never renew twice. It also
completes payments whose provider answer was lost, announces cards that expire next month
and renewals coming in BILLING_DUE_REMINDER_DAYS ("stops soon" if the wallet will not cover it),
starts the daily billing run for the day that ended, and collects postpaid invoices (overdue
marking, payment-due notices, dunning reminders and steps: collection.py).
Events: subscription_activated/changed/paused/resumed/cancelled/renewed/suspended,
subscription_renewal_upcoming, payment_succeeded/failed, payment_method_expiring,
wallet_credited/debited/low_balance,
invoice_issued/paid/overdue/payment_due/payment_reminder/collection_failed,
credit_note_issued, customer_forgotten (privacy.forget changed something); billing consumes its
own billing_run_chunk_ready (a run's work),
invoice_autopay_due (the autopay step a run scheduled for a new invoice: charged at once) and
voucher_purchase_paid (the voucher of a paid purchase whose buying call died, issued then).
"""

from __future__ import annotations

import datetime as dt
import logging

from nameko.dependency_providers import Config
from nameko.extensions import DependencyProvider
from sqlalchemy import select, text
from sqlalchemy.orm.exc import StaleDataError

from services.billing import events, privacy, transactions
from services.billing.exceptions import CONCURRENT_MODIFICATION
from services.billing.insights import analytics, spending
from services.billing.invoicing import (
    collection,
    credit_notes,
    invoices,
    pdf,
    runs,
    service_credits,
)
from services.billing.models import MIGRATIONS, Base, Charge, Payment
from services.billing.money import ledger, payment_methods, payments, voucher_sales, wallets
from services.billing.money.provider import Payments
from services.billing.subscriptions import (
    changes,
    member_spending,
    outlook,
    renewals,
    settlement,
    views,
)
from services.common import config as keys
from services.common import errors, pages
from services.common.clock import ClockProvider
from services.common.db import Database, snapshot, unit_of_work
from services.common.events import event_handler
from services.common.observability import Observability
from services.common.rpc import BoundedRpcProxy, rpc
from services.common.timers import timer

log = logging.getLogger(__name__)
EXPECTED = (errors.ServiceError,)


class PdfFonts(DependencyProvider):
    """Loads the PDF fonts and the languages' formatting data once, in the main thread, at
    start: documents are then rendered in real threads (`green.run_blocking`), where Babel's
    locale loading would wait on a green lock forever (see services/billing/invoicing/pdf.py)."""

    def setup(self) -> None:
        pdf.warm_up(("en", "de", "it", "th"))


class BillingService:
    name = "billing"
    observability = Observability()  # health, metrics, correlation ids

    db = Database(Base.metadata, MIGRATIONS)
    clock = ClockProvider()
    catalog = BoundedRpcProxy("catalog")
    accounts = BoundedRpcProxy("accounts")
    vouchers = BoundedRpcProxy("vouchers")
    payments = Payments()
    config = Config()
    pdf_fonts = PdfFonts()

    @property
    def _chunk_size(self) -> int:
        return int(self.config.get(keys.BILLING_RUN_CHUNK_SIZE) or runs.CHUNK_SIZE)

    @property
    def _policy(self) -> collection.Policy:
        return collection.Policy.from_config(
            self.config.get(keys.BILLING_DUNNING_RETRY_DAYS),
            self.config.get(keys.BILLING_DUNNING_REMINDER_HOURS),
            self.config.get(keys.BILLING_DUE_REMINDER_DAYS))

    @property
    def _terms_days(self) -> int:
        return int(self.config.get(keys.BILLING_PAYMENT_TERMS_DAYS) or runs.PAYMENT_TERMS_DAYS)

    def _ops(self) -> changes.Ops:
        return changes.Ops(self.db, self.clock.now(), self.catalog, self.accounts)

    def _change(self, scope: str, key: str | None, request, action, preview=False) -> dict:
        return transactions.change(self.db, self.clock.now(), scope, key, request, action,
                                   preview)

    def _guarded(self, step) -> int:
        return transactions.guarded(self.db, step)

    def _spent(self, customer_id: str, member: dict | None, result: dict) -> dict:
        """A household member's purchase counts against their monthly limit in its own
        transaction (subscriptions/member_spending.py): past it, the whole purchase is undone."""
        due = (result.get("charges") or result)["amount_due"]
        member_spending.count(self.db, customer_id, member, due["amount"], due["currency"],
                              self.clock.now())
        return result

    @rpc(expected_exceptions=EXPECTED)
    def subscribe(self, customer_id, request, idempotency_key=None, member=None):
        """`member`: a household member buying for themselves on the holder's account."""
        def action():
            result = changes.subscribe(self._ops(), customer_id, request)
            if member:
                views.get(self.db, customer_id, result["id"]).member_id = member["id"]
                result["member_id"] = member["id"]
            return self._spent(customer_id, member, result)
        return self._change(f"subscribe:{customer_id}", idempotency_key, request, action)

    @rpc(expected_exceptions=EXPECTED)
    def list_subscriptions(self, customer_id, member_id=None):
        """The account's subscriptions; a household member's (`member_id`): only theirs."""
        return pages.whole([views.dump(s) for s in views.list_for(self.db, customer_id)
                            if member_id is None or s.member_id == member_id])

    @rpc(expected_exceptions=EXPECTED)
    def get_subscription(self, customer_id, subscription_id, member_id=None):
        """Another customer's, or (for a member) one they do not use, is NotFound."""
        return views.dump(views.get(self.db, customer_id, subscription_id, member_id))

    @rpc(expected_exceptions=EXPECTED)
    def change_package(self, customer_id, subscription_id, request, idempotency_key=None,
                       member=None):
        preview = bool(isinstance(request, dict) and request.get("preview"))
        return self._change(f"change:{customer_id}:{subscription_id}", idempotency_key, request,
                            lambda: self._spent(customer_id, member, changes.change_package(
                                self._ops(), customer_id, subscription_id, request)), preview)

    @rpc(expected_exceptions=EXPECTED)
    def add_addon(self, customer_id, subscription_id, request, idempotency_key=None,
                  member=None):
        preview = bool(isinstance(request, dict) and request.get("preview"))
        return self._change(f"addon:{customer_id}:{subscription_id}", idempotency_key, request,
                            lambda: self._spent(customer_id, member, changes.add_addon(
                                self._ops(), customer_id, subscription_id, request)), preview)

    @rpc(expected_exceptions=EXPECTED)
    def remove_addon(self, customer_id, subscription_id, code, preview=False,
                     idempotency_key=None):
        return self._change(f"addon-removal:{customer_id}:{subscription_id}", idempotency_key,
                            {"code": code},
                            lambda: changes.remove_addon(self._ops(), customer_id, subscription_id,
                                                      code, bool(preview)), bool(preview))

    @rpc(expected_exceptions=EXPECTED)
    def pause(self, customer_id, subscription_id, request=None, idempotency_key=None):
        return self._change(f"pause:{customer_id}:{subscription_id}", idempotency_key, request,
                            lambda: changes.pause(self._ops(), customer_id, subscription_id,
                                               request or {}))

    @rpc(expected_exceptions=EXPECTED)
    def resume(self, customer_id, subscription_id, idempotency_key=None):
        return self._change(f"resume:{customer_id}:{subscription_id}", idempotency_key, {},
                            lambda: changes.resume(self._ops(), customer_id, subscription_id))

    @rpc(expected_exceptions=EXPECTED)
    def cancel(self, customer_id, subscription_id, request, idempotency_key=None):
        return self._change(f"cancel:{customer_id}:{subscription_id}", idempotency_key, request,
                            lambda: changes.cancel(self._ops(), customer_id, subscription_id,
                                                request))

    @rpc(expected_exceptions=EXPECTED)
    def dashboard(self, customer_id, currency=None, billing_type="prepaid"):
        """The billing parts of the main page: subscriptions, and the wallet (prepaid) or the
        bills (postpaid) in the account's currency, which the caller passes."""
        postpaid, prepaid = currency and billing_type == "postpaid", \
            currency and billing_type == "prepaid"
        shown = [(sub, views.dump(sub)) for sub in views.list_for(self.db, customer_id)]
        wallet = wallets.view(self.db, customer_id, currency) if prepaid else None
        if wallet is not None:  # what happens next: the renewals the balance pays, or not
            wallet = {**wallet, **outlook.prepaid(wallet["balance"]["amount"], currency,
                                                  outlook.renewing(shown), self.clock.now())}
        return {
            "bills": ({**invoices.summary(self.db, customer_id, currency),
                       "autopay": collection.autopay_state(self.db, customer_id)}
                      if postpaid else None),
            "subscriptions": [
            {"id": s["id"], "status": s["status"], "package": s["package"],
             "addons": s["addons"], "next_renewal": s["next_renewal"],
             "pause_until": s["pause_until"], "scheduled_changes": s["scheduled_changes"]}
            for _, s in shown if s["status"] != "cancelled"],
            "wallet": wallet}

    # cards
    @rpc(expected_exceptions=EXPECTED)
    def add_payment_method(self, customer_id, card):
        with unit_of_work(self.db):
            return payment_methods.add(self.db, self.payments, customer_id, card,
                                       self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def list_payment_methods(self, customer_id):
        # test_mode: the provider is a test one (the sandbox), whose test cards the portal shows
        return {**pages.whole([payment_methods.dump(pm)
                               for pm in payment_methods.active(self.db, customer_id)]),
                "test_mode": bool(self.payments.test_mode)}

    @rpc(expected_exceptions=EXPECTED)
    def remove_payment_method(self, customer_id, payment_method_id):
        with unit_of_work(self.db):
            payment_methods.remove(self.db, customer_id, payment_method_id, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def set_default_payment_method(self, customer_id, payment_method_id):
        with unit_of_work(self.db):
            return payment_methods.set_default(self.db, customer_id, payment_method_id)

    # the prepaid wallet
    @rpc(expected_exceptions=EXPECTED)
    def get_wallet(self, customer_id):
        account = wallets.prepaid_account(self.accounts, customer_id)
        return wallets.view(self.db, customer_id, account["currency"])

    @rpc(expected_exceptions=EXPECTED)
    def wallet_transactions(self, customer_id, limit=20, cursor=None):
        wallets.prepaid_account(self.accounts, customer_id)
        return ledger.history(self.db, customer_id, limit, cursor)

    @rpc(expected_exceptions=EXPECTED)
    def top_up(self, customer_id, request, idempotency_key=None, account=None):
        """Top the wallet up by card: the attempt recorded (committed), the card charged
        outside any transaction, then payment, ledger entry, what the credit pays and
        reinstates, and the key's outcome in one transaction."""
        now = self.clock.now()
        payment, method = wallets.begin_top_up(self.db, customer_id,
                                               self._account(customer_id, account), request,
                                               idempotency_key, now)
        return payments.finish(
            self.db, payment,
            lambda: settlement.after_credit(self.db, customer_id, wallets.complete_top_up(
                self.db, self.payments, payment, now, method), now),
            lambda: wallets.top_up_result(self.db, payment.id),
            scope=f"top-up:{customer_id}", key=idempotency_key, request=request, now=now)

    def _account(self, customer_id: str, account: dict | None) -> dict:
        """The account's billing type and currency: as the caller (the gateway, which
        authentication told) passes them, or asked of accounts."""
        if isinstance(account, dict) and account.get("billing_type") in (
                "prepaid", "postpaid") and isinstance(account.get("currency"), str):
            return {"billing_type": account["billing_type"], "currency": account["currency"]}
        return self.accounts.get_account(customer_id)

    # vouchers: redeemed into the wallet, bought by card
    @rpc(expected_exceptions=EXPECTED)
    def redeem_voucher(self, customer_id, request, client=None, account=None):
        """Redeem a code into the prepaid wallet: vouchers redeems it (once), billing credits
        it (once, keyed by the redemption)."""
        code = voucher_sales.redeem_request(request)
        account = self._account(customer_id, account)
        if account["billing_type"] != "prepaid":
            raise errors.Conflict("This account is postpaid: it has bills, not a wallet.",
                                  code=wallets.NOT_PREPAID)
        redemption = self.vouchers.redeem(customer_id, code, {
            "currency": account["currency"], "billing_type": account["billing_type"]}, client)
        return self._credit_voucher(redemption)

    @event_handler("vouchers", "voucher_redeemed")
    def on_voucher_redeemed(self, payload):
        """The credit, if the redeeming call died before making it (a no-op otherwise)."""
        self._credit_voucher(payload["redemption"])

    def _credit_voucher(self, redemption: dict) -> dict:
        return transactions.credit_voucher(self.db, redemption, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def buy_voucher(self, customer_id, request, idempotency_key=None, account=None):
        """Buy an online voucher by card; answers its code (and a repeat with the same
        Idempotency-Key answers the same voucher, never a second charge)."""
        now = self.clock.now()
        payment, method, offer = voucher_sales.begin_purchase(
            self.db, self.vouchers, customer_id, self._account(customer_id, account),
            request or {}, idempotency_key, now)
        paid = payments.finish(
            self.db, payment,
            lambda: voucher_sales.charge(self.db, self.payments, payment, now, method),
            lambda: payments.dump(self.db.get(Payment, payment.id, populate_existing=True)),
            scope=f"voucher-purchase:{customer_id}", key=idempotency_key, request=request,
            now=now)
        voucher = self.vouchers.issue_online(paid["id"], offer["code"], customer_id)
        return {**voucher, "offer": offer["code"], "payment": paid}

    @event_handler("billing", events.VOUCHER_PURCHASE_PAID)
    def on_voucher_purchase_paid(self, payload):
        """A voucher bought by a payment whose caller died after the charge: issue it now
        (vouchers makes one per payment, so this is a no-op when it exists)."""
        payment = payload["payment"]
        if payment.get("purpose") == voucher_sales.PURPOSE and payment.get("reference"):
            self.vouchers.issue_online(payment["id"], payment["reference"],
                                       payment["customer_id"])

    @rpc(expected_exceptions=EXPECTED)
    def set_low_balance(self, customer_id, request):
        with unit_of_work(self.db):
            return wallets.set_threshold(self.db, self.accounts, customer_id, request,
                                         self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def adjust_wallet(self, customer_id, request, actor, idempotency_key=None):
        """An ops adjustment; with an idempotency key (the gateway requires one) it is posted
        once per key: a repeat answers the stored outcome, another request under the key is
        Conflict(IDEMPOTENCY_KEY_REUSED)."""
        return self._change(f"adjustment:{customer_id}", idempotency_key, request,
                            lambda: self._adjusted(customer_id, wallets.adjust(
                                self.db, self.accounts, customer_id, request, actor,
                                self.clock.now())))

    def _adjusted(self, customer_id: str, result: dict) -> dict:
        """After an ops credit, the wallet pays what is due (a debit pays nothing)."""
        if result["transaction"]["direction"] == ledger.CREDIT:
            settlement.settle(self.db, customer_id, self.clock.now(), strict=False)
        return result

    @rpc(expected_exceptions=EXPECTED)
    def verify_ledger(self):
        return ledger.verify(self.db)

    # postpaid: billing runs and invoices
    @rpc(expected_exceptions=EXPECTED)
    def start_billing_run(self, run_date=None):
        when = self.clock.now()
        try:
            day = dt.date.fromisoformat(run_date) if run_date else when.date()
        except (TypeError, ValueError):
            raise errors.InvalidArgument(fields={"date": ["must be a date YYYY-MM-DD"]}) from None
        if day > when.date():
            raise errors.InvalidArgument(fields={"date": ["must not be in the future"]})
        with unit_of_work(self.db):
            return runs.start(self.db, day, when, self._chunk_size)

    @rpc(expected_exceptions=EXPECTED)
    def get_billing_run(self, run_id):
        return runs.get(self.db, run_id)

    @rpc(expected_exceptions=EXPECTED)
    def list_billing_runs(self, limit=20, cursor=None):
        return runs.recent(self.db, limit, cursor)

    @event_handler("billing", events.BILLING_RUN_CHUNK_READY)
    def on_chunk_ready(self, payload):
        """A chunk of a billing run, taken by whichever billing instance is free; an error
        puts it back on the queue (the chunk is one transaction, and repeating it is safe)."""
        chunk = payload["chunk"]
        with unit_of_work(self.db):
            runs.issue_chunk(self.db, chunk["run_id"], chunk["index"], self.clock.now(),
                             self._terms_days)

    @rpc(expected_exceptions=EXPECTED)
    def list_invoices(self, customer_id, limit=20, cursor=None):
        snapshot(self.db)
        return invoices.page(self.db, customer_id, limit, cursor)

    @rpc(expected_exceptions=EXPECTED)
    def get_invoice(self, customer_id, invoice_id):
        snapshot(self.db)
        return invoices.get(self.db, customer_id, invoice_id)

    @rpc(expected_exceptions=EXPECTED)
    def pay_invoice(self, customer_id, invoice_id, request=None, idempotency_key=None):
        """Pay an open invoice by card (the default one if none is named); 402 when declined."""
        request, now = request or {}, self.clock.now()
        payment = invoices.begin_payment(self.db, customer_id, invoice_id, request,
                                         idempotency_key, now)
        return payments.finish(
            self.db, payment,
            lambda: invoices.complete_payment(self.db, self.payments, payment.id, now),
            lambda: invoices.payment_result(self.db, payment.id),
            scope=f"invoice:{customer_id}:{invoice_id}", key=idempotency_key,
            request=request, now=now)

    @rpc(expected_exceptions=EXPECTED)
    def invoice_pdf(self, customer_id, invoice_id):
        return invoices.invoice_pdf(self.db, self.accounts, customer_id, invoice_id)

    @rpc(expected_exceptions=EXPECTED)
    def receipt_pdf(self, customer_id, payment_id):
        return invoices.receipt_pdf(self.db, self.accounts, customer_id, payment_id)

    @rpc(expected_exceptions=EXPECTED)
    def list_payments(self, customer_id, limit=20, cursor=None):
        return payments.history(self.db, customer_id, limit, cursor)

    @rpc(expected_exceptions=EXPECTED)
    def get_autopay(self, customer_id):
        collection.postpaid_account(self.accounts, customer_id)
        return collection.get_autopay(self.db, customer_id)

    @rpc(expected_exceptions=EXPECTED)
    def set_autopay(self, customer_id, request):
        collection.postpaid_account(self.accounts, customer_id)
        with unit_of_work(self.db):
            return collection.set_autopay(self.db, customer_id, request,
                                          self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def get_billing_profile(self, customer_id):
        collection.postpaid_account(self.accounts, customer_id)
        return collection.billing_profile(self.db, customer_id, self._terms_days)

    @rpc(expected_exceptions=EXPECTED)
    def set_payment_terms(self, customer_id, request):
        collection.postpaid_account(self.accounts, customer_id)
        with unit_of_work(self.db):
            return collection.set_terms(self.db, customer_id, request,
                                        self.clock.now(), self._terms_days)

    @rpc(expected_exceptions=EXPECTED)
    def grant_service_credit(self, customer_id, request, actor):
        """An incident's service credit for one customer, once per `reference`."""
        with unit_of_work(self.db):
            return service_credits.grant(self.db, self.accounts, customer_id, request,
                                         actor, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def issue_credit_note(self, invoice_id, request, actor, idempotency_key=None):
        with unit_of_work(self.db):
            return credit_notes.issue(self.db, invoice_id, request, actor,
                                      idempotency_key, self.clock.now())

    @event_handler("billing", events.INVOICE_AUTOPAY_DUE)
    def on_autopay_due(self, payload):
        """Autopay: the step a billing run scheduled for a new invoice is run at once. A step
        runs once (it is claimed by a conditional update), so a repeated event charges nothing
        more; a step cut short is finished by the timer."""
        self._run_step(payload["step"]["id"])

    def _run_step(self, step_id: int) -> str:
        try:
            return transactions.collection_step(self.db, self.payments, step_id,
                                                self.clock.now(), self._policy)
        except Exception:  # noqa: BLE001 - the step stays `processing`; the timer redoes it
            self.db.rollback()
            log.exception("collection step %s failed; it is retried later", step_id)
            return "error"

    @rpc(expected_exceptions=EXPECTED)
    def customers_with_package(self, customer_ids, package):
        """Of `customer_ids`, those with a live (not cancelled) subscription to `package`:
        a broadcast's package segment."""
        return views.customers_with_package(self.db, list(customer_ids)[:1000], package)

    # insights (docs/insights.md): figures from billing's own rows, nothing stored
    @rpc(expected_exceptions=EXPECTED)
    def spending(self, customer_id, start, end, group="month", account=None):
        currency = self._account(customer_id, account)["currency"]
        snapshot(self.db)
        return spending.spending(self.db, customer_id, currency, start, end, group)

    @rpc(expected_exceptions=EXPECTED)
    def month_status(self, customer_id, account=None):
        currency = self._account(customer_id, account)["currency"]
        snapshot(self.db)
        return spending.month_status(self.db, customer_id, currency, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def ops_insights(self, months=12):
        snapshot(self.db)
        return analytics.ops_insights(self.db, months, self.clock.now())

    @rpc(expected_exceptions=EXPECTED)
    def list_charges(self, customer_id, subscription_id=None):
        query = select(Charge).where(Charge.customer_id == customer_id)
        if subscription_id:
            query = query.where(Charge.subscription_id == subscription_id)
        return [privacy.dump_charge(c)
                for c in self.db.scalars(query.order_by(Charge.created_at, Charge.id))]

    # data protection (issue #18): accounts' deletion saga asks these
    @rpc(expected_exceptions=EXPECTED)
    def export_customer(self, customer_id):
        snapshot(self.db)
        return privacy.export(self.db, customer_id, self._terms_days)

    @rpc(expected_exceptions=EXPECTED)
    def deletion_blockers(self, customer_id):
        snapshot(self.db)
        return privacy.blockers(self.db, customer_id)

    @rpc(expected_exceptions=EXPECTED)
    def forget_customer(self, customer_id, pseudonym, personal=None):
        """Forget the person, keep the records the law requires (privacy.py). `personal`:
        their details as accounts holds them ({name, email, phone, address}), to be replaced
        wherever free text copied them. One transaction; a repeat changes nothing."""
        try:
            with unit_of_work(self.db):
                return privacy.forget(self.db, self.payments, customer_id, pseudonym, personal,
                                      self.clock.now())
        except StaleDataError:  # a subscription renewed meanwhile: nothing was written
            raise errors.Conflict("A subscription changed meanwhile. Try again.",
                                  code=CONCURRENT_MODIFICATION) from None

    @rpc(expected_exceptions=EXPECTED)
    def replace_device(self, device_id, request):
        return self._change(f"device:{device_id}", None, request,
                            lambda: changes.replace_serial(self._ops(), device_id, request))

    @rpc
    def health(self):
        self.db.execute(text("SELECT 1"))
        return {"service": self.name, "database": "ok"}

    @timer(keys.BILLING_TIMER_SECONDS, 30.0)
    def run_due(self):
        """End due pauses, then renew due subscriptions, each in its own transaction."""
        done = {"pauses_ended": 0, "periods_started": 0, "payments_completed": 0}
        for sub_id in renewals.due_pause_ends(self.db, self.clock.now()):
            done["pauses_ended"] += self._guarded(lambda i=sub_id: int(renewals.end_pause(
                self._ops(), i)))
        for sub_id in renewals.due_renewals(self.db, self.clock.now()):
            done["periods_started"] += self._guarded(lambda i=sub_id: renewals.renew(
                self._ops(), i))
        for payment_id in payments.pending(self.db, self.clock.now()):
            done["payments_completed"] += transactions.complete_pending(
                self.db, self.payments, payment_id, self.clock.now())
        done["expiry_notices"] = self._guarded(lambda: payment_methods.notify_expiring(
            self.db, self.clock.now()))
        done["renewal_notices"] = self._guarded(lambda: renewals.renewal_notices(
            self.db, self.clock.now(), self._policy.due_reminder_days))
        done.update(self._collect())
        # the daily billing run, for the day that ended (all of its charges are in): every
        # instance asks, the run's unique date starts it once
        yesterday = self.clock.now().date() - dt.timedelta(days=1)
        done["billing_run_started"] = int(self._guarded(lambda: int(
            runs.start(self.db, yesterday, self.clock.now(), self._chunk_size)["status"]
            == "running")))
        if any(done.values()):
            log.info("billing timer: %s", done)
        return done

    def _collect(self) -> dict:
        """Postpaid collection: overdue marking, "payment due" notices, reminders before
        dunning steps, and the due steps (each guarded by a conditional UPDATE; see
        collection.py)."""
        policy, done = self._policy, {}
        for name, step in (("invoices_overdue", collection.mark_overdue),
                           ("due_notices", collection.remind_due),
                           ("dunning_reminders", collection.remind_steps)):
            done[name] = self._guarded(lambda s=step: s(self.db, self.clock.now(), policy))
        outcomes = [self._run_step(i)
                    for i in transactions.due_collection_steps(self.db, self.clock.now())]
        done["collection_steps"] = len(outcomes)
        done["collected"] = outcomes.count("paid")
        return done

