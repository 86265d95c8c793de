"""Events vouchers emits (through the outbox), with the entity each envelope carries."""

VOUCHER_BATCH_CREATED = "voucher_batch_created"  # batch
VOUCHER_BATCH_CHUNK_READY = "voucher_batch_chunk_ready"  # chunk: vouchers' own work message
VOUCHER_BATCH_VOIDED = "voucher_batch_voided"  # batch
VOUCHER_BATCH_EXPORTED = "voucher_batch_exported"  # export
VOUCHER_VOIDED = "voucher_voided"  # voucher
VOUCHER_REDEEMED = "voucher_redeemed"  # redemption (billing credits the wallet from it)
VOUCHER_PURCHASED = "voucher_purchased"  # voucher
VOUCHER_GUESSING_THROTTLED = "voucher_guessing_throttled"  # throttle
