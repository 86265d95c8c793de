"""Staff permissions, money bounds and maker-checker approvals, and the audit trail, on the
accounts service's rules (worker_factory, a TestClock, SQLite in memory). The same under
concurrent callers on PostgreSQL: tests/integration/test_staff_postgres.py."""

import datetime as dt

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.accounts.models import MIGRATIONS, Base
from services.accounts.service import AccountsService
from services.common import errors, permissions
from services.common.clock import TestClock
from services.common.db import KERNEL, Component, make_engine, migrate

AGENT = {"id": "cus_agent", "role": "agent", "session_id": "ses_a"}
OTHER_AGENT = {"id": "cus_agent2", "role": "agent", "session_id": "ses_b"}
SUPERVISOR = {"id": "cus_super", "role": "supervisor", "session_id": "ses_s"}
FINANCE = {"id": "cus_fin", "role": "finance", "session_id": "ses_f"}


@pytest.fixture
def accounts():
    engine = make_engine("sqlite://")
    migrate(engine, [KERNEL, Component("accounts", Base.metadata, MIGRATIONS)])
    session = Session(engine, expire_on_commit=False)
    clock = TestClock(dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC))
    svc = worker_factory(AccountsService, db=session, clock=clock, config={},
                         staff_limits=permissions.limits_from_config(
                             {"agent": {"per_action": 5000, "per_day": 12000}}))
    yield svc
    session.close()


def adjust(svc, actor, amount, key, currency="EUR"):
    return svc.authorize_money(actor, "wallet.adjust", amount, currency,
                               {"customer_id": "cus_1", "amount": amount}, "cus_1", key)


def test_each_role_holds_what_its_job_needs_and_admin_everything():
    assert permissions.allows("agent", "tickets.work")
    assert not permissions.allows("agent", "tickets.all_teams")
    assert not permissions.allows("agent", "vouchers.issue")  # no minting codes
    assert not permissions.allows("agent", "catalog.manage")  # no prices
    assert not permissions.allows("agent", "approvals.decide")
    assert permissions.allows("supervisor", "approvals.decide")
    assert not permissions.allows("supervisor", "vouchers.issue")
    assert permissions.allows("finance", "vouchers.issue")
    assert not permissions.allows("finance", "support.configure")
    assert all(permissions.allows("admin", name) for name in permissions.PERMISSIONS)
    assert not any(permissions.allows("customer", name) for name in permissions.PERMISSIONS)
    assert not permissions.allows("admin", "no.such.permission")


def test_an_agent_creates_money_up_to_the_bounds_then_a_second_person_approves(accounts):
    assert adjust(accounts, AGENT, 5000, "k1") == {"decision": "allowed"}
    over = adjust(accounts, AGENT, 5001, "k2")  # above the per-action bound
    assert over["decision"] == "approval_required"
    assert over["approval"]["reason"] == "per_action"
    assert over["approval"]["status"] == "pending"
    assert adjust(accounts, AGENT, 5000, "k3") == {"decision": "allowed"}  # 10,000 today
    day = adjust(accounts, AGENT, 2001, "k4")  # would pass 12,000
    assert (day["decision"], day["approval"]["reason"]) == ("approval_required", "per_day")
    assert adjust(accounts, AGENT, 2000, "k5") == {"decision": "allowed"}  # exactly 12,000
    assert adjust(accounts, OTHER_AGENT, 5000, "k1") == {"decision": "allowed"}  # per person
    assert adjust(accounts, SUPERVISOR, 1_000_000, "s1") == {"decision": "allowed"}

    accounts.clock.advance(days=1)  # a new day
    assert adjust(accounts, AGENT, 5000, "k6") == {"decision": "allowed"}


def test_a_retry_with_the_same_key_gets_the_same_decision_and_counts_once(accounts):
    assert adjust(accounts, AGENT, 5000, "same") == {"decision": "allowed"}
    assert adjust(accounts, AGENT, 5000, "same") == {"decision": "allowed"}
    assert adjust(accounts, AGENT, 5000, "other") == {"decision": "allowed"}  # 10,000, not 15
    first = adjust(accounts, AGENT, 9000, "big")
    assert adjust(accounts, AGENT, 9000, "big")["approval"]["id"] == first["approval"]["id"]
    with pytest.raises(errors.Conflict) as exc:
        adjust(accounts, AGENT, 4000, "same")
    assert exc.value.code == "IDEMPOTENCY_KEY_REUSED"
    with pytest.raises(errors.InvalidArgument) as exc:
        adjust(accounts, AGENT, 100, None)
    assert exc.value.code == "IDEMPOTENCY_KEY_REQUIRED"


