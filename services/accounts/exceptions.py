"""Error codes accounts answers with. Each is raised as one of the kernel's typed errors
(`services.common.errors`), so the gateway receives it intact and maps it in one table."""

EMAIL_TAKEN = "EMAIL_TAKEN"  # Conflict
WEAK_PASSWORD = "WEAK_PASSWORD"  # InvalidArgument, in fields
INVALID_CREDENTIALS = "INVALID_CREDENTIALS"  # NotAuthenticated
SESSION_EXPIRED = "SESSION_EXPIRED"  # NotAuthenticated
PORTAL_LINK_INVALID = "PORTAL_LINK_INVALID"  # NotAuthenticated
CUSTOMER_NOT_FOUND = "CUSTOMER_NOT_FOUND"  # NotFound


class Refused(Exception):
    """A refusal whose writes must outlive it: a failure counted against a throttle and its
    audit entry. A module raises it (never commits); the entrypoint commits what was written,
    then raises `error`, the typed error the caller sees."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error
