"""Events billing emits (through the outbox). Payload entity: `subscription`."""

SUBSCRIPTION_ACTIVATED = "subscription_activated"
SUBSCRIPTION_CHANGED = "subscription_changed"
SUBSCRIPTION_PAUSED = "subscription_paused"
SUBSCRIPTION_RESUMED = "subscription_resumed"
SUBSCRIPTION_CANCELLED = "subscription_cancelled"
SUBSCRIPTION_SUSPENDED = "subscription_suspended"
SUBSCRIPTION_RENEWED = "subscription_renewed"
