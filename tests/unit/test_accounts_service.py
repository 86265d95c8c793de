"""The accounts service's rules, with `worker_factory`, a TestClock and SQLite in memory."""

import datetime as dt

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.accounts.models import MIGRATIONS, Base
from services.accounts.service import AccountsService
from services.common import config as keys
from services.common import errors
from services.common.clock import TestClock
from services.common.db import KERNEL, Component, make_engine, migrate
from services.common.kernel_tables import OutboxMessage

CONFIG = {"SESSION_TTL_SECONDS": 3600 * 12, "SESSION_IDLE_SECONDS": 1800,
          "PORTAL_LINK_TTL_SECONDS": 86400, "PUBLIC_URL": "https://portal.example"}
PASSWORD = "a long enough passphrase"


@pytest.fixture
def service():
    engine = make_engine("sqlite://")
    migrate(engine, [KERNEL, Component("accounts", Base.metadata, MIGRATIONS)])
    session = Session(engine, expire_on_commit=False)
    clock = TestClock(dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC))
    svc = worker_factory(AccountsService, db=session, clock=clock, config=dict(CONFIG))
    yield svc
    session.close()


def sign_up(svc, email="ann@example.com", **extra):
    data = {"email": email, "password": PASSWORD, "name": "Ann", "billing_type": "prepaid",
            "currency": "EUR", **extra}
    return svc.register(data)


def test_sign_up_stores_the_account_and_emits_customer_registered(service):
    account = sign_up(service, address={"line1": "Hauptstr. 1", "city": "Berlin",
                                        "postal_code": "10115", "country": "DE"})
    assert account["id"].startswith("cus_") and account["role"] == "customer"
    assert account["tax_region"] == "DE" and account["language"] == "en"
    events = service.db.scalars(select(OutboxMessage)).all()
    # the new address is sent a link to verify it
    assert [e.event_type for e in events] == ["customer_registered",
                                              "email_verification_requested"]
    assert events[0].payload["customer"]["id"] == account["id"]
    assert set(events[0].payload) == {"event_id", "occurred_at", "customer"}
    assert events[1].payload["customer"]["email"] == account["email"]
    assert account["email_verified"] is False


def test_without_an_address_the_tax_region_is_the_operators_default(service):
    assert sign_up(service, "no-address@example.com")["tax_region"] is None
    service.config[keys.DEFAULT_TAX_REGION] = "AT"
    assert sign_up(service, "bob@example.com")["tax_region"] == "AT"
    swiss = sign_up(service, "cleo@example.com", address={
        "line1": "Bahnhofstr. 1", "city": "Zürich", "postal_code": "8001", "country": "CH"})
    assert swiss["tax_region"] == "CH"  # an address's country wins


def test_email_is_unique_case_insensitively(service):
    sign_up(service, "Ann@Example.com")
    with pytest.raises(errors.Conflict) as exc:
        sign_up(service, "ann@EXAMPLE.com")
    assert exc.value.code == "EMAIL_TAKEN"


# the length is the contract's (SignUp, as the gateway checks it: VALIDATION_FAILED); a common
# password is the policy's (WEAK_PASSWORD)
@pytest.mark.parametrize(("password", "code", "problem"), [
    ("short", "VALIDATION_FAILED", "at least 8"), ("password123", "WEAK_PASSWORD", "common"),
    ("x" * 129, "VALIDATION_FAILED", "at most 128")])
def test_weak_passwords_are_refused_with_the_reason(service, password, code, problem):
    with pytest.raises(errors.InvalidArgument) as exc:
        service.register({"email": "b@example.com", "password": password, "name": "B",
                          "billing_type": "postpaid", "currency": "EUR"})
    assert exc.value.code == code
    assert problem in " ".join(exc.value.fields["password"])


def test_rpc_arguments_are_validated(service):
    with pytest.raises(errors.InvalidArgument) as exc:
        service.register({"email": "not-an-email", "password": PASSWORD, "name": "",
                          "billing_type": "gold", "currency": "EURO", "extra": 1})
    assert set(exc.value.fields) == {"email", "name", "billing_type", "currency", "extra"}


def test_login_then_authenticate_returns_the_account(service):
    account = sign_up(service)
    result = service.login("ANN@example.com", PASSWORD, "10.0.0.1", "pytest")
    assert len(result["token"]) >= 43 and result["account"]["id"] == account["id"]
    seen = service.authenticate(result["token"])
    assert seen["account"]["email"] == "ann@example.com"
    assert seen["session"]["id"] == result["session_id"]


