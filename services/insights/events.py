"""Events insights emits (through the outbox), with the entity each envelope carries."""

# budget_alert: {customer_id, threshold ("80" | "100" | "projected"), month, budget, so_far,
# projected, currency}; the notifier tells the customer
BUDGET_ALERT = "budget_alert"
# customer: {id, pseudonym, forgotten: {kind: rows}}, once per erasure that changed anything
CUSTOMER_FORGOTTEN = "customer_forgotten"
