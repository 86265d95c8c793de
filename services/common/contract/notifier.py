"""Bodies of the notifier's API."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from services.common.schemas import StrictSchema

CHANNEL_TYPES = ("webhook", "email", "bus")

# a host name or address (an IPv6 one in brackets), a port, a path
WEBHOOK_URL = r"^https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?(/[!-~]*)?$"


class ChannelIn(StrictSchema):
    """A team's alert channel (the team is the path's, or the team body's): the gateway checks
    it before anything is written, so a team created with channels is refused whole (400); the
    notifier loads the same schema."""

    OPENAPI = {"oneOf": [
        {"properties": {"type": {"enum": ["webhook"]}}, "required": ["url"],
         "not": {"required": ["address"]}},
        {"properties": {"type": {"enum": ["email"]}}, "required": ["address"],
         "not": {"required": ["url"]}},
        {"properties": {"type": {"enum": ["bus"]}},
         "not": {"anyOf": [{"required": ["url"]}, {"required": ["address"]}]}}]}

    type = fields.String(required=True, validate=validate.OneOf(CHANNEL_TYPES))
    url = fields.Url(schemes={"http", "https"}, require_tld=False,
                     validate=[validate.Length(max=500), validate.Regexp(WEBHOOK_URL)],
                     metadata={"description": "webhook: where the signed JSON is POSTed",
                               "format": "uri", "pattern": WEBHOOK_URL})
    address = fields.Email(validate=validate.Length(max=320),
                           metadata={"description": "email: where alerts are mailed"})

    @validates_schema
    def _fits_type(self, data, **kwargs):
        kind = data.get("type")
        needs = {"webhook": "url", "email": "address"}.get(kind)
        problems = {}
        if needs and needs not in data:
            problems[needs] = [f"Required for a {kind} channel."]
        for name in ("url", "address"):
            if name in data and name != needs:
                problems[name] = [f"Not used by a {kind} channel."]
        if problems:
            raise ValidationError(problems)
