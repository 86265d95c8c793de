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

# strong sign-in (mfa.py, recovery.py)
MFA_CODE_INVALID = "MFA_CODE_INVALID"  # InvalidArgument: a wrong or used code
MFA_CHALLENGE_INVALID = "MFA_CHALLENGE_INVALID"  # NotAuthenticated: the second step expired
MFA_ALREADY_ENABLED = "MFA_ALREADY_ENABLED"  # Conflict
MFA_NOT_ENABLED = "MFA_NOT_ENABLED"  # Conflict
MFA_REQUIRED_FOR_STAFF = "MFA_REQUIRED_FOR_STAFF"  # Conflict: staff must keep a second factor
MFA_ENROLMENT_REQUIRED = "MFA_ENROLMENT_REQUIRED"  # PermissionDenied (gateway): set it up first
REAUTH_REQUIRED = "REAUTH_REQUIRED"  # PermissionDenied: prove who you are again first
PASSWORD_RESET_INVALID = "PASSWORD_RESET_INVALID"  # InvalidArgument: unknown, used or expired
EMAIL_VERIFICATION_INVALID = "EMAIL_VERIFICATION_INVALID"  # InvalidArgument: the same
PASSKEY_INVALID = "PASSKEY_INVALID"  # InvalidArgument / NotAuthenticated
PASSKEY_NOT_FOUND = "PASSKEY_NOT_FOUND"  # NotFound
PASSKEYS_UNAVAILABLE = "PASSKEYS_UNAVAILABLE"  # Conflict: PUBLIC_URL is no host name over https

# privacy (privacy.py)
DATA_EXPORT_NOT_FOUND = "DATA_EXPORT_NOT_FOUND"  # NotFound: not theirs, not ready, or expired
ACCOUNT_DELETION_BLOCKED = "ACCOUNT_DELETION_BLOCKED"  # Conflict: money owed or left
DELETION_NOT_FOUND = "DELETION_NOT_FOUND"  # NotFound: nothing to cancel
STAFF_ACCOUNT = "STAFF_ACCOUNT"  # PermissionDenied: staff are removed by an administrator

# households (households.py)
HOUSEHOLD_INVITATION_INVALID = "HOUSEHOLD_INVITATION_INVALID"  # InvalidArgument / NotFound
HOUSEHOLD_INVITATION_OTHER_ADDRESS = "HOUSEHOLD_INVITATION_OTHER_ADDRESS"  # PermissionDenied
HOUSEHOLD_MEMBER_EXISTS = "HOUSEHOLD_MEMBER_EXISTS"  # Conflict
HOUSEHOLD_MEMBER_NOT_FOUND = "HOUSEHOLD_MEMBER_NOT_FOUND"  # NotFound
HOUSEHOLD_NOT_ALLOWED = "HOUSEHOLD_NOT_ALLOWED"  # PermissionDenied: staff, or one's own
MEMBER_NOT_ALLOWED = "MEMBER_NOT_ALLOWED"  # PermissionDenied (gateway): not while a member
