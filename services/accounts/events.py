"""Events accounts emits (through the outbox). Payload entity: `customer`."""

CUSTOMER_REGISTERED = "customer_registered"
CUSTOMER_UPDATED = "customer_updated"
PASSWORD_CHANGED = "password_changed"
SESSION_REVOKED = "session_revoked"  # payload: customer {id}, session_ids
PORTAL_LINK_ISSUED = "portal_link_issued"  # payload: portal_link {id, customer_id, url, expires_at}
# payload: {customer_id, email, language, url, expires_at}: the notifier e-mails the link to
# `email` (and nowhere else)
PASSWORD_RESET_REQUESTED = "password_reset_requested"
EMAIL_VERIFICATION_REQUESTED = "email_verification_requested"  # + change: true for a new address
