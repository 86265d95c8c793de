"""Insights (docs/insights.md): spending over time, the monthly budget, recommendations, the use
of viewing data, and the operators' figures.

Amounts are integers in minor units of the body's `currency` (the account's), as the services
compute them; dates are ISO dates, and a period's `end` is the first day after it.
"""

from __future__ import annotations

import datetime as dt
import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from gateway.schemas.common import JsonBool, PositiveMoney, StrictSchema

# a month `YYYY-MM` or a day `YYYY-MM-DD` of the years 2000-2099
MONTH_OR_DAY = r"^20[0-9]{2}-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?$"
_MONTH_OR_DAY = re.compile(MONTH_OR_DAY)
MAX_MONTHS = 36
MAX_BUDGET = 10**9  # minor units
DEFAULT_MONTHS = 6
GROUPS = ("month",)
RECOMMENDATION_KINDS = ("unused_addon", "unused_package", "cheaper_package", "better_package",
                        "top_up")
ACTION_TYPES = ("remove_addon", "change_package", "top_up")
BUDGET_STATES = ("none", "ok", "warning", "over", "projected_over")


def month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def month_start(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


class MonthOrDay(fields.String):
    """A month `YYYY-MM` or a day `YYYY-MM-DD`, loaded as the first day of a whole month
    (spending is grouped by calendar months). As a start: the month named, or the month of the
    day. As an end (`end=True`, exclusive like the RPC's `end`): after the month named (it is
    counted), or the day itself when it is a month's first (that month is not), else after the
    day's month (a month begun is counted)."""

    default_error_messages = {"month_or_day": "Not a month (YYYY-MM) or a date (YYYY-MM-DD)."}

    def __init__(self, *, end: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.end = end
        self.metadata = {"pattern": MONTH_OR_DAY, **self.metadata}

    def _deserialize(self, value, attr, data, **kwargs) -> dt.date:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _MONTH_OR_DAY.fullmatch(text):
            raise self.make_error("month_or_day")
        is_month = len(text) == 7
        try:
            day = dt.date.fromisoformat(f"{text}-01" if is_month else text)
        except ValueError:  # 2026-02-30: the right form, no such day
            raise self.make_error("month_or_day") from None
        if self.end and (is_month or day.day > 1):
            return month_start(month_index(day) + 1)
        return day.replace(day=1)


class SpendingQuery(StrictSchema):
    start = MonthOrDay(data_key="from", metadata={
        "description": "the first month counted: YYYY-MM, or a date YYYY-MM-DD in it; default: "
                       "six months before `to`", "example": "2026-07"})
    end = MonthOrDay(end=True, data_key="to", metadata={
        "description": "the end, as the periods' `end`: a month YYYY-MM is counted (the range "
                       "ends after it); a date YYYY-MM-DD is not (the range ends before it, so "
                       "its month is counted unless the date is the 1st). Default: after this "
                       "month. At most 36 months after `from`", "example": "2026-12"})
    group = fields.String(load_default="month", validate=validate.OneOf(GROUPS),
                          metadata={"description": "periods of a month (the only grouping)"})

    @validates_schema
    def _a_range(self, data, **kwargs):
        start, end = data.get("start"), data.get("end")
        if start is not None and end is not None:
            check_range(start, end)


def check_range(start: dt.date, end: dt.date) -> None:
    """[start, end), both first days of months: at least one month, at most MAX_MONTHS."""
    count = month_index(end) - month_index(start)
    if count < 1:
        raise ValidationError({"from": ["must be before `to`"]})
    if count > MAX_MONTHS:
        raise ValidationError({"from": [f"must be at most {MAX_MONTHS} months before `to`"]})


class SpendingKinds(Schema):
    """What was charged in the period by kind, net of tax (taxes apart); discounts and credits
    are zero or less."""
    package = fields.Integer(metadata={"example": 2999})
    addons = fields.Integer(metadata={"example": 999})
    devices = fields.Integer(metadata={"example": 500})
    one_off = fields.Integer(metadata={"example": 0})
    taxes = fields.Integer(metadata={"example": 855})
    discounts = fields.Integer(metadata={"example": -500})
    credits = fields.Integer(metadata={"example": 0})


class SpendingTotals(Schema):
    kinds = fields.Nested(SpendingKinds)
    total = fields.Integer(metadata={"description": "the sum of `kinds`: what the period costs, "
                                                    "tax included", "example": 4853})
    top_ups = fields.Integer(metadata={"description": "money put into the wallet by card "
                                                      "(prepaid), not part of `total`",
                                       "example": 0})
    vouchers = fields.Integer(metadata={"description": "money put into the wallet by voucher "
                                                       "(prepaid), not part of `total`",
                                        "example": 0})


class SpendingPeriod(SpendingTotals):
    period = fields.String(metadata={"example": "2026-11"})
    start = fields.String(metadata={"format": "date", "example": "2026-11-01"})
    end = fields.String(metadata={"format": "date", "example": "2026-12-01",
                                  "description": "the first day after the period"})


class Spending(Schema):
    currency = fields.String(metadata={"example": "EUR"})
    group = fields.String(metadata={"enum": list(GROUPS)})
    periods = fields.List(fields.Nested(SpendingPeriod), metadata={
        "description": "every month of the range in order, months without charges as zeros"})
    totals = fields.Nested(SpendingTotals)


# the budget -----------------------------------------------------------------------------------

class BudgetMoney(PositiveMoney):
    """A monthly budget: from 1 to 10^9 minor units (what the insights service stores)."""

    amount = fields.Integer(required=True, strict=True,
                            validate=validate.Range(1, MAX_BUDGET))


class BudgetIn(StrictSchema):
    amount = fields.Nested(BudgetMoney, required=True, metadata={
        "description": "the monthly budget, tax included, in the account's currency",
        "example": {"amount": 5000, "currency": "EUR"}})


class BudgetAmount(Schema):
    amount = fields.Integer(metadata={"example": 5000})
    currency = fields.String(metadata={"example": "EUR"})


class Budget(Schema):
    budget = fields.Nested(BudgetAmount, allow_none=True, metadata={
        "description": "null: no budget set"})
    currency = fields.String(metadata={"example": "EUR",
                                       "description": "of so_far and projected"})
    month = fields.String(metadata={"example": "2026-12"})
    so_far = fields.Integer(metadata={"description": "this month's spending until now",
                                      "example": 3200})
    projected = fields.Integer(metadata={"description": "so_far plus the known recurring "
                                                        "charges still due this month",
                                         "example": 4853})
    percent = fields.Integer(allow_none=True, metadata={
        "description": "so_far as a percentage of the budget (null without one)", "example": 64})
    projected_percent = fields.Integer(allow_none=True, metadata={"example": 97})
    state = fields.String(metadata={
        "enum": list(BUDGET_STATES), "example": "ok",
        "description": "warning: 80 % reached; over: 100 %; projected_over: the projection is "
                       "above the budget"})


# recommendations ------------------------------------------------------------------------------

class RecommendationAction(Schema):
    type = fields.String(metadata={"enum": list(ACTION_TYPES)})
    subscription_id = fields.String(metadata={"example": "sub_3k4j5h6g7f8d9s0a1q2w3e4r"})
    addon = fields.String(metadata={"description": "remove_addon: the add-on's code",
                                    "example": "sports"})
    package = fields.String(metadata={"description": "change_package: the package's code"})
    amount = fields.Integer(metadata={"description": "top_up: in minor units"})


class RecommendationReason(Schema):
    code = fields.String(metadata={"description": "worded by the portal as "
                                                  "insights.reason.<code>",
                                   "example": "unused_addon"})
    params = fields.Dict(keys=fields.String(), metadata={"example": {"addon": "Sports",
                                                                     "minutes": 12}})


class Recommendation(Schema):
    id = fields.String(metadata={"description": "stable for the same advice",
                                 "example": "rec_5f1c2a9e0b7d4c3e"})
    kind = fields.String(metadata={"enum": list(RECOMMENDATION_KINDS)})
    subscription_id = fields.String(allow_none=True)
    action = fields.Nested(RecommendationAction)
    monthly_effect = fields.Integer(metadata={
        "description": "what the change does to the monthly bill, tax included (negative "
                       "saves)", "example": -999})
    currency = fields.String(metadata={"example": "EUR"})
    reason = fields.Nested(RecommendationReason)


class RecommendationList(Schema):
    data = fields.List(fields.Nested(Recommendation), required=True)
    has_more = fields.Boolean(required=True, metadata={"description": "always false: one page"})
    next_cursor = fields.String(allow_none=True)


# viewing --------------------------------------------------------------------------------------

class ViewingUseIn(StrictSchema):
    use_viewing = JsonBool(required=True, metadata={
        "description": "false: no recommendation uses my viewing"})


class ViewingQuery(StrictSchema):
    days = fields.Integer(load_default=60, validate=validate.Range(min=1, max=3660), metadata={
        "description": "the last days counted (today included); at most the retention",
        "example": 60})


class ViewingChannel(Schema):
    channel = fields.String(metadata={"example": "sport1"})
    minutes = fields.Integer(metadata={"example": 540})
    days = fields.Integer(metadata={"description": "days with viewing", "example": 12})


class ViewingConsent(Schema):
    granted = fields.Boolean()
    changed_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    source = fields.String(allow_none=True, metadata={"example": "settings"})


class Viewing(Schema):
    use_viewing = fields.Boolean(metadata={
        "description": "consent given (opt-in): only then is viewing stored and used"})
    consent = fields.Nested(ViewingConsent)
    retention_days = fields.Integer(metadata={"description": "how long daily figures are kept",
                                              "example": 90})
    start = fields.String(metadata={"format": "date", "example": "2026-10-05"})
    end = fields.String(metadata={"format": "date", "example": "2026-12-04"})
    channels = fields.List(fields.Nested(ViewingChannel))


# operations -----------------------------------------------------------------------------------

class OpsInsightsQuery(StrictSchema):
    months = fields.Integer(load_default=12, validate=validate.Range(min=1, max=MAX_MONTHS),
                            metadata={"description": "how many months back", "example": 12})


class PackageActive(Schema):
    month = fields.String(metadata={"example": "2026-11"})
    package = fields.String(metadata={"example": "basic"})
    active = fields.Integer()


class Churn(Schema):
    month = fields.String(metadata={"example": "2026-11"})
    active_at_start = fields.Integer()
    cancelled = fields.Integer()
    rate = fields.String(metadata={"description": "a decimal", "example": "0.0213"})


class ReasonCount(Schema):
    reason = fields.String(allow_none=True)
    count = fields.Integer()


class Arpa(Schema):
    month = fields.String(metadata={"example": "2026-11"})
    currency = fields.String(metadata={"example": "EUR"})
    amount = fields.Integer(metadata={"description": "average revenue per account"})
    accounts = fields.Integer()


class WalletFloat(Schema):
    currency = fields.String(metadata={"example": "EUR"})
    amount = fields.Integer(metadata={"description": "the sum of prepaid balances"})
    wallets = fields.Integer()


class Overdue(Schema):
    currency = fields.String(metadata={"example": "EUR"})
    amount = fields.Integer()
    invoices = fields.Integer()


class TicketsByCategory(Schema):
    month = fields.String(metadata={"example": "2026-11"})
    category = fields.String(metadata={"example": "billing"})
    opened = fields.Integer()
    resolved = fields.Integer()


class TimeToResolve(Schema):
    category = fields.String(metadata={"example": "billing"})
    resolved = fields.Integer()
    median_minutes = fields.Integer(allow_none=True)
    p90_minutes = fields.Integer(allow_none=True)


class OpsInsights(Schema):
    months = fields.Integer(metadata={"example": 12})
    unavailable = fields.List(fields.String(metadata={"enum": ["billing", "tickets"]}), metadata={
        "description": "services that did not answer in time: their figures are empty lists"})
    subscribers_by_package = fields.List(fields.Nested(PackageActive))
    churn = fields.List(fields.Nested(Churn))
    cancellation_reasons = fields.List(fields.Nested(ReasonCount))
    arpa = fields.List(fields.Nested(Arpa))
    wallet_float = fields.List(fields.Nested(WalletFloat))
    overdue = fields.List(fields.Nested(Overdue))
    tickets_by_category = fields.List(fields.Nested(TicketsByCategory))
    time_to_resolve = fields.List(fields.Nested(TimeToResolve))


class KindSwitchesIn(StrictSchema):
    """The kinds to switch on (true) or off (false); kinds left out keep their setting."""
    OPENAPI = {"minProperties": 1}

    unused_addon = JsonBool(metadata={"description": "an add-on hardly watched"})
    unused_package = JsonBool(metadata={"description": "a package hardly watched"})
    cheaper_package = JsonBool(metadata={"description": "a package covering what is watched "
                                                        "for less"})
    better_package = JsonBool(metadata={"description": "more of what is watched for a small "
                                                       "difference"})
    top_up = JsonBool(metadata={"description": "prepaid: a top-up covering the next renewal"})

    @validates_schema
    def _at_least_one(self, data, **kwargs):
        if not data:
            raise ValidationError("name at least one kind")


class RecommendationKindsIn(StrictSchema):
    kinds = fields.Nested(KindSwitchesIn, required=True, metadata={
        "example": {"unused_addon": True, "top_up": False}})


class KindSwitches(Schema):
    unused_addon = fields.Boolean()
    unused_package = fields.Boolean()
    cheaper_package = fields.Boolean()
    better_package = fields.Boolean()
    top_up = fields.Boolean()


class RecommendationKinds(Schema):
    kinds = fields.Nested(KindSwitches, metadata={"description": "each kind: on (true) or off"})
