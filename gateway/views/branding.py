"""The operator's branding for the front end: name, logo and colours (gateway/branding.py).
Public (the login page wears it too) and cacheable: it changes only with the configuration."""

from __future__ import annotations

from werkzeug.utils import send_file

from gateway import branding
from gateway.http import Call, Reply
from services.common import errors

CACHE = "public, max-age=300"


def show(gw, call: Call) -> Reply:
    return Reply(branding.of(gw.config).public(), headers={"Cache-Control": CACHE})


def logo(gw, call: Call):
    brand = branding.of(gw.config)
    if brand.logo_file is None:
        raise errors.NotFound("No logo is configured.")
    response = send_file(str(brand.logo_file), call.request.environ, mimetype=brand.logo_type,
                         conditional=True, max_age=86400)
    # the address carries the file's hash (?v=): a new logo is a new address
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
