"""One instrument's level engine fed 1-minute candles, with the higher timeframes built from them in the node's order.

A node's strategy and its LevelActor both read the levels of an instrument. When their engine configs are equal
they share one `MinuteLevelFeed` (`strategies/level_sharing.py`): each hands it the same 1-minute bar, the first
call feeds the engine and the second gets the same candles and events back, so the engine runs once per bar
whichever of them the message bus calls first.
"""

from __future__ import annotations

from typing import Any

from ravebear.strategies.levels.engine import LevelEngine, LevelEngineConfig
from ravebear.strategies.levels.model import LevelEvent
from ravebear.strategies.levels.timeframes import Candle, StreamingAggregator, timeframe_minutes
from ravebear.time_units import NS_PER_MINUTE

FedCandle = tuple[str, Candle, list[LevelEvent]]  # (timeframe, candle, the events it caused)


class MinuteLevelFeed:
    """Feed 1-minute candles and the higher-timeframe candles they complete to a LevelEngine; remember the last minute."""

    def __init__(self, config: LevelEngineConfig) -> None:
        if timeframe_minutes(config.timeframes[0]) != 1:
            raise ValueError(f"level timeframes must start with 1m, got {config.timeframes}")
        self.engine = LevelEngine(config)
        self.config = config
        self._base = config.timeframes[0]
        self._aggregator = StreamingAggregator(tuple(config.timeframes[1:])) if len(config.timeframes) > 1 else None
        self._last_ns = -1
        self._last: list[FedCandle] = []

    @property
    def started(self) -> bool:
        """True once a minute has been fed."""
        return self._last_ns >= 0

    def fed(self, close_ns: int) -> list[FedCandle] | None:
        """What the minute closing at `close_ns` fed when it is the last one fed (the other reader had the bar first), else None."""
        return self._last if close_ns == self._last_ns else None

    def on_bar(self, bar: Any) -> list[FedCandle]:
        """`on_minute` with a nautilus 1-minute `Bar` (its close time, OHLCV as floats)."""
        return self.on_minute(bar.ts_event, bar.open.as_double(), bar.high.as_double(), bar.low.as_double(), bar.close.as_double(),
                              bar.volume.as_double())  # fmt: skip

    def on_minute(self, close_ns: int, open_: float, high: float, low: float, close: float, volume: float) -> list[FedCandle]:
        """Feed one closed 1-minute candle; return every candle fed, in order, with its events.

        Candles that closed during a gap come first, then the minute, then the candles closing with it. The same
        minute handed in again (the other reader of a shared feed) returns the same list without feeding anything.
        Callers must not change the lists they get.
        """
        if close_ns == self._last_ns:
            return self._last
        on_candle = self.engine.on_candle
        fed: list[FedCandle] = []
        aggregator = self._aggregator
        open_ns = close_ns - NS_PER_MINUTE
        if aggregator is not None:
            for timeframe, candle in aggregator.before(open_ns):
                fed.append((timeframe, candle, on_candle(timeframe, candle.open, candle.high, candle.low, candle.close, candle.volume, candle.ts)))
        fed.append((self._base, Candle(close_ns, open_, high, low, close, volume), on_candle(self._base, open_, high, low, close, volume, close_ns)))
        if aggregator is not None:
            for timeframe, candle in aggregator.add(open_ns, open_, high, low, close, volume):
                fed.append((timeframe, candle, on_candle(timeframe, candle.open, candle.high, candle.low, candle.close, candle.volume, candle.ts)))
        self._last_ns, self._last = close_ns, fed
        return fed
