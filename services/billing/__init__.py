"""billing: subscriptions, charges, wallets, invoices, payments (not built yet)."""
