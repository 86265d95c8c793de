"""vouchers: print batches and their codes, redemptions into the wallet, online voucher offers."""
