"""Every event billing emits (through the outbox), by name; the payload's entity is named
after the event's subject (`subscription`, `payment`, `wallet`, `invoice`, …)."""

# subscriptions
SUBSCRIPTION_ACTIVATED = "subscription_activated"
SUBSCRIPTION_CHANGED = "subscription_changed"
SUBSCRIPTION_PAUSED = "subscription_paused"
SUBSCRIPTION_RESUMED = "subscription_resumed"
SUBSCRIPTION_CANCELLED = "subscription_cancelled"
SUBSCRIPTION_SUSPENDED = "subscription_suspended"
SUBSCRIPTION_RENEWED = "subscription_renewed"
SUBSCRIPTION_RENEWAL_UPCOMING = "subscription_renewal_upcoming"

# money: payments, cards, the wallet's ledger
PAYMENT_SUCCEEDED = "payment_succeeded"
PAYMENT_FAILED = "payment_failed"
PAYMENT_METHOD_EXPIRING = "payment_method_expiring"
WALLET_CREDITED = "wallet_credited"
WALLET_DEBITED = "wallet_debited"
WALLET_LOW_BALANCE = "wallet_low_balance"

# invoicing
INVOICE_ISSUED = "invoice_issued"
INVOICE_PAID = "invoice_paid"
INVOICE_OVERDUE = "invoice_overdue"
INVOICE_PAYMENT_DUE = "invoice_payment_due"
INVOICE_PAYMENT_REMINDER = "invoice_payment_reminder"
INVOICE_COLLECTION_FAILED = "invoice_collection_failed"
CREDIT_NOTE_ISSUED = "credit_note_issued"

# billing's own work, consumed by billing: a billing run's chunk; the autopay step a run
# scheduled for a new invoice; a voucher purchase that was paid (its handler issues the voucher
# if the buying call died after the charge; only these, so top-ups and bills cost billing no
# event to consume)
BILLING_RUN_CHUNK_READY = "billing_run_chunk_ready"
INVOICE_AUTOPAY_DUE = "invoice_autopay_due"
VOUCHER_PURCHASE_PAID = "voucher_purchase_paid"
CUSTOMER_FORGOTTEN = "customer_forgotten"  # payload customer {id, pseudonym}: privacy.forget
