"""Error codes billing answers with (raised as the kernel's typed errors)."""

SUBSCRIPTION_NOT_FOUND = "SUBSCRIPTION_NOT_FOUND"  # NotFound
DEVICE_NOT_FOUND = "DEVICE_NOT_FOUND"  # NotFound
SUBSCRIPTION_NOT_ACTIVE = "SUBSCRIPTION_NOT_ACTIVE"  # Conflict (see lifecycle.py for others)
CONCURRENT_MODIFICATION = "CONCURRENT_MODIFICATION"  # Conflict: changed meanwhile, retry
CHANGE_ALREADY_SCHEDULED = "CHANGE_ALREADY_SCHEDULED"  # Conflict
SERIAL_TAKEN = "SERIAL_TAKEN"  # Conflict
CARD_ALREADY_SAVED = "CARD_ALREADY_SAVED"  # Conflict: the customer has this card (same expiry)
# Conflicts whose code and reason come from the catalog's service rules (check_change), e.g.
# CHANGE_NOT_ALLOWED, DOWNGRADE_AT_PERIOD_END, ADDON_NOT_ALLOWED, TOO_MANY_ADDONS,
# PAUSE_NOT_ALLOWED, PAUSE_TOO_LONG, MINIMUM_TERM.

# why an account cannot be deleted yet: the codes of `deletion_blockers` (not raised; answered
# as {"code", "params"} for the caller to word)
MONEY_OWED = "MONEY_OWED"  # {amount, currency, invoices}: unpaid invoices, charges not billed
CREDIT_LEFT = "CREDIT_LEFT"  # {amount, currency}: postpaid credit not yet given back
WALLET_BALANCE_LEFT = "WALLET_BALANCE_LEFT"  # {amount, currency}: money left in the wallet
PAYMENT_PENDING = "PAYMENT_PENDING"  # {count}: card payments whose answer is not in yet
MEMBER_SPENDING_LIMIT = "MEMBER_SPENDING_LIMIT"  # Conflict: a household member's monthly limit
