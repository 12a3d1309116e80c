"""A LevelStrategy whose entries are scripted by bar number: the exits, guards and sizing under test are the real ones."""

from ravebear.strategies.base import LevelStrategy, LevelStrategyConfig, Signal
from ravebear.strategies.levels.model import LevelEvent
from ravebear.strategies.levels.timeframes import Candle


class ScriptedEntriesConfig(LevelStrategyConfig, frozen=True, kw_only=True):
    """entries: (base bar number from 1, side +1/-1, invalidation price)."""

    entries: tuple[tuple[int, int, float], ...] = ()


class ScriptedEntries(LevelStrategy):
    """Enter at the scripted base bars; everything else is LevelStrategy's."""

    default_levels = {"detectors": ["wicks"], "confluence_enabled": False}

    def __init__(self, config: ScriptedEntriesConfig) -> None:
        super().__init__(config)
        self._script = {number: (side, invalidation) for number, side, invalidation in config.entries}
        self.base_bars = 0

    def observe(self, timeframe: str, candle: Candle, events: list[LevelEvent]) -> None:
        if timeframe == self.config.timeframes[0]:
            self.base_bars += 1

    def signal(self, timeframe: str, candle: Candle, events: list[LevelEvent]) -> Signal | None:
        if self.base_bars not in self._script:
            return None
        side, invalidation = self._script[self.base_bars]
        return Signal(side, invalidation, f"scripted at bar {self.base_bars}")
