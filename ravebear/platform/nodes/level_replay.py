"""A backtest's level feeds from research's compiled replay: the bars are loaded before the run, so their levels can be too.

The streaming engine (`MinuteLevelFeed`) costs about 8 us a 1-minute bar inside a node. A backtest node knows every
bar before its loop starts, so `RaveBacktestNode` keeps them in a `LevelReplaySource` and registers it on the message
bus (`level_sharing.LEVEL_SOURCE_ENDPOINT`). The LevelActor, or a level strategy without one, asks it for a feed at
start and gets a `ReplayedLevelFeed`: `fast_replay_levels` (numba kernels; equal to `replay_levels`, which equals the
node's engine: tests/research/test_fast_levels.py, tests/strategies/test_level_parity.py) computes every event once,
and each minute the feed hands out the candles and events it precomputed for it, about 1.5 us a bar
(tests/platform/test_level_replay.py: equal to the streaming feed).

Nothing is assumed about the bars the node feeds: each minute must be the next precomputed one (the very `Bar`
object it was computed from, or the same close time and OHLCV), or the feed catches a real engine up on the minutes
it served and streams from then on. Reading
`.engine` (a dashboard, a test) does the same, so every reader sees the streaming engine's state.

Below `REPLAY_MIN_BARS` bars a feed streams: numba's import and cached-kernel load cost about 0.6 s a process.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Callable
from operator import attrgetter
from typing import Any

import numpy as np
import pandas as pd
from nautilus_trader.model.objects import Price, Quantity

from ravebear.platform.nodes.loaded_bars import LoadedBars, LoadedBarsRequest
from ravebear.strategies.level_sharing import LevelFeedRequest
from ravebear.strategies.levels.engine import LevelEngine, LevelEngineConfig
from ravebear.strategies.levels.feed import FedCandle, MinuteLevelFeed
from ravebear.strategies.levels.model import LevelEvent
from ravebear.strategies.levels.timeframes import Candle, timeframe_minutes
from ravebear.time_units import NS_PER_MINUTE

REPLAY_MIN_BARS = 100_000  # 1-minute bars of one bar type: below, numba's ~0.6 s load outweighs ~7 us a bar saved
_NS_PER_MS = 1_000_000


_FIELDS = ("open", "high", "low", "close", "volume")


class _Candles:
    """One timeframe's candles as compact columns: close time (ns) and OHLCV."""

    __slots__ = ("close", "high", "low", "open", "ts", "volume")

    def __init__(self, ts: np.ndarray, columns: list[np.ndarray]) -> None:
        self.ts = _column("q", ts)
        self.open, self.high, self.low, self.close, self.volume = (_column("d", values) for values in columns)

    def candle(self, i: int) -> Candle:
        return Candle(self.ts[i], self.open[i], self.high[i], self.low[i], self.close[i], self.volume[i])


def _column(code: str, values: np.ndarray) -> array:
    """A numpy column as an `array.array`: 8 bytes a value, and indexing gives plain Python numbers (~40 ns)."""
    out = array(code)
    out.frombytes(np.ascontiguousarray(values, dtype=np.int64 if code == "q" else np.float64).tobytes())
    return out


