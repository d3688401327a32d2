"""Customer value: customers, acquisition channel, realised and predicted value, churn risk."""

from marketing.customers.run import CustomerRunSummary, run_customers

__all__ = ["CustomerRunSummary", "run_customers"]
