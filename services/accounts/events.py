"""Events accounts emits (through the outbox). Payload entity: `customer`."""

CUSTOMER_REGISTERED = "customer_registered"
CUSTOMER_UPDATED = "customer_updated"
PASSWORD_CHANGED = "password_changed"
SESSION_REVOKED = "session_revoked"  # payload: customer {id}, session_ids
PORTAL_LINK_ISSUED = "portal_link_issued"  # payload: portal_link {id, customer_id, url, expires_at}