class LevelReplay:
    """What a replayed feed hands out, computed once from the bars and a levels config; feeds only read it, so one
    replay can serve every feed of the same bars and config (an optimisation worker's trials, `ReplayMemo`).

    Kept compact (about 70 bytes a minute, plus the events): the minutes and the higher-timeframe candles as columns,
    and per minute a bit mask of the timeframes whose candle is fed before it (it closed during a gap) or with it.
    """

    def __init__(self, config: LevelEngineConfig, frame: pd.DataFrame) -> None:
        """`frame`: every 1-minute bar the node will feed, in order (`ts` open time in ms, open, high, low, close, volume)."""
        from ravebear.research.fast_levels import candle_columns, fast_replay_levels  # numba: only backtests that replay import it

        columns = {timeframe_minutes(timeframe): candle_columns(frame, timeframe_minutes(timeframe)) for timeframe in config.timeframes}
        close_ns, *ohlcv = columns[1]
        self.minutes = _Candles(close_ns, ohlcv)
        self.n = len(close_ns)
        events: dict[str, dict[int, list[LevelEvent]]] = {tf: {} for tf in config.timeframes}
        for timeframe, event in fast_replay_levels(frame, config, columns):  # the same columns: resampled once
            events[timeframe].setdefault(event.ts, []).append(event)
        self.base_events = events[config.timeframes[0]]
        # per higher timeframe (slot s): its candles, and in the minute's mask bit 2s when one closed during the gap
        # before the minute, bit 2s+1 when one closes with it (at most one of each: a gap leaves one bucket unfinished)
        self.higher: list[tuple[str, _Candles, dict[int, list[LevelEvent]]]] = []
        mask = np.zeros(self.n, dtype=np.int64)
        for slot, timeframe in enumerate(config.timeframes[1:]):
            ends, *ohlcv = columns[timeframe_minutes(timeframe)]
            place = np.searchsorted(close_ns, ends)
            fed = place < self.n  # a candle closing after the last minute is never fed
            ends, place = ends[fed], place[fed]
            closes_with = close_ns[place] == ends
            for bit, at in ((1 << (2 * slot), place[~closes_with]), (1 << (2 * slot + 1), place[closes_with])):
                if len(np.unique(at)) != len(at):
                    raise ValueError(f"two {timeframe} candles fed at one minute")  # cannot happen with sorted minutes
                mask[at] |= bit
            self.higher.append((timeframe, _Candles(ends, [column[fed] for column in ohlcv]), events[timeframe]))
        self.mask: list[int] = mask.tolist()


class ReplayMemo:
    """The last `entries` replays by (levels config, the bars' content): trials of one window replay their levels once."""

    def __init__(self, entries: int = 8) -> None:
        self.entries = entries
        self._replays: dict[tuple[LevelEngineConfig, bytes], LevelReplay] = {}
        self.hits = 0

    def get(self, config: LevelEngineConfig, frame: pd.DataFrame) -> LevelReplay:
        """The replay of `frame` under `config`: the memo's, or a new one remembered (the oldest dropped when full)."""
        digest = hashlib.blake2b(digest_size=16)
        for name in ("ts", *_FIELDS):
            digest.update(np.ascontiguousarray(frame[name].to_numpy()).tobytes())
        key = (config, digest.digest())
        replay = self._replays.get(key)
        if replay is not None:
            self.hits += 1
            return replay
        if len(self._replays) >= self.entries:
            self._replays.pop(next(iter(self._replays)))
        replay = self._replays[key] = LevelReplay(config, frame)
        return replay


