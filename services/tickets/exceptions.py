"""Error codes tickets answers with. Each is raised as one of the kernel's typed errors
(`services.common.errors`), so the gateway receives it intact and maps it in one table.

Besides these: `IDEMPOTENCY_KEY_REUSED` (Conflict, `services.common.idempotency`), and the
kernel's default codes (`VALIDATION_FAILED` with field errors, `RATE_LIMITED` with
retry_after for too many new tickets or comments in an hour).
"""

# tickets
TICKET_NOT_FOUND = "TICKET_NOT_FOUND"  # NotFound (also another customer's or team's ticket)
TICKET_CLOSED = "TICKET_CLOSED"  # Conflict (a comment on a closed ticket)
INVALID_STATUS_CHANGE = "INVALID_STATUS_CHANGE"  # Conflict (a move the status machine refuses)
TOO_MANY_OPEN_TICKETS = "TOO_MANY_OPEN_TICKETS"  # Conflict

# configuration (ops)
CATEGORY_NOT_FOUND = "CATEGORY_NOT_FOUND"  # NotFound
CATEGORY_EXISTS = "CATEGORY_EXISTS"  # Conflict
TEAM_NOT_FOUND = "TEAM_NOT_FOUND"  # NotFound
TEAM_EXISTS = "TEAM_EXISTS"  # Conflict
TEAM_IN_USE = "TEAM_IN_USE"  # Conflict
RULE_NOT_FOUND = "RULE_NOT_FOUND"  # NotFound
TOO_MANY_RULES = "TOO_MANY_RULES"  # Conflict
POLICY_NOT_FOUND = "POLICY_NOT_FOUND"  # NotFound
POLICY_IN_USE = "POLICY_IN_USE"  # Conflict
SILENCE_NOT_FOUND = "SILENCE_NOT_FOUND"  # NotFound
FAQ_NOT_FOUND = "FAQ_NOT_FOUND"  # NotFound
CANNED_REPLY_NOT_FOUND = "CANNED_REPLY_NOT_FOUND"  # NotFound

# incidents
INCIDENT_NOT_FOUND = "INCIDENT_NOT_FOUND"  # NotFound
INCIDENT_RULE_NOT_FOUND = "INCIDENT_RULE_NOT_FOUND"  # NotFound
