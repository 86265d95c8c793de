"""Branding: the operator's name, logo and colours (gateway/branding.py)."""

from __future__ import annotations

from marshmallow import Schema, fields

_COLOUR = {"pattern": "^#[0-9a-f]{6}$"}


class Branding(Schema):
    name = fields.String(allow_none=True, metadata={
        "description": "the portal's name (BRAND_NAME); null: the portal's own name in the "
                       "customer's language"})
    logo_url = fields.String(allow_none=True, metadata={
        "description": "the logo (BRAND_LOGO_FILE), served by the gateway; null: none"})
    primary_color = fields.String(metadata={**_COLOUR, "description": "buttons and links; "
                                            "4.5:1 contrast with white text"})
    primary_dark_color = fields.String(metadata={**_COLOUR, "description": "the header and "
                                                 "hovered buttons: a darker shade of the primary"})
    accent_color = fields.String(metadata={**_COLOUR, "description": "the header's rule and the "
                                           "current tab's mark; 3:1 against white"})
