"""Analysis over the catalog with the same detectors the strategies use."""
