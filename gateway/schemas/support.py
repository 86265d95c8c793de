"""Support (docs/support.md): tickets, the FAQ, and ops' queue, teams, routing, incidents.

The request bodies, which the tickets service loads too, are in
services/common/contract/tickets.py (with the ticket statuses and priorities); here are the
queries and the answers."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from gateway.schemas.common import Money, PageQuery, page_of
from gateway.schemas.notifications import ChannelOut
from services.common import permissions
from services.common.contract.tickets import (
    LEVELS,
    PRIORITIES,
    SUPPORT_LANGUAGES,
    TICKET_STATUSES,
    Ref,
    TeamName,
)
from services.common.schemas import StrictSchema, Text

# customers: queries

class TicketQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(["open", "done", *TICKET_STATUSES]),
                           metadata={"description": "open: not resolved or closed; done: "
                                                    "resolved or closed; or one status"})


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
    translations = fields.Dict(metadata={
        "description": "ops' answers only: {language: {name, description}}; customers get "
                       "name and description in their language"})


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


class Sla(Schema):
    """The time to resolve the ticket (services/tickets/sla.py: minutes per priority, from
    the operator's TICKETS_SLA_MINUTES), counted by the service's clock."""

    minutes = fields.Integer(metadata={"description": "the ticket's priority's time to resolve"})
    due_at = fields.String(metadata={"format": "date-time"})
    state = fields.String(metadata={"enum": ["running", "met", "breached"], "description":
                                    "running: open; met or breached: resolved (or closed) "
                                    "before or after the due time"})
    remaining_seconds = fields.Integer(metadata={
        "description": "until the due time when the answer was made (negative: overdue by "
                       "that much); for a resolved ticket, the margin it was resolved with"})
    breached = fields.Boolean()


class OpsTicketSummary(TicketSummary):
    customer_id = fields.String()
    sla = fields.Nested(Sla)
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


# ops: categories and the FAQ

class CategoryQuery(StrictSchema):
    inactive = fields.Boolean(load_default=False,
                              metadata={"description": "include retired categories"})


# ops: teams (the tickets service's team, accounts' members, the notifier's channels)

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

class Matcher(Schema):
    field = fields.String()
    op = fields.String()
    value = fields.String()


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


RoutingRuleList = Schema.from_dict({"data": fields.List(fields.Nested(RoutingRule)),
                                    "default": fields.Nested(DefaultRoute)},
                                   name="RoutingRuleList")


class RouteDecision(Schema):
    team = fields.String()
    priority = fields.String(allow_none=True)
    escalation_policy = fields.String(allow_none=True)
    rule_id = fields.String(allow_none=True, metadata={"description": "null: the default"})


class RouteTestOut(Schema):
    decisions = fields.List(fields.Nested(RouteDecision), metadata={
        "description": "the first matching rule's, and the next after each `continue`"})


# ops: escalation policies

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

class IncidentQuery(PageQuery):
    status = fields.String(validate=validate.OneOf(["open", "resolved"]))


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


IncidentList = page_of(Incident, "IncidentList")


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

class SilenceQuery(PageQuery):
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


SilenceList = page_of(Silence, "SilenceList")


# ops: canned replies (services/common/contract/tickets.py has their bodies)

class CannedReplyQuery(PageQuery):
    category = fields.String(validate=validate.Length(min=1, max=40), metadata={
        "description": "this category's replies and those for any category"})
    language = fields.String(validate=validate.OneOf(SUPPORT_LANGUAGES))


class CannedReply(Schema):
    id = fields.String(metadata={"example": "cnr_3k4j5h6g7f8d9s0a1q2w3e4r"})
    title = fields.String()
    body = fields.String()
    category = fields.String(allow_none=True, metadata={"description": "null: any category"})
    language = fields.String(metadata={"enum": list(SUPPORT_LANGUAGES)})
    created_at = fields.String(metadata={"format": "date-time"})
    updated_at = fields.String(metadata={"format": "date-time"})


CannedReplyList = page_of(CannedReply, "CannedReplyList")
