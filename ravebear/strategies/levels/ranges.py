"""Allowed ranges of the level detectors' numbers (`levels:` in a run file, `--set` in research), with units."""

from __future__ import annotations

from typing import Any

from ravebear.ranges import Range, check_ranges

_BPS = Range(0, 5_000, "bps")
_WIDTH_BPS = Range(0, 5_000, "bps", low_open=True)
_AGE = Range(1, 1_000_000, "candles")
_LOOKBACK = Range(1, 100_000, "candles")
_LEVELS = Range(1, 10_000, "levels")
_HALF_LIFE = Range(0, 1_000_000, "candles", note="0 = no decay")
_MULTIPLE = Range(0, 1_000, "x the mean")

LEVEL_RANGES: dict[str, dict[str, Range]] = {
    "wicks": {
        "min_wick_bps": _BPS, "min_wick_body_ratio": Range(0, 1_000, "x the body"), "min_relative_volume": _MULTIPLE,
        "volume_lookback": _LOOKBACK, "max_age_bars": _AGE, "max_levels": _LEVELS, "through_bps": _BPS, "half_life_bars": _HALF_LIFE,
    },
    "poor": {
        "tick_size": Range(0, None, "price units", note="0 = unknown"), "tolerance_ticks": Range(0, 1_000, "ticks"),
        "tolerance_bps": _BPS, "swing_bars": Range(0, 100_000, "candles"), "tap_lookback": Range(0, 100_000, "candles"),
        "volume_lookback": _LOOKBACK, "max_age_bars": _AGE, "max_levels": _LEVELS, "through_bps": _BPS, "half_life_bars": _HALF_LIFE,
    },
    "boxes": {
        "min_bars": Range(2, 100_000, "candles"), "max_height_bps": _WIDTH_BPS, "breakout_bps": _BPS, "through_bps": _BPS,
        "max_age_bars": _AGE, "max_levels": _LEVELS, "half_life_bars": _HALF_LIFE,
    },
    "origins": {
        "lookback": _LOOKBACK, "min_range_multiple": _MULTIPLE, "min_move_bps": _BPS, "min_relative_volume": _MULTIPLE,
        "min_body_fraction": Range(0, 1, "of the move"), "max_run": Range(1, 1_000, "candles"), "max_age_bars": _AGE,
        "max_levels": _LEVELS, "through_bps": _BPS, "half_life_bars": _HALF_LIFE,
    },
    "confluence": {"band_bps": _WIDTH_BPS, "min_levels": Range(1, 1_000, "levels"), "min_diversity": Range(1, 1_000, "(kind, timeframe) pairs")},
    "pressure": {"half_life_bars": _HALF_LIFE},
}  # fmt: skip


def check_level_ranges(section: str, config: Any) -> None:
    """Raise ValueError naming `levels.<section>.<key>` when one of a detector's numbers is outside its range."""
    check_ranges(config, LEVEL_RANGES.get(section, {}), f"levels.{section}.")
