"""notifier: inbox, preferences, alert channels, deliveries (not built yet)."""
