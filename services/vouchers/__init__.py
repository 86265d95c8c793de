"""vouchers: batches, codes, redemptions, online sales (not built yet)."""
