"""insights: viewing reported by the TV platform (daily aggregates), the customer's choice about
its use, monthly budgets and their alerts, dismissed recommendations and the operator's
switches for recommendation kinds."""
