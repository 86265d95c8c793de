"""Service credits: what an operator grants affected customers when an incident is resolved
(the tickets service asks, once per customer and incident, by `reference`).

Prepaid: a wallet credit (ledger `adjustment` with the unique source `service_credit:<ref>`).
Postpaid: a credit note on the account's latest invoice (lowering it if unpaid, else a credit
line on the next invoice); the note's operation key ends with the reference, so a repeat finds
it even if a newer invoice was issued since. Either way a repeated or concurrent request
answers the same credit: exactly once.
"""

from __future__ import annotations

import datetime as dt

from marshmallow import fields
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.billing.invoicing import credit_notes
from services.billing.invoicing.invoices import dump_credit_note
from services.billing.models import CreditNote, Invoice
from services.billing.money import ledger, texts
from services.billing.subscriptions import settlement
from services.common import errors
from services.common.db import is_unique_violation
from services.common.schemas import MoneySchema, StrictSchema, Text, load_or_raise


class ServiceCreditSchema(StrictSchema):
    amount = fields.Nested(MoneySchema, required=True)
    reason = Text(300, required=True, min_length=3)
    reference = Text(150, required=True, min_length=3)


def grant(session: Session, accounts, customer_id: str, request: dict, actor: str,
          now: dt.datetime) -> dict:
    values = load_or_raise(ServiceCreditSchema(), request)
    amount, reference = values["amount"], values["reference"]
    account = accounts.get_account(customer_id)
    if amount["currency"] != account["currency"] or amount["amount"] <= 0:
        raise errors.InvalidArgument(fields={"amount": [
            f"must be more than zero in {account['currency']}"]})
    if account["billing_type"] == "prepaid":
        return _wallet_credit(session, customer_id, amount, values["reason"], reference, actor,
                              now)
    return _credit_note(session, customer_id, amount, values["reason"], reference, actor, now)


def _wallet_credit(session: Session, customer_id: str, amount: dict, reason: str,
                   reference: str, actor: str, now: dt.datetime) -> dict:
    source = f"service_credit:{reference}"
    try:
        with session.begin_nested():
            entry = ledger.post(session, customer_id, amount["currency"], ledger.CREDIT,
                                "adjustment", amount["amount"], f"{reason} (by {actor})",
                                source, now,
                                texts.text(texts.SERVICE_CREDIT, reason=reason, actor=actor))
    except IntegrityError as exc:  # the same reference, concurrently: its entry
        if not is_unique_violation(exc):
            raise
        return {"kind": "wallet_credit",
                "transaction": ledger.dump_entry(ledger.find(session, source))}
    settlement.settle(session, customer_id, now, strict=False)
    return {"kind": "wallet_credit", "transaction": ledger.dump_entry(entry)}


def _credit_note(session: Session, customer_id: str, amount: dict, reason: str,
                 reference: str, actor: str, now: dt.datetime) -> dict:
    suffix = f":service-credit:{reference}"
    earlier = session.scalar(select(CreditNote).where(
        CreditNote.customer_id == customer_id, CreditNote.operation_key.endswith(suffix)))
    if earlier is not None:
        return {"kind": "credit_note", "credit_note": dump_credit_note(earlier)}
    invoice = session.scalar(
        select(Invoice).where(Invoice.customer_id == customer_id,
                              Invoice.number.is_not(None), Invoice.status != "void",
                              Invoice.currency == amount["currency"])
        .order_by(Invoice.issue_date.desc(), Invoice.number.desc()).limit(1))
    if invoice is None:
        raise errors.Conflict("This account has no invoice yet to credit.",
                              code="NOTHING_TO_CREDIT")
    creditable = invoice.total - invoice.amount_credited
    if creditable <= 0:
        raise errors.Conflict("The latest invoice is fully credited already.",
                              code="NOTHING_TO_CREDIT")
    give = {"amount": min(amount["amount"], creditable), "currency": amount["currency"]}
    note = credit_notes.issue(session, invoice.id, {"amount": give, "reason": reason}, actor,
                              suffix[1:], now)
    return {"kind": "credit_note", "credit_note": note}
