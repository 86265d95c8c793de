"""Error codes the notifier answers with. Each is raised as one of the kernel's typed errors
(`services.common.errors`), so the gateway receives it intact and maps it in one table.

Besides these: the kernel's default `VALIDATION_FAILED` (field errors, e.g. a webhook `url`
the notifier may not reach).
"""

NOTIFICATION_NOT_FOUND = "NOTIFICATION_NOT_FOUND"  # NotFound
PREFERENCE_LOCKED = "PREFERENCE_LOCKED"  # Conflict (a topic whose notices always reach the inbox)
BROADCAST_NOT_FOUND = "BROADCAST_NOT_FOUND"  # NotFound
CHANNEL_NOT_FOUND = "CHANNEL_NOT_FOUND"  # NotFound
DELIVERY_NOT_FOUND = "DELIVERY_NOT_FOUND"  # NotFound
DELIVERY_NOT_RETRYABLE = "DELIVERY_NOT_RETRYABLE"  # Conflict (only dead or failing ones)
