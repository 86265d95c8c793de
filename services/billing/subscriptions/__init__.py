"""Subscriptions: the lifecycle (a state machine), periods and proration, the changes a
customer makes, renewals, and suspension for money owed.

May use `money` (a prepaid subscription is paid from the wallet in the same transaction);
never `invoicing`.
"""
