"""Error codes vouchers answers with. Each is raised as one of the kernel's typed errors
(`services.common.errors`), so the gateway receives it intact and maps it in one table.

Besides these: `IDEMPOTENCY_KEY_REUSED` (Conflict, `services.common.idempotency`) and the
kernel's default codes (`VALIDATION_FAILED` with field errors, `SERVICE_UNAVAILABLE`).
"""

# batches and vouchers (ops)
VOUCHER_BATCH_NOT_FOUND = "VOUCHER_BATCH_NOT_FOUND"  # NotFound
VOUCHER_BATCH_NOT_ACTIVE = "VOUCHER_BATCH_NOT_ACTIVE"  # Conflict (export of a batch not active)
NOT_A_PRINT_BATCH = "NOT_A_PRINT_BATCH"  # Conflict (export of an online batch)
BUSY = "BUSY"  # Conflict: no free batch number after a few tries, retry
VOUCHER_NOT_FOUND = "VOUCHER_NOT_FOUND"  # NotFound (a serial; or a code: a counted guess)

# offers
VOUCHER_OFFER_NOT_FOUND = "VOUCHER_OFFER_NOT_FOUND"  # NotFound
ALREADY_EXISTS = "ALREADY_EXISTS"  # Conflict (an offer with a taken code)

# redemption
VOUCHER_CODE_INVALID = "VOUCHER_CODE_INVALID"  # InvalidArgument: a typo (a counted guess)
TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"  # RateLimited, with retry_after
VOUCHER_ALREADY_REDEEMED = "VOUCHER_ALREADY_REDEEMED"  # Conflict (also: void a redeemed one)
VOUCHER_VOIDED = "VOUCHER_VOIDED"  # Conflict
VOUCHER_EXPIRED = "VOUCHER_EXPIRED"  # Conflict
VOUCHER_NOT_YET_VALID = "VOUCHER_NOT_YET_VALID"  # Conflict
VOUCHER_CURRENCY_MISMATCH = "VOUCHER_CURRENCY_MISMATCH"  # Conflict
VOUCHER_NOT_ALLOWED = "VOUCHER_NOT_ALLOWED"  # Conflict (prepaid-only voucher, postpaid account)
