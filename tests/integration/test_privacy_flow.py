"""Download my data and delete my account, end to end through the gateway on the real services,
RabbitMQ and PostgreSQL (issue #18 items 2 and 3).

The deletion saga runs with a service killed in the middle: it stops at that service's step,
and once the service is back it finishes, each service forgetting once. Afterwards no database
of any service holds the person's name, e-mail, phone or address, while billing's ledger still
verifies and their payments are still there under the pseudonym."""

import datetime as dt
import io
import json
import zipfile

import pytest
import sqlalchemy as sa
from nameko.standalone.rpc import ClusterRpcProxy
from nameko.testing.utils import get_container, get_extension

from deploy import demo
from services.accounts.models import Base as AccountsBase
from services.accounts.service import AccountsService
from services.billing.models import Base as BillingBase
from services.common.clock import ClockProvider, TestClock
from services.common.db import normalize_url
from services.insights.models import Base as InsightsBase
from services.notifier.models import Base as NotifierBase
from services.tickets.models import Base as TicketsBase
from services.tickets.service import TicketsService
from services.vouchers.models import Base as VouchersBase
from tests.integration.conftest import PASSWORD, eventually, timer_rounds
from tests.integration.test_privacy_services_postgres import (
    CARD,
    Person,
    forgotten_events,
    rows_as_text,
    sign_up,
)

METADATA = {"accounts": AccountsBase.metadata, "billing": BillingBase.metadata,
            "vouchers": VouchersBase.metadata, "tickets": TicketsBase.metadata,
            "notifier": NotifierBase.metadata, "insights": InsightsBase.metadata}


@pytest.fixture
def portal(start_portal):
    portal = start_portal(ACCOUNTS_TIMER_SECONDS=0.2, RPC_TIMEOUT_SECONDS=3)
    clock = TestClock(dt.datetime.now(dt.UTC))
    get_extension(get_container(portal.runner, AccountsService), ClockProvider).clock = clock
    portal.accounts_clock = clock
    return portal


def deletion_row(portal, customer_id) -> dict | None:
    engine = sa.create_engine(normalize_url(portal.database_urls["accounts"]))
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text(
                "SELECT status, steps_done, last_error FROM deletion_requests "
                "WHERE customer_id = :c ORDER BY requested_at DESC LIMIT 1"),
                {"c": customer_id}).first()
    finally:
        engine.dispose()
    if row is None:
        return None
    steps = row.steps_done if isinstance(row.steps_done, list) else json.loads(row.steps_done)
    return {"status": row.status, "steps": steps, "last_error": row.last_error}


def customer_with_history(portal, person):
    """A prepaid customer with a card, a top-up spent on a subscription (nothing left, nothing
    owed), a ticket, viewing and notifications."""
    token, customer_id = sign_up(portal, person)
    portal.ok("PUT", "/api/v1/me/consents/viewing_recommendations", token,
              json={"granted": True})
    portal.ok("POST", "/api/v1/me/payment-methods", token, status=201,
              json={**CARD, "holder": person.name})
    price = next(p for p in portal.ok("GET", "/api/v1/catalog/packages", token)["data"]
                 if p["code"] == "basic")["taxed_prices"]["month"]["gross"]
    portal.ok("POST", "/api/v1/wallet/top-ups", token, status=201,
              json={"amount": price}, headers={"Idempotency-Key": "privacy-flow-top-up"})
    portal.ok("POST", "/api/v1/subscriptions", token, status=201, json={"package": "basic"},
              headers={"Idempotency-Key": "privacy-flow-sub"})
    assert portal.ok("GET", "/api/v1/wallet", token)["balance"]["amount"] == 0
    portal.ok("POST", "/api/v1/tickets", token, status=201, json={
        "category": "general", "subject": "Remote control",
        "description": f"{person.name}, {person.address['line1']}, call {person.phone}."})
    with ClusterRpcProxy({"AMQP_URI": portal.config["AMQP_URI"]}, timeout=30) as cluster:
        day = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
        assert cluster.insights.report_viewing(f"flow-{customer_id}", [
            {"customer_id": customer_id, "channel": "News 24", "day": day,
             "minutes": 42}])["stored"] == 1
    return token, customer_id


