"""tickets: support tickets, teams, routing, escalation, incidents, FAQ (not built yet)."""
