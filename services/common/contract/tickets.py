"""Bodies of the tickets service's API (support: tickets, the FAQ, and ops' teams, routing,
escalation, incidents and silences), and the values they take: the ticket statuses and
priorities are listed here once, for the gateway (its document) and tickets (its rules)."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from services.common.contract.notifier import ChannelIn
from services.common.schemas import (
    SUPPORTED_LANGUAGES,
    JsonBool,
    PositiveMoney,
    StrictSchema,
    Text,
    TextTranslation,
    Translations,
)

# the status machine's states (services/tickets/lifecycle.py moves between them)
TICKET_STATUSES = ("new", "routed", "acknowledged", "in_progress", "waiting_on_customer",
                   "resolved", "closed")
PRIORITIES = ("P1", "P2", "P3", "P4")  # urgency × impact (ITIL), P1 first
LEVELS = ("high", "medium", "low")  # a category's urgency and impact
REQUIRABLE = ("subscription_id",)  # what a category may require of a ticket
SUPPORT_LANGUAGES = SUPPORTED_LANGUAGES  # the FAQ's
# a routing rule's matcher: a ticket's attribute, compared (services/tickets/routing.py)
ROUTING_FIELDS = ("category", "priority", "region", "package", "billing_type", "subscription",
                  "keywords")
GROUPABLE = tuple(f for f in ROUTING_FIELDS if f != "keywords")  # an incident rule's group_by
OPERATORS = ("=", "!=", "=~", "!~")
# one word of an alert's routing key `<team>.<severity>` (as the notifier's channels), short
# enough for its lead's pseudo-team `<team>-lead` to be one too
TEAM_NAME = validate.Regexp(r"^[A-Za-z0-9_-]{1,59}$",
                            error="Must be 1 to 59 letters, digits, '-' or '_'.")
CATEGORY_CODE_PATTERN = r"^[a-z][a-z0-9_]{1,39}$"
CATEGORY_CODE = validate.Regexp(CATEGORY_CODE_PATTERN, error="Must be 2 to 40 of a-z, 0-9 and _.")
MAX_DELAY_MINUTES = 7 * 24 * 60  # an escalation step's delay, an incident rule's window


def Ref(**kwargs) -> fields.String:
    """An id of ours (`tkt_…`, `cus_…`): bounded, never a 100 KB string."""
    return fields.String(validate=validate.Length(min=1, max=40), **kwargs)


def TeamName(**kwargs) -> fields.String:
    return fields.String(validate=TEAM_NAME, **kwargs)


# customers

class TicketIn(StrictSchema):
    category = fields.String(required=True, validate=validate.Length(min=1, max=40),
                             metadata={"example": "billing"})
    subject = Text(200, required=True, min_length=1)
    description = Text(5000, required=True, min_length=1)
    subscription_id = Ref(allow_none=True, metadata={
        "description": "required by some categories (their `required_fields`)"})


class CommentIn(StrictSchema):
    text = Text(5000, required=True, min_length=1)


# ops: tickets

class AssignIn(StrictSchema):
    assignee = Ref(required=True, allow_none=True,
                   metadata={"description": "an agent's account id; null unassigns"})


class TicketChange(StrictSchema):
    OPENAPI = {"minProperties": 1}

    status = fields.String(validate=validate.OneOf(TICKET_STATUSES))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Give a status or a priority.", "status")


class OpsCommentIn(StrictSchema):
    text = Text(5000, required=True, min_length=1)
    internal = JsonBool(load_default=False, metadata={
        "description": "an agent's note the customer never sees"})


class ResolveIn(StrictSchema):
    resolution = Text(5000, required=True, min_length=3)


# ops: categories and the FAQ

class CategoryIn(StrictSchema):
    code = fields.String(required=True, validate=CATEGORY_CODE)
    name = Text(100, required=True, min_length=1)
    description = Text(500)
    urgency = fields.String(required=True, validate=validate.OneOf(LEVELS))
    impact = fields.String(required=True, validate=validate.OneOf(LEVELS))
    required_fields = fields.List(fields.String(validate=validate.OneOf(REQUIRABLE)),
                                  validate=validate.Length(max=len(REQUIRABLE)))
    active = JsonBool()
    position = fields.Integer(strict=True, validate=validate.Range(0, 10_000))
    translations = Translations(TextTranslation)


class CategoryReplace(CategoryIn):
    code = fields.String(validate=CATEGORY_CODE,
                         metadata={"description": "the path's code; it cannot change"})


class FaqIn(StrictSchema):
    category = fields.String(required=True, validate=validate.Length(min=1, max=40))
    language = fields.String(required=True, validate=validate.OneOf(SUPPORT_LANGUAGES))
    question = Text(300, required=True, min_length=3)
    answer = Text(5000, required=True, min_length=1)
    position = fields.Integer(strict=True, validate=validate.Range(0, 10_000))


# ops: teams (the tickets service's team, accounts' members, the notifier's channels: tickets
# checks the whole body before it writes or asks anything)

class TeamIn(StrictSchema):
    name = TeamName(required=True, metadata={"example": "noc"})
    description = Text(500)
    lead = Ref(allow_none=True, metadata={"description": "an agent's account id"})
    members = fields.List(Ref(), validate=validate.Length(max=100),
                          metadata={"description": "agent or admin account ids"})
    channels = fields.List(fields.Nested(ChannelIn), validate=validate.Length(max=20))


class TeamChange(StrictSchema):
    description = Text(500)
    lead = Ref(allow_none=True)
    members = fields.List(Ref(), validate=validate.Length(max=100), metadata={
        "description": "exactly these agent or admin accounts"})
    channels = fields.List(fields.Nested(ChannelIn), validate=validate.Length(max=20),
                           metadata={"description": "replaces the team's channels (new "
                                                    "webhook secrets are in this answer)"})


# ops: routing rules (tickets also compiles each expression with RE2, and checks the team and
# the policy exist)

class MatcherIn(StrictSchema):
    field = fields.String(required=True, validate=validate.OneOf(ROUTING_FIELDS))
    op = fields.String(load_default="=", validate=validate.OneOf(OPERATORS), metadata={
        "description": "=~ and !~ take an anchored regular expression (searched for, "
                       "case-insensitive, on keywords)"})
    value = Text(500, required=True)


class RuleIn(StrictSchema):
    position = fields.Integer(required=True, strict=True, validate=validate.Range(0, 1_000_000),
                              metadata={"description": "lower first"})
    description = Text(300)
    match = fields.List(fields.Nested(MatcherIn), load_default=list,
                        validate=validate.Length(max=20),
                        metadata={"description": "all must hold; none: every ticket"})
    team = TeamName(required=True)
    priority = fields.String(allow_none=True, validate=validate.OneOf(PRIORITIES))
    escalation_policy = Ref(allow_none=True)
    # `continue` is a Python keyword: the attribute is `continue_`; it loads as `continue`
    continue_ = JsonBool(data_key="continue", attribute="continue", load_default=False,
                         metadata={"description": "the next matching rule decides too "
                                                  "(one ticket pages two teams)"})


class DefaultRouteIn(StrictSchema):
    team = TeamName(required=True)
    escalation_policy = Ref(allow_none=True)


class RouteTestIn(StrictSchema):
    """A ticket's attributes, as routing sees them."""

    category = fields.String(validate=validate.Length(max=40))
    priority = fields.String(validate=validate.OneOf(PRIORITIES))
    region = fields.String(validate=validate.Length(max=10))
    package = fields.String(validate=validate.Length(max=40))
    billing_type = fields.String(validate=validate.OneOf(["prepaid", "postpaid"]))
    subscription = fields.String(validate=validate.Length(max=40))
    subject = Text(200, metadata={"description": "with the description: what `keywords` "
                                                 "matchers search"})
    description = Text(5000)