def test_my_data_is_gathered_from_every_service_into_one_archive_only_i_download(portal):
    person = Person()
    token, customer_id = customer_with_history(portal, person)
    started = portal.ok("POST", "/api/v1/me/data-exports", token, status=202)
    assert started["status"] == "pending"
    again = portal.ok("POST", "/api/v1/me/data-exports", token, status=202)
    assert again["id"] == started["id"]  # one at a time

    def ready():
        return [e for e in portal.ok("GET", "/api/v1/me/data-exports", token)["data"]
                if e["id"] == started["id"] and e["status"] == "ready"]
    [export] = eventually(ready, timeout=60)
    assert export["size"] > 0 and export["expires_at"]
    download = portal("GET", f"/api/v1/me/data-exports/{export['id']}/download", token)
    assert download.status_code == 200, download.text
    assert download.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    names = set(archive.namelist())
    assert {"README.txt", *(f"data/{s}.json" for s in METADATA)} <= names
    assert [n for n in names if n.startswith("receipts/") and n.endswith(".pdf")]
    for pdf in (n for n in names if n.endswith(".pdf")):
        assert archive.read(pdf).startswith(b"%PDF")
    data = {s: json.loads(archive.read(f"data/{s}.json")) for s in METADATA}
    assert data["accounts"]["account"][0]["email"] == person.email
    assert [s["package"]["code"] if isinstance(s.get("package"), dict) else s.get("package")
            for s in data["billing"]["subscriptions"]]
    assert person.phone in json.dumps(data["tickets"])
    assert data["insights"]["viewing_daily"][0]["minutes"] == 42
    assert data["notifier"]["notifications"]  # the welcome at least

    other_token, _ = sign_up(portal, Person())
    assert portal("GET", f"/api/v1/me/data-exports/{export['id']}/download",
                  other_token).status_code == 404  # only its customer downloads it
    # the customer is told; after a week the archive is gone
    assert eventually(lambda: [n for n in portal.ok("GET", "/api/v1/notifications", token)[
        "data"] if n["title"] == "Your data is ready to download"])
    portal.accounts_clock.advance(days=8)
    token = demo.login(portal.url, person.email, PASSWORD)
    assert eventually(lambda: portal("GET", f"/api/v1/me/data-exports/{export['id']}/download",
                                     token).status_code == 404)
    assert eventually(lambda: portal.ok("GET", "/api/v1/me/data-exports", token)["data"][0][
        "status"] == "expired")


