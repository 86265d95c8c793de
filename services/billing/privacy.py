"""A customer's data protection requests, billing's part (issue #18): what billing holds about a
customer (export), why the account cannot be deleted yet (blockers), and forgetting the person
while the records the law makes operators keep stay, pseudonymous.

The accounts service runs the request (a saga) and calls these; billing only ever sees the
customer id and the pseudonym it is given.

Billing holds the person's own data in few places: a card's `holder` (as typed when saving the
card) and the provider's token for it; free text written by the customer (a cancellation
reason) or by staff about them (an adjustment's, a credit note's or a service credit's reason,
copied into charges, invoice lines and ledger entries). Names, e-mail addresses, phone numbers
and postal addresses are not copied into billing: invoices and receipts are rendered when asked,
with the details accounts holds then (`invoicing/invoices.py`), so they show the pseudonym once
accounts has forgotten the person.

Forgetting (`forget`), in the entrypoint's one transaction, under a per-customer lock (two
concurrent calls: the second waits, then finds nothing left to do):
- every subscription not yet cancelled ends now: no refund, no charge (a suspended prepaid
  subscription's unpaid charges are voided, as a cancellation does; postpaid charges already
  recorded and not billed yet stay owed, and a billing run still bills them: MONEY_OWED told
  the caller), `subscription_cancelled` emitted with `ended_by: "account_deletion"` so other
  services follow;
- every card the customer ever saved is removed at the provider (`detach`) and here; its token
  and fingerprint are cleared, its holder becomes the pseudonym (brand, last four and expiry
  stay: receipts name the card they were paid with);
- autopay is turned off;
- the free text of the customer's rows is cleared of the person's details when the caller passes
  them (`personal`: name → the pseudonym, e-mail, phone, address → ""; in what people wrote,
  each word of the name too), in charges, invoice lines, ledger entries (descriptions and
  their texts' params), credit notes' reasons, cancellation reasons and scheduled changes,
  and in the kernel's copies: the outbox's events
  that name the customer (a card's holder, a cancellation's reason; published or not) and the
  stored answers of the customer's idempotent calls;
- invoices, credit notes, charges, payments and ledger entries stay (amounts untouched, so totals
  and `verify_ledger` hold).
It answers what this call changed; a repeat changes nothing and answers zeros (and the same
`kept`). It does not check the blockers: the caller asks `blockers` first. Without `personal`, free
text is left as it is (billing cannot know what to look for): the card holder is still
replaced, and accounts' own copy of the details is what invoices and receipts show.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from services.billing import events, exceptions
from services.billing.invoicing import collection, invoices
from services.billing.models import (
    BillingProfile,
    Charge,
    CollectionAttempt,
    CreditNote,
    Device,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentMethod,
    ScheduledChange,
    Subscription,
    Wallet,
    WalletTransaction,
)
from services.billing.money import ledger, payments, voucher_sales, wallets
from services.billing.money.provider import PaymentProvider, ProviderFailure
from services.billing.subscriptions import changes, lifecycle, views
from services.common import errors, outbox
from services.common import privacy as common_privacy
from services.common.clock import isoformat
from services.common.kernel_tables import IdempotencyRecord, OutboxMessage

SERVICE = "billing"
ENDED_REASON = "account deleted"  # the cancellation reason of what forgetting ends
ENDED_BY = "account_deletion"  # in the subscription_cancelled events forgetting emits
# the tables whose free text is cleared of the person's details (`forgotten["texts.<table>"]`)
TEXT_TABLES = ("charges", "invoice_lines", "wallet_transactions", "credit_notes",
               "subscriptions", "scheduled_changes", "outbox_messages", "idempotency_records")
CONTACT_KEYS = ("email", "phone", "address")  # of `personal`, besides its name
MIN_ERASED = 4  # shorter strings (a country code, a house number) are not searched for
CREDIT_NOTE_CHARGE = "credit-note:"  # the operation key of a charge quoting a note's reason


# export --------------------------------------------------------------------------------------

def dump_charge(c: Charge) -> dict:
    return {"id": c.id, "subscription_id": c.subscription_id, "kind": c.kind,
            "description": c.description, "text": c.text, "item": c.item_code,
            "amount": {"amount": c.amount, "currency": c.currency},
            "tax": {"amount": c.tax, "currency": c.currency}, "tax_rate_bp": c.tax_rate_bp,
            "period_start": isoformat(c.period_start), "period_end": isoformat(c.period_end),
            "operation": c.operation_key, "created_at": isoformat(c.created_at)}


def _dump_subscription(sub: Subscription) -> dict:
    """The API's view plus everything the row keeps: every item (add-ons and rentals removed
    since included), every scheduled change, the dates of each state it went through."""
    cur = sub.currency
    return {
        **views.dump(sub),
        "billing_type": sub.billing_type, "anchor_day": sub.anchor_day,
        "suspended_at": isoformat(sub.suspended_at),
        "created_at": isoformat(sub.created_at), "updated_at": isoformat(sub.updated_at),
        "items": [{"kind": i.kind, "code": i.code, "name": i.name,
                   "list_price": views.money(i.list_price, cur),
                   "discount": views.money(i.discount or 0, cur), "promotion": i.promotion,
                   "charged": views.money(i.charged, cur),
                   "charged_since": isoformat(i.charged_since),
                   "credited": None if i.credited is None else views.money(i.credited, cur),
                   "added_at": isoformat(i.added_at), "removed_at": isoformat(i.removed_at)}
                  for i in sub.items],
        "scheduled_changes_history": [
            {"id": c.id, "kind": c.kind, "details": c.details, "status": c.status,
             "effective_at": isoformat(c.effective_at), "created_at": isoformat(c.created_at)}
            for c in sub.scheduled]}


def _dump_device(d: Device) -> dict:
    return {"id": d.id, "subscription_id": d.subscription_id, "code": d.code, "model": d.model,
            "kind": d.kind, "acquisition": d.acquisition, "serial_number": d.serial_number,
            "previous_serials": list(d.previous_serials or []),
            "created_at": isoformat(d.created_at), "updated_at": isoformat(d.updated_at)}


def _dump_card(pm: PaymentMethod) -> dict:
    """What is stored of a card and may be shown: never its token or fingerprint."""
    return {"id": pm.id, "provider": pm.provider, "brand": pm.brand, "last4": pm.last4,
            "exp_month": pm.exp_month, "exp_year": pm.exp_year, "holder": pm.holder,
            "is_default": pm.is_default, "created_at": isoformat(pm.created_at),
            "removed_at": isoformat(pm.removed_at)}


def _dump_payment(p: Payment) -> dict:
    return {**payments.dump(p), "failure_message": p.failure_message,
            "updated_at": isoformat(p.updated_at)}


def _dump_step(s: CollectionAttempt) -> dict:
    return {"invoice_id": s.invoice_id, "attempt": s.attempt, "status": s.status,
            "due_at": isoformat(s.due_at), "reminded_at": isoformat(s.reminded_at),
            "payment_id": s.payment_id, "decline_code": s.decline_code,
            "processed_at": isoformat(s.processed_at)}


def export(session: Session, customer_id: str, default_terms_days: int) -> dict:
    """Everything billing holds about the customer, JSON-ready; PDFs named, not embedded."""
    def mine(model, *order):
        return list(session.scalars(select(model).where(model.customer_id == customer_id)
                                    .order_by(*order)))

    subs = mine(Subscription, Subscription.created_at, Subscription.id)
    invoice_rows = [i for i in mine(Invoice, Invoice.created_at, Invoice.id)
                    if i.number is not None]
    payment_rows = mine(Payment, Payment.created_at, Payment.id)
    notes = mine(CreditNote, CreditNote.created_at, CreditNote.id)
    entries = mine(WalletTransaction, WalletTransaction.seq)
    wallet = session.get(Wallet, customer_id)
    profile = collection.billing_profile(session, customer_id, default_terms_days)
    data = {
        "subscriptions": [_dump_subscription(s) for s in subs],
        "devices": [_dump_device(d) for d in mine(Device, Device.created_at, Device.id)],
        "charges": [dump_charge(c) for c in mine(Charge, Charge.created_at, Charge.id)],
        "invoices": invoices.dump_many(session, invoice_rows),
        "credit_notes": [{**invoices.dump_credit_note(n), "created_by": n.created_by}
                         for n in notes],
        "payments": [_dump_payment(p) for p in payment_rows],
        "payment_methods": [_dump_card(pm) for pm in mine(PaymentMethod,
                                                          PaymentMethod.created_at,
                                                          PaymentMethod.id)],
        "wallet": [] if wallet is None else [{**ledger.dump_wallet(wallet),
                                              "created_at": isoformat(wallet.created_at)}],
        "wallet_transactions": [{**ledger.dump_entry(e), "seq": e.seq, "source": e.source}
                                for e in entries],
        "billing_profile": [] if session.get(BillingProfile, customer_id) is None
        else [profile],
        "autopay": [collection.autopay_state(session, customer_id)],
        "collection_attempts": [_dump_step(s) for s in mine(
            CollectionAttempt, CollectionAttempt.invoice_id, CollectionAttempt.attempt)],
        "voucher_purchases": [_dump_payment(p) for p in payment_rows
                              if p.purpose == voucher_sales.PURPOSE],
        "service_credits": (
            [{"kind": "wallet_credit", **ledger.dump_entry(e), "source": e.source}
             for e in entries if e.source.startswith("service_credit:")]
            + [{"kind": "credit_note", **invoices.dump_credit_note(n)} for n in notes
               if ":service-credit:" in n.operation_key]),
    }
    files = ([{"name": f"invoices/{i.number}.pdf", "kind": "invoice_pdf", "invoice_id": i.id}
              for i in invoice_rows]
             + [{"name": f"receipts/{p.id}.pdf", "kind": "receipt_pdf", "payment_id": p.id}
                for p in payment_rows if p.status == "succeeded"])
    return {"service": SERVICE, "data": data, "files": files}


# blockers ------------------------------------------------------------------------------------

def blockers(session: Session, customer_id: str) -> dict:
    """Why the account cannot be deleted yet; an empty list: it may be.

    - MONEY_OWED {amount, currency, invoices}: what open and overdue invoices still ask, plus
      postpaid charges not invoiced yet (the current period, billed by the next run);
    - CREDIT_LEFT {amount, currency}: postpaid credit not yet billed (a credit note on a paid
      invoice), more than anything owed: money to give back first;
    - WALLET_BALANCE_LEFT {amount, currency}: a prepaid wallet with money in it;
    - PAYMENT_PENDING {count}: a card payment asked of the provider, its answer not in yet.
    """
    owed: dict[str, int] = defaultdict(int)
    numbers: dict[str, list[str]] = defaultdict(list)
    for invoice in session.scalars(select(Invoice).where(
            Invoice.customer_id == customer_id, Invoice.status.in_(("open", "overdue")),
            Invoice.number.is_not(None)).order_by(Invoice.number)):
        if invoice.amount_due:
            owed[invoice.currency] += invoice.amount_due
            numbers[invoice.currency].append(invoice.number)
    unbilled = session.execute(
        select(Charge.currency, func.sum(Charge.amount + Charge.tax))
        .join(Subscription, Subscription.id == Charge.subscription_id)
        .where(Charge.customer_id == customer_id, Charge.settled.is_(False),
               Subscription.billing_type == "postpaid")
        .group_by(Charge.currency)).all()
    for currency, amount in unbilled:
        owed[currency] += int(amount or 0)
    found = []
    for currency in sorted(owed):
        if owed[currency] > 0:
            found.append({"code": exceptions.MONEY_OWED, "params": {
                "amount": owed[currency], "currency": currency,
                "invoices": numbers[currency]}})
        elif owed[currency] < 0:
            found.append({"code": exceptions.CREDIT_LEFT, "params": {
                "amount": -owed[currency], "currency": currency}})
    wallet = session.get(Wallet, customer_id)
    if wallet is not None and wallet.balance > 0:
        found.append({"code": exceptions.WALLET_BALANCE_LEFT, "params": {
            "amount": wallet.balance, "currency": wallet.currency}})
    pending = session.scalar(select(func.count()).select_from(Payment).where(
        Payment.customer_id == customer_id, Payment.status == "pending"))
    if pending:
        found.append({"code": exceptions.PAYMENT_PENDING, "params": {"count": pending}})
    return {"blockers": found}


# forgetting ----------------------------------------------------------------------------------

def replacements(personal: Any, pseudonym: str, name_words: bool = False
                 ) -> list[tuple[str, str]]:
    """(string, replacement) pairs, longest first, from the person's details as accounts holds
    them: {name, email, phone, address: {line1, line2, postal_code, city, …} or a string}
    (any other key, e.g. the rest of accounts' `get_account`, is ignored).
    The name becomes the pseudonym; contact details become "". With `name_words`, each word
    of the name too (for what people wrote: "Goodwill for Annika"), not for generated texts,
    where a customer called "Family" would lose a package's name. Strings shorter than
    MIN_ERASED characters, and an address's parts made of digits only (a postal code, a house
    number), are left alone: they would match unrelated text (a country code, an amount)."""
    if not personal:
        return []
    if not isinstance(personal, dict):
        raise errors.InvalidArgument(fields={"personal": ["must be an object"]})
    pairs: dict[str, str] = {}

    def add(value: Any, replacement: str, address: bool = False) -> None:
        if isinstance(value, str) and len(value.strip()) >= MIN_ERASED:
            if not (address and value.replace(" ", "").isdigit()):  # a postal code alone
                pairs.setdefault(value.strip().lower(), replacement)  # would hit amounts
        elif isinstance(value, dict):
            for part in value.values():
                add(part, replacement, address)
        elif isinstance(value, list | tuple):
            for part in value:
                add(part, replacement, address)

    add(personal.get("name"), pseudonym)
    if name_words and isinstance(personal.get("name"), str):  # "Dear Annika"
        add(personal["name"].split(), pseudonym)
    for key in CONTACT_KEYS:  # only these: an account's other fields (its id) are no secret
        add(personal.get(key), "", key == "address")
    return sorted(pairs.items(), key=lambda kv: -len(kv[0]))


def scrubber(pairs: list[tuple[str, str]]) -> Callable[[Any], Any]:
    """A function replacing the strings (case-insensitively) in a string or, recursively, in
    a JSON value's strings (a line's `text` params)."""
    if not pairs:
        return lambda value: value
    # whole words only: a city's name inside a longer word is another word
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(s) for s, _ in pairs) + r")(?!\w)",
                         re.IGNORECASE)
    lookup = dict(pairs)

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return pattern.sub(lambda m: lookup.get(m.group(0).lower(), ""), value)
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items()}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value
    return scrub


def _end_subscriptions(session: Session, customer_id: str, now: dt.datetime) -> int:
    ops = changes.Ops(session, now, None, None)
    ended = 0
    for sub in session.scalars(select(Subscription).where(
            Subscription.customer_id == customer_id,
            Subscription.status != lifecycle.CANCELLED).order_by(Subscription.id)):
        if sub.status == lifecycle.SUSPENDED and sub.billing_type == "prepaid":
            wallets.void_unpaid(session, sub, now)  # never delivered, never paid: no debt
        changes.finish(ops, sub, now, ENDED_REASON)
        changes.emit(ops, events.SUBSCRIPTION_CANCELLED, sub, ended_by=ENDED_BY)
        ended += 1
    return ended


def _remove_cards(session: Session, provider: PaymentProvider, customer_id: str,
                  pseudonym: str, now: dt.datetime) -> int:
    """Every card the customer saved, removed ones too: detached at the provider (which may
    be asked again safely), then its token and fingerprint cleared and its holder
    pseudonymised. Answers the cards changed."""
    changed = 0
    for pm in session.scalars(select(PaymentMethod).where(
            PaymentMethod.customer_id == customer_id).order_by(PaymentMethod.id)):
        if not pm.token and not pm.fingerprint and pm.holder == pseudonym \
                and pm.removed_at is not None and not pm.is_default:
            continue
        if pm.token:
            try:
                provider.detach(pm.token)
            except ProviderFailure:
                raise errors.ServiceUnavailable(
                    "The payment provider could not remove a card now. Try again.") from None
        pm.token, pm.fingerprint, pm.holder, pm.is_default = "", "", pseudonym, False
        pm.removed_at = pm.removed_at or now
        changed += 1
    return changed


def _autopay_off(session: Session, customer_id: str, now: dt.datetime) -> int:
    profile = session.get(BillingProfile, customer_id)
    if profile is None or (not profile.autopay_enabled and profile.autopay_method_id is None):
        return 0
    profile.autopay_enabled, profile.autopay_method_id, profile.updated_at = False, None, now
    return 1


def _scrub_rows(rows: Iterable, columns: tuple[str, ...], scrub,
                written: Callable[[Any], bool] = lambda row: True, scrub_written=None) -> int:
    """Rows whose columns changed; `scrub_written` (the name's words too) for the rows
    `written` by people (a reason), `scrub` for the others."""
    changed = 0
    for row in rows:
        touched = False
        use = scrub_written if scrub_written is not None and written(row) else scrub
        for column in columns:
            old = getattr(row, column)
            new = use(old)
            if new != old:
                setattr(row, column, new)
                touched = True
        changed += touched
    return changed


def _scrub_texts(session: Session, customer_id: str, scrub, scrub_written) -> dict[str, int]:
    """Generated texts lose the person's whole strings; what people wrote (reasons, and the
    lines and entries that quote a credit note's or an adjustment's reason) each word of the
    name too."""
    def mine(model):
        return session.scalars(select(model).where(model.customer_id == customer_id))

    invoice_ids = select(Invoice.id).where(Invoice.customer_id == customer_id)
    sub_ids = select(Subscription.id).where(Subscription.customer_id == customer_id)
    charges = list(mine(Charge))
    quoting = {c.id for c in charges if c.operation_key.startswith(CREDIT_NOTE_CHARGE)}
    return {
        "charges": _scrub_rows(charges, ("description", "text"), scrub,
                               lambda c: c.id in quoting, scrub_written),
        "invoice_lines": _scrub_rows(session.scalars(select(InvoiceLine).where(
            InvoiceLine.invoice_id.in_(invoice_ids))), ("description", "text"), scrub,
            lambda line: line.charge_id in quoting, scrub_written),
        "wallet_transactions": _scrub_rows(mine(WalletTransaction), ("description", "text"),
                                           scrub, lambda e: e.type == "adjustment",
                                           scrub_written),
        "credit_notes": _scrub_rows(mine(CreditNote), ("reason",), scrub_written),
        "subscriptions": _scrub_rows(mine(Subscription), ("cancel_reason",), scrub_written),
        "scheduled_changes": _scrub_rows(session.scalars(select(ScheduledChange).where(
            ScheduledChange.subscription_id.in_(sub_ids))), ("details",), scrub_written),
    }


def _scrub_kernel(session: Session, customer_id: str, scrub) -> dict[str, int]:
    """The copies in the kernel's tables: the events that name the customer (a card's holder,
    a cancellation's reason), published or not (a consumer has no use for the person's details
    once they are forgotten), and the stored answers of the customer's idempotent calls."""
    return {
        "outbox_messages": _scrub_rows(session.scalars(select(OutboxMessage).where(
            cast(OutboxMessage.payload, String).contains(customer_id, autoescape=True))),
            ("payload",), scrub),
        "idempotency_records": _scrub_rows(session.scalars(select(IdempotencyRecord).where(
            IdempotencyRecord.scope.contains(customer_id, autoescape=True))),
            ("response", "error"), scrub)}


