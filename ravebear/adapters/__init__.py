"""Outside services (Coinalyze, Whale Alert, stablecoins, the catalog replay), one sub-package each; `sources.py` lists the live ones a node can run."""
