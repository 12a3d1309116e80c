"""Higher-timeframe candles from 1-minute candles, the way research builds them.

`resample_candles` turns a frame of 1-minute candles (`ts` = open time in ms, `open, high,
low, close, volume`) into N-minute candles aligned to UTC multiples of N minutes, with the
rules of nautilus's internal time-bar aggregation as RaveBear configures it
(`DataEngineConfig(time_bars_build_with_no_updates=False)`, see docs/NOTES.md):
- a bucket with no 1-minute candle (a gap in the data) produces no candle;
- a bucket partly filled before a gap is a candle of what it has;
- a bucket closes only when time reaches its end, so a trailing bucket whose end is after
  the last 1-minute candle's close is left out (in a node its timer never fires).
The node builds the same timeframes; a test proves both give the same candles.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

ONE_MINUTE_MS = 60_000
VOLUME_DECIMALS = 9  # above any instrument's size precision
TIMEFRAME_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "4h": 240}


def timeframe_minutes(timeframe: str) -> int:
    """Return the minutes of a timeframe label such as `15m` or `1h`."""
    try:
        return TIMEFRAME_MINUTES[timeframe]
    except KeyError:
        raise ValueError(f"unknown timeframe {timeframe!r}; known: {', '.join(TIMEFRAME_MINUTES)}") from None


def resample_candles(frame: pd.DataFrame, minutes: int) -> pd.DataFrame:
    """Aggregate 1-minute candles into `minutes`-minute candles (open-time `ts` in ms)."""
    if minutes == 1:
        return frame[["ts", "open", "high", "low", "close", "volume"]].reset_index(drop=True)
    bucket_ms = minutes * ONE_MINUTE_MS
    bucket = frame["ts"].to_numpy() // bucket_ms * bucket_ms
    grouped = frame.groupby(bucket, sort=True)
    out = pd.DataFrame(
        {
            "ts": grouped["ts"].first().index.to_numpy(),
            "open": grouped["open"].first().to_numpy(),
            "high": grouped["high"].max().to_numpy(),
            "low": grouped["low"].min().to_numpy(),
            "close": grouped["close"].last().to_numpy(),
            "volume": _streamed_volumes(bucket, frame["volume"].to_numpy(dtype=float)),
        },
    )
    last_close = int(frame["ts"].iloc[-1]) + ONE_MINUTE_MS if len(frame) else 0
    return out[out["ts"].to_numpy() + bucket_ms <= last_close].reset_index(drop=True)


def _streamed_volumes(bucket: np.ndarray, volume: np.ndarray) -> list[float]:
    """Each bucket's volume as StreamingAggregator makes it, to the bit: the minutes added left to right, then `round`.

    (pandas' sum may add in another order, and numpy's round differs from Python's in the last bit.) The minutes go
    into a dense bucket x minute-of-bucket grid padded with 0.0, which leaves a sum unchanged, so one vectorised add
    per column adds every bucket's minutes in order.
    """
    if len(bucket) == 0:
        return []
    order = np.argsort(bucket, kind="stable")  # groupby's order: by bucket, rows in frame order within one
    bucket, volume = bucket[order], volume[order]
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    counts = np.diff(np.r_[starts, len(bucket)])
    grid = np.zeros((len(starts), int(counts.max())))
    grid[np.repeat(np.arange(len(starts)), counts), np.arange(len(bucket)) - np.repeat(starts, counts)] = volume
    sums = np.zeros(len(starts))
    for column in grid.T:
        sums += column
    return [round(total, VOLUME_DECIMALS) for total in sums.tolist()]


class Candle:
    """One closed candle: close time `ts` (ns) and OHLCV as floats."""

    __slots__ = ("close", "high", "low", "open", "ts", "volume")

    def __init__(self, ts: int, open_: float, high: float, low: float, close: float, volume: float) -> None:
        self.ts, self.open, self.high, self.low, self.close, self.volume = ts, open_, high, low, close, volume

    def __repr__(self) -> str:
        return f"Candle(ts={self.ts}, o={self.open}, h={self.high}, l={self.low}, c={self.close}, v={self.volume})"


_NEVER = 1 << 62  # ns: later than any bucket end
_NOTHING: list = []  # returned when no candle closes (never appended to: a new list is made for candles)


class StreamingAggregator:
    """Build higher-timeframe candles from 1-minute candles one at a time, with `resample_candles`' rules.

    For each 1-minute candle, `before(open_ns)` returns the candles that closed during a gap
    before it (their bucket ended and no later minute joined them), then `add(...)` takes the
    minute and returns the candles closing with it — the order a node (and `replay_levels`) feeds
    them: gap-closed candles before the minute, per timeframe in order; candles closing with the
    minute right after it. A bucket with no minute produces nothing; the last, unfinished bucket
    is never emitted. Cheaper than nautilus's internal aggregation in a node (no timers, no bar
    objects), which cost a strategy ~30 us per 1-minute bar.
    """

    def __init__(self, timeframes: tuple[str, ...]) -> None:
        self.timeframes = timeframes
        self._bucket_ns = [timeframe_minutes(tf) * ONE_MINUTE_MS * 1_000_000 for tf in timeframes]
        # per timeframe: [bucket end (ns; 0: no candle being built), open, high, low, close, volume]
        self._open = [[0, 0.0, 0.0, 0.0, 0.0, 0.0] for _ in timeframes]
        self._slots = list(zip(timeframes, self._bucket_ns, self._open, strict=True))
        self._first_end = _NEVER  # the earliest end of a bucket being built: `before` has nothing to do until then

    def before(self, open_ns: int) -> list[tuple[str, Candle]]:
        """Candles whose bucket ended at or before this minute's open (closed during a gap)."""
        if open_ns < self._first_end:
            return _NOTHING
        out = [(tf, self._emit(state)) for tf, _size, state in self._slots if 0 < state[0] <= open_ns]
        self._first_end = min((state[0] for state in self._open if state[0]), default=_NEVER)
        return out

    def add(self, open_ns: int, open_: float, high: float, low: float, close: float, volume: float) -> list[tuple[str, Candle]]:
        """Take one 1-minute candle (call `before` first); return the candles that close with it."""
        out = _NOTHING
        close_ns = open_ns + ONE_MINUTE_MS * 1_000_000
        for tf, size, state in self._slots:
            end = state[0]
            if not end:
                end = open_ns - open_ns % size + size
                state[0], state[1], state[2], state[3], state[4], state[5] = end, open_, high, low, close, volume
                if end < self._first_end:
                    self._first_end = end
            else:
                if high > state[2]:
                    state[2] = high
                if low < state[3]:
                    state[3] = low
                state[4] = close
                state[5] += volume
            if close_ns == end:
                if out is _NOTHING:
                    out = []
                out.append((tf, self._emit(state)))
        if out is not _NOTHING:
            self._first_end = min((state[0] for state in self._open if state[0]), default=_NEVER)
        return out

    @staticmethod
    def _emit(state: list) -> Candle:
        end = state[0]
        state[0] = 0
        return Candle(end, state[1], state[2], state[3], state[4], round(state[5], VOLUME_DECIMALS))
