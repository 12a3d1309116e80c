"""Untouched wick: trade the first return to an untouched wick that holds.

A wick left by a candle whose extreme price was never traded again marks where the other
side was rejected. When price comes back and touches it shallowly (at most
`max_touch_depth_bps` through the level) and the candle closes back on the level's side, the
strategy enters in the wick's direction: long at an untouched lower wick (support), short at
an untouched upper wick (resistance). The stop goes beyond the touching candle's extreme.
Which timeframes' wicks are traded is `signal_timeframes`; the wick thresholds are the level
engine's (`levels.wicks`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ravebear.ranges import Range
from ravebear.strategies.base import LONG, SHORT, LevelStrategy, LevelStrategyConfig, Signal
from ravebear.strategies.levels.model import EventKind, LevelEvent, LevelKind, LevelSide
from ravebear.strategies.levels.timeframes import Candle


class UntouchedWickConfig(LevelStrategyConfig, frozen=True, kw_only=True):
    """Untouched-wick thresholds (units in the comments); the shared settings are LevelStrategyConfig's."""

    max_touch_depth_bps: float = 20.0  # deepest touch still traded, bps through the level
    min_score: float = 0.0  # level score (quality x freshness, 0-1) at the touch

    ranges: ClassVar[dict[str, Range]] = {
        **LevelStrategyConfig.ranges,
        "max_touch_depth_bps": Range(0, 5_000, "bps through the level"),
        "min_score": Range(0, 1, "level score"),
    }


class UntouchedWick(LevelStrategy):
    """Long at held touches of untouched lower wicks, short at upper ones."""

    default_levels: dict[str, Any] = {"detectors": ["wicks"]}

    def signal(self, timeframe: str, candle: Candle, events: list[LevelEvent]) -> Signal | None:
        """Return a signal for the first held, shallow touch of an untouched wick."""
        if not events:
            return None
        config = self.config
        close = candle.close
        for event in events:
            level = event.level
            if event.kind is not EventKind.TOUCHED or level.kind is not LevelKind.WICK:
                continue
            if event.depth_bps > config.max_touch_depth_bps or event.score < config.min_score:
                continue
            if level.side is LevelSide.SUPPORT and close > level.high:
                return Signal(LONG, min(candle.low, level.low), f"{timeframe} wick support {level.low:g} held", level)
            if level.side is LevelSide.RESISTANCE and close < level.low:
                return Signal(SHORT, max(candle.high, level.high), f"{timeframe} wick resistance {level.high:g} held", level)
        return None
