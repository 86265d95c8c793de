"""Team alert channels and alerts.

A team has channels of three types: `webhook` (a signed JSON POST with a Slack-compatible
`text` and the structured alert; its signing secret is generated here and shown once),
`email`, and `bus` (the `alerts` topic exchange, routing key `<team>.<severity>`; tail it with
`python -m services.notifier.tail_alerts --team <team>`).

`raise_alert` records the alert under its dedup key (unique: one incident or ticket state pages
once, however often it is raised) and enqueues one delivery per active channel of the team, in
the caller's transaction; the delivery engine (`deliveries.py`) sends, retries and
dead-letters them.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets

from marshmallow import ValidationError, fields, validate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import errors, pages
from services.common.clock import isoformat
from services.common.contract.notifier import ChannelIn
from services.common.db import is_unique_violation
from services.common.ids import new_id
from services.common.schemas import StrictSchema, Text, load_or_raise
from services.notifier import deliveries, exceptions
from services.notifier.models import Alert, TeamChannel
from services.notifier.senders import redact_url
from services.notifier.targets import TargetRefused, WebhookTargets

SEVERITIES = ("critical", "warning", "info")
MAX_FIELDS = 50

# A team is one word of a routing key `<team>.<severity>`: no dots, no AMQP wildcards.
TEAM = validate.Regexp(r"^[^.*#\s]{1,64}$",
                       error="Must be 1 to 64 characters without spaces, '.', '*' or '#'.")


class ChannelSchema(ChannelIn):
    """A channel as the API takes it, for a team (`<team>.<severity>` routing keys)."""

    team = fields.String(required=True, validate=TEAM)


def _scalar(value) -> None:
    if not isinstance(value, str | int | float | bool | type(None)):
        raise ValidationError("Values must be text, numbers, true/false or null.")
    if isinstance(value, str) and len(value) > 1000:
        raise ValidationError("Longer than 1000 characters.")


class AlertSchema(StrictSchema):
    team = fields.String(required=True, validate=TEAM)
    severity = fields.String(required=True, validate=validate.OneOf(SEVERITIES))
    title = Text(300, required=True, min_length=1)
    text = Text(4000, load_default="")
    # `fields` is taken by marshmallow's Schema itself
    alert_fields = fields.Dict(data_key="fields",
                               keys=fields.String(validate=validate.Length(min=1, max=64)),
                               values=fields.Raw(allow_none=True, validate=_scalar),
                               validate=validate.Length(max=MAX_FIELDS), load_default=dict)
    # the deliveries' keys are f"{dedup_key}:{channel id}" in a 300-character column
    dedup_key = Text(250, required=True, min_length=1)


# channels -----------------------------------------------------------------------------------

def dump_channel(channel: TeamChannel) -> dict:
    """A channel as listed: never its secret, nor a webhook URL's path (its credential)."""
    return {"id": channel.id, "team": channel.team, "type": channel.type,
            "url": redact_url(channel.url), "address": channel.address,
            "active": bool(channel.active), "created_at": isoformat(channel.created_at)}


def create_channel(session: Session, team: str, request: dict, now: dt.datetime,
                   targets: WebhookTargets | None = None) -> dict:
    """Add a channel to `team`. `request`: `{"type": "webhook", "url": <http(s) URL, at most
    500 characters>}`, `{"type": "email", "address": …}` or `{"type": "bus"}`.

    A webhook URL must lead to a public address, or one `targets` allows (the configured
    `WEBHOOK_ALLOWED_HOSTS`; None: public only): its literal address, or what its host name
    resolves to now (every send checks again, see `targets.py`).

    Flushed; the caller commits. Returns the channel; a webhook's answer also has its full
    `url` and its signing `secret` (shown this once: receivers check `X-Portal-Signature` with
    it). InvalidArgument with `fields` for a bad request (`url` for a target that is not
    allowed)."""
    if not isinstance(request, dict):
        raise errors.InvalidArgument(fields={"_schema": ["Must be an object."]})
    values = load_or_raise(ChannelSchema(), {**request, "team": team})
    if values["type"] == "webhook":
        try:
            (targets or WebhookTargets()).check_url(values["url"])
        except TargetRefused as refused:
            raise errors.InvalidArgument(fields={"url": [f"Not allowed: {refused}."]}) \
                from None
    channel = TeamChannel(id=new_id("chn"), team=values["team"], type=values["type"],
                          url=values.get("url"), address=values.get("address"),
                          secret=("whsec_" + secrets.token_urlsafe(32))
                          if values["type"] == "webhook" else None,
                          active=True, created_at=now)
    session.add(channel)
    session.flush()
    answer = dump_channel(channel)
    if channel.type == "webhook":
        answer.update(url=channel.url, secret=channel.secret)
    return answer


