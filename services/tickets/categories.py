"""Ticket categories: what customers can raise, and the urgency × impact that give a new
ticket its priority (ITIL's matrix, `routing.priority_of`). A fresh database has the operator's
usual four; ops add and change them.

The functions flush; the caller (the entrypoint in service.py) commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import errors, pages
from services.common.contract.tickets import CategoryIn, CategoryReplace
from services.common.db import is_unique_violation
from services.common.schemas import load_or_raise, localized
from services.tickets import exceptions
from services.tickets.models import Category
from services.tickets.routing import priority_of

DEFAULTS = [
    {"code": "service_interruption", "name": "Service interruption",
     "description": "A service does not work: no picture, no connection.",
     "urgency": "high", "impact": "medium", "required_fields": ["subscription_id"],
     "translations": {
         "de": {"name": "Störung", "description": "Ein Dienst funktioniert nicht: kein Bild, "
                                                   "keine Verbindung."},
         "it": {"name": "Interruzione del servizio",
                "description": "Un servizio non funziona: niente immagine, nessuna connessione."},
         "th": {"name": "บริการขัดข้อง", "description": "บริการใช้งานไม่ได้ ไม่มีภาพ หรือเชื่อมต่อไม่ได้"}}},
    {"code": "billing", "name": "Billing question",
     "description": "A question about a bill, a payment or the wallet.",
     "urgency": "medium", "impact": "low", "required_fields": [],
     "translations": {
         "de": {"name": "Frage zur Rechnung",
                "description": "Eine Frage zu einer Rechnung, einer Zahlung oder dem Guthaben."},
         "it": {"name": "Domanda sulla fattura",
                "description": "Una domanda su una fattura, un pagamento o il credito."},
         "th": {"name": "สอบถามเรื่องค่าบริการ",
                "description": "คำถามเกี่ยวกับใบแจ้งค่าบริการ การชำระเงิน หรือกระเป๋าเงิน"}}},
    {"code": "complaint", "name": "Complaint",
     "description": "Something went wrong and you want us to put it right.",
     "urgency": "medium", "impact": "medium", "required_fields": [],
     "translations": {
         "de": {"name": "Beschwerde",
                "description": "Etwas ist schiefgelaufen und Sie möchten, dass wir es richten."},
         "it": {"name": "Reclamo",
                "description": "Qualcosa è andato storto e desidera che lo sistemiamo."},
         "th": {"name": "ร้องเรียน", "description": "มีบางอย่างผิดพลาดและต้องการให้เราแก้ไข"}}},
    {"code": "general", "name": "General question",
     "description": "Anything else.", "urgency": "low", "impact": "low", "required_fields": [],
     "translations": {
         "de": {"name": "Allgemeine Frage", "description": "Alles andere."},
         "it": {"name": "Domanda generale", "description": "Tutto il resto."},
         "th": {"name": "คำถามทั่วไป", "description": "เรื่องอื่น ๆ"}}},
]


def seed(session: Session) -> None:
    """The four usual categories, on a fresh database only (ops' changes are kept), in the
    caller's transaction. Two first requests at once both try: the primary key lets one in, the
    other's savepoint undoes only its own inserts and it finds them there."""
    if session.scalar(select(Category.code).limit(1)) is None:
        try:
            with session.begin_nested():
                for n, spec in enumerate(DEFAULTS):
                    session.add(Category(**spec, active=True, position=n))
                session.flush()
        except IntegrityError as exc:
            if not is_unique_violation(exc):
                raise


def dump(category: Category) -> dict:
    return {"code": category.code, "name": category.name, "description": category.description,
            "urgency": category.urgency, "impact": category.impact,
            "priority": priority_of(category.urgency, category.impact),
            "required_fields": list(category.required_fields or []),
            "active": category.active, "position": category.position,
            "translations": dict(category.translations or {})}


def listing(session: Session, include_inactive: bool = False,
            language: str | None = None) -> dict:
    """The categories (a handful: never cut); with `language`, as customers read them: names
    and descriptions in that language where translated."""
    seed(session)
    query = select(Category).order_by(Category.position, Category.code)
    if not include_inactive:
        query = query.where(Category.active.is_(True))
    rows = [dump(c) for c in session.scalars(query)]
    return pages.whole([localized(row, language) for row in rows] if language else rows)


def find(session: Session, code, active_only: bool = True) -> Category:
    category = session.get(Category, code) if isinstance(code, str) else None
    if category is None or (active_only and not category.active):
        raise errors.NotFound("No such ticket category.", code=exceptions.CATEGORY_NOT_FOUND)
    return category


def create(session: Session, request: dict) -> dict:
    values = load_or_raise(CategoryIn(), request)
    seed(session)
    if session.get(Category, values["code"]) is not None:
        raise errors.Conflict("A category with this code exists.", code=exceptions.CATEGORY_EXISTS,
                              fields={"code": ["is taken"]})
    category = Category(**{"description": "", "required_fields": [], "active": True,
                           "position": 100, **values})
    session.add(category)
    session.flush()
    return dump(category)


def update(session: Session, code: str, request: dict) -> dict:
    values = load_or_raise(CategoryReplace(partial=True), request)
    category = find(session, code, active_only=False)
    if values.get("code", code) != code:
        raise errors.InvalidArgument(fields={"code": ["cannot be changed"]})
    for name, value in values.items():
        setattr(category, name, value)
    session.flush()
    return dump(category)
