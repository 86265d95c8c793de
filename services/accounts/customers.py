"""Customer records: sign-up, profile, password, roles, search. Functions of a session and "now".

They flush, never commit: the entrypoint (service.py) owns the transaction and commits. A flow
that verifies or hashes a password is two steps, so that no transaction is open while the hash
runs: a read (`start_*`, `check_signup`), the caller's commit, then the step that verifies and
writes. A wrong current password is counted (and audited) even though the change is refused:
the step raises `Refused`, and the entrypoint commits the count before raising its error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.accounts import audit, events, passwords, throttle
from services.accounts.exceptions import (
    CUSTOMER_NOT_FOUND,
    EMAIL_TAKEN,
    INVALID_CREDENTIALS,
    WEAK_PASSWORD,
)
from services.accounts.models import AuthSession, Customer, TeamMembership
from services.accounts.schemas import dump_account
from services.common import errors, outbox, pages, permissions
from services.common.contract.accounts import ProfileChange, RoleChange, SignUp
from services.common.db import Refused
from services.common.ids import new_id
from services.common.schemas import load_or_raise


def normalize_email(email: str) -> str:
    return email.strip().lower()


def by_email(session: Session, email: str) -> Customer | None:
    return session.scalar(
        select(Customer).where(Customer.email_normalized == normalize_email(email)))


def get(session: Session, customer_id: str) -> Customer:
    customer = session.get(Customer, customer_id) if isinstance(customer_id, str) else None
    if customer is None:
        raise errors.NotFound("No such customer.", code=CUSTOMER_NOT_FOUND)
    return customer


def _check_password_policy(password: str, email: str, field: str) -> None:
    problems = passwords.policy_problems(password, email)
    if problems:
        raise errors.InvalidArgument("The password does not meet the policy.",
                                     code=WEAK_PASSWORD, fields={field: problems})


def save(session: Session, customer: Customer, event_type: str, now: dt.datetime) -> dict:
    """Flush (the unique email decides), emit the event in the same transaction. A taken email
    is EMAIL_TAKEN (the caller rolls back the failed flush)."""
    try:
        session.flush()
    except IntegrityError:
        raise errors.Conflict("An account with this email already exists.", code=EMAIL_TAKEN,
                              fields={"email": ["is already registered"]}) from None
    account = dump_account(customer)
    outbox.emit(session, event_type, "customer", account, now)
    return account


Signup = tuple[str, throttle.Limit]  # a sign-up's throttle key and its limit


def check_signup(session: Session, client_ip: str | None, per_hour: int,
                 now: dt.datetime) -> Signup | None:
    """A sign-up's first step, a read: from one client address at most `per_hour` sign-ups an
    hour (0: no limit), RateLimited (429 with Retry-After) after that. Returns what `register`
    counts the sign-up against (None: not counted). The caller ends the transaction before
    `register` hashes the password."""
    key = f"signup:address:{client_ip}"[:300] if client_ip and per_hour else None
    if key is None:
        return None
    wait = throttle.blocked_for(session, [key], now)
    if wait > 0:
        raise errors.rate_limited(wait, "Too many new accounts from your network. Try again "
                                        "later.")
    limit = throttle.SIGNUP_LIMIT
    return key, throttle.Limit(per_hour, limit.window, limit.base_block, limit.max_block)


def register(session: Session, data: dict, now: dt.datetime, role: str = "customer",
             signup: Signup | None = None, default_tax_region: str | None = None) -> dict:
    """A new account (its password hashed before anything is written), counted against
    `signup` (`check_signup`) in the same transaction. EMAIL_TAKEN, WEAK_PASSWORD.
    Its tax region is its address's country, else the operator's `default_tax_region`
    (DEFAULT_TAX_REGION): a customer who gave no address still pays the tax the prices show."""
    values = load_or_raise(SignUp(), data)
    email = values["email"].strip()
    _check_password_policy(values["password"], email, "password")
    address = values.get("address")
    customer = Customer(
        id=new_id("cus"), email=email, email_normalized=normalize_email(email),
        password_hash=passwords.hash_password(values["password"]), name=values["name"].strip(),
        phone=values.get("phone"), address=address, language=values.get("language") or "en",
        billing_type=values["billing_type"], currency=values["currency"],
        tax_region=address["country"] if address else default_tax_region, role=role,
        created_at=now, updated_at=now, password_changed_at=now)
    session.add(customer)
    account = save(session, customer, events.CUSTOMER_REGISTERED, now)
    if signup:  # each sign-up counts, like a failure: the limit-th one starts the block
        throttle.record_failure(session, *signup, now)
    return account


@dataclass(frozen=True)
class Pending:
    """What a change's first step read (`start_profile_update`, `start_password_change`), for
    the step that verifies the current password with no transaction open."""

    customer: Customer
    stored: str  # the password hash as read: the one verified, and the one replaced
    values: dict  # the loaded changes (profile)
    new_email: str | None = None  # an email change (profile): needs the current password


def start_profile_update(session: Session, customer_id: str, changes: dict,
                         now: dt.datetime) -> Pending:
    """A profile change's first step, a read: the changes loaded, the customer found, and,
    when the email changes, the password checks not blocked (RateLimited). The caller ends the
    transaction before `update_profile`."""
    values = load_or_raise(ProfileChange(), changes)
    customer = get(session, customer_id)
    new_email = values.pop("email", None)
    if new_email is not None and normalize_email(new_email) != customer.email_normalized:
        _refuse_if_checks_blocked(session, customer_id, now)
    else:
        new_email = None
    return Pending(customer, customer.password_hash, values, new_email)


def update_profile(session: Session, pending: Pending, now: dt.datetime,
                   proven: bool = False) -> dict:
    """The change. An email change needs the person to have proved who they are: recently in
    this session (`proven`, mfa.recent) or by the current password sent with it (a wrong one is
    counted and audited: `Refused` with INVALID_CREDENTIALS, or RateLimited once the checks are
    blocked); the address itself changes only once verified (the caller sends the link:
    recovery.request_change). Emits customer_updated."""
    customer, values, new_email = pending.customer, dict(pending.values), pending.new_email
    current_password = values.pop("current_password", None)
    if new_email is not None and not proven:
        if not current_password or not passwords.verify_password(pending.stored,
                                                                 current_password):
            _count_wrong_check(session, customer.id, now, errors.InvalidArgument(
                "Changing the email needs your current password.", code=INVALID_CREDENTIALS,
                fields={"current_password": ["is missing or wrong"]}))
    for key in ("name", "phone", "address", "language"):
        if key in values:
            setattr(customer, key, values[key].strip() if key == "name" else values[key])
    if "address" in values and values["address"]:
        customer.tax_region = values["address"]["country"]
    customer.updated_at = now
    return save(session, customer, events.CUSTOMER_UPDATED, now)


def start_password_change(session: Session, customer_id: str, now: dt.datetime) -> Pending:
    """A password change's first step, a read: the customer found, the password checks not
    blocked (RateLimited). The caller ends the transaction before `change_password`, so
    nothing is held while the hashes are computed."""
    customer = get(session, customer_id)
    _refuse_if_checks_blocked(session, customer_id, now)
    return Pending(customer, customer.password_hash, {})


def change_password(session: Session, pending: Pending, keep_session_id: str | None,
                    current_password: str, new_password: str, now: dt.datetime) -> None:
    """Set a new password and revoke every other session of the customer. Both hashes are
    computed before anything is written; the new one is written only if the password is still
    the one just verified (a concurrent change wins, this one is refused). A wrong current
    password is counted and audited: `Refused` with INVALID_CREDENTIALS (RateLimited once the
    checks are blocked)."""
    customer_id, stored = pending.customer.id, pending.stored
    email, language = pending.customer.email, pending.customer.language
    if not isinstance(current_password, str) or not passwords.verify_password(
            stored, current_password):
        _count_wrong_check(session, customer_id, now, _wrong_current_password())
    _check_password_policy(new_password, email, "new_password")
    new_hash = passwords.hash_password(new_password)
    changed = session.execute(
        update(Customer).where(Customer.id == customer_id, Customer.password_hash == stored)
        .values(password_hash=new_hash, password_changed_at=now, updated_at=now)
        .execution_options(synchronize_session=False)).rowcount
    if not changed:  # nothing was written: the caller rolls back
        raise _wrong_current_password()
    session.execute(
        update(AuthSession)
        .where(AuthSession.customer_id == customer_id, AuthSession.revoked_at.is_(None),
               AuthSession.id != (keep_session_id or ""))
        .values(revoked_at=now, revoked_reason="password_changed"))
    outbox.emit(session, events.PASSWORD_CHANGED, "customer",
                {"id": customer_id, "email": email, "language": language}, now)
    audit.add(session, now, actor_id=customer_id, session_id=keep_session_id,
              action="password.changed", target=f"customer:{customer_id}", outcome="ok")
    throttle.clear(session, _check_key(customer_id))


def check_password(session: Session, pending: Pending, password: str | None,
                   now: dt.datetime, field: str = "password") -> None:
    """The current password (sent as `field`), verified (no transaction open: the caller
    committed its read); a wrong one is counted and audited like any other check
    (`Refused`)."""
    if not isinstance(password, str) or not passwords.verify_password(pending.stored, password):
        _count_wrong_check(session, pending.customer.id, now, _wrong_current_password(field))
    throttle.clear(session, _check_key(pending.customer.id))


def _check_key(customer_id: str) -> str:
    return f"password-check:{customer_id}"


def _refuse_if_checks_blocked(session: Session, customer_id: str, now: dt.datetime) -> None:
    """Wrong current passwords on profile and password changes are throttled per account
    (throttle.CHECK_LIMIT): a stolen session cannot be used to guess the password."""
    wait = throttle.blocked_for(session, [_check_key(customer_id)], now)
    if wait > 0:
        raise errors.rate_limited(wait, "Too many wrong passwords. Try again later.")


def _count_wrong_check(session: Session, customer_id: str, now: dt.datetime,
                       error: errors.ServiceError) -> None:
    """Count a wrong current password and audit it, then refuse with `error` (RateLimited if a
    concurrent failure blocked the checks first): `Refused`, so that the count is kept."""
    failure = throttle.record_failure(session, _check_key(customer_id), throttle.CHECK_LIMIT,
                                      now)
    audit.add(session, now, actor_id=customer_id, action="password.check_failed",
              target=f"customer:{customer_id}", outcome="refused")
    if not failure.counted:
        error = errors.rate_limited(failure.wait(now), "Too many wrong passwords. Try again "
                                                       "later.")
    raise Refused(error)


def _wrong_current_password(field: str = "current_password") -> errors.InvalidArgument:
    return errors.InvalidArgument("The current password is wrong.", code=INVALID_CREDENTIALS,
                                  fields={field: ["is wrong"]})


def set_role(session: Session, customer_id: str, changes: dict, now: dt.datetime) -> dict:
    values = load_or_raise(RoleChange(), changes)
    customer = get(session, customer_id)
    if "role" in values:
        customer.role = values["role"]
    if "teams" in values:
        customer.teams = [TeamMembership(team=t) for t in sorted(set(values["teams"]))]
    customer.updated_at = now
    return save(session, customer, events.CUSTOMER_UPDATED, now)


FIND_ORDER = pages.Order((Customer.created_at, Customer.id))  # newest first


def find(session: Session, query: str | None, limit=pages.DEFAULT_LIMIT, cursor=None) -> dict:
    """Customers matching an email or name fragment, or an exact id; newest first."""
    if query is not None and (not isinstance(query, str) or len(query) > 254):
        raise errors.InvalidArgument(fields={"q": ["must be text of at most 254 characters"]})
    stmt = select(Customer)
    if query:
        q = query.strip().lower()
        stmt = stmt.where(or_(Customer.id == query.strip(),
                              Customer.email_normalized.contains(q, autoescape=True),
                              Customer.name.icontains(q, autoescape=True)))
    return pages.keyset(session, stmt, FIND_ORDER, limit, cursor, dump=dump_account)


def recipients(session: Session, after: str | None = None, limit: int = 500,
               billing_type: str | None = None, tax_region: str | None = None) -> dict:
    """Customers (role customer) in id order after `after`, optionally of one billing type or
    tax region: who a broadcast reaches, page by page."""
    if not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise errors.InvalidArgument(fields={"limit": ["must be from 1 to 1000"]})
    stmt = (select(Customer.id, Customer.email, Customer.name, Customer.language,
                   Customer.billing_type, Customer.tax_region)
            .where(Customer.role == "customer").order_by(Customer.id).limit(limit))
    if after:
        stmt = stmt.where(Customer.id > after)
    if billing_type:
        stmt = stmt.where(Customer.billing_type == billing_type)
    if tax_region:
        stmt = stmt.where(Customer.tax_region == tax_region)
    rows = [dict(r._mapping) for r in session.execute(stmt)]
    return {"data": rows, "next": rows[-1]["id"] if len(rows) == limit else None}


MAX_KNOWN_IDS = 50_000


def known(session: Session, ids: list) -> list[str]:
    """Which of `ids` are customers' (role customer), in id order: what another service asks
    of a batch of ids (insights' viewing reports) in one call instead of one per id."""
    if not isinstance(ids, list) or len(ids) > MAX_KNOWN_IDS \
            or not all(isinstance(i, str) for i in ids):
        raise errors.InvalidArgument(fields={"ids": [
            f"must be a list of at most {MAX_KNOWN_IDS} ids"]})
    wanted, found = sorted(set(ids)), []
    for n in range(0, len(wanted), 5000):  # bounded IN lists (SQLite's bound parameters)
        found += session.scalars(select(Customer.id).where(
            Customer.id.in_(wanted[n:n + 5000]), Customer.role == "customer"))
    return sorted(found)


def register_admin(session: Session, email: str, password: str, now: dt.datetime) -> dict:
    """The admin account from configuration (ADMIN_EMAIL, ADMIN_PASSWORD). EMAIL_TAKEN."""
    return register(session, {"email": email, "password": password, "name": "Administrator",
                              "billing_type": "postpaid", "currency": "EUR"}, now, role="admin")


def promote_to_admin(customer: Customer, stored: str, email: str, password: str) -> None:
    """Someone signed up with ADMIN_EMAIL: promoted only if they hold ADMIN_PASSWORD (`stored`
    is their hash as read; verify it with no transaction open), else RuntimeError."""
    if not passwords.verify_password(stored, password):
        raise RuntimeError(f"ADMIN_EMAIL {email} belongs to an account whose password "
                           f"is not ADMIN_PASSWORD; refusing to make it admin")
    customer.role = "admin"


# ops teams' members -------------------------------------------------------------------------

def team_members(session: Session, teams: list[str]) -> dict[str, list[dict]]:
    """Each team's members: `{team: [{id, name, email, role}]}` (teams without members: [])."""
    wanted = [t for t in teams if isinstance(t, str)][:200]
    out: dict[str, list[dict]] = {t: [] for t in wanted}
    rows = session.execute(
        select(TeamMembership.team, Customer.id, Customer.name, Customer.email, Customer.role)
        .join(Customer, Customer.id == TeamMembership.customer_id)
        .where(TeamMembership.team.in_(wanted)).order_by(Customer.name, Customer.id))
    for team, cid, name, email, role in rows:
        out[team].append({"id": cid, "name": name, "email": email, "role": role})
    return out


def set_team_members(session: Session, team: str, member_ids: list[str],
                     now: dt.datetime) -> list[dict]:
    """Make exactly `member_ids` the team's members (staff accounts; anyone else is
    a field error, and nothing changes)."""
    if not isinstance(team, str) or not 1 <= len(team) <= 64:
        raise errors.InvalidArgument(fields={"team": ["must be 1 to 64 characters"]})
    if not isinstance(member_ids, list) or len(member_ids) > 200 \
            or not all(isinstance(m, str) for m in member_ids):
        raise errors.InvalidArgument(fields={"members": ["must be a list of account ids"]})
    wanted = set(member_ids)
    staff = {c.id: c for c in session.scalars(select(Customer).where(Customer.id.in_(wanted)))}
    bad = sorted(m for m in wanted if m not in staff or not permissions.is_staff(staff[m].role))
    if bad:
        raise errors.InvalidArgument(fields={"members": [
            f"{m} is not a staff account" for m in bad]})
    current = set(session.scalars(select(TeamMembership.customer_id)
                                  .where(TeamMembership.team == team)))
    for cid in current - wanted:
        session.execute(TeamMembership.__table__.delete().where(
            TeamMembership.team == team, TeamMembership.customer_id == cid))
    for cid in wanted - current:
        session.add(TeamMembership(customer_id=cid, team=team))
    for cid in current ^ wanted:
        customer = session.get(Customer, cid)
        if customer is not None:
            customer.updated_at = now
    session.flush()
    return team_members(session, [team])[team]
