"""Privacy: the customer's consents (each kept by the service that acts on it: the notifier for
promotions, insights for viewing-based recommendations), their data export and the deletion of
their account (accounts orchestrates both: services/accounts/privacy.py)."""

from __future__ import annotations

import base64

from werkzeug.wrappers import Response

from gateway.http import Call, Reply
from gateway.schemas.privacy import PURPOSES
from services.common import errors


def _me(call: Call) -> str:
    """Privacy rights are the person's own, whatever household account they act on."""
    return call.principal.person_id


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


# download my data ----------------------------------------------------------------------------

def request_export(gw, call: Call) -> Reply:
    return Reply(gw.accounts.request_data_export(_me(call)), status=202)


def exports(gw, call: Call) -> dict:
    return {"data": gw.accounts.list_data_exports(_me(call)), "has_more": False,
            "next_cursor": None}  # the latest 20


def download_export(gw, call: Call) -> Response:
    archive = gw.accounts.data_export_archive(_me(call), call.path["export_id"])
    return Response(base64.b64decode(archive["content"]), mimetype="application/zip",
                    headers={"Content-Disposition":
                             f'attachment; filename="{archive["filename"]}"',
                             "Cache-Control": "private, no-store",
                             "Digest": f"sha-256={archive['sha256']}"})


# delete my account ---------------------------------------------------------------------------

def deletion(gw, call: Call) -> dict:
    return gw.accounts.deletion_status(_me(call))


def request_deletion(gw, call: Call) -> Reply:
    return Reply(gw.accounts.request_deletion(_me(call), call.principal.session_id),
                 status=202)


def cancel_deletion(gw, call: Call) -> dict:
    return gw.accounts.cancel_deletion(_me(call))
