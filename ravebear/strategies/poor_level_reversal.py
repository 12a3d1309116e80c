"""Poor high/low reversal: fade a sweep of a poor high or low that closes back inside.

A poor high (two or more adjacent candles topping at the same price) is an unfinished
auction: stops and breakout orders sit just above it. When a candle trades through it by at
least `min_sweep_bps`, no deeper than `max_sweep_bps`, and closes back below, the sweep took
that liquidity and failed: the strategy shorts, stop beyond the sweep's extreme. Poor lows
mirror it with longs. The poor-level thresholds are the level engine's (`levels.poor`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ravebear.ranges import Range
from ravebear.strategies.base import LONG, SHORT, LevelStrategy, LevelStrategyConfig, Signal
from ravebear.strategies.levels.model import EventKind, LevelEvent, LevelKind, LevelSide
from ravebear.strategies.levels.timeframes import Candle


class PoorLevelReversalConfig(LevelStrategyConfig, frozen=True, kw_only=True):
    """Sweep thresholds (units in the comments)."""

    signal_timeframes: tuple[str, ...] = ("1m", "5m")  # poor levels of these timeframes are traded
    min_sweep_bps: float = 2.0  # the candle must trade at least this far through the level, bps
    max_sweep_bps: float = 40.0  # deeper is a breakout, not a sweep, bps
    min_score: float = 0.0  # level score (0-1) at the sweep

    ranges: ClassVar[dict[str, Range]] = {
        **LevelStrategyConfig.ranges,
        "min_sweep_bps": Range(0, 5_000, "bps through the level"),
        "max_sweep_bps": Range(0, 5_000, "bps through the level"),
        "min_score": Range(0, 1, "level score"),
    }

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min_sweep_bps > self.max_sweep_bps:
            raise ValueError(f"min_sweep_bps {self.min_sweep_bps:g} must not exceed max_sweep_bps {self.max_sweep_bps:g}")


class PoorLevelReversal(LevelStrategy):
    """Short failed sweeps of poor highs, long failed sweeps of poor lows."""

    default_levels: dict[str, Any] = {"detectors": ["poor"]}

    def signal(self, timeframe: str, candle: Candle, events: list[LevelEvent]) -> Signal | None:
        """Return a reversal signal for a swept poor level that closed back on its side."""
        if not events:
            return None
        config = self.config
        close = candle.close
        for event in events:
            level = event.level
            if event.kind is not EventKind.TOUCHED or level.kind is not LevelKind.POOR:
                continue
            if not config.min_sweep_bps <= event.depth_bps <= config.max_sweep_bps or event.score < config.min_score:
                continue
            if level.side is LevelSide.RESISTANCE and close < level.low:
                return Signal(SHORT, candle.high, f"{timeframe} poor high {level.high:g} swept {event.depth_bps:.1f} bps", level)
            if level.side is LevelSide.SUPPORT and close > level.high:
                return Signal(LONG, candle.low, f"{timeframe} poor low {level.low:g} swept {event.depth_bps:.1f} bps", level)
        return None