def list_channels(session: Session, team: str | None = None) -> dict:
    """Active channels (of `team`, or all), by team then age, whole: a team has a handful."""
    query = select(TeamChannel).where(TeamChannel.active.is_(True))
    if team is not None:
        query = query.where(TeamChannel.team == team)
    rows = session.scalars(query.order_by(TeamChannel.team, TeamChannel.created_at,
                                          TeamChannel.id)).all()
    return pages.whole([dump_channel(c) for c in rows])


def delete_channel(session: Session, channel_id: str) -> dict:
    """Deactivate a channel (kept for the deliveries that name it), flushed for the caller to
    commit; the channel. NotFound (CHANNEL_NOT_FOUND) if there is none."""
    channel = session.get(TeamChannel, channel_id) if isinstance(channel_id, str) else None
    if channel is None:
        raise errors.NotFound("No such channel.", code=exceptions.CHANNEL_NOT_FOUND)
    channel.active = False
    session.flush()
    return dump_channel(channel)


# alerts -------------------------------------------------------------------------------------

def dump_alert(alert: Alert) -> dict:
    return {"id": alert.id, "team": alert.team, "severity": alert.severity,
            "title": alert.title, "text": alert.text, "fields": dict(alert.fields or {}),
            "dedup_key": alert.dedup_key, "created_at": isoformat(alert.created_at)}


def _slack_escape(text: str) -> str:
    """Slack's mrkdwn treats `&`, `<`, `>` as control characters: escape them."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_payload(alert: dict) -> dict:
    """The JSON of a webhook or bus alert: a Slack-compatible `text` and the alert itself."""
    line = f"[{alert['severity'].upper()}] {alert['title']}"
    if alert["text"]:
        line += f": {alert['text']}"
    return {"text": _slack_escape(line), "alert": alert}


def email_content(alert: dict) -> tuple[str, str]:
    """Subject `[<severity>] <title>` and a text body with the alert's fields."""
    subject = " ".join(f"[{alert['severity']}] {alert['title']}".split())[:300]
    lines = [alert["title"], ""]
    if alert["text"]:
        lines += [alert["text"], ""]
    for name, value in alert["fields"].items():
        lines.append(f"{name}: {value if isinstance(value, str) else json.dumps(value)}")
    lines += ["", f"Team: {alert['team']}", f"Severity: {alert['severity']}",
              f"Raised: {alert['created_at']}", f"Alert: {alert['id']}",
              f"Dedup key: {alert['dedup_key']}"]
    return subject, "\n".join(lines).strip("\n") + "\n"


def raise_alert(session: Session, team: str, severity: str, title: str, text: str,
                fields: dict | None, dedup_key: str, now: dt.datetime) -> dict:
    """Record an alert and enqueue a delivery to each active channel of `team`, in the caller's
    transaction (the caller commits).

    `severity`: critical | warning | info. A `dedup_key` seen before (committed, or waited for
    on PostgreSQL) adds nothing: the existing alert comes back with `"duplicate": true`.
    Returns `{"alert", "deliveries": [delivery ids], "duplicate"}`; InvalidArgument with
    `fields` for bad arguments."""
    values = load_or_raise(AlertSchema(), {
        "team": team, "severity": severity, "title": title, "text": text or "",
        "fields": fields if fields is not None else {}, "dedup_key": dedup_key})
    alert = Alert(id=new_id("alr"), team=values["team"], severity=values["severity"],
                  title=values["title"], text=values["text"], fields=values["alert_fields"],
                  dedup_key=values["dedup_key"], created_at=now)
    try:
        with session.begin_nested():
            session.add(alert)
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        existing = session.scalar(select(Alert).where(Alert.dedup_key == values["dedup_key"]))
        return {"alert": dump_alert(existing), "deliveries": [], "duplicate": True}
    data = dump_alert(alert)
    channels = session.scalars(
        select(TeamChannel).where(TeamChannel.team == alert.team, TeamChannel.active.is_(True))
        .order_by(TeamChannel.created_at, TeamChannel.id)).all()
    payload = webhook_payload(data)
    subject, body = email_content(data)
    ids = []
    for channel in channels:
        common = {"kind": "alert", "dedup_key": f"{alert.dedup_key}:{channel.id}", "now": now,
                  "priority": 0, "channel_id": channel.id}
        if channel.type == "webhook":
            delivery_id = deliveries.enqueue(session, channel="webhook", target=channel.url,
                                             payload=payload, secret=channel.secret,
                                             subject=subject, **common)
        elif channel.type == "email":
            delivery_id = deliveries.enqueue(session, channel="email", target=channel.address,
                                             subject=subject, body=body, **common)
        else:
            delivery_id = deliveries.enqueue(session, channel="bus",
                                             target=f"{alert.team}.{alert.severity}",
                                             payload=payload, subject=subject, **common)
        if delivery_id:
            ids.append(delivery_id)
    return {"alert": data, "deliveries": ids, "duplicate": False}
