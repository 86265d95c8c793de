"""Money figures for insights, computed from billing's own rows (nothing new is stored):
`spending` (a customer's spending by month and kind), `months` (calendar-month periods and their
SQL bucketing), `analytics` (the operators' figures, set-based)."""
