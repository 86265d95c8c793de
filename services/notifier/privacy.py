"""A customer's data in the notifier, for the GDPR (issue #18): what it holds about them
(`export`) and erasing it (`forget`). accounts' erasure saga asks every service in turn.

What the notifier holds about a customer:
- `contacts`: its copy of their e-mail address and language;
- `preferences`: their opt-ins per topic and channel;
- `consents`: their consent to promotions, with when and how;
- `notifications`: their portal inbox;
- `deliveries` of kind `customer`: the e-mails sent to them (address, subject, body, status);
- `alerts` about their tickets (a team's page carries the ticket's subject and the start of
  its description, `fields.customer_id` names them) and those alerts' deliveries to the team's
  channels (webhook, e-mail, bus). These are ops' records, so they are not exported (the
  tickets service exports the tickets themselves), but they are erased.
It keeps no push or webhook target of a customer: team channels are the teams'.

Forgetting, one transaction (the entrypoint commits; these functions flush):
- preferences, consents and the inbox are deleted;
- the contact row keeps no contact data: its e-mail is emptied and its `version` becomes
  `FORGOTTEN`, which sorts after every accounts `updated_at`, so a late or redelivered
  `customer_registered` / `customer_updated` cannot bring the copy back (customers.remember
  only overwrites an older version), and `customers.contact` treats the customer as unknown
  (their later events are dropped, never asked of accounts again);
- customer deliveries are kept, because ops count them (per status, channel and day, in
  `/ops/deliveries` and the delivery metrics) and a deleted row would make a redelivered
  event enqueue the e-mail again under its dedup key; their recipient address, subject, body,
  payload and last error are replaced by `ERASED`, and one not sent yet is `dead` (it has no
  recipient any more; `deliveries.retry` refuses it). A delivery an instance is sending at
  that very moment may still go out: it was read before the erasure;
- alerts about their tickets keep team, severity, dedup key and the ticket's number and ids,
  with title and text erased; so are those alerts' deliveries' subject, body and payload.
Idempotent: whatever is erased no longer matches (deleted rows, the `ERASED` marker), so a
second call changes nothing and answers zeros in the same shape. Two concurrent calls for one
customer are serialised by a transaction-scoped advisory lock (PostgreSQL; SQLite writes one
at a time): the second waits and finds nothing left, so `customer_forgotten` is emitted once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.common import outbox
from services.common.clock import isoformat
from services.common.privacy import changed, check, lock_customer
from services.notifier import consents, customers, events
from services.notifier.deliveries import ERASED
from services.notifier.models import (
    Alert,
    Consent,
    Contact,
    Delivery,
    Notification,
    Preference,
)

FORGOTTEN = customers.FORGOTTEN
KINDS = ("contacts", "preferences", "consents", "notifications", "deliveries", "alerts")


def _about(customer_id: str):
    """Alerts about the customer's tickets (the tickets service puts `customer_id` in their
    fields)."""
    return Alert.fields["customer_id"].as_string() == customer_id


def export(session: Session, customer_id: str) -> dict:
    """Everything the notifier holds about the customer, JSON-ready (times ISO 8601 UTC)."""
    check(customer_id)
    contact = session.get(Contact, customer_id)
    contacts = [] if contact is None or contact.version == FORGOTTEN else [
        {"customer_id": contact.customer_id, "email": contact.email,
         "language": contact.language}]
    prefs = [{"topic": p.topic, "channel": p.channel, "enabled": bool(p.enabled),
              "updated_at": isoformat(p.updated_at)}
             for p in session.scalars(select(Preference).where(
                 Preference.customer_id == customer_id)
                 .order_by(Preference.topic, Preference.channel))]
    inbox = [customers.dump(n) for n in session.scalars(
        select(Notification).where(Notification.customer_id == customer_id)
        .order_by(Notification.created_at, Notification.id))]
    sent = [{"id": d.id, "channel": d.channel, "target": d.target, "subject": d.subject,
             "body": d.body, "status": d.status, "attempts": d.attempts or 0,
             "created_at": isoformat(d.created_at), "sent_at": isoformat(d.sent_at)}
            for d in session.scalars(select(Delivery).where(
                Delivery.customer_id == customer_id, Delivery.kind == "customer")
                .order_by(Delivery.created_at, Delivery.id))]
    agreed = [consents.dump(c.purpose, c) for c in session.scalars(
        select(Consent).where(Consent.customer_id == customer_id).order_by(Consent.purpose))]
    return {"service": "notifier", "data": {
        "contacts": contacts, "preferences": prefs, "consents": agreed,
        "notifications": inbox, "deliveries": sent}}


def forget(session: Session, customer_id: str, pseudonym: str, now: dt.datetime) -> dict:
    """Erase the customer's data (see the module's docstring); flushed, the caller commits.
    `{"service": "notifier", "forgotten": {kind: rows changed}}`; `customer_forgotten` is
    emitted when anything was."""
    check(customer_id, pseudonym, need_pseudonym=True)
    lock_customer(session, "notifier", customer_id)
    counts = dict.fromkeys(KINDS, 0)

    def run(statement) -> int:
        return changed(session, statement)

    counts["preferences"] = run(delete(Preference).where(Preference.customer_id == customer_id))
    counts["consents"] = run(delete(Consent).where(Consent.customer_id == customer_id))
    unread = session.scalar(select(Notification.id).where(
        Notification.customer_id == customer_id, Notification.read_at.is_(None)).limit(1))
    counts["notifications"] = run(delete(Notification).where(
        Notification.customer_id == customer_id))
    if unread is not None:  # their unread count moved: the gateways' cached part goes
        customers.inbox_changed(session, [customer_id], "read", now)
    version = session.scalar(select(Contact.version).where(
        Contact.customer_id == customer_id))
    counts["contacts"] = int(version is not None and version != FORGOTTEN)
    # the row stays, emptied, as a tombstone: an older accounts event cannot add the copy again
    customers.remember(session, {"id": customer_id, "email": "", "language": "en",
                                 "updated_at": FORGOTTEN})
    session.flush()
    erased = {"target": ERASED, "subject": ERASED, "body": ERASED, "payload": {},
              "last_error": None}
    mine = (Delivery.customer_id == customer_id, Delivery.kind == "customer",
            Delivery.target != ERASED)
    unsent = run(update(Delivery).where(*mine, Delivery.status == "pending")
                 .values(status="dead", **erased))
    counts["deliveries"] = unsent + run(update(Delivery).where(*mine).values(**erased))
    alerts = session.execute(select(Alert.id, Alert.dedup_key, Alert.fields).where(
        _about(customer_id), Alert.text != ERASED)).all()
    for alert_id, dedup_key, fields in alerts:
        number = (fields or {}).get("number")
        run(update(Alert).where(Alert.id == alert_id).values(
            title=f"#{number} {ERASED}" if number is not None else ERASED, text=ERASED))
        run(update(Delivery).where(Delivery.kind == "alert",
                                   Delivery.dedup_key.startswith(f"{dedup_key}:",
                                                                 autoescape=True))
            .values(subject=ERASED, body=ERASED, payload={}))
    counts["alerts"] = len(alerts)
    if any(counts.values()):
        outbox.emit(session, events.CUSTOMER_FORGOTTEN, "customer",
                    {"id": customer_id, "pseudonym": pseudonym, "forgotten": counts}, now)
    session.flush()
    return {"service": "notifier", "forgotten": counts}
