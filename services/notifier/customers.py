"""Customer notifications: an event becomes a notification in the portal inbox and an e-mail,
each once, by the customer's language and preferences; the inbox and the preferences.

`notify()` renders the event's template (templates.py) for the customer's language and, per
channel the customer keeps on for the topic, adds the inbox row (`dedup_key` unique:
`<event id>:<event type>`) and/or enqueues the e-mail delivery (`…:email`, unique too), in one
transaction. An event delivered twice finds both keys taken and adds nothing.

Who the customer is (e-mail address, language) comes from `contacts`, notifier's copy of
accounts' facts, kept current by accounts' events: a notification costs no RPC (`contact()`
asks accounts once for a customer the copy does not know yet).

Whatever changes a customer's unread count (a new inbox row, a read) emits `inbox_changed`
`{"inbox": {"customer_ids": [...], "change": "created" | "read"}}` in the same transaction: the
gateways evict their cached dashboard part with it.

The functions here flush, never commit: the entrypoint (service.py) ends each unit of work.
"""

from __future__ import annotations

import datetime as dt

from marshmallow import post_load
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import errors, outbox, pages
from services.common.clock import isoformat
from services.common.contract.notifier import PreferencesIn
from services.common.db import Prepared
from services.common.ids import new_id
from services.common.schemas import load_or_raise
from services.notifier import deliveries, events, exceptions, templates
from services.notifier.models import Contact, Notification, Preference

CHANNELS = ("portal", "email")
# the `version` of a forgotten customer's emptied contact row (privacy.py): after every
# accounts `updated_at` ("2026-…"), so no accounts event overwrites it
FORGOTTEN = "~forgotten"


def inbox_changed(session: Session, customer_ids: list[str], change: str,
                  now: dt.datetime) -> None:
    """Record that these customers' inboxes changed (in the caller's transaction)."""
    if customer_ids:
        outbox.emit(session, events.INBOX_CHANGED, "inbox",
                    {"customer_ids": list(customer_ids), "change": change}, now)


_CONTACT = Prepared(lambda insert: select(
    Contact.email, Contact.language, Contact.version).where(
    Contact.customer_id == bindparam("customer_id")))
_REMEMBER = Prepared(lambda insert: (
    lambda stmt: stmt.on_conflict_do_update(
        index_elements=[Contact.customer_id],
        set_={"email": stmt.excluded.email, "language": stmt.excluded.language,
              "version": stmt.excluded.version},
        where=Contact.version <= stmt.excluded.version))(insert(Contact)))


def remember(session: Session, account: dict) -> None:
    """Keep the copy of a customer's contact facts from accounts' event or answer `account`
    (the caller commits). An older version than the stored one changes nothing."""
    _REMEMBER.run(session, customer_id=account["id"], email=account["email"],
                  language=account.get("language") or "en",
                  version=account.get("updated_at") or "")


def contact(session: Session, accounts, customer_id: str) -> dict:
    """`{id, email, language}` of a customer: the copy, or accounts' answer (then kept).
    NotFound for a customer the notifier was told to forget (privacy.py): nothing more is
    written about them."""
    row = _CONTACT.run(session, customer_id=customer_id).first()
    if row is not None:
        if row.version == FORGOTTEN:
            raise errors.NotFound("This customer was forgotten.")
        return {"id": customer_id, "email": row.email, "language": row.language}
    account = accounts.get_account(customer_id)
    remember(session, account)
    return account


def enabled(session: Session, customer_id: str, topic: str) -> set[str]:
    """The channels the customer keeps on for `topic` (locked topics always reach the inbox)."""
    stored = dict(session.execute(select(Preference.channel, Preference.enabled).where(
        Preference.customer_id == customer_id, Preference.topic == topic)).all())
    on = {c for c in CHANNELS if stored.get(c, (topic, c) not in templates.DEFAULT_OFF)}
    if templates.TOPICS.get(topic, {}).get("locked"):
        on.add("portal")
    return on


def notify(session: Session, account: dict, event_type: str, event_id: str, entity: dict,
           now: dt.datetime, priority: int = 0) -> dict:
    """The notification of one event for one customer (the caller commits). Returns the
    inbox id and the e-mail delivery id made now (None: not wanted, or made before)."""
    rendered = templates.render(event_type, entity, account.get("language"))
    if rendered is None:
        return {"notification": None, "delivery": None}
    topic, title, body = rendered
    channels = ({"email"} if event_type in templates.EMAIL_ONLY
                else enabled(session, account["id"], topic))
    key = f"{event_id}:{event_type}"[:200]
    made = {"notification": None, "delivery": None}
    if "portal" in channels:
        try:
            with session.begin_nested():
                note = Notification(id=new_id("ntf"), customer_id=account["id"], topic=topic,
                                    title=title[:200], body=body, dedup_key=key,
                                    data={"event": event_type}, created_at=now)
                session.add(note)
            made["notification"] = note.id
            inbox_changed(session, [account["id"]], "created", now)
        except IntegrityError:
            pass  # this event was notified before
    if "email" in channels and account.get("email"):
        made["delivery"] = deliveries.enqueue(
            session, kind="customer", channel="email", target=account["email"],
            subject=title, body=body, dedup_key=f"{key}:email", now=now, priority=priority,
            customer_id=account["id"])
    return made


