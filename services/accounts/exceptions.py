"""Error codes accounts answers with. Each is raised as one of the kernel's typed errors
(`services.common.errors`), so the gateway receives it intact and maps it in one table."""

EMAIL_TAKEN = "EMAIL_TAKEN"  # Conflict
WEAK_PASSWORD = "WEAK_PASSWORD"  # InvalidArgument, in fields
INVALID_CREDENTIALS = "INVALID_CREDENTIALS"  # NotAuthenticated
SESSION_EXPIRED = "SESSION_EXPIRED"  # NotAuthenticated
PORTAL_LINK_INVALID = "PORTAL_LINK_INVALID"  # NotAuthenticated
CUSTOMER_NOT_FOUND = "CUSTOMER_NOT_FOUND"  # NotFound

SESSION_NOT_FOUND = "SESSION_NOT_FOUND"  # NotFound: not the customer's, ended or unknown
SESSION_IS_CURRENT = "SESSION_IS_CURRENT"  # Conflict: the session in use (that is a logout)