def kept(session: Session, customer_id: str) -> dict[str, int]:
    """The records kept (pseudonymous) because the law makes operators keep them."""
    def count(model, *where):
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    return {"invoices": count(Invoice, Invoice.customer_id == customer_id,
                              Invoice.number.is_not(None)),
            "credit_notes": count(CreditNote, CreditNote.customer_id == customer_id),
            "charges": count(Charge, Charge.customer_id == customer_id),
            "payments": count(Payment, Payment.customer_id == customer_id),
            "wallet_transactions": count(WalletTransaction,
                                         WalletTransaction.customer_id == customer_id)}


def forget(session: Session, provider: PaymentProvider, customer_id: str, pseudonym: Any,
           personal: Any, now: dt.datetime) -> dict:
    """Forget the person (see the module's docstring); flushes, the entrypoint commits.
    Answers {"service", "forgotten": {kind: rows changed by this call}, "kept": {table: rows}}."""
    if not isinstance(customer_id, str) or not customer_id:
        raise errors.InvalidArgument(fields={"customer_id": ["must be a customer id"]})
    pseudonym = common_privacy.pseudonym(pseudonym)
    pairs = replacements(personal, pseudonym)
    scrub, scrub_written = scrubber(pairs), scrubber(replacements(personal, pseudonym, True))
    common_privacy.lock_customer(session, SERVICE, customer_id)
    forgotten = {"subscriptions_ended": _end_subscriptions(session, customer_id, now),
                 "payment_methods": _remove_cards(session, provider, customer_id, pseudonym,
                                                  now),
                 "autopay": _autopay_off(session, customer_id, now)}
    session.flush()
    # the kernel's copies are events and answers: any of them may quote a reason
    texts = ({**_scrub_texts(session, customer_id, scrub, scrub_written),
              **_scrub_kernel(session, customer_id, scrub_written)} if pairs else
             dict.fromkeys(TEXT_TABLES, 0))
    forgotten.update({f"texts.{table}": n for table, n in texts.items()})
    if any(forgotten.values()):  # the news, once: a repeat changes nothing
        outbox.emit(session, events.CUSTOMER_FORGOTTEN, "customer",
                    {"id": customer_id, "pseudonym": pseudonym}, now)
    session.flush()
    return {"service": SERVICE, "forgotten": forgotten, "kept": kept(session, customer_id)}
