"""Households: people who belong to another customer's account.

The **holder** (the account's own customer) invites a person by e-mail; the invitation is a
link (a `household` challenge: seven days, single use, `INVITES_PER_DAY` a day per holder) the
notifier mails to that address. The person accepts it signed in with their own account, whose
address must be the invited one (a forwarded link is no use to anyone else); a wrong or used
link is counted against the client address. The **member** then switches their session to the
holder's account (`acting_account_id`) and back. While acting there they see and buy only the
subscriptions they use (billing keeps `member_id` on each), the wallet only when the holder
shares it, and their purchases, add-ons and vouchers count against the monthly limit the holder
set (billing enforces it in the purchase's own transaction); the holder sees and pays for
everything, changes a member's sharing and limit, and removes them. One person may belong to
several accounts (their own stays theirs). The gateway allows a member's session only the
routes a member may use (gateway/auth.py).

Functions flush, never commit: the entrypoint owns the transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.accounts import audit, events, recovery
from services.accounts.customers import get, normalize_email
from services.accounts.exceptions import (
    HOUSEHOLD_INVITATION_INVALID,
    HOUSEHOLD_INVITATION_OTHER_ADDRESS,
    HOUSEHOLD_MEMBER_EXISTS,
    HOUSEHOLD_MEMBER_NOT_FOUND,
    HOUSEHOLD_NOT_ALLOWED,
)
from services.accounts.mfa import token_hash
from services.accounts.models import AuthSession, Challenge, Customer, Membership
from services.common import errors, outbox
from services.common.clock import isoformat
from services.common.ids import new_id, new_secret_token

INVITATION_TTL = dt.timedelta(days=7)
INVITES_PER_DAY = 10
MAX_LIMIT = 10_000_000  # minor units: a limit, not a balance


def _settings(changes: object, partial: bool) -> dict:
    """The member's sharing and limit, checked (InvalidArgument naming the field)."""
    if not isinstance(changes, dict):
        raise errors.InvalidArgument(fields={"body": ["must be an object"]})
    bad, out = {}, {}
    if "share_wallet" in changes or not partial:
        value = changes.get("share_wallet", False)
        if not isinstance(value, bool):
            bad["share_wallet"] = ["must be true or false"]
        out["share_wallet"] = value
    if "monthly_limit" in changes or not partial:
        value = changes.get("monthly_limit")
        if value is not None and (type(value) is not int or not 0 <= value <= MAX_LIMIT):
            bad["monthly_limit"] = [f"must be null or a whole amount from 0 to {MAX_LIMIT}"]
        out["monthly_limit"] = value
    if bad:
        raise errors.InvalidArgument(fields=bad)
    return out


def _holder(session: Session, account_id: str) -> Customer:
    holder = get(session, account_id)
    if holder.role != "customer":
        raise errors.PermissionDenied("Households are for customer accounts.",
                                      code=HOUSEHOLD_NOT_ALLOWED)
    return holder


def dump_member(membership: Membership, person: Customer, currency: str) -> dict:
    return {"member_id": person.id, "name": person.name, "email": person.email,
            "share_wallet": bool(membership.share_wallet),
            "monthly_limit": None if membership.monthly_limit is None else {
                "amount": membership.monthly_limit, "currency": currency},
            "since": isoformat(membership.created_at)}


def _open(session: Session, account_id: str, member_id: str) -> Membership | None:
    return session.scalar(select(Membership).where(
        Membership.open_key == f"{account_id}:{member_id}"))


# the holder's side ------------------------------------------------------------------------

def invite(session: Session, account_id: str, email: object, settings: object,
           public_url: str, now: dt.datetime) -> dict:
    holder = _holder(session, account_id)
    if not isinstance(email, str) or "@" not in email or len(email) > 254:
        raise errors.InvalidArgument(fields={"email": ["must be an e-mail address"]})
    wanted = _settings(settings or {}, partial=False)
    if normalize_email(email) == holder.email_normalized:
        raise errors.InvalidArgument("You are the account holder already.",
                                     fields={"email": ["is your own address"]})
    sent = session.scalar(select(func.count()).select_from(Challenge).where(
        Challenge.customer_id == holder.id, Challenge.purpose == "household",
        Challenge.created_at > now - dt.timedelta(days=1))) or 0
    if sent >= INVITES_PER_DAY:
        raise errors.rate_limited(24 * 3600, "Too many invitations today. Try again tomorrow.")
    token = new_secret_token()
    invitation = Challenge(id=new_id("hhi"), token_hash=token_hash(token), purpose="household",
                           customer_id=holder.id, data={"email": email.strip(), **wanted},
                           attempts=0, created_at=now, expires_at=now + INVITATION_TTL)
    session.add(invitation)
    outbox.emit(session, events.HOUSEHOLD_INVITATION, "invitation", {
        "id": invitation.id, "customer_id": holder.id, "email": email.strip(),
        "language": holder.language, "holder_name": holder.name,
        "url": f"{public_url.rstrip('/')}/#/household/join/{token}",
        "expires_at": isoformat(invitation.expires_at)}, now)
    audit.add(session, now, actor_id=holder.id, actor_role=holder.role,
              action="household.invited", target=f"customer:{holder.id}", outcome="ok",
              details={"invitation": invitation.id})
    return dump_invitation(invitation)


