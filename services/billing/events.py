"""Events billing emits (through the outbox). Payload entity: `subscription`."""

SUBSCRIPTION_ACTIVATED = "subscription_activated"
SUBSCRIPTION_CHANGED = "subscription_changed"
SUBSCRIPTION_PAUSED = "subscription_paused"
SUBSCRIPTION_RESUMED = "subscription_resumed"
SUBSCRIPTION_CANCELLED = "subscription_cancelled"
SUBSCRIPTION_SUSPENDED = "subscription_suspended"
SUBSCRIPTION_RENEWED = "subscription_renewed"
PAYMENT_SUCCEEDED = "payment_succeeded"
PAYMENT_FAILED = "payment_failed"
# billing's own: a voucher purchase was paid (its handler issues the voucher if the buying call
# died after the charge); only these, so top-ups and bills cost billing no event to consume
VOUCHER_PURCHASE_PAID = "voucher_purchase_paid"
PAYMENT_METHOD_EXPIRING = "payment_method_expiring"
# the ledger (money/ledger.py) emits wallet_credited, wallet_debited, wallet_low_balance
