"""Untouched wicks: a candle's wick extreme that later price has not traded back to.

A lower wick leaves a support at the candle's low, an upper wick a resistance at its high.
The level stays *untouched* until a later candle reaches it; that first return is the event
traders act on (TOUCHED when the candle closes back on the level's side, INVALIDATED when
it closes through by more than `through_bps`). Either way the level is gone afterwards.

Quality in [0, 1] is the mean of four parts: wick/body ratio (full at 2x the minimum), wick
size (full at 3x the minimum), relative volume (full at 2x the average) and cleanliness
(the wick's share of the candle's range). The score is quality x freshness (half-life).

Invariant used for speed: every untouched support is below the low of every later candle,
so untouched supports are ordered by creation *and* by price (newer = higher), and a candle
touches a suffix of the list. Resistances mirror this.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ravebear.strategies.levels.model import EventKind, Level, LevelEvent, LevelKind, LevelSide


@dataclass(frozen=True)
class WickConfig:
    """Thresholds of the untouched-wick detector."""

    min_wick_bps: float = 10.0  # wick length, basis points of the extreme price
    min_wick_body_ratio: float = 1.5  # wick length / body length (body floored at 1e-9)
    min_relative_volume: float = 0.0  # candle volume / mean of the previous `volume_lookback` candles
    volume_lookback: int = 30  # candles in the relative-volume mean
    max_age_bars: int = 240  # candles a level may stay untouched before it expires
    max_levels: int = 64  # per side; the oldest go first when full
    through_bps: float = 5.0  # a close beyond the level by more than this (bps) invalidates it
    half_life_bars: float = 60.0  # candles for the score's freshness to halve


_NO_EVENTS: tuple[LevelEvent, ...] = ()  # returned when a candle changes nothing (no allocation)


class UntouchedWickDetector:
    """Track untouched wick levels of one instrument and one timeframe."""

    def __init__(self, config: WickConfig | None = None, timeframe: str = "1m") -> None:
        self.config = config = config or WickConfig()
        self.timeframe = timeframe
        self.supports: deque[Level] = deque()  # ascending price, oldest first
        self.resistances: deque[Level] = deque()  # descending price, oldest first
        self._volumes: deque[float] = deque(maxlen=config.volume_lookback)
        self._volume_sum = 0.0
        self._index = 0
        # thresholds as fractions, read once per candle (update() is on the hot path)
        self._lookback = config.volume_lookback
        self._through = config.through_bps * 1e-4
        self._max_age = config.max_age_bars
        self._min_wick = config.min_wick_bps * 1e-4
        self._min_ratio = config.min_wick_body_ratio
        self._min_relative_volume = config.min_relative_volume
        self._half_life = config.half_life_bars

    def active(self) -> Iterable[Level]:
        """Return the untouched levels, supports then resistances."""
        return [*self.supports, *self.resistances]

    def update(self, open_: float, high: float, low: float, close: float, volume: float, ts: int) -> Sequence[LevelEvent]:
        """Feed one closed candle; return the events it caused, in order."""
        index = self._index = self._index + 1
        events: list[LevelEvent] | None = None

        supports, resistances = self.supports, self.resistances
        # expiry first: a level older than max_age_bars can no longer be touched
        oldest_allowed = index - self._max_age
        for book in (supports, resistances):
            while book and book[0].created_index < oldest_allowed:
                if events is None:
                    events = []
                events.append(self._event(EventKind.EXPIRED, book.popleft(), ts, 0.0, index))

        if supports and supports[-1].low >= low:
            if events is None:
                events = []
            floor = 1.0 - self._through
            while supports and supports[-1].low >= low:
                level = supports.pop()
                kind = EventKind.INVALIDATED if close < level.low * floor else EventKind.TOUCHED
                events.append(self._event(kind, level, ts, (level.low - low) / level.low * 1e4, index))
        if resistances and resistances[-1].high <= high:
            if events is None:
                events = []
            ceiling = 1.0 + self._through
            while resistances and resistances[-1].high <= high:
                level = resistances.pop()
                kind = EventKind.INVALIDATED if close > level.high * ceiling else EventKind.TOUCHED
                events.append(self._event(kind, level, ts, (high - level.high) / level.high * 1e4, index))

        volumes = self._volumes
        count = len(volumes)
        mean_volume = self._volume_sum / count if count else 0.0
        if count == self._lookback:
            self._volume_sum -= volumes[0]
        volumes.append(volume)
        self._volume_sum += volume

        if open_ < close:
            body, lower, upper = close - open_, open_ - low, high - close
        else:
            body, lower, upper = open_ - close, close - low, high - open_
        if body < 1e-9:
            body = 1e-9
        min_wick, min_ratio = self._min_wick, self._min_ratio
        lower_ok = lower >= min_wick * low and lower >= min_ratio * body
        upper_ok = upper >= min_wick * high and upper >= min_ratio * body
        if lower_ok or upper_ok:
            relative_volume = volume / mean_volume if mean_volume > 0 else 1.0
            if relative_volume >= self._min_relative_volume:
                if events is None:
                    events = []
                candle_range = high - low
                if lower_ok:
                    quality = self._quality(lower / low, lower / body, relative_volume, lower / candle_range)
                    level = Level(LevelKind.WICK, LevelSide.SUPPORT, low, low, self.timeframe, ts, index, quality)
                    self._add(supports, level, events)
                if upper_ok:
                    quality = self._quality(upper / high, upper / body, relative_volume, upper / candle_range)
                    level = Level(LevelKind.WICK, LevelSide.RESISTANCE, high, high, self.timeframe, ts, index, quality)
                    self._add(resistances, level, events)
        return events if events is not None else _NO_EVENTS

    def _quality(self, wick_fraction: float, ratio: float, relative_volume: float, cleanliness: float) -> float:
        size_part = min(wick_fraction / (3.0 * self._min_wick), 1.0) if self._min_wick > 0 else 1.0
        ratio_part = min(ratio / (2.0 * self._min_ratio), 1.0) if self._min_ratio > 0 else 1.0
        volume_part = min(relative_volume / 2.0, 1.0)
        return (size_part + ratio_part + volume_part + min(cleanliness, 1.0)) * 0.25

    def _event(self, kind: EventKind, level: Level, ts: int, depth_bps: float, index: int) -> LevelEvent:
        age = index - level.created_index
        return LevelEvent(kind, level, ts, depth_bps, age, level.score(age, self._half_life))

    def _add(self, book: deque[Level], level: Level, events: list[LevelEvent]) -> None:
        if len(book) >= self.config.max_levels:
            events.append(self._event(EventKind.EXPIRED, book.popleft(), level.created_ts, 0.0, level.created_index))
        book.append(level)
        events.append(LevelEvent(EventKind.CREATED, level, level.created_ts, 0.0, 0, level.quality))
