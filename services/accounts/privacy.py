"""A customer's privacy rights: their data, downloaded; their account, deleted (GDPR art. 15,
17 and 20). accounts orchestrates both across every service that holds customer data; each of
those answers `export_customer(customer_id)` and `forget_customer(customer_id, pseudonym,
personal)` (their own privacy.py modules).

**Download my data.** A request makes a `pending` export and emits `data_export_requested`;
accounts' own handler of that event builds it (no transaction open while it asks the services):
the account's part (profile, sign-ins, second factors, its audit entries) and every service's
export as JSON, with the invoices' and receipts' PDFs, in one zip. The archive is kept for
`EXPORT_TTL`, downloadable by that customer only, then deleted; `data_export_ready` tells them.
A service that does not answer fails the handler: the event is delivered again later, so the
export is built once they all answer. At most `EXPORTS_PER_DAY` a day.

**Delete my account.** Asked with a recent sign-in; refused while billing reports money owed or
left (`deletion_blockers`: the customer is told why and whom to contact). It is carried out
after the cooling-off (ACCOUNT_DELETION_COOLING_OFF_DAYS, default 14) and can be cancelled
until then. Then a saga of steps, each committed as done, so a crash or an unreachable service
resumes at the next step (each service's forget is idempotent too):
  check (blockers again; `blocked` if any, retried daily) → lock_out (sessions, links, second
  factors and the password gone: nobody signs in) → notifier (first: later events about the
  customer are dropped there) → billing (subscriptions ended, cards removed at the provider;
  invoices and ledger kept under the pseudonym) → vouchers → tickets → insights → accounts
  (the account row pseudonymised, its throttles, exports and published events deleted).
The audit trail is append-only and keeps ids, not contact details.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass

from sqlalchemy import String, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session

from services.accounts import audit, events
from services.accounts.customers import get, normalize_email
from services.accounts.exceptions import (
    ACCOUNT_DELETION_BLOCKED,
    DATA_EXPORT_NOT_FOUND,
    DELETION_NOT_FOUND,
    STAFF_ACCOUNT,
)
from services.accounts.models import (
    AuditEntry,
    AuthSession,
    Challenge,
    DataExport,
    DeletionRequest,
    Membership,
    Passkey,
    PortalLink,
    RecoveryCode,
    ThrottleCounter,
    TotpFactor,
)
from services.accounts.schemas import dump_account
from services.common import errors, outbox, permissions
from services.common.clock import isoformat
from services.common.ids import new_id
from services.common.kernel_tables import OutboxMessage

EXPORT_TTL = dt.timedelta(days=7)
EXPORTS_PER_DAY = 3
COOLING_OFF = dt.timedelta(days=14)  # ACCOUNT_DELETION_COOLING_OFF_DAYS
CLAIM = dt.timedelta(minutes=5)  # a running deletion another instance may take over after
BLOCKED_RETRY = dt.timedelta(days=1)
# the services that hold customer data, in the order they forget (the notifier first: events
# the others emit while forgetting are then dropped there, no mail goes to a deleted person)
SERVICES = ("notifier", "billing", "vouchers", "tickets", "insights")
STEPS = ("check", "lock_out", *SERVICES, "accounts")


# download my data --------------------------------------------------------------------------

def dump_export(export: DataExport) -> dict:
    return {"id": export.id, "status": export.status,
            "requested_at": isoformat(export.requested_at),
            "ready_at": isoformat(export.ready_at), "expires_at": isoformat(export.expires_at),
            "size": export.size}


def request_export(session: Session, customer_id: str, now: dt.datetime) -> dict:
    """A new export (one pending at a time: asking again answers it); EXPORTS_PER_DAY a day."""
    get(session, customer_id)
    pending = session.scalar(select(DataExport).where(
        DataExport.customer_id == customer_id, DataExport.status == "pending"))
    if pending is not None:
        return dump_export(pending)
    today = session.scalar(select(func.count()).select_from(DataExport).where(
        DataExport.customer_id == customer_id,
        DataExport.requested_at > now - dt.timedelta(days=1))) or 0
    if today >= EXPORTS_PER_DAY:
        raise errors.rate_limited(24 * 3600, "You asked for your data three times today. Try "
                                             "again tomorrow.")
    export = DataExport(id=new_id("dex"), customer_id=customer_id, status="pending",
                        requested_at=now)
    session.add(export)
    session.flush()
    outbox.emit(session, events.DATA_EXPORT_REQUESTED, "data_export",
                {"id": export.id, "customer_id": customer_id}, now)
    audit.add(session, now, actor_id=customer_id, action="privacy.export_requested",
              target=f"customer:{customer_id}", outcome="ok", details={"export": export.id})
    return dump_export(export)


def exports(session: Session, customer_id: str) -> list[dict]:
    return [dump_export(e) for e in session.scalars(
        select(DataExport).where(DataExport.customer_id == customer_id)
        .order_by(DataExport.requested_at.desc()).limit(20))]


def archive(session: Session, customer_id: str, export_id: str, now: dt.datetime) -> dict:
    """The archive of one of the customer's ready exports (another's, or an expired one: 404)."""
    export = session.get(DataExport, export_id) if isinstance(export_id, str) else None
    if (export is None or export.customer_id != customer_id or export.status != "ready"
            or export.expires_at <= now):
        raise errors.NotFound("There is no such download (it may have expired).",
                              code=DATA_EXPORT_NOT_FOUND)
    day = export.requested_at.date().isoformat()
    return {"filename": f"my-data-{day}.zip", "sha256": export.sha256,
            "content": base64.b64encode(export.archive).decode("ascii")}


def own_part(session: Session, customer_id: str) -> dict:
    """What accounts holds about the customer."""
    customer = get(session, customer_id)
    sessions = [{"id": s.id, "method": s.method, "second_factor": s.second_factor,
                 "created_at": isoformat(s.created_at), "last_seen_at": isoformat(
                     s.last_seen_at), "ended_at": isoformat(s.revoked_at),
                 "client_ip": s.client_ip, "user_agent": s.user_agent}
                for s in session.scalars(select(AuthSession).where(
                    AuthSession.customer_id == customer_id).order_by(AuthSession.created_at))]
    keys = [{"name": k.name, "created_at": isoformat(k.created_at),
             "last_used_at": isoformat(k.last_used_at)}
            for k in session.scalars(select(Passkey).where(Passkey.customer_id == customer_id))]
    factor = session.get(TotpFactor, customer_id)
    trail = [audit.dump(e) for e in session.scalars(select(AuditEntry).where(or_(
        AuditEntry.actor_id == customer_id, AuditEntry.target == f"customer:{customer_id}"))
        .order_by(AuditEntry.seq).limit(10_000))]
    return {"service": "accounts", "data": {
        "account": [dump_account(customer)], "sessions": sessions, "passkeys": keys,
        "authenticator_app": [{"enabled_at": isoformat(factor.confirmed_at)}]
        if factor is not None and factor.confirmed_at else [],
        "audit_log": trail}}


README = """Your data, as {portal} keeps it on {day}.

