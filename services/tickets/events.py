"""Events tickets emits (through the outbox), with the entity each envelope carries."""

TICKET_OPENED = "ticket_opened"  # ticket
TICKET_ROUTED = "ticket_routed"  # ticket
TICKET_UPDATED = "ticket_updated"  # ticket (its `change`: status, priority, reply, …)
TICKET_RESOLVED = "ticket_resolved"  # ticket
TICKET_CLOSED = "ticket_closed"  # ticket
TICKET_ESCALATED = "ticket_escalated"  # ticket
INCIDENT_OPENED = "incident_opened"  # incident
INCIDENT_RESOLVED = "incident_resolved"  # incident
# an alert for a team's channels, raised by the notifier (services/tickets/alerting.py)
ALERT_REQUESTED = "alert_requested"  # alert
# customer: {id, pseudonym, forgotten: {kind: rows}}, once per erasure that changed anything
CUSTOMER_FORGOTTEN = "customer_forgotten"