def test_wrong_password_and_unknown_email_look_the_same(service):
    sign_up(service)
    for email, password in (("ann@example.com", "wrong password"), ("who@example.com", PASSWORD)):
        with pytest.raises(errors.NotAuthenticated) as exc:
            service.login(email, password)
        assert exc.value.code == "INVALID_CREDENTIALS"


def test_sessions_end_after_idle_timeout_and_absolute_expiry(service):
    sign_up(service)
    token = service.login("ann@example.com", PASSWORD)["token"]
    service.clock.advance(minutes=29)
    service.authenticate(token)  # activity keeps it alive
    service.clock.advance(minutes=29)
    service.authenticate(token)
    service.clock.advance(minutes=31)
    with pytest.raises(errors.NotAuthenticated) as exc:
        service.authenticate(token)
    assert exc.value.code == "SESSION_EXPIRED"

    token = service.login("ann@example.com", PASSWORD)["token"]
    logged_in_at = service.clock.now()
    for _ in range(30):  # active every 29 minutes, but 12 h is the limit
        service.clock.advance(minutes=29)
        try:
            service.authenticate(token)
        except errors.NotAuthenticated:
            break
    else:
        pytest.fail("session outlived its absolute expiry")
    lived = service.clock.now() - logged_in_at
    assert dt.timedelta(hours=12) <= lived < dt.timedelta(hours=12, minutes=29)


def test_logout_revokes_the_session(service):
    sign_up(service)
    token = service.login("ann@example.com", PASSWORD)["token"]
    service.logout(token)
    with pytest.raises(errors.NotAuthenticated):
        service.authenticate(token)


def test_password_change_revokes_other_sessions_only(service):
    account = sign_up(service)
    current = service.login("ann@example.com", PASSWORD)
    other = service.login("ann@example.com", PASSWORD)
    service.change_password(account["id"], current["session_id"], PASSWORD,
                            "a brand new passphrase")
    service.authenticate(current["token"])
    with pytest.raises(errors.NotAuthenticated):
        service.authenticate(other["token"])
    with pytest.raises(errors.NotAuthenticated):
        service.login("ann@example.com", PASSWORD)
    service.login("ann@example.com", "a brand new passphrase")


def test_password_change_needs_the_current_password(service):
    account = sign_up(service)
    with pytest.raises(errors.InvalidArgument) as exc:
        service.change_password(account["id"], None, "wrong one!", "a brand new passphrase")
    assert "current_password" in exc.value.fields


def test_wrong_passwords_from_one_address_block_that_address_for_that_account(service):
    sign_up(service)
    for _ in range(5):
        with pytest.raises(errors.NotAuthenticated):
            service.login("ann@example.com", "wrong password", "10.0.0.1")
    with pytest.raises(errors.RateLimited) as exc:
        service.login("ann@example.com", PASSWORD, "10.0.0.1")  # even the right password
    assert 1 <= exc.value.retry_after <= 30
    service.login("ann@example.com", PASSWORD, "10.0.0.2")  # the owner elsewhere gets in
    service.clock.advance(seconds=31)
    service.login("ann@example.com", PASSWORD, "10.0.0.1")


def test_guesses_from_many_addresses_lock_the_account_itself(service):
    sign_up(service)
    for n in range(20):  # ACCOUNT_LIMIT, 4 per address: no address is blocked on its own
        with pytest.raises(errors.NotAuthenticated):
            service.login("ann@example.com", "wrong password", f"10.0.{n // 4}.1")
    with pytest.raises(errors.RateLimited):
        service.login("ann@example.com", PASSWORD, "10.9.0.1")


def test_a_shared_address_with_many_bad_logins_does_not_lock_out_everyone_behind_it(service):
    sign_up(service)
    for i in range(30):  # 30 bad logins from one office NAT, on other accounts
        with pytest.raises(errors.NotAuthenticated):
            service.login(f"user{i}@example.com", "wrong password", "10.9.9.9")
    assert service.login("ann@example.com", PASSWORD, "10.9.9.9")["account"]["email"] == \
        "ann@example.com"


def test_spraying_many_accounts_from_one_address_is_throttled(service):
    for i in range(100):  # ADDRESS_LIMIT
        with pytest.raises(errors.NotAuthenticated):
            service.login(f"user{i}@example.com", "wrong password", "10.9.9.9")
    with pytest.raises(errors.RateLimited):
        service.login("fresh@example.com", "wrong password", "10.9.9.9")
    with pytest.raises(errors.NotAuthenticated):  # another address is not blocked
        service.login("fresh@example.com", "wrong password", "10.9.9.8")