def dump_invitation(invitation: Challenge) -> dict:
    return {"id": invitation.id, "email": invitation.data.get("email"),
            "share_wallet": bool(invitation.data.get("share_wallet")),
            "monthly_limit": invitation.data.get("monthly_limit"),
            "expires_at": isoformat(invitation.expires_at)}


def household(session: Session, account_id: str, now: dt.datetime) -> dict:
    """The holder's view: members and the invitations still open."""
    holder = _holder(session, account_id)
    rows = session.execute(select(Membership, Customer).join(
        Customer, Customer.id == Membership.member_id).where(
        Membership.account_id == holder.id, Membership.removed_at.is_(None))
        .order_by(Membership.created_at)).all()
    invitations = session.scalars(select(Challenge).where(
        Challenge.customer_id == holder.id, Challenge.purpose == "household",
        Challenge.used_at.is_(None), Challenge.expires_at > now)
        .order_by(Challenge.created_at))
    return {"members": [dump_member(m, p, holder.currency) for m, p in rows],
            "invitations": [dump_invitation(i) for i in invitations]}


def revoke_invitation(session: Session, account_id: str, invitation_id: str,
                      now: dt.datetime) -> None:
    done = session.execute(update(Challenge).where(
        Challenge.id == invitation_id, Challenge.customer_id == account_id,
        Challenge.purpose == "household", Challenge.used_at.is_(None))
        .values(used_at=now)).rowcount
    if not done:
        raise errors.NotFound("There is no such invitation.",
                              code=HOUSEHOLD_INVITATION_INVALID)


def update_member(session: Session, account_id: str, member_id: str, changes: object,
                  now: dt.datetime) -> dict:
    holder = _holder(session, account_id)
    membership = _open(session, holder.id, member_id)
    if membership is None:
        raise errors.NotFound("There is no such member.", code=HOUSEHOLD_MEMBER_NOT_FOUND)
    for key, value in _settings(changes, partial=True).items():
        setattr(membership, key, value)
    _changed(session, [member_id], now)
    audit.add(session, now, actor_id=holder.id, actor_role=holder.role,
              action="household.member_changed", target=f"customer:{member_id}", outcome="ok",
              details={"share_wallet": membership.share_wallet,
                       "monthly_limit": membership.monthly_limit})
    return dump_member(membership, get(session, member_id), holder.currency)


def remove_member(session: Session, account_id: str, member_id: str, now: dt.datetime,
                  by: str) -> None:
    """Ends the membership (the holder removes, or the member leaves); their sessions acting
    in the account are back in their own."""
    membership = _open(session, account_id, member_id)
    if membership is None:
        raise errors.NotFound("There is no such member.", code=HOUSEHOLD_MEMBER_NOT_FOUND)
    membership.removed_at, membership.open_key = now, None
    session.execute(update(AuthSession).where(AuthSession.customer_id == member_id,
                                              AuthSession.acting_account_id == account_id)
                    .values(acting_account_id=None))
    _changed(session, [member_id], now)
    audit.add(session, now, actor_id=by, action="household.member_removed",
              target=f"customer:{member_id}", outcome="ok",
              details={"account": account_id})


def _changed(session: Session, customer_ids: list[str], now: dt.datetime) -> None:
    """The gateways drop these people's cached sign-ins (what they may do changed)."""
    outbox.emit(session, events.HOUSEHOLD_CHANGED, "customer",
                {"id": customer_ids[0], "customer_ids": customer_ids}, now)


# the member's side ------------------------------------------------------------------------

