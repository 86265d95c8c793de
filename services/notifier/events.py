"""Events the notifier emits (through the outbox), with the entity each envelope carries. The
events it consumes are other services' (named in its service.py, as their emitters spell them)."""

INBOX_CHANGED = "inbox_changed"  # inbox: a customer's unread count changed (the gateway's cache)
# customer: {id, pseudonym, forgotten: {kind: rows}}, once per erasure that changed anything
CUSTOMER_FORGOTTEN = "customer_forgotten"