class ReplayedLevelFeed(MinuteLevelFeed):
    """A MinuteLevelFeed whose candles and events were computed in advance from the bars the node will feed."""

    def __init__(self, config: LevelEngineConfig, replay: LevelReplay | pd.DataFrame, bars: list[Any] | None = None) -> None:
        """`replay`: a LevelReplay of `config`, or the frame of every 1-minute bar the node will feed (see LevelReplay).
        `bars`: the `Bar` objects it was computed from, in feed order: `on_bar` with the very object expected next
        skips reading and comparing its five prices (the engine hands its loaded objects to the handlers)."""
        super().__init__(config)
        replay = replay if isinstance(replay, LevelReplay) else LevelReplay(config, replay)
        self._minutes, self._n, self._base_events, self._higher, self._mask = replay.minutes, replay.n, replay.base_events, replay.higher, replay.mask
        self._bars = bars if bars is not None and len(bars) == replay.n else None
        self._pos = 0
        self._next = [0] * len(self._higher)  # per higher timeframe: its next candle
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

    def on_bar(self, bar: Any) -> list[FedCandle]:
        """As `MinuteLevelFeed.on_bar`; the very `Bar` object the replay expects next is served without reading its prices."""
        pos = self._pos
        if self._bars is not None and self._replaying and pos < self._n and bar is self._bars[pos]:
            m = self._minutes
            close_ns = m.ts[pos]
            if bar.ts_event == close_ns:  # its close time as the replay reads it (whole milliseconds)
                return self._serve(pos, close_ns, m.open[pos], m.high[pos], m.low[pos], m.close[pos], m.volume[pos])
        return super().on_bar(bar)

    def on_minute(self, close_ns: int, open_: float, high: float, low: float, close: float, volume: float) -> list[FedCandle]:
        """As `MinuteLevelFeed.on_minute`, from the replay while the minutes are the precomputed ones."""
        if close_ns == self._last_ns:
            return self._last
        pos, m = self._pos, self._minutes
        if (not self._replaying or pos >= self._n or m.ts[pos] != close_ns or m.close[pos] != close or m.volume[pos] != volume
                or m.high[pos] != high or m.low[pos] != low or m.open[pos] != open_):  # fmt: skip
            if self._replaying:
                self._stream()
            return super().on_minute(close_ns, open_, high, low, close, volume)
        return self._serve(pos, close_ns, open_, high, low, close, volume)

    def _serve(self, pos: int, close_ns: int, open_: float, high: float, low: float, close: float, volume: float) -> list[FedCandle]:
        """The precomputed minute `pos` and the higher-timeframe candles fed before and with it."""
        self._pos = pos + 1
        base = (self._base, Candle(close_ns, open_, high, low, close, volume), self._base_events.get(close_ns) or [])
        mask = self._mask[pos]
        if not mask:
            fed = [base]
        else:
            fed = self._higher_fed(mask, 0)
            fed.append(base)
            fed.extend(self._higher_fed(mask, 1))
        self._last_ns, self._last = close_ns, fed
        return fed

    def _higher_fed(self, mask: int, closes_with: int) -> list[FedCandle]:
        """The higher-timeframe candles fed before the minute (`closes_with` 0) or with it (1), per timeframe in order."""
        out: list[FedCandle] = []
        for slot, (timeframe, candles, events) in enumerate(self._higher):
            if mask >> (2 * slot + closes_with) & 1:
                i = self._next[slot]
                self._next[slot] = i + 1
                out.append((timeframe, candles.candle(i), events.get(candles.ts[i]) or []))
        return out

    def _stream(self) -> None:
        """Stop replaying: feed the engine every minute served so far, so it streams on from the same state."""
        self._replaying = False
        served, last_ns, last, m = self._pos, self._last_ns, self._last, self._minutes
        self._last_ns = -1
        for i in range(served):
            MinuteLevelFeed.on_minute(self, m.ts[i], m.open[i], m.high[i], m.low[i], m.close[i], m.volume[i])
        if served:
            self._last_ns, self._last = last_ns, last
        self._higher, self._base_events, self._mask = [], {}, []