def accept(session: Session, person_id: str, token: str, client_ip: str | None,
           now: dt.datetime) -> dict:
    """Joins the account the invitation is for. A link that is not valid is counted against
    the address (`Refused`); one for another address is refused and stays usable."""
    recovery.refuse_if_links_blocked(session, client_ip, now)
    found = session.scalar(select(Challenge).where(
        Challenge.token_hash == token_hash(token), Challenge.purpose == "household")) \
        if isinstance(token, str) and 20 <= len(token) <= 200 else None
    if found is None or found.used_at is not None or found.expires_at <= now:
        recovery.refuse_link(session, client_ip, now, errors.InvalidArgument(
            "This invitation is not valid any more. Ask for a new one.",
            code=HOUSEHOLD_INVITATION_INVALID))
    person, holder = get(session, person_id), get(session, found.customer_id)
    if normalize_email(found.data.get("email") or "") != person.email_normalized:
        raise errors.PermissionDenied(
            "This invitation is for another e-mail address. Sign in with that one.",
            code=HOUSEHOLD_INVITATION_OTHER_ADDRESS)
    if person.id == holder.id or person.role != "customer":
        raise errors.PermissionDenied("This account cannot join a household.",
                                      code=HOUSEHOLD_NOT_ALLOWED)
    if _open(session, holder.id, person.id) is not None:
        raise errors.Conflict("You belong to this household already.",
                              code=HOUSEHOLD_MEMBER_EXISTS)
    if session.execute(update(Challenge).where(Challenge.id == found.id,
                                               Challenge.used_at.is_(None))
                       .values(used_at=now)).rowcount != 1:
        raise errors.InvalidArgument("This invitation is not valid any more.",
                                     code=HOUSEHOLD_INVITATION_INVALID)
    membership = Membership(
        id=new_id("mem"), account_id=holder.id, member_id=person.id,
        share_wallet=bool(found.data.get("share_wallet")),
        monthly_limit=found.data.get("monthly_limit"), created_at=now,
        open_key=f"{holder.id}:{person.id}")
    session.add(membership)
    session.flush()  # the unique open key: accepting twice at once makes one membership
    audit.add(session, now, actor_id=person.id, action="household.joined",
              target=f"customer:{holder.id}", outcome="ok", details={"membership": membership.id})
    return dump_membership(membership, holder)


def dump_membership(membership: Membership, holder: Customer) -> dict:
    return {"account_id": holder.id, "holder_name": holder.name,
            "share_wallet": bool(membership.share_wallet),
            "monthly_limit": None if membership.monthly_limit is None else {
                "amount": membership.monthly_limit, "currency": holder.currency},
            "since": isoformat(membership.created_at)}


def memberships(session: Session, person_id: str) -> list[dict]:
    """The accounts this person belongs to (besides their own)."""
    rows = session.execute(select(Membership, Customer).join(
        Customer, Customer.id == Membership.account_id).where(
        Membership.member_id == person_id, Membership.removed_at.is_(None))
        .order_by(Membership.created_at)).all()
    return [dump_membership(m, holder) for m, holder in rows]


def act_in(session: Session, person_id: str, session_id: str, account_id: str | None,
           now: dt.datetime) -> dict:
    """Switches this session to a household account the person belongs to, or back to their
    own (None). Another account is a 404."""
    if account_id is not None and account_id != person_id:
        if _open(session, account_id, person_id) is None:
            raise errors.NotFound("There is no such household.",
                                  code=HOUSEHOLD_MEMBER_NOT_FOUND)
    else:
        account_id = None
    session.execute(update(AuthSession).where(AuthSession.id == session_id,
                                              AuthSession.customer_id == person_id)
                    .values(acting_account_id=account_id))
    audit.add(session, now, actor_id=person_id, session_id=session_id,
              action="household.switched", target=f"customer:{account_id or person_id}",
              outcome="ok")
    return {"acting_account_id": account_id}


def acting(session: Session, auth: AuthSession) -> dict | None:
    """What a session acting in a household account may do (None: its own account). A
    membership removed since is none: the session is back in its own account."""
    if auth.acting_account_id is None:
        return None
    membership = _open(session, auth.acting_account_id, auth.customer_id)
    if membership is None:
        return None
    holder = get(session, auth.acting_account_id)
    return {"account_id": holder.id, "holder_name": holder.name, "role": "member",
            "share_wallet": bool(membership.share_wallet),
            "monthly_limit": membership.monthly_limit, "currency": holder.currency,
            "billing_type": holder.billing_type, "tax_region": holder.tax_region}