def test_deletion_needs_a_recent_sign_in_waits_the_cooling_off_and_can_be_cancelled(portal):
    token, customer_id = sign_up(portal, Person())
    status = portal.ok("GET", "/api/v1/me/deletion", token)
    assert status == {"request": None, "blockers": [], "cooling_off_days": 14}
    portal.accounts_clock.advance(minutes=11)
    refused = portal("POST", "/api/v1/me/deletion", token)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "REAUTH_REQUIRED"
    portal.ok("POST", "/api/v1/me/reauthenticate", token, json={"password": PASSWORD})
    scheduled = portal.ok("POST", "/api/v1/me/deletion", token, status=202)
    due = dt.datetime.fromisoformat(scheduled["due_at"].replace("Z", "+00:00"))
    assert scheduled["status"] == "scheduled"
    assert abs(due - portal.accounts_clock.now() - dt.timedelta(days=14)) < dt.timedelta(
        seconds=1)  # the answer is to the second
    assert portal.ok("POST", "/api/v1/me/deletion", token, status=202)["id"] == scheduled["id"]
    cancelled = portal.ok("DELETE", "/api/v1/me/deletion", token)
    assert cancelled["status"] == "cancelled"
    assert portal("DELETE", "/api/v1/me/deletion", token).status_code == 404
    rounds = timer_rounds("accounts", "housekeeping")
    portal.accounts_clock.advance(days=15)  # nothing happens to a cancelled request
    assert eventually(lambda: timer_rounds("accounts", "housekeeping") >= rounds + 2)
    assert deletion_row(portal, customer_id)["status"] == "cancelled"

    # money left in the wallet refuses it, saying why
    rich_token, _ = sign_up(portal, Person())
    portal.ok("POST", "/api/v1/me/payment-methods", rich_token, status=201, json=CARD)
    portal.ok("POST", "/api/v1/wallet/top-ups", rich_token, status=201,
              json={"amount": {"amount": 500, "currency": "EUR"}},
              headers={"Idempotency-Key": "privacy-rich"})
    assert [b["code"] for b in portal.ok("GET", "/api/v1/me/deletion", rich_token)[
        "blockers"]] == ["WALLET_BALANCE_LEFT"]
    blocked = portal("POST", "/api/v1/me/deletion", rich_token)
    assert blocked.status_code == 409
    assert blocked.json()["error"]["code"] == "ACCOUNT_DELETION_BLOCKED"
    assert blocked.json()["error"]["params"] == {"reasons": "WALLET_BALANCE_LEFT"}


def test_the_saga_survives_a_service_killed_midway_and_leaves_no_trace(portal, runner_factory):
    person = Person()
    token, customer_id = customer_with_history(portal, person)
    scheduled = portal.ok("POST", "/api/v1/me/deletion", token, status=202)
    assert scheduled["status"] == "scheduled"

    get_container(portal.runner, TicketsService).kill()  # tickets goes down
    portal.accounts_clock.advance(days=14, seconds=1)  # the cooling-off is over
    stuck = eventually(lambda: (lambda row: row if row and "tickets" in (
        row["last_error"] or "") else None)(deletion_row(portal, customer_id)), timeout=60)
    assert stuck, deletion_row(portal, customer_id)
    assert stuck["status"] == "running"
    assert stuck["steps"] == ["check", "lock_out", "notifier", "billing", "vouchers"]
    assert portal("GET", "/api/v1/me", token).status_code == 401  # locked out already
    assert portal("POST", "/api/v1/auth/login", None, json={
        "email": person.email, "password": PASSWORD}).status_code == 401

    runner_factory(portal.config, TicketsService).start()  # tickets is back
    portal.accounts_clock.advance(hours=2)  # past the retry's pause
    done = eventually(lambda: (lambda row: row if row["status"] == "done" else None)(
        deletion_row(portal, customer_id)), timeout=60)
    assert done and done["steps"] == ["check", "lock_out", "notifier", "billing", "vouchers",
                                      "tickets", "insights", "accounts"], \
        deletion_row(portal, customer_id)

    urls = portal.database_urls
    for service in ("notifier", "billing", "tickets", "insights"):
        assert forgotten_events(urls[service]) == 1, service  # each forgot once
    # (vouchers held nothing of theirs to forget: tests/integration/test_privacy_vouchers*)
    # no database holds the person's name, e-mail, phone or address
    left = {service: [s for s in person.strings() if s in rows_as_text(urls[service], md)]
            for service, md in METADATA.items()}
    assert left == {service: [] for service in METADATA}, left
    with ClusterRpcProxy({"AMQP_URI": portal.config["AMQP_URI"]}, timeout=30) as cluster:
        assert cluster.billing.verify_ledger()["ok"] is True
        payments = cluster.billing.list_payments(customer_id)["data"]
        assert payments and all(p["status"] == "succeeded" for p in payments)
        account = cluster.accounts.get_account(customer_id)
        assert account["name"].startswith("Deleted customer") and account["phone"] is None
