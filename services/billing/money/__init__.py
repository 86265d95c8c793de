"""Money: the wallet and its ledger, cards and other payment methods, payments and the
provider behind them, voucher sales.

Depends on billing's shared modules (models, events, exceptions) and the kernel only, never on
`subscriptions` or `invoicing`: a settlement that could not pay says so in what it returns, and
the caller decides what that means for a subscription or an invoice.
"""