class LevelReplaySource:
    """The bars a backtest loaded, by bar type; grants a `ReplayedLevelFeed` for a bar type with enough of them."""

    def __init__(self, min_bars: int = REPLAY_MIN_BARS, memo: ReplayMemo | None = None, on_grant: Callable[[], None] | None = None) -> None:
        self.min_bars = min_bars
        self.memo = memo
        self.on_grant = on_grant  # called after a replayed feed is made (the node freezes what it built out of the GC)
        self._bars: dict[str, list[Any]] = {}
        self._frames: dict[str, pd.DataFrame] = {}  # by bar type: made once for all the feeds asked of it
        self._loaded: dict[str, LoadedBars] = {}  # by bar type: the columns `serve_bars` hands out
        self._in_order: dict[str, list[Any]] = {}  # by bar type: its bars in feed order
        self.granted: list[str] = []  # bar types a replayed feed was made for, in order (the run's log, tests)

    def add(self, data: list[Any]) -> None:
        """Keep the 1-minute bars among loaded data (one data entry's result).

        A result whose first and last bars share a bar type is kept whole, without reading each bar's type (building
        a BarType and its string costs ~1 us a bar): a bar data entry reads one type. Should it mix types after all,
        a replayed feed would find its minutes differing from the ones fed and stream: speed lost, never a level.
        """
        from nautilus_trader.model.data import Bar

        bars = [item for item in data if type(item) is Bar]
        if not bars:
            return
        first, last = str(bars[0].bar_type), str(bars[-1].bar_type)
        if first == last:
            self._bars.setdefault(first, []).extend(bars)
        else:
            for bar in bars:
                self._bars.setdefault(str(bar.bar_type), []).append(bar)
        self._frames.clear()  # frames made before these bars came are out of date
        self._loaded.clear()
        self._in_order.clear()

    def release(self) -> None:
        """Drop the kept bars (the run is over)."""
        self._bars.clear()
        self._frames.clear()
        self._loaded.clear()
        self._in_order.clear()

    def _ordered(self, bar_type: str) -> list[Any]:
        """The bar type's bars in the engine's order (sorted once)."""
        ordered = self._in_order.get(bar_type)
        if ordered is None:
            ordered = self._in_order[bar_type] = in_feed_order(self._bars[bar_type])
        return ordered

    def _frame(self, bar_type: str) -> pd.DataFrame:
        frame = self._frames.get(bar_type)
        if frame is None:
            frame = self._frames[bar_type] = bars_frame(self._ordered(bar_type), ordered=True)
        return frame

    def serve_bars(self, request: LoadedBarsRequest) -> None:
        """Fill `request.bars` with the loaded bars of its bar type as columns (`LOADED_BARS_ENDPOINT`), any number of them."""
        bars = self._bars.get(request.bar_type)
        if not bars:
            return
        loaded = self._loaded.get(request.bar_type)
        if loaded is None:
            frame = self._frame(request.bar_type)
            ordered = self._ordered(request.bar_type)
            n = len(ordered)
            loaded = self._loaded[request.bar_type] = LoadedBars(
                ts_event=np.fromiter(map(attrgetter("ts_event"), ordered), np.int64, n),
                ts_init=np.fromiter(map(attrgetter("ts_init"), ordered), np.int64, n),
                high=frame["high"].to_numpy(), low=frame["low"].to_numpy(), close=frame["close"].to_numpy(),
            )  # fmt: skip
        request.bars = loaded

    def __call__(self, request: LevelFeedRequest) -> None:
        """Fill `request.feed` with a replayed feed of its bar type when the backtest loaded enough of those bars."""
        bars = self._bars.get(request.bar_type)
        if not bars or len(bars) < self.min_bars or timeframe_minutes(request.config.timeframes[0]) != 1:
            return
        frame = self._frame(request.bar_type)
        replay = self.memo.get(request.config, frame) if self.memo is not None else LevelReplay(request.config, frame)
        request.feed = ReplayedLevelFeed(request.config, replay, self._ordered(request.bar_type))
        self.granted.append(request.bar_type)
        if self.on_grant is not None:
            self.on_grant()


def in_feed_order(bars: list[Any]) -> list[Any]:
    """The bars in the engine's order: by `ts_init`, stable (the list itself when it already is)."""
    n = len(bars)
    ts_init = np.fromiter(map(attrgetter("ts_init"), bars), np.int64, n)
    if n > 1 and not (np.diff(ts_init) >= 0).all():
        return [bars[i] for i in np.argsort(ts_init, kind="stable")]
    return bars


def bars_frame(bars: list[Any], ordered: bool = False) -> pd.DataFrame:
    """The bars in the engine's order (by `ts_init`, stable; `ordered`: they are) as a frame: `ts` open time (ms), OHLCV floats."""
    if not ordered:
        bars = in_feed_order(bars)
    n = len(bars)

    def floats(field: str, as_double: Any) -> np.ndarray:  # map over the C methods: ~35 % faster than a comprehension
        return np.fromiter(map(as_double, map(attrgetter(field), bars)), np.float64, n)

    return pd.DataFrame({
        "ts": (np.fromiter(map(attrgetter("ts_event"), bars), np.int64, n) - NS_PER_MINUTE) // _NS_PER_MS,
        "open": floats("open", Price.as_double), "high": floats("high", Price.as_double), "low": floats("low", Price.as_double),
        "close": floats("close", Price.as_double), "volume": floats("volume", Quantity.as_double),
    })  # fmt: skip
