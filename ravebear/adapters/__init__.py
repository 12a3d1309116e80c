"""Outside services (OKX, Coinalyze, Whale Alert, stablecoins, ...), one sub-package each."""
