"""Billing: pricing, fees and service charge, and the ledger (the only writer of balances)."""
