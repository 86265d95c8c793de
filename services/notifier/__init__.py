"""notifier: the portal inbox and e-mail, broadcasts, team alert channels, deliveries."""
