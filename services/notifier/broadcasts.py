"""Broadcasts: a promotion or a maintenance notice to all customers or a segment (billing type,
tax region, package), now or at `send_at`.

A broadcast is sent in pages of `PAGE` customers (accounts answers them in id order); each page
commits its inbox rows, its e-mail deliveries and the broadcast's cursor together, so a page is
done once even if the process dies in between (the unique keys `broadcast:<id>:<customer>`
stop a repeat). E-mails of broadcasts have priority 1: the sender takes every priority-0
delivery (a failed payment, an alert) first, so a large broadcast never delays them.
Promotions respect each customer's preferences (e-mail is opt-in); service notices reach every
customer's inbox and e-mail.

The functions here flush; the entrypoints (service.py) commit: a created broadcast, and each
page (one transaction per page, sequenced by the timer).
"""

from __future__ import annotations

import datetime as dt

from marshmallow import post_load
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from services.common import errors, pages
from services.common.clock import isoformat
from services.common.contract.notifier import BroadcastIn
from services.common.ids import new_id
from services.common.schemas import load_or_raise
from services.notifier import consents, customers, deliveries, exceptions, templates
from services.notifier.models import Broadcast, Notification, Preference

PAGE = 500
TOPIC = {"promotion": "promotions", "maintenance": "maintenance"}


class BroadcastSchema(BroadcastIn):
    """The API's broadcast with the notifier's defaults: everyone (no segment), now."""

    @post_load
    def _defaults(self, data, **kwargs):
        return {"segment": {}, "send_at": None, **data}


def dump(b: Broadcast) -> dict:
    return {"id": b.id, "kind": b.kind, "title": b.title, "body": b.body, "segment": b.segment,
            "send_at": isoformat(b.send_at), "status": b.status, "recipients": b.total,
            "created_by": b.created_by, "created_at": isoformat(b.created_at),
            "finished_at": isoformat(b.finished_at)}


def create(session: Session, request: dict, actor: str, now: dt.datetime) -> dict:
    values = load_or_raise(BroadcastSchema(), request)
    send_at = values["send_at"] or now
    broadcast = Broadcast(id=new_id("brd"), kind=values["kind"], title=values["title"],
                          body=values["body"], segment=values["segment"], send_at=send_at,
                          status="scheduled", cursor=None, total=0, created_by=actor,
                          created_at=now)
    session.add(broadcast)
    session.flush()
    return dump(broadcast)


PAGE_ORDER = pages.Order((Broadcast.created_at, Broadcast.id))  # newest first


def page(session: Session, limit=pages.DEFAULT_LIMIT, cursor=None) -> dict:
    return pages.keyset(session, select(Broadcast), PAGE_ORDER, limit, cursor, dump=dump)


def due(session: Session, now: dt.datetime) -> list[str]:
    return list(session.scalars(select(Broadcast.id).where(
        Broadcast.status.in_(("scheduled", "sending")), Broadcast.send_at <= now)
        .order_by(Broadcast.send_at)))


def _wanted(session: Session, ids: list[str], topic: str) -> dict[str, set[str]]:
    """Per customer of the page, the channels this broadcast goes to."""
    if templates.TOPICS[topic]["locked"]:
        return {cid: {"portal", "email"} for cid in ids}
    stored: dict[tuple[str, str], bool] = {
        (p.customer_id, p.channel): p.enabled for p in session.scalars(
            select(Preference).where(Preference.customer_id.in_(ids),
                                     Preference.topic == topic))}
    return {cid: {c for c in ("portal", "email")
                  if stored.get((cid, c), (topic, c) not in templates.DEFAULT_OFF)}
            for cid in ids}


def send_page(session: Session, accounts, billing, broadcast_id: str, now: dt.datetime) -> bool:
    """Send the next page of one broadcast, flushed for the caller to commit (one transaction
    per page). True when it is finished."""
    query = select(Broadcast).where(Broadcast.id == broadcast_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    broadcast = session.scalar(query)
    if broadcast is None or broadcast.status == "done":
        return broadcast is not None
    segment = broadcast.segment or {}
    answer = accounts.recipients(broadcast.cursor, PAGE, segment.get("billing_type"),
                                 segment.get("tax_region"))
    people = answer["data"]
    if segment.get("package") and people:
        keep = set(billing.customers_with_package([p["id"] for p in people],
                                                  segment["package"]))
        chosen = [p for p in people if p["id"] in keep]
    else:
        chosen = people
    if broadcast.kind == "promotion":  # only to those who agreed to promotions
        agreed = consents.consented(session, [p["id"] for p in chosen], "promotions")
        chosen = [p for p in chosen if p["id"] in agreed]
    topic = TOPIC[broadcast.kind]
    wanted = _wanted(session, [p["id"] for p in chosen], topic)
    inbox = [{"id": new_id("ntf"), "customer_id": p["id"], "topic": topic,
              "title": broadcast.title, "body": broadcast.body,
              "data": {"broadcast": broadcast.id}, "created_at": now, "read_at": None,
              "dedup_key": f"broadcast:{broadcast.id}:{p['id']}"}
             for p in chosen if "portal" in wanted[p["id"]]]
    if inbox:  # one statement for the page; a page done before adds nothing (unique keys)
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" \
            else sqlite.insert
        session.execute(insert(Notification).on_conflict_do_nothing(
            index_elements=["dedup_key"]), inbox)
        customers.inbox_changed(session, [row["customer_id"] for row in inbox], "created", now)
    deliveries.enqueue_many(session, [
        {"kind": "broadcast", "channel": "email", "target": p["email"],
         "subject": broadcast.title, "body": broadcast.body, "priority": 1,
         "customer_id": p["id"], "dedup_key": f"broadcast:{broadcast.id}:{p['id']}:email"}
        for p in chosen if "email" in wanted[p["id"]] and p.get("email")], now)
    broadcast.total += len(chosen)
    broadcast.cursor = answer["next"] or broadcast.cursor
    broadcast.status = "sending"
    finished = answer["next"] is None
    if finished:
        broadcast.status, broadcast.finished_at = "done", now
    session.flush()
    return finished


def get(session: Session, broadcast_id: str) -> dict:
    broadcast = session.get(Broadcast, broadcast_id) if isinstance(broadcast_id, str) else None
    if broadcast is None:
        raise errors.NotFound("No such broadcast.", code=exceptions.BROADCAST_NOT_FOUND)
    return dump(broadcast)
