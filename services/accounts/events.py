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
# privacy.py: payload data_export {id, customer_id[, expires_at, url]}
DATA_EXPORT_REQUESTED = "data_export_requested"  # accounts builds it (its own handler)
DATA_EXPORT_READY = "data_export_ready"  # the notifier tells the customer
# payload deletion {id, customer_id[, due_at | reasons]}: the notifier tells the customer
ACCOUNT_DELETION_SCHEDULED = "account_deletion_scheduled"
ACCOUNT_DELETION_CANCELLED = "account_deletion_cancelled"
ACCOUNT_DELETION_BLOCKED = "account_deletion_blocked"
CUSTOMER_DELETED = "customer_deleted"  # payload customer {id, pseudonym}: the saga finished
# households.py: payload invitation {id, customer_id, email, language, holder_name, url,
# expires_at}: the notifier mails the link to `email`
HOUSEHOLD_INVITATION = "household_invitation"
HOUSEHOLD_CHANGED = "household_changed"  # payload customer {id, customer_ids}: gateways evict
