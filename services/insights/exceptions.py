"""Error codes insights answers with. Each is raised as one of the kernel's typed errors
(`services.common.errors`), so the gateway receives it intact and maps it in one table.

Besides these: the kernel's default codes (`VALIDATION_FAILED` with field errors,
`SERVICE_UNAVAILABLE` when billing, catalog or accounts do not answer).
"""

INVALID_BATCH = "INVALID_BATCH"  # InvalidArgument: a viewing batch's id or records list
INVALID_BUDGET = "INVALID_BUDGET"  # InvalidArgument: not a whole amount from 1 to 10^9
UNKNOWN_RECOMMENDATION_KIND = "UNKNOWN_RECOMMENDATION_KIND"  # InvalidArgument