# ops: escalation policies (tickets checks a target's team exists)

class EscalationTargetIn(StrictSchema):
    OPENAPI = {"oneOf": [{"properties": {"type": {"enum": ["team"]}}, "required": ["team"]},
                         {"properties": {"type": {"enum": ["lead"]}},
                          "not": {"required": ["team"]}}]}

    type = fields.String(required=True, validate=validate.OneOf(["team", "lead"]),
                         metadata={"description": "lead: the channels of `<team>-lead`"})
    team = TeamName()

    @validates_schema
    def _team_for_team(self, data, **kwargs):
        if data.get("type") == "team" and not data.get("team"):
            raise ValidationError("Required for a team target.", "team")
        if data.get("type") == "lead" and "team" in data:
            raise ValidationError("Not used by a lead target: it pages the lead of the "
                                  "ticket's team.", "team")


class EscalationStepIn(StrictSchema):
    delay_minutes = fields.Integer(required=True, strict=True,
                                   validate=validate.Range(1, MAX_DELAY_MINUTES))
    target = fields.Nested(EscalationTargetIn, required=True)


class EscalationPolicyIn(StrictSchema):
    name = Text(100, required=True, min_length=1)
    steps = fields.List(fields.Nested(EscalationStepIn), required=True,
                        validate=validate.Length(min=1, max=10))
    repeat = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, 10))


