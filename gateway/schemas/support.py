"""Support (docs/support.md): tickets, the FAQ, and ops' queue, teams, routing, incidents."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from gateway.schemas.common import (
    JsonBool,
    Money,
    PageQuery,
    PositiveMoney,
    page_of,
)
from gateway.schemas.notifications import ChannelOut
from services.common import permissions
from services.common.contract.notifier import ChannelIn
from services.common.schemas import StrictSchema, Text

TICKET_STATUSES = ["new", "routed", "acknowledged", "in_progress", "waiting_on_customer",
                   "resolved", "closed"]
PRIORITIES = ["P1", "P2", "P3", "P4"]
LEVELS = ["high", "medium", "low"]
SUPPORT_LANGUAGES = ["en", "de", "it"]
ROUTING_FIELDS = ["category", "priority", "region", "package", "billing_type", "subscription",
                  "keywords"]
GROUPABLE = [f for f in ROUTING_FIELDS if f != "keywords"]
OPERATORS = ["=", "!=", "=~", "!~"]
# one word of an alert's routing key `<team>.<severity>`, with room for `<team>-lead` (the
# tickets service's rule)
TEAM_NAME = validate.Regexp(r"^[A-Za-z0-9_-]{1,59}$",
                            error="Must be 1 to 59 letters, digits, '-' or '_'.")
CATEGORY_CODE = validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$",
                                error="Must be 2 to 40 of a-z, 0-9 and _.")


def Ref(**kwargs) -> fields.String:
    """An id of ours (`tkt_…`, `cus_…`): bounded, never a 100 KB string."""
    return fields.String(validate=validate.Length(min=1, max=40), **kwargs)


def TeamName(**kwargs) -> fields.String:
    return fields.String(validate=TEAM_NAME, **kwargs)


# customers: requests

class TicketIn(StrictSchema):
    category = fields.String(required=True, validate=validate.Length(min=1, max=40),
                             metadata={"example": "billing"})
    subject = Text(200, required=True, min_length=1)
    description = Text(5000, required=True, min_length=1)
    subscription_id = Ref(allow_none=True, metadata={
        "description": "required by some categories (their `required_fields`)"})


class TicketQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(["open", "done", *TICKET_STATUSES]),
                           metadata={"description": "open: not resolved or closed; done: "
                                                    "resolved or closed; or one status"})


class CommentIn(StrictSchema):
    text = Text(5000, required=True, min_length=1)


class FaqQuery(StrictSchema):
    q = Text(200, metadata={"description": "every word must appear in the question or answer"})
    category = fields.String(validate=validate.Length(min=1, max=40))
    language = fields.String(validate=validate.OneOf(SUPPORT_LANGUAGES),
                             metadata={"description": "default: the account's, then English"})
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))


# customers: responses

class TicketCategory(Schema):
    code = fields.String(metadata={"example": "service_interruption"})
    name = fields.String()
    description = fields.String()
    urgency = fields.String(metadata={"enum": LEVELS})
    impact = fields.String(metadata={"enum": LEVELS})
    priority = fields.String(metadata={"enum": PRIORITIES,
                                       "description": "urgency × impact (ITIL)"})
    required_fields = fields.List(fields.String())
    active = fields.Boolean()
    position = fields.Integer()


TicketCategoryList = Schema.from_dict({"data": fields.List(fields.Nested(TicketCategory))},
                                      name="TicketCategoryList")


class FaqEntry(Schema):
    id = fields.String(metadata={"example": "faq_3k4j5h6g7f8d9s0a1q2w3e4r"})
    category = fields.String()
    language = fields.String()
    question = fields.String()
    answer = fields.String()
    position = fields.Integer()
    updated_at = fields.String(metadata={"format": "date-time"})


FaqList = Schema.from_dict({"data": fields.List(fields.Nested(FaqEntry))}, name="FaqList")


class HistoryActor(Schema):
    type = fields.String(metadata={"enum": ["customer", "agent", "system"]})
    name = fields.String(allow_none=True)


class HistoryEntry(Schema):
    id = fields.Integer()
    at = fields.String(metadata={"format": "date-time"})
    kind = fields.String(metadata={"enum": [
        "created", "routed", "acknowledged", "status_changed", "comment", "assigned",
        "priority_changed", "escalated", "alerted", "silenced", "incident", "resolved",
        "reopened", "closed", "credited"]})
    actor = fields.Nested(HistoryActor)
    text = fields.String(allow_none=True)
    internal = fields.Boolean()
    data = fields.Dict()


class IncidentRef(Schema):
    id = fields.String(metadata={"example": "inc_3k4j5h6g7f8d9s0a1q2w3e4r"})
    title = fields.String()
    status = fields.String(metadata={"enum": ["open", "resolved"]})


class TicketSummary(Schema):
    id = fields.String(metadata={"example": "tkt_3k4j5h6g7f8d9s0a1q2w3e4r"})
    number = fields.Integer()
    status = fields.String(metadata={"enum": TICKET_STATUSES})
    category = fields.String()
    category_name = fields.String()
    subject = fields.String()
    description = fields.String()
    subscription_id = fields.String(allow_none=True)
    priority = fields.String(metadata={"enum": PRIORITIES})
    team = fields.String(allow_none=True)
    incident = fields.Nested(IncidentRef, allow_none=True)
    resolution = fields.String(allow_none=True)
    reopen_until = fields.String(allow_none=True, metadata={"format": "date-time"})
    created_at = fields.String(metadata={"format": "date-time"})
    updated_at = fields.String(metadata={"format": "date-time"})
    acknowledged_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    resolved_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    closed_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class Ticket(TicketSummary):
    history = fields.List(fields.Nested(HistoryEntry), metadata={
        "description": "what the customer may see: no internal notes, escalations, alerts"})


TicketList = page_of(TicketSummary, "TicketList")


# ops: tickets

class OpsHistoryActor(HistoryActor):
    id = fields.String(allow_none=True)


class OpsHistoryEntry(HistoryEntry):
    actor = fields.Nested(OpsHistoryActor)


class TicketContext(Schema):
    """The customer as they were when the ticket was raised."""

    name = fields.String(allow_none=True)
    language = fields.String(allow_none=True)
    billing_type = fields.String(allow_none=True)
    currency = fields.String(allow_none=True)
    tax_region = fields.String(allow_none=True)
    subscriptions = fields.List(fields.String())
    packages = fields.List(fields.String())
    package = fields.String(allow_none=True, metadata={
        "description": "the ticket's subscription's package (else the first): what rules see"})
    open_balance = fields.Nested(Money, allow_none=True)
    unavailable = fields.List(fields.String(), metadata={
        "description": "parts not captured: their service did not answer"})


class EscalationState(Schema):
    policy = fields.String(allow_none=True)
    round = fields.Integer()
    step = fields.Integer()
    next_at = fields.String(allow_none=True, metadata={"format": "date-time"})


class OpsTicketSummary(TicketSummary):
    customer_id = fields.String()
    assignee = fields.String(allow_none=True)
    context = fields.Nested(TicketContext)
    escalation = fields.Nested(EscalationState, allow_none=True)
    rules = fields.List(fields.String(), metadata={"description": "the matched rules' ids"})
    urgency = fields.String(metadata={"enum": LEVELS})
    impact = fields.String(metadata={"enum": LEVELS})


class OpsTicket(OpsTicketSummary):
    history = fields.List(fields.Nested(OpsHistoryEntry))


OpsTicketList = page_of(OpsTicket, "OpsTicketList")


class QueueQuery(PageQuery):
    team = TeamName()
    status = fields.String(validate=validate.OneOf(["open", "done", *TICKET_STATUSES]),
                           metadata={"description": "open: not resolved or closed; done: "
                                                    "resolved or closed"})
    assignee = Ref()
    incident = Ref()
    customer = Ref(metadata={"description": "one customer's tickets"})


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
    required_fields = fields.List(fields.String(validate=validate.OneOf(["subscription_id"])),
                                  validate=validate.Length(max=1))
    active = JsonBool()
    position = fields.Integer(strict=True, validate=validate.Range(0, 10_000))


class CategoryReplace(CategoryIn):
    code = fields.String(validate=CATEGORY_CODE,
                         metadata={"description": "the path's code; it cannot change"})


class CategoryQuery(StrictSchema):
    inactive = fields.Boolean(load_default=False,
                              metadata={"description": "include retired categories"})


class FaqIn(StrictSchema):
    category = fields.String(required=True, validate=validate.Length(min=1, max=40))
    language = fields.String(required=True, validate=validate.OneOf(SUPPORT_LANGUAGES))
    question = Text(300, required=True, min_length=3)
    answer = Text(5000, required=True, min_length=1)
    position = fields.Integer(strict=True, validate=validate.Range(0, 10_000))


# ops: teams (the tickets service's team, accounts' members, the notifier's channels)

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


class TeamMember(Schema):
    id = fields.String()
    name = fields.String()
    email = fields.String()
    role = fields.String(metadata={"enum": list(permissions.STAFF_ROLES)})


class Team(Schema):
    id = fields.String(metadata={"example": "noc", "description": "the team's name"})
    name = fields.String()
    description = fields.String()
    lead = fields.String(allow_none=True)
    members = fields.List(fields.Nested(TeamMember))
    channels = fields.List(fields.Nested(ChannelOut))
    created_at = fields.String(metadata={"format": "date-time"})


TeamList = Schema.from_dict({"data": fields.List(fields.Nested(Team))}, name="TeamList")


# ops: routing rules

class MatcherIn(StrictSchema):
    field = fields.String(required=True, validate=validate.OneOf(ROUTING_FIELDS))
    op = fields.String(load_default="=", validate=validate.OneOf(OPERATORS), metadata={
        "description": "=~ and !~ take an anchored regular expression (searched for, "
                       "case-insensitive, on keywords)"})
    value = Text(500, required=True)


class Matcher(Schema):
    field = fields.String()
    op = fields.String()
    value = fields.String()


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
    continue_ = JsonBool(data_key="continue", attribute="continue", load_default=False,
                               metadata={"description": "the next matching rule decides too "
                                                        "(one ticket pages two teams)"})


class RoutingRule(Schema):
    id = fields.String(metadata={"example": "rr_3k4j5h6g7f8d9s0a1q2w3e4r"})
    position = fields.Integer()
    description = fields.String()
    match = fields.List(fields.Nested(Matcher))
    team = fields.String()
    priority = fields.String(allow_none=True)
    escalation_policy = fields.String(allow_none=True)
    continue_ = fields.Boolean(data_key="continue", attribute="continue")
    updated_at = fields.String(metadata={"format": "date-time"})


class DefaultRoute(Schema):
    team = fields.String()
    escalation_policy = fields.String(allow_none=True)


class DefaultRouteIn(StrictSchema):
    team = TeamName(required=True)
    escalation_policy = Ref(allow_none=True)


RoutingRuleList = Schema.from_dict({"data": fields.List(fields.Nested(RoutingRule)),
                                    "default": fields.Nested(DefaultRoute)},
                                   name="RoutingRuleList")


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


class RouteDecision(Schema):
    team = fields.String()
    priority = fields.String(allow_none=True)
    escalation_policy = fields.String(allow_none=True)
    rule_id = fields.String(allow_none=True, metadata={"description": "null: the default"})


class RouteTestOut(Schema):
    decisions = fields.List(fields.Nested(RouteDecision), metadata={
        "description": "the first matching rule's, and the next after each `continue`"})


# ops: escalation policies

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
            raise ValidationError("Not used by a lead target.", "team")


class EscalationStepIn(StrictSchema):
    delay_minutes = fields.Integer(required=True, strict=True,
                                   validate=validate.Range(1, 7 * 24 * 60))
    target = fields.Nested(EscalationTargetIn, required=True)


class EscalationPolicyIn(StrictSchema):
    name = Text(100, required=True, min_length=1)
    steps = fields.List(fields.Nested(EscalationStepIn), required=True,
                        validate=validate.Length(min=1, max=10))
    repeat = fields.Integer(strict=True, load_default=0, validate=validate.Range(0, 10))


class EscalationTarget(Schema):
    type = fields.String()
    team = fields.String()


class EscalationStep(Schema):
    delay_minutes = fields.Integer()
    target = fields.Nested(EscalationTarget)


class EscalationPolicy(Schema):
    id = fields.String(metadata={"example": "esc_3k4j5h6g7f8d9s0a1q2w3e4r"})
    name = fields.String()
    steps = fields.List(fields.Nested(EscalationStep))
    repeat = fields.Integer()
    created_at = fields.String(metadata={"format": "date-time"})


EscalationPolicyList = Schema.from_dict(
    {"data": fields.List(fields.Nested(EscalationPolicy))}, name="EscalationPolicyList")


# ops: incidents and their rules

class IncidentQuery(StrictSchema):
    status = fields.String(validate=validate.OneOf(["open", "resolved"]))


class IncidentResolveIn(StrictSchema):
    resolution = Text(5000, required=True, min_length=3)
    credit = fields.Nested(PositiveMoney, allow_none=True, metadata={
        "description": "a service credit for each affected customer (once)"})

    @validates_schema
    def _positive_credit(self, data, **kwargs):
        if data.get("credit") and data["credit"]["amount"] <= 0:
            raise ValidationError({"credit": {"amount": ["Must be more than 0."]}})


class CreditCounts(Schema):
    granted = fields.Integer()
    pending = fields.Integer()
    failed = fields.Integer()


class Incident(Schema):
    id = fields.String(metadata={"example": "inc_3k4j5h6g7f8d9s0a1q2w3e4r"})
    title = fields.String()
    status = fields.String(metadata={"enum": ["open", "resolved"]})
    team = fields.String()
    group = fields.String(metadata={"description": "the rule and the grouped values, e.g. "
                                                   "the region"})
    rule_id = fields.String()
    window_minutes = fields.Integer()
    ticket_count = fields.Integer()
    customer_count = fields.Integer()
    opened_at = fields.String(metadata={"format": "date-time"})
    last_ticket_at = fields.String(metadata={"format": "date-time"})
    acknowledged_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    resolved_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    resolved_by = fields.String(allow_none=True)
    resolution = fields.String(allow_none=True)
    credit = fields.Nested(Money, allow_none=True)
    credits = fields.Nested(CreditCounts)
    tickets = fields.List(fields.Nested(OpsTicketSummary),
                          metadata={"description": "in the answer for one incident"})


IncidentList = Schema.from_dict({"data": fields.List(fields.Nested(Incident))},
                                name="IncidentList")


class IncidentRuleIn(StrictSchema):
    name = Text(100, required=True, min_length=1)
    match = fields.List(fields.Nested(MatcherIn), required=True,
                        validate=validate.Length(min=1, max=20))
    group_by = fields.List(fields.String(validate=validate.OneOf(GROUPABLE)),
                           load_default=list, validate=validate.Length(max=5),
                           metadata={"description": "attributes (not keywords) whose equal "
                                                    "values make one incident"})
    window_minutes = fields.Integer(required=True, strict=True,
                                    validate=validate.Range(1, 7 * 24 * 60))
    position = fields.Integer(strict=True, validate=validate.Range(0, 100_000))


class IncidentRule(Schema):
    id = fields.String()
    name = fields.String()
    match = fields.List(fields.Nested(Matcher))
    group_by = fields.List(fields.String())
    window_minutes = fields.Integer()
    position = fields.Integer()


IncidentRuleList = Schema.from_dict({"data": fields.List(fields.Nested(IncidentRule))},
                                    name="IncidentRuleList")


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


class SilenceQuery(StrictSchema):
    active = fields.Boolean(load_default=False, metadata={"description": "only active ones"})


class Silence(Schema):
    id = fields.String(metadata={"example": "sil_3k4j5h6g7f8d9s0a1q2w3e4r"})
    team = fields.String(allow_none=True)
    rule_id = fields.String(allow_none=True)
    starts_at = fields.String(metadata={"format": "date-time"})
    ends_at = fields.String(metadata={"format": "date-time"})
    reason = fields.String()
    created_by = fields.String()
    created_at = fields.String(metadata={"format": "date-time"})
    active = fields.Boolean()


SilenceList = Schema.from_dict({"data": fields.List(fields.Nested(Silence))},
                               name="SilenceList")
