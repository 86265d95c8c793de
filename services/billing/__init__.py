"""billing: subscriptions, charges, wallets and the ledger, payments, invoices and billing runs."""
