"""Analysis over the catalog with the same detectors the strategies use.

`ravebear analyze` runs these analyses (modules of the same names, underscores for dashes);
`runner.py` gathers their configs and results, `report.py` writes `report.html` and `results.json`.
"""

ANALYSES = ("candle-stats", "touch-times", "sessions", "big-moves", "volume-spikes", "clusters", "consolidations")