def test_logins_and_failed_logins_are_in_the_audit_log(service):
    account = sign_up(service)
    with pytest.raises(errors.NotAuthenticated):
        service.login("ann@example.com", "wrong password", "10.0.0.1")
    session = service.login("ann@example.com", PASSWORD, "10.0.0.1")
    entries = service.audit_log()["data"]
    assert [(e["action"], e["outcome"], e["target"], e["client_ip"]) for e in entries] == [
        ("login.password", "ok", f"customer:{account['id']}", "10.0.0.1"),
        ("login.failed", "refused", f"customer:{account['id']}", "10.0.0.1")]
    assert entries[0]["session_id"] == session["session_id"]


def sent_link_token(service, link) -> str:
    """The token of a portal link, from the event that takes it to the notifier."""
    [event] = [m.payload for m in service.db.scalars(select(OutboxMessage).where(
        OutboxMessage.event_type == "portal_link_issued")) if m.payload["portal_link"]["id"] ==
        link["id"]]
    url = event["portal_link"]["url"]
    assert url.startswith("https://portal.example/#/portal-link/")
    return url.rsplit("/", 1)[1]


def test_portal_link_is_single_use_expiring_and_revocable(service):
    account = sign_up(service, email="anna@example.com")
    link = service.issue_portal_link(account["id"], "cus_agent")
    assert set(link) == {"id", "expires_at", "sent_to"}  # never the token: it goes by e-mail
    assert link["sent_to"] == "a…a@example.com"
    token = sent_link_token(service, link)
    session = service.exchange_portal_link(token)
    assert session["account"]["id"] == account["id"]
    with pytest.raises(errors.NotAuthenticated) as exc:
        service.exchange_portal_link(token)
    assert exc.value.code == "PORTAL_LINK_INVALID"

    old = service.issue_portal_link(account["id"])
    new = service.issue_portal_link(account["id"])  # one active link: the old one is revoked
    with pytest.raises(errors.NotAuthenticated):
        service.exchange_portal_link(sent_link_token(service, old))
    assert service.revoke_portal_link(account["id"]) == {"revoked": 1}
    with pytest.raises(errors.NotAuthenticated):
        service.exchange_portal_link(sent_link_token(service, new))

    expiring = service.issue_portal_link(account["id"])
    service.clock.advance(days=1, seconds=1)
    with pytest.raises(errors.NotAuthenticated):
        service.exchange_portal_link(sent_link_token(service, expiring))
    issued = service.audit_log(action="portal_link.issued")["data"]
    assert len(issued) == 4 and issued[-1]["actor_id"] == "cus_agent"


def test_tokens_are_stored_only_as_hashes(service):
    from services.accounts.models import AuthSession, PortalLink

    account = sign_up(service)
    token = service.login("ann@example.com", PASSWORD)["token"]
    link = sent_link_token(service, service.issue_portal_link(account["id"]))
    stored = [s.token_hash for s in service.db.scalars(select(AuthSession))]
    stored += [p.token_hash for p in service.db.scalars(select(PortalLink))]
    assert token not in stored and link not in stored and len(stored) == 2


def test_profile_update_and_email_change_needs_password(service):
    account = sign_up(service)
    updated = service.update_profile(account["id"], {"name": "Ann B", "phone": "+49 30 123",
                                                     "language": "de"})
    assert (updated["name"], updated["phone"], updated["language"]) == ("Ann B", "+49 30 123",
                                                                        "de")
    with pytest.raises(errors.InvalidArgument):
        service.update_profile(account["id"], {"email": "new@example.com"})
    changed = service.update_profile(account["id"], {"email": "new@example.com",
                                                     "current_password": PASSWORD})
    # the account keeps its address until the new one is verified
    assert (changed["email"], changed["pending_email"]) == ("ann@example.com",
                                                            "new@example.com")
    [link] = [m.payload["customer"]["url"] for m in service.db.scalars(select(OutboxMessage))
              if m.event_type == "email_verification_requested"
              and m.payload["customer"]["email"] == "new@example.com"]
    verified = service.verify_email(link.rsplit("/", 1)[1])
    assert (verified["email"], verified["email_verified"]) == ("new@example.com", True)
    with pytest.raises(errors.NotFound):
        service.update_profile("cus_nobody", {"name": "x"})


