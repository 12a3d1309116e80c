"""A backtest's level feeds from research's compiled replay: the bars are loaded before the run, so their levels can be too.

The streaming engine (`MinuteLevelFeed`) costs about 8 us a 1-minute bar inside a node. A backtest node knows every
bar before its loop starts, so `RaveBacktestNode` keeps them in a `LevelReplaySource` and registers it on the message
bus (`level_sharing.LEVEL_SOURCE_ENDPOINT`). The LevelActor, or a level strategy without one, asks it for a feed at
start and gets a `ReplayedLevelFeed`: `fast_replay_levels` (numba kernels; equal to `replay_levels`, which equals the
node's engine, tests/test_fast_levels.py and tests/strategies/test_level_parity.py) computes every event once, and each
minute the feed hands out the candles and events it precomputed for it, about 1 us a bar.

Nothing is assumed about the bars the node feeds: each minute must be the next precomputed one (same close time
and OHLCV), or the feed catches a real engine up on the minutes it served and streams from then on. Reading
`.engine` (a dashboard, a test) does the same, so every reader sees the streaming engine's state.

Below `REPLAY_MIN_BARS` bars a feed streams: numba's import and cached-kernel load cost about 0.6 s a process.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ravebear.strategies.level_sharing import LevelFeedRequest
from ravebear.strategies.levels.engine import LevelEngine, LevelEngineConfig
from ravebear.strategies.levels.feed import FedCandle, MinuteLevelFeed
from ravebear.strategies.levels.model import LevelEvent
from ravebear.strategies.levels.timeframes import Candle, resample_candles, timeframe_minutes
from ravebear.time_units import NS_PER_MINUTE

REPLAY_MIN_BARS = 100_000  # 1-minute bars of one bar type: below, numba's ~0.6 s load outweighs ~7 us a bar saved
_NS_PER_MS = 1_000_000


class ReplayedLevelFeed(MinuteLevelFeed):
    """A MinuteLevelFeed whose candles and events were computed in advance from the bars the node will feed."""

    def __init__(self, config: LevelEngineConfig, frame: pd.DataFrame) -> None:
        """`frame`: every 1-minute bar the node will feed, in order (`ts` open time in ms, open, high, low, close, volume)."""
        super().__init__(config)
        from ravebear.research.fast_levels import fast_replay_levels  # numba: only backtests that replay import it

        self._frame = frame
        self._close_ns: list[int] = ((frame["ts"].to_numpy() + 60_000) * _NS_PER_MS).tolist()
        ohlcv = (frame[name].to_numpy(dtype=float).tolist() for name in ("open", "high", "low", "close", "volume"))
        self._minutes: list[tuple[int, float, float, float, float, float]] = list(zip(self._close_ns, *ohlcv, strict=True))
        self._pos = 0
        events: dict[str, dict[int, list[LevelEvent]]] = {tf: {} for tf in config.timeframes}
        for timeframe, event in fast_replay_levels(frame, config):
            events[timeframe].setdefault(event.ts, []).append(event)
        self._base_events = events[self._base]
        # the higher-timeframe candles fed with each minute (by its close): those that closed during the gap before it,
        # then those closing with it, each per timeframe in order, as StreamingAggregator hands them to the engine
        self._around: dict[int, tuple[list[FedCandle], list[FedCandle]]] = {}
        base_close = np.asarray(self._close_ns, dtype=np.int64)
        for timeframe in config.timeframes[1:]:
            minutes = timeframe_minutes(timeframe)
            bars = resample_candles(frame, minutes)
            close_ns = ((bars["ts"].to_numpy() + minutes * 60_000) * _NS_PER_MS).tolist()
            columns = (bars[name].to_numpy(dtype=float).tolist() for name in ("open", "high", "low", "close", "volume"))
            candles = [Candle(ts, *ohlcv) for ts, *ohlcv in zip(close_ns, *columns, strict=True)]
            places = np.searchsorted(base_close, np.array([candle.ts for candle in candles], dtype=np.int64)).tolist()
            for candle, place in zip(candles, places, strict=True):
                if place == len(base_close):
                    continue  # closes after the last minute: never fed
                before, with_ = self._around.setdefault(self._close_ns[place], ([], []))
                (with_ if self._close_ns[place] == candle.ts else before).append((timeframe, candle, events[timeframe].get(candle.ts) or []))
        self._replaying = True

    @property
    def engine(self) -> LevelEngine:
        """The level engine, caught up on every minute served so far (the replay stops: the feed streams from now)."""
        if self._replaying:
            self._stream()
        return self._engine

    @engine.setter
    def engine(self, engine: LevelEngine) -> None:
        self._engine = engine

    @property
    def replaying(self) -> bool:
        """True while the minutes come from the precomputed replay."""
        return self._replaying

    def on_minute(self, close_ns: int, open_: float, high: float, low: float, close: float, volume: float) -> list[FedCandle]:
        """As `MinuteLevelFeed.on_minute`, from the replay while the minutes are the precomputed ones."""
        if close_ns == self._last_ns:
            return self._last
        pos = self._pos
        if not self._replaying or pos >= len(self._minutes) or self._minutes[pos] != (close_ns, open_, high, low, close, volume):
            if self._replaying:
                self._stream()
            return super().on_minute(close_ns, open_, high, low, close, volume)
        self._pos = pos + 1
        base = (self._base, Candle(close_ns, open_, high, low, close, volume), self._base_events.get(close_ns) or [])
        around = self._around.get(close_ns)
        if around is None:
            fed = [base]
        else:
            before, with_ = around
            fed = [*before, base, *with_]
        self._last_ns, self._last = close_ns, fed
        return fed

    def _stream(self) -> None:
        """Stop replaying: feed the engine every minute served so far, so it streams on from the same state."""
        self._replaying = False
        served, last_ns, last = self._pos, self._last_ns, self._last
        frame, self._frame = self._frame, None
        self._last_ns = -1
        rows = frame.iloc[:served]
        for ts, open_, high, low, close, volume in zip(
            rows["ts"].tolist(), *(rows[name].to_numpy(dtype=float).tolist() for name in ("open", "high", "low", "close", "volume")), strict=True,
        ):  # fmt: skip
            MinuteLevelFeed.on_minute(self, (ts + 60_000) * _NS_PER_MS, open_, high, low, close, volume)
        if served:
            self._last_ns, self._last = last_ns, last
        self._around, self._base_events, self._close_ns, self._minutes = {}, {}, [], []


class LevelReplaySource:
    """The bars a backtest loaded, by bar type; grants a `ReplayedLevelFeed` for a bar type with enough of them."""

    def __init__(self, min_bars: int = REPLAY_MIN_BARS) -> None:
        self.min_bars = min_bars
        self._bars: dict[str, list[Any]] = {}
        self.granted: list[str] = []  # bar types a replayed feed was made for, in order (the run's log, tests)

    def add(self, data: list[Any]) -> None:
        """Keep the 1-minute bars among loaded data (any type may pass through)."""
        from nautilus_trader.model.data import Bar

        for item in data:
            if type(item) is Bar:
                self._bars.setdefault(str(item.bar_type), []).append(item)

    def release(self) -> None:
        """Drop the kept bars (the run is over)."""
        self._bars.clear()

    def __call__(self, request: LevelFeedRequest) -> None:
        """Fill `request.feed` with a replayed feed of its bar type when the backtest loaded enough of those bars."""
        bars = self._bars.get(request.bar_type)
        if not bars or len(bars) < self.min_bars or timeframe_minutes(request.config.timeframes[0]) != 1:
            return
        request.feed = ReplayedLevelFeed(request.config, bars_frame(bars))
        self.granted.append(request.bar_type)


def bars_frame(bars: list[Any]) -> pd.DataFrame:
    """The bars in the engine's order (by `ts_init`, stable) as a frame: `ts` open time (ms), OHLCV floats."""
    n = len(bars)
    ts_init = np.fromiter([bar.ts_init for bar in bars], np.int64, n)
    if n > 1 and not (np.diff(ts_init) >= 0).all():
        bars = [bars[i] for i in np.argsort(ts_init, kind="stable")]
    columns = {name: np.fromiter([getattr(bar, name).as_double() for bar in bars], np.float64, n) for name in ("open", "high", "low", "close", "volume")}
    return pd.DataFrame({"ts": (np.fromiter([bar.ts_event for bar in bars], np.int64, n) - NS_PER_MINUTE) // _NS_PER_MS, **columns})

