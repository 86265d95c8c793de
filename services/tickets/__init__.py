"""tickets: support tickets, teams, routing, escalation, incidents, FAQ."""