Each file under data/ is what one part of the service holds about you, as JSON:
- accounts.json: your profile, your sign-ins and the devices they came from, your passkeys
  and authenticator app, and the log of what was done with your account;
- billing.json: subscriptions and devices, charges, bills, payments, your wallet and its
  entries, saved cards (brand and last four digits only), vouchers you bought;
- vouchers.json: vouchers you redeemed;
- tickets.json: your support requests and their history;
- notifier.json: the messages we sent you and your notification settings and consents;
- insights.json: your budget and, if you agreed to it, what you watched (daily sums).
Amounts are in the currency's smallest unit (cents): 1999 EUR is 19.99 EUR.
invoices/ and receipts/ hold your bills and payment receipts as PDF.
"""


@dataclass(frozen=True)
class Gathered:
    parts: dict[str, dict]  # service → its export
    files: dict[str, bytes]  # path in the archive → content


def build_archive(gathered: Gathered, portal: str, now: dt.datetime) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive_file:
        archive_file.writestr("README.txt", README.format(portal=portal,
                                                          day=now.date().isoformat()))
        for service, part in sorted(gathered.parts.items()):
            archive_file.writestr(f"data/{service}.json", json.dumps(
                part.get("data", part), indent=2, ensure_ascii=False, sort_keys=True))
        for path, content in sorted(gathered.files.items()):
            archive_file.writestr(path, content)
    return buffer.getvalue()


def pending_export(session: Session, export_id: str) -> DataExport | None:
    export = session.get(DataExport, export_id)
    return export if export is not None and export.status == "pending" else None


def finish_export(session: Session, export_id: str, content: bytes, public_url: str,
                  now: dt.datetime) -> bool:
    """Stores the archive (once: a redelivered event finds it done) and tells the customer."""
    done = session.execute(update(DataExport).where(
        DataExport.id == export_id, DataExport.status == "pending").values(
        status="ready", ready_at=now, expires_at=now + EXPORT_TTL, archive=content,
        size=len(content), sha256=hashlib.sha256(content).hexdigest())).rowcount == 1
    if done:
        export = session.get(DataExport, export_id)
        outbox.emit(session, events.DATA_EXPORT_READY, "data_export", {
            "id": export_id, "customer_id": export.customer_id,
            "expires_at": isoformat(export.expires_at),
            "url": f"{public_url.rstrip('/')}/#/settings/privacy"}, now)
    return done


def expire_exports(session: Session, now: dt.datetime) -> int:
    return session.execute(update(DataExport).where(
        DataExport.status == "ready", DataExport.expires_at <= now).values(
        status="expired", archive=None)).rowcount


# delete my account -----------------------------------------------------------------------

def dump_deletion(request: DeletionRequest | None) -> dict | None:
    if request is None:
        return None
    return {"id": request.id, "status": request.status,
            "requested_at": isoformat(request.requested_at), "due_at": isoformat(request.due_at),
            "blockers": request.blockers or [], "finished_at": isoformat(request.finished_at)}


def open_request(session: Session, customer_id: str) -> DeletionRequest | None:
    return session.scalar(select(DeletionRequest).where(
        DeletionRequest.open_key == customer_id))


def refuse_if_blocked(blockers: list[dict]) -> None:
    if blockers:
        raise errors.Conflict(
            "The account cannot be deleted yet: " + ", ".join(b["code"] for b in blockers)
            + ". Settle it first, or contact us for a refund.", code=ACCOUNT_DELETION_BLOCKED,
            details={"params": {"reasons": ", ".join(b["code"] for b in blockers)}})


def request_deletion(session: Session, customer_id: str, blockers: list[dict],
                     cooling_off: dt.timedelta, now: dt.datetime) -> dict:
    """Schedules the deletion after the cooling-off (asking again answers the open request).
    Staff accounts are not deleted this way; money owed or left refuses it."""
    customer = get(session, customer_id)
    if permissions.is_staff(customer.role):
        raise errors.PermissionDenied("Staff accounts are removed by an administrator.",
                                      code=STAFF_ACCOUNT)
    found = open_request(session, customer_id)
    if found is not None:
        return dump_deletion(found)
    refuse_if_blocked(blockers)
    request = DeletionRequest(id=new_id("del"), customer_id=customer_id, status="scheduled",
                              requested_at=now, due_at=now + cooling_off, steps_done=[],
                              attempts=0, open_key=customer_id)
    session.add(request)
    session.flush()  # the unique open_key: a concurrent twin fails here (the caller retries)
    outbox.emit(session, events.ACCOUNT_DELETION_SCHEDULED, "deletion", {
        "id": request.id, "customer_id": customer_id, "due_at": isoformat(request.due_at)},
        now)
    audit.add(session, now, actor_id=customer_id, action="privacy.deletion_requested",
              target=f"customer:{customer_id}", outcome="pending",
              details={"deletion": request.id, "due_at": isoformat(request.due_at)})
    return dump_deletion(request)


def cancel_deletion(session: Session, customer_id: str, now: dt.datetime) -> dict:
    request = open_request(session, customer_id)
    if request is None or request.status not in ("scheduled", "blocked"):
        raise errors.NotFound("There is no deletion to cancel.", code=DELETION_NOT_FOUND)
    request.status, request.open_key, request.finished_at = "cancelled", None, now
    outbox.emit(session, events.ACCOUNT_DELETION_CANCELLED, "deletion", {
        "id": request.id, "customer_id": customer_id}, now)
    audit.add(session, now, actor_id=customer_id, action="privacy.deletion_cancelled",
              target=f"customer:{customer_id}", outcome="ok", details={"deletion": request.id})
    return dump_deletion(request)


def claim_due(session: Session, now: dt.datetime) -> str | None:
    """One deletion due now (scheduled and past its cooling-off, blocked and due again, or
    running with its claim run out: an instance died), claimed for CLAIM; None if none."""
    candidate = session.scalar(select(DeletionRequest.id).where(
        DeletionRequest.status.in_(("scheduled", "blocked", "running")),
        DeletionRequest.due_at <= now,
        or_(DeletionRequest.claimed_until.is_(None), DeletionRequest.claimed_until <= now))
        .order_by(DeletionRequest.due_at).limit(1))
    if candidate is None:
        return None
    taken = session.execute(update(DeletionRequest).where(
        DeletionRequest.id == candidate,
        or_(DeletionRequest.claimed_until.is_(None), DeletionRequest.claimed_until <= now))
        .values(claimed_until=now + CLAIM, status="running")).rowcount
    return candidate if taken == 1 else None


def next_step(request: DeletionRequest) -> str | None:
    done = set(request.steps_done or [])
    return next((step for step in STEPS if step not in done), None)


def step_done(session: Session, request_id: str, step: str, now: dt.datetime) -> None:
    request = session.get(DeletionRequest, request_id, populate_existing=True)
    request.steps_done = [*(request.steps_done or []), step]
    request.last_error = None
    request.claimed_until = now + CLAIM


def step_failed(session: Session, request_id: str, step: str, error: str,
                now: dt.datetime) -> None:
    """The step is tried again on a later round (after a pause growing with the attempts)."""
    request = session.get(DeletionRequest, request_id, populate_existing=True)
    request.attempts += 1
    request.last_error = f"{step}: {error}"[:300]
    request.claimed_until = now + min(dt.timedelta(seconds=5 * 2 ** min(request.attempts, 10)),
                                      dt.timedelta(hours=1))


def blocked(session: Session, request_id: str, blockers: list[dict], now: dt.datetime) -> None:
    request = session.get(DeletionRequest, request_id)
    request.status, request.blockers = "blocked", blockers
    request.due_at, request.claimed_until = now + BLOCKED_RETRY, None
    outbox.emit(session, events.ACCOUNT_DELETION_BLOCKED, "deletion", {
        "id": request.id, "customer_id": request.customer_id,
        "reasons": [b["code"] for b in blockers]}, now)


def lock_out(session: Session, request_id: str, now: dt.datetime) -> None:
    """Nobody signs in any more: sessions and links end, second factors and the password go.
    The contact details are kept on the request (for the services to scrub) until done."""
    request = session.get(DeletionRequest, request_id)
    customer = get(session, request.customer_id)
    request.blockers = None
    request.pseudonym = f"Deleted customer {customer.id[-8:]}"
    request.personal = {"name": customer.name, "email": customer.email,
                        "phone": customer.phone, "address": customer.address}
    cid = customer.id
    ended = list(session.scalars(select(AuthSession.id).where(
        AuthSession.customer_id == cid, AuthSession.revoked_at.is_(None))))
    session.execute(update(AuthSession).where(AuthSession.id.in_(ended))
                    .values(revoked_at=now, revoked_reason="account_deleted"))
    if ended:
        outbox.emit(session, events.SESSION_REVOKED, "customer",
                    {"id": cid, "session_ids": ended}, now)
    session.execute(update(PortalLink).where(PortalLink.customer_id == cid,
                                             PortalLink.used_at.is_(None))
                    .values(revoked_at=now))
    for table in (Passkey, RecoveryCode, TotpFactor, Challenge):
        session.execute(delete(table).where(table.customer_id == cid))
    session.execute(update(Membership).where(  # their household, and the ones they are in
        or_(Membership.account_id == cid, Membership.member_id == cid),
        Membership.removed_at.is_(None)).values(removed_at=now, open_key=None))
    customer.password_hash = "!"  # matches no password: argon2 hashes start with $argon2


def forget_account(session: Session, request_id: str, now: dt.datetime) -> None:
    """accounts' own part: the account row keeps its id (invoices and the ledger name it) under
    the pseudonym; its contact details, sign-in history, throttles, exports and the published
    events that carried them are deleted."""
    request = session.get(DeletionRequest, request_id)
    customer = get(session, request.customer_id)
    cid, personal = customer.id, request.personal or {}
    email = normalize_email(personal.get("email") or customer.email)
    if email:
        session.execute(delete(ThrottleCounter).where(ThrottleCounter.key.contains(
            email, autoescape=True)))
    customer.name = request.pseudonym or "Deleted customer"
    customer.email = customer.email_normalized = f"deleted-{cid}@invalid"
    customer.phone, customer.address, customer.email_verified_at = None, None, None
    customer.updated_at = now
    session.execute(delete(AuthSession).where(AuthSession.customer_id == cid))
    session.execute(delete(PortalLink).where(PortalLink.customer_id == cid))
    session.execute(delete(DataExport).where(DataExport.customer_id == cid))
    session.execute(delete(OutboxMessage).where(
        OutboxMessage.published_at.is_not(None),
        cast(OutboxMessage.payload, String).contains(cid, autoescape=True)))
    request.status, request.finished_at, request.open_key = "done", now, None
    request.personal, request.claimed_until = None, None
    outbox.emit(session, events.CUSTOMER_DELETED, "customer",
                {"id": cid, "pseudonym": customer.name}, now)
    audit.add(session, now, actor_id=None, action="privacy.account_deleted",
              target=f"customer:{cid}", outcome="ok", details={"deletion": request.id})
