"""Untouched wicks: a candle's wick extreme that later price has not traded back to.

A lower wick leaves a support level at the candle's low, an upper wick a resistance
level at its high. The level stays *untouched* until a later candle reaches it; that
first return is the event traders act on. Fed one closed candle at a time; no nautilus.

Invariant used for speed: every untouched support is below the low of every later
candle, so untouched supports are ordered by creation *and* by price (newer = higher),
and a candle touches a suffix of the list. Resistances mirror this.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum


class LevelSide(Enum):
    """Which side of price a level defends."""

    SUPPORT = "support"  # from a lower wick
    RESISTANCE = "resistance"  # from an upper wick


class WickEventKind(Enum):
    """What happened to a wick level."""

    CREATED = "created"
    TOUCHED = "touched"  # price came back to the level and the candle closed on its side
    INVALIDATED = "invalidated"  # the candle closed through the level by more than `through_bps`
    EXPIRED = "expired"  # untouched for `max_age_bars`


@dataclass(frozen=True)
class WickConfig:
    """Thresholds of the untouched-wick detector."""

    min_wick_bps: float = 10.0  # wick length, in basis points of the extreme price
    min_wick_body_ratio: float = 1.5  # wick length / body length (body floored at one tick-ish 1e-9)
    min_relative_volume: float = 0.0  # candle volume / mean of the previous `volume_lookback` candles
    volume_lookback: int = 30  # candles in the relative-volume mean
    max_age_bars: int = 240  # candles a level may stay untouched before it expires
    max_levels: int = 64  # per side; the oldest go first when full
    through_bps: float = 5.0  # a close beyond the level by more than this (bps) invalidates it


@dataclass(frozen=True, slots=True)
class WickLevel:
    """One untouched wick level."""

    side: LevelSide
    price: float
    created_index: int  # candle counter at creation
    created_ts: int  # creating candle's close time (ns)
    wick_bps: float
    wick_body_ratio: float
    relative_volume: float


@dataclass(frozen=True, slots=True)
class WickEvent:
    """A level's life event; `depth_bps` is how far past the level the touching candle reached."""

    kind: WickEventKind
    level: WickLevel
    ts: int
    depth_bps: float = 0.0
    age_bars: int = 0


_NO_EVENTS: tuple[WickEvent, ...] = ()  # returned when a candle changes nothing (no allocation)


class UntouchedWickDetector:
    """Track untouched wick levels of one instrument and one timeframe."""

    def __init__(self, config: WickConfig | None = None) -> None:
        self.config = config or WickConfig()
        self.supports: deque[WickLevel] = deque()  # ascending price, oldest first
        self.resistances: deque[WickLevel] = deque()  # descending price, oldest first
        self._volumes: deque[float] = deque(maxlen=self.config.volume_lookback)
        self._volume_sum = 0.0
        self._index = 0
        # thresholds as fractions, read once per candle (update() is on the hot path)
        self._lookback = self.config.volume_lookback
        self._through = self.config.through_bps * 1e-4
        self._max_age = self.config.max_age_bars
        self._min_wick = self.config.min_wick_bps * 1e-4
        self._min_ratio = self.config.min_wick_body_ratio
        self._min_relative_volume = self.config.min_relative_volume

    def update(self, open_: float, high: float, low: float, close: float, volume: float, ts: int) -> Sequence[WickEvent]:
        """Feed one closed candle; return the events it caused, in order."""
        index = self._index = self._index + 1
        events: list[WickEvent] | None = None

        supports = self.supports
        if supports and supports[-1].price >= low:
            events = []
            floor = 1.0 - self._through
            while supports and supports[-1].price >= low:
                level = supports.pop()
                kind = WickEventKind.INVALIDATED if close < level.price * floor else WickEventKind.TOUCHED
                depth = (level.price - low) / level.price * 1e4
                events.append(WickEvent(kind, level, ts, depth, index - level.created_index))
        resistances = self.resistances
        if resistances and resistances[-1].price <= high:
            if events is None:
                events = []
            ceiling = 1.0 + self._through
            while resistances and resistances[-1].price <= high:
                level = resistances.pop()
                kind = WickEventKind.INVALIDATED if close > level.price * ceiling else WickEventKind.TOUCHED
                depth = (high - level.price) / level.price * 1e4
                events.append(WickEvent(kind, level, ts, depth, index - level.created_index))

        oldest_allowed = index - self._max_age
        for book in (supports, resistances):
            while book and book[0].created_index < oldest_allowed:
                level = book.popleft()
                if events is None:
                    events = []
                events.append(WickEvent(WickEventKind.EXPIRED, level, ts, 0.0, index - level.created_index))

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
                if lower_ok:
                    level = WickLevel(LevelSide.SUPPORT, low, index, ts, lower / low * 1e4, lower / body, relative_volume)
                    self._add(supports, level, events)
                if upper_ok:
                    level = WickLevel(LevelSide.RESISTANCE, high, index, ts, upper / high * 1e4, upper / body, relative_volume)
                    self._add(resistances, level, events)
        return events if events is not None else _NO_EVENTS

    def _add(self, book: deque[WickLevel], level: WickLevel, events: list[WickEvent]) -> None:
        if len(book) >= self.config.max_levels:
            dropped = book.popleft()
            events.append(WickEvent(WickEventKind.EXPIRED, dropped, level.created_ts, 0.0, level.created_index - dropped.created_index))
        book.append(level)
        events.append(WickEvent(WickEventKind.CREATED, level, level.created_ts))
