"""Rolling windows the candle bots share: O(1) per value, no allocation per bar, arithmetic the numba twins
(`ravebear/research/fast_swarm/windows.py`) repeat operation for operation so their votes match bit for bit.

nautilus's SimpleMovingAverage and BollingerBands copy their whole window into a new numpy array on every
update (7 us per bar for a 200-bar SMA, 3.4 us for a 20-bar band), so windows of N bars are kept here instead.
"""

from __future__ import annotations

from collections import deque


class RollingWindow:
    """Mean and population variance of the last `size` values: a windowed Welford update per value, recomputed
    from the values once per lap so rounding never accumulates; O(1) per value amortised."""

    __slots__ = ("count", "full", "index", "m2", "mean", "size", "values")

    def __init__(self, size: int) -> None:
        self.size = size
        self.values = [0.0] * size
        self.index = 0
        self.count = 0
        self.full = False  # True once `size` values are in
        self.mean = 0.0
        self.m2 = 0.0

    def push(self, x: float) -> None:
        """Add one value, dropping the oldest once the window is full."""
        values, index, size = self.values, self.index, self.size
        if self.full:
            old, mean = values[index], self.mean
            new_mean = mean + (x - old) / size
            self.m2 += (x - old) * ((x - new_mean) + (old - mean))
            self.mean = new_mean
        else:
            self.count = count = self.count + 1
            delta = x - self.mean
            self.mean += delta / count
            self.m2 += delta * (x - self.mean)
            self.full = count == size
        values[index] = x
        index += 1
        if index == size:
            index = 0
            self._recompute()
        self.index = index

    def _recompute(self) -> None:
        """Once per lap, the mean and m2 from the values (plain two-pass sums): the update's rounding would
        otherwise accumulate (1e-4 relative on a quiet 20-minute band of BTC closes)."""
        total = 0.0
        for value in self.values:
            total += value
        mean = total / self.size
        m2 = 0.0
        for value in self.values:
            deviation = value - mean
            m2 += deviation * deviation
        self.mean, self.m2 = mean, m2

    def variance(self) -> float:
        """Population variance of the window (0.0 when rounding leaves it below zero)."""
        return self.m2 / self.count if self.m2 > 0.0 else 0.0


class TimeExtremes:
    """The highest high and lowest low of the candles closed in the last `span_ns` (monotonic queues: amortised
    O(1) per candle however long the span, where max() over a list of 4,320 minutes costs 30 us)."""

    __slots__ = ("_high_ts", "_highs", "_low_ts", "_lows", "first_ts", "span_ns")

    def __init__(self, span_ns: int) -> None:
        self.span_ns = span_ns
        self.first_ts = -1  # close time of the first candle seen
        self._highs: deque[float] = deque()
        self._high_ts: deque[int] = deque()
        self._lows: deque[float] = deque()
        self._low_ts: deque[int] = deque()

    def drop_before(self, ts_ns: int) -> bool:
        """Forget candles closed at or before `ts_ns - span_ns`; True when the history covers the whole span and
        holds at least one candle (`high`/`low` are then meaningful)."""
        cutoff = ts_ns - self.span_ns
        high_ts, low_ts = self._high_ts, self._low_ts
        while high_ts and high_ts[0] <= cutoff:
            high_ts.popleft()
            self._highs.popleft()
        while low_ts and low_ts[0] <= cutoff:
            low_ts.popleft()
            self._lows.popleft()
        return 0 <= self.first_ts <= cutoff + 60_000_000_000 and len(high_ts) > 0

    @property
    def high(self) -> float:
        """The highest high in the span."""
        return self._highs[0]

    @property
    def low(self) -> float:
        """The lowest low in the span."""
        return self._lows[0]

    def push(self, ts_ns: int, high: float, low: float) -> None:
        """Add one candle (close time, high, low)."""
        if self.first_ts < 0:
            self.first_ts = ts_ns
        highs, lows = self._highs, self._lows
        while highs and highs[-1] <= high:
            highs.pop()
            self._high_ts.pop()
        highs.append(high)
        self._high_ts.append(ts_ns)
        while lows and lows[-1] >= low:
            lows.pop()
            self._low_ts.pop()
        lows.append(low)
        self._low_ts.append(ts_ns)