# ops: incidents and their rules

class IncidentResolveIn(StrictSchema):
    resolution = Text(5000, required=True, min_length=3)
    credit = fields.Nested(PositiveMoney, allow_none=True, metadata={
        "description": "a service credit for each affected customer (once)"})


class IncidentRuleIn(StrictSchema):
    name = Text(100, required=True, min_length=1)
    match = fields.List(fields.Nested(MatcherIn), required=True,
                        validate=validate.Length(min=1, max=20))
    group_by = fields.List(fields.String(validate=validate.OneOf(GROUPABLE)),
                           load_default=list, validate=validate.Length(max=5),
                           metadata={"description": "attributes (not keywords) whose equal "
                                                    "values make one incident"})
    window_minutes = fields.Integer(required=True, strict=True,
                                    validate=validate.Range(1, MAX_DELAY_MINUTES))
    position = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, 100_000))


# ops: silences

class SilenceIn(StrictSchema):
    # what `_what_and_when` checks first: a team or a rule (its own one, not null)
    OPENAPI = {"anyOf": [
        {"required": ["team"], "properties": {"team": {"type": "string"}}},
        {"required": ["rule_id"], "properties": {"rule_id": {"type": "string"}}}]}

    team = TeamName(allow_none=True)
    rule_id = Ref(allow_none=True)
    starts_at = fields.AwareDateTime(allow_none=True, metadata={"description": "default: now"})
    ends_at = fields.AwareDateTime(required=True)
    reason = Text(500, required=True, min_length=3)

    @validates_schema
    def _what_and_when(self, data, **kwargs):
        if not data.get("team") and not data.get("rule_id"):
            raise ValidationError("Give a team or a rule_id to silence.", "team")
        if data.get("starts_at") and data["ends_at"] <= data["starts_at"]:
            raise ValidationError("Must be after starts_at.", "ends_at")


# ops: canned replies (tickets checks that a category exists)

class CannedReplyIn(StrictSchema):
    title = Text(100, required=True, min_length=1)
    body = Text(5000, required=True, min_length=1, metadata={
        "description": "inserted into an agent's reply, editable before it is sent"})
    category = fields.String(allow_none=True, validate=validate.Length(min=1, max=40),
                             metadata={"description": "a ticket category's code; null or "
                                                      "left out: any category"})
    language = fields.String(required=True, validate=validate.OneOf(SUPPORT_LANGUAGES))


class CannedReplyChange(CannedReplyIn):
    """A partial change: the fields given are replaced."""

    OPENAPI = {"minProperties": 1}

    title = Text(100, min_length=1)
    body = Text(5000, min_length=1)
    language = fields.String(validate=validate.OneOf(SUPPORT_LANGUAGES))

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Give at least one field to change.", "title")
