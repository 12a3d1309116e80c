"""The event ledger: every level touch with the market state around it, signals, alerts sent, orders, fills and a
record per run, in SQL (SQLite by default, any SQLAlchemy URL such as PostgreSQL), written in batches off the hot
path by `LedgerWriter`; touch outcomes (markouts, MFE/MAE, held or broken) filled later by `OutcomeTracker`.
A low layer: imports catalog, time_units and ranges only (docs/LEDGER.md)."""
