"""Bodies of the notifier's API."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from services.common.schemas import JsonBool, StrictSchema, Text

# the topics a customer chooses channels for (the notifier's templates give each its label)
TOPICS = ("account", "billing", "wallet", "service", "cards", "vouchers", "support",
          "promotions", "maintenance")

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


class PreferenceIn(StrictSchema):
    """One preference: `{topic, channel, enabled}`, or a topic as GET returns it (`{topic,
    portal, email}`; `label` and `locked` are read-only and ignored), so what was read can be
    sent back."""

    # what `_one_shape` checks, for the document
    OPENAPI = {"oneOf": [
        {"required": ["channel", "enabled"],
         "not": {"anyOf": [{"required": ["portal"]}, {"required": ["email"]}]}},
        {"anyOf": [{"required": ["portal"]}, {"required": ["email"]}],
         "not": {"anyOf": [{"required": ["channel"]}, {"required": ["enabled"]}]}}]}

    topic = fields.String(required=True, validate=validate.OneOf(TOPICS),
                          metadata={"example": "promotions"})
    channel = fields.String(validate=validate.OneOf(["portal", "email"]))
    enabled = JsonBool()
    portal = JsonBool(metadata={"description": "the inbox on or off for this topic"})
    email = JsonBool(metadata={"description": "e-mail on or off for this topic"})
    label = fields.String(validate=validate.Length(max=200),
                          metadata={"description": "read-only: ignored"})
    locked = JsonBool(metadata={"description": "read-only: ignored"})

    @validates_schema
    def _one_shape(self, data, **kwargs):
        per_channel = [c for c in ("portal", "email") if c in data]
        if "channel" in data or "enabled" in data:
            if per_channel:
                raise ValidationError("give channel and enabled, or portal and/or email, not "
                                      "both", per_channel[0])
            for name in ("channel", "enabled"):
                if name not in data:
                    raise ValidationError("Missing data for required field.", name)
        elif not per_channel:
            raise ValidationError("give channel and enabled, or portal and/or email", "channel")


class PreferencesIn(StrictSchema):
    """What GET returned (changed as wanted), or a list of `{topic, channel, enabled}`."""

    preferences = fields.List(fields.Nested(PreferenceIn), required=True,
                              validate=validate.Length(min=1, max=50))


class SegmentIn(StrictSchema):
    billing_type = fields.String(validate=validate.OneOf(["prepaid", "postpaid"]))
    tax_region = fields.String(validate=validate.Length(min=2, max=20))
    package = fields.String(validate=validate.Length(min=1, max=40))


class BroadcastIn(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(["promotion", "maintenance"]))
    title = Text(200, required=True, min_length=1)
    body = Text(5000, required=True, min_length=1)
    segment = fields.Nested(SegmentIn)
    send_at = fields.AwareDateTime(metadata={"description": "default: now"})
