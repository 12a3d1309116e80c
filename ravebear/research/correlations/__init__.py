"""`ravebear analyze correlations`: which market-state features go with level-touch outcomes, from the ledger."""