def test_roles_without_the_permission_and_bad_amounts_are_refused(accounts):
    with pytest.raises(errors.PermissionDenied):
        adjust(accounts, {"id": "cus_x", "role": "customer"}, 100, "c")
    with pytest.raises(errors.InvalidArgument):
        adjust(accounts, AGENT, 0, "zero")
    with pytest.raises(errors.InvalidArgument):
        adjust(accounts, AGENT, -5, "negative")
    with pytest.raises(errors.InvalidArgument):
        accounts.authorize_money(AGENT, "vouchers.mint", 100, "EUR", {}, None, "x")


def test_only_a_second_person_who_may_decide_decides_and_once(accounts):
    approval = adjust(accounts, AGENT, 9000, "big")["approval"]
    with pytest.raises(errors.PermissionDenied):  # agents do not approve
        accounts.decide_approval(approval["id"], OTHER_AGENT, True)
    with pytest.raises(errors.PermissionDenied) as exc:  # nor does the requester, whatever
        accounts.decide_approval(approval["id"], {**AGENT, "role": "supervisor"}, True)
    assert exc.value.code == "APPROVAL_BY_REQUESTER"
    decided = accounts.decide_approval(approval["id"], SUPERVISOR, True, "goodwill, outage")
    assert (decided["status"], decided["decided_by"]) == ("approved", SUPERVISOR["id"])
    assert accounts.decide_approval(approval["id"], SUPERVISOR, True)["status"] == "approved"
    with pytest.raises(errors.Conflict) as exc:  # another decision comes too late
        accounts.decide_approval(approval["id"], FINANCE, False)
    assert exc.value.code == "APPROVAL_DECIDED"
    done = accounts.finish_approval(approval["id"], True, {"transaction": "txn_1"})
    assert (done["status"], done["result"]) == ("executed", {"transaction": "txn_1"})
    assert accounts.finish_approval(approval["id"], False)["status"] == "executed"  # once
    assert [a["id"] for a in accounts.list_approvals("executed")["data"]] == [approval["id"]]
    assert accounts.list_approvals("pending")["data"] == []
    with pytest.raises(errors.NotFound):
        accounts.get_approval("apr_nope")


def test_rejected_approvals_never_run(accounts):
    approval = adjust(accounts, AGENT, 9000, "big")["approval"]
    assert accounts.decide_approval(approval["id"], FINANCE, False, "no")["status"] == \
        "rejected"
    assert accounts.finish_approval(approval["id"], True)["status"] == "rejected"


def test_the_audit_log_is_filtered_and_paged_newest_first(accounts):
    for n in range(5):
        accounts.record_audit({"actor_id": AGENT["id"] if n % 2 else SUPERVISOR["id"],
                               "actor_role": "agent", "action": "wallet.adjust",
                               "target": f"customer:cus_{n}", "outcome": "ok",
                               "details": {"amount": n}})
    accounts.record_audit({"action": "login.failed", "outcome": "refused",
                           "target": "customer:cus_1"})
    first = accounts.audit_log(limit=4)
    assert [e["action"] for e in first["data"]][:1] == ["login.failed"] and first["has_more"]
    rest = accounts.audit_log(limit=4, cursor=first["next_cursor"])
    assert len(first["data"]) + len(rest["data"]) == 6 and not rest["has_more"]
    mine = accounts.audit_log(actor_id=AGENT["id"])["data"]
    assert [e["details"]["amount"] for e in mine] == [3, 1]
    assert len(accounts.audit_log(action="wallet.")["data"]) == 5
    assert len(accounts.audit_log(target="customer:cus_1")["data"]) == 2
    with pytest.raises(errors.InvalidArgument):
        accounts.audit_log(since="yesterday")
    with pytest.raises(errors.InvalidArgument):
        accounts.record_audit({"action": "x", "outcome": "maybe"})


def test_the_audit_log_has_no_way_to_change_a_row(accounts):
    names = [n for n in dir(AccountsService) if "audit" in n]
    assert sorted(names) == ["audit_log", "record_audit"]
    accounts.record_audit({"action": "x", "outcome": "ok"})
    assert accounts.db.execute(text("SELECT count(*) FROM audit_log")).scalar() == 1


def test_crediting_every_customer_of_an_incident_is_not_an_agent_s_call():
    assert permissions.allows("agent", "incidents.work")
    assert not permissions.allows("agent", "incidents.credit")
    assert permissions.allows("supervisor", "incidents.credit")


def test_staff_limits_come_from_the_environment_as_yaml_and_bad_ones_are_refused():
    limits = permissions.limits_from_config("{agent: {per_action: 100, per_day: 300}}")
    assert limits["agent"] == permissions.Bound(100, 300)
    assert permissions.limits_from_config("") == permissions.DEFAULT_LIMITS
    for bad in ("{intern: {per_action: 1}}", "{agent: {per_action: -1}}", "[1, 2]"):
        with pytest.raises(ValueError):
            permissions.limits_from_config(bad)