def test_find_customers_pages_newest_first(service):
    for i in range(5):
        sign_up(service, f"user{i}@example.com")
        service.clock.advance(seconds=1)
    page = service.find_customers("example.com", 2)
    assert [a["email"] for a in page["data"]] == ["user4@example.com", "user3@example.com"]
    assert page["has_more"]
    rest = service.find_customers("example.com", 10, page["next_cursor"])
    assert [a["email"] for a in rest["data"]] == [f"user{i}@example.com" for i in (2, 1, 0)]
    assert not rest["has_more"] and rest["next_cursor"] is None
    assert service.find_customers("USER3", 10)["data"][0]["email"] == "user3@example.com"


def test_admin_is_created_once_and_roles_and_teams_are_set(service):
    from services.accounts.service import ensure_admin

    now = service.clock.now()
    assert ensure_admin(service.db, "root@example.com", PASSWORD, now)
    assert not ensure_admin(service.db, "ROOT@example.com", PASSWORD, now)
    count = service.db.scalar(select(func.count()).select_from(Base.metadata.tables["customers"]))
    assert count == 1
    agent = sign_up(service, "agent@example.com")
    updated = service.set_role(agent["id"], {"role": "agent", "teams": ["noc", "billing"]})
    assert updated["role"] == "agent" and updated["teams"] == ["billing", "noc"]


def test_rpc_callers_cannot_ask_for_unbounded_pages(service):
    for limit in (0, 101, 10**9, "5", True):
        with pytest.raises(errors.InvalidArgument):
            service.find_customers(None, limit)


def test_staff_accounts_get_no_portal_link(service):
    from services.accounts.service import ensure_admin

    ensure_admin(service.db, "root@example.com", PASSWORD, service.clock.now())
    admin = service.find_customers("root@example.com")["data"][0]
    with pytest.raises(errors.PermissionDenied):
        service.issue_portal_link(admin["id"])
    customer = sign_up(service, "later-staff@example.com")
    link = service.issue_portal_link(customer["id"])
    service.set_role(customer["id"], {"role": "agent"})  # promoted after the link was issued
    with pytest.raises(errors.NotAuthenticated):
        service.exchange_portal_link(sent_link_token(service, link))


def test_the_admin_bootstrap_never_takes_over_an_account_with_another_password(service):
    from services.accounts.service import ensure_admin

    sign_up(service, "boss@example.com")  # someone registered the admin address first
    with pytest.raises(RuntimeError):
        ensure_admin(service.db, "boss@example.com", "the real admin passphrase",
                     service.clock.now())
    assert service.find_customers("boss@example.com")["data"][0]["role"] == "customer"


def test_wrong_current_passwords_on_profile_and_password_changes_are_throttled(service):
    account = sign_up(service)
    for n in range(5):  # CHECK_LIMIT, over both ways of checking the password
        with pytest.raises(errors.InvalidArgument):
            if n % 2:
                service.change_password(account["id"], None, "wrong one!", "a new passphrase 1")
            else:
                service.update_profile(account["id"], {"email": f"x{n}@example.com",
                                                       "current_password": "wrong one!"})
    with pytest.raises(errors.RateLimited):  # even the right one, for a while
        service.change_password(account["id"], None, PASSWORD, "a brand new passphrase")
    service.clock.advance(seconds=31)
    service.change_password(account["id"], None, PASSWORD, "a brand new passphrase")
    actions = [e["action"] for e in service.audit_log(target=f"customer:{account['id']}")["data"]]
    assert actions[0] == "password.changed" and actions.count("password.check_failed") == 5


def test_sign_ups_from_one_address_are_limited_per_hour(service):
    service.config["SIGNUP_LIMIT_PER_HOUR"] = 3

    def sign_up_from(address, n):
        return service.register({"email": f"u{n}@example.com", "password": PASSWORD,
                                 "name": "U", "billing_type": "prepaid", "currency": "EUR"},
                                address)

    for n in range(3):
        sign_up_from("10.1.1.1", n)
    with pytest.raises(errors.RateLimited) as exc:
        sign_up_from("10.1.1.1", 9)
    assert exc.value.retry_after > 0
    sign_up_from("10.1.1.2", 10)  # another address is not affected
    service.clock.advance(hours=1, seconds=1)
    sign_up_from("10.1.1.1", 11)
