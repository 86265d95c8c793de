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
PAYMENT_METHOD_EXPIRING = "payment_method_expiring"
# the ledger (services/billing/ledger.py) emits wallet_credited, wallet_debited, wallet_low_balance