def dump(note: Notification) -> dict:
    return {"id": note.id, "topic": note.topic, "title": note.title, "body": note.body,
            "read_at": isoformat(note.read_at), "created_at": isoformat(note.created_at)}


INBOX_ORDER = pages.Order((Notification.created_at, Notification.id))  # newest first


def inbox(session: Session, customer_id: str, limit=pages.DEFAULT_LIMIT, cursor=None,
          unread_only: bool = False) -> dict:
    """A page of the customer's notifications, newest first, with their `unread_count`."""
    query = select(Notification).where(Notification.customer_id == customer_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return {**pages.keyset(session, query, INBOX_ORDER, limit, cursor, dump=dump),
            "unread_count": unread_count(session, customer_id)}


def unread_count(session: Session, customer_id: str) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.customer_id == customer_id, Notification.read_at.is_(None))) or 0


def mark_read(session: Session, customer_id: str, notification_id: str,
              now: dt.datetime) -> dict:
    note = session.get(Notification, notification_id) if isinstance(notification_id, str) \
        else None
    if note is None or note.customer_id != customer_id:
        raise errors.NotFound("No such notification.", code=exceptions.NOTIFICATION_NOT_FOUND)
    if note.read_at is None:
        note.read_at = now
        inbox_changed(session, [customer_id], "read", now)
    session.flush()
    return {**dump(note), "unread_count": unread_count(session, customer_id)}


def mark_all_read(session: Session, customer_id: str, now: dt.datetime) -> dict:
    read = session.execute(update(Notification).where(Notification.customer_id == customer_id,
                                                      Notification.read_at.is_(None))
                           .values(read_at=now).execution_options(synchronize_session=False))
    if read.rowcount:
        inbox_changed(session, [customer_id], "read", now)
    session.flush()
    return {"unread_count": 0}


class PreferencesSchema(PreferencesIn):
    """The API's preferences (either shape of each item, `PreferenceIn`), loaded as a flat
    list of `{topic, channel, enabled}`."""

    @post_load
    def _flat(self, data, **kwargs):
        return {"preferences": [
            {"topic": item["topic"], "channel": channel, "enabled": enabled}
            for item in data["preferences"]
            for channel, enabled in ([(item["channel"], item["enabled"])] if "channel" in item
                                     else [(c, item[c]) for c in CHANNELS if c in item])]}


def preferences(session: Session, customer_id: str) -> dict:
    return {"preferences": [
        {"topic": topic, "label": meta["label"], "locked": meta["locked"],
         **{channel: channel in enabled(session, customer_id, topic) for channel in CHANNELS}}
        for topic, meta in templates.TOPICS.items()]}


def set_preferences(session: Session, customer_id: str, request: dict,
                    now: dt.datetime) -> dict:
    """Opt in or out per topic and channel: `{"preferences": [...]}`, each item
    `{topic, channel, enabled}` or a topic as `preferences()` returns it (see
    `PreferenceIn`). The inbox of a locked topic (account security, service notices) cannot
    be turned off: 409 PREFERENCE_LOCKED, nothing changed. Flushed; the caller commits."""
    values = load_or_raise(PreferencesSchema(), request)["preferences"]
    for item in values:
        if templates.TOPICS[item["topic"]]["locked"] and item["channel"] == "portal" \
                and not item["enabled"]:
            raise errors.Conflict(f"Notices about {item['topic']} always reach your inbox.",
                                  code=exceptions.PREFERENCE_LOCKED)
    for item in values:
        key = (customer_id, item["topic"], item["channel"])
        row = session.get(Preference, key)
        if row is None:
            try:
                with session.begin_nested():
                    session.add(Preference(customer_id=customer_id, topic=item["topic"],
                                           channel=item["channel"], enabled=item["enabled"],
                                           updated_at=now))
                continue
            except IntegrityError:  # the same preference set concurrently: the later wins
                row = session.get(Preference, key)
        row.enabled, row.updated_at = item["enabled"], now
    session.flush()
    return preferences(session, customer_id)
