"""Privacy: the customer's consents (each kept by the service that acts on it: the notifier for
promotions, insights for viewing-based recommendations)."""

from __future__ import annotations

from gateway.http import Call
from gateway.schemas.privacy import PURPOSES
from services.common import errors


def _me(call: Call) -> str:
    return call.principal.customer_id


def consents(gw, call: Call) -> dict:
    data = [*gw.notifier.consents(_me(call)), gw.insights.viewing_consent(_me(call))]
    return {"data": data, "has_more": False, "next_cursor": None}


def set_consent(gw, call: Call) -> dict:
    purpose, granted = call.path["purpose"], call.body["granted"]
    if purpose not in PURPOSES:
        raise errors.NotFound("There is no such consent.", code="CONSENT_NOT_FOUND")
    if purpose == "viewing_recommendations":
        gw.insights.set_viewing_use(_me(call), granted, "settings")
        return gw.insights.viewing_consent(_me(call))
    return gw.notifier.set_consent(_me(call), purpose, granted, "settings")
