"""insights' flows of more than one transaction, or around RPCs: nothing is held open while
accounts, catalog or billing answer.

- Reporting a batch: its earlier answer is read first (a repeat costs no RPC); then accounts
  (which customers exist) and the catalog (which channels exist, cached) are asked in parallel,
  outside any transaction; then one transaction claims the batch id and adds the minutes. A
  concurrent twin that loses the claim answers the winner's outcome as a duplicate.
- A budget check (after a billing event, or when a budget is set) asks billing's month_status
  first, then records and announces thresholds in one transaction.
- Retention: one transaction per batch of deleted rows.
"""

from __future__ import annotations

import datetime as dt

from services.common import errors
from services.common.db import unit_of_work
from services.insights import arguments, budgets, viewing

PRUNE_ROUNDS = 200  # batches of rows per timer round at most (1,000,000 rows)


class _LostClaim(Exception):
    pass


def _wait(pending, proxy):
    return pending.wait(pending.started + proxy.timeout)


def catalog_channels(catalog) -> set[str]:
    """The channels of the catalog's active packages and add-ons (both asked at once)."""
    asked = [catalog.start("list_packages"), catalog.start("list_addons")]
    return {channel for pending in asked for entry in _wait(pending, catalog)
            for channel in entry.get("channels") or ()}


def report_viewing(db, accounts, catalog, channels: viewing.ChannelCache, batch_id, records,
                   now: dt.datetime, retention_days: int) -> dict:
    viewing.check_batch(batch_id, records)
    earlier = viewing.earlier_outcome(db, batch_id)
    db.rollback()
    if earlier is not None:
        return viewing.duplicate(earlier)
    parsed = viewing.parse(records, now.date(), retention_days)
    ids = sorted({row[0] for row in parsed.rows})
    asked = accounts.start("known_customers", ids) if ids else None
    known_channels = channels.get(lambda: catalog_channels(catalog)) if ids else frozenset()
    known = set(_wait(asked, accounts)["known"]) if asked is not None else set()
    try:
        with unit_of_work(db):
            outcome, minutes = viewing.sort_out(
                batch_id, len(records), parsed, known, known_channels,
                viewing.opted_out(db, known))
            if not viewing.claim_batch(db, batch_id, outcome, now):
                raise _LostClaim
            viewing.add_minutes(db, minutes)
        return outcome
    except _LostClaim:
        pass
    earlier = viewing.earlier_outcome(db, batch_id)
    db.rollback()
    if earlier is None:  # the twin that held the key rolled back after all
        raise errors.ServiceUnavailable("The batch is being recorded; send it again.")
    return viewing.duplicate(earlier)


def prune(db, now: dt.datetime, retention_days: int) -> dict:
    """Delete viewing days older than the retention, the days of customers who switched their
    viewing off (stored by a batch racing the switch), and batch ids past any use: each batch
    of rows its own transaction, so the table is never locked for long."""
    earliest = viewing.earliest_day(now.date(), retention_days)
    kept_until = viewing.batches_kept_until(now, retention_days)
    deleted = {"days": 0, "opted_out": 0, "batches": 0}
    for name, step in (("days", lambda: viewing.prune_days(db, earliest)),
                       ("opted_out", lambda: viewing.prune_without_consent(db)),
                       ("batches", lambda: viewing.prune_batches(db, kept_until))):
        for _ in range(PRUNE_ROUNDS):
            with unit_of_work(db):
                gone = step()
            deleted[name] += gone
            if gone < viewing.CHUNK:
                break
    return deleted


def month_status(billing, customer_id: str) -> dict:
    return billing.month_status(customer_id)


def check_budget(db, billing, customer_id: str, now: dt.datetime) -> str | None:
    """After a billing event: nothing to do without a budget (no RPC); else billing's figures,
    then the thresholds recorded and at most one announced."""
    has_budget = budgets.get(db, customer_id) is not None
    db.rollback()
    if not has_budget:
        return None
    status = month_status(billing, customer_id)
    with unit_of_work(db):
        budget = budgets.get(db, customer_id)
        return None if budget is None else budgets.check(db, budget, status, now)


def set_budget(db, billing, customer_id: str, amount, now: dt.datetime) -> dict:
    """Store the budget in the account's currency (billing's answer names it), check it at
    once against the month so far, and answer the budget's view."""
    arguments.customer_id(customer_id)
    budgets.check_amount(amount)
    status = month_status(billing, customer_id)
    with unit_of_work(db):
        budget = budgets.put(db, customer_id, amount, status["currency"], now)
        budgets.check(db, budget, status, now)
        return budgets.view(budget, status)


def budget_view(db, billing, customer_id: str) -> dict:
    arguments.customer_id(customer_id)
    status = month_status(billing, customer_id)
    budget = budgets.get(db, customer_id)
    db.rollback()
    return budgets.view(budget, status)
