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


class UntouchedWickDetector:
    """Track untouched wick levels of one instrument and one timeframe."""

    def __init__(self, config: WickConfig | None = None) -> None:
        self.config = config or WickConfig()
        self.supports: deque[WickLevel] = deque()  # ascending price, oldest first
        self.resistances: deque[WickLevel] = deque()  # descending price, oldest first
        self._volumes: deque[float] = deque(maxlen=self.config.volume_lookback)
        self._volume_sum = 0.0
        self._index = 0

    def update(self, open_: float, high: float, low: float, close: float, volume: float, ts: int) -> list[WickEvent]:
        """Feed one closed candle; return the events it caused, in order."""
        cfg = self.config
        index = self._index = self._index + 1
        events: list[WickEvent] = []

        supports = self.supports
        while supports and supports[-1].price >= low:
            level = supports.pop()
            if close < level.price * (1.0 - cfg.through_bps * 1e-4):
                kind = WickEventKind.INVALIDATED
            else:
                kind = WickEventKind.TOUCHED
            depth = (level.price - low) / level.price * 1e4
            events.append(WickEvent(kind, level, ts, depth, index - level.created_index))
        resistances = self.resistances
        while resistances and resistances[-1].price <= high:
            level = resistances.pop()
            if close > level.price * (1.0 + cfg.through_bps * 1e-4):
                kind = WickEventKind.INVALIDATED
            else:
                kind = WickEventKind.TOUCHED
            depth = (high - level.price) / level.price * 1e4
            events.append(WickEvent(kind, level, ts, depth, index - level.created_index))

        oldest_allowed = index - cfg.max_age_bars
        for book in (supports, resistances):
            while book and book[0].created_index < oldest_allowed:
                level = book.popleft()
                events.append(WickEvent(WickEventKind.EXPIRED, level, ts, 0.0, index - level.created_index))

        volumes = self._volumes
        relative_volume = volume / (self._volume_sum / len(volumes)) if volumes and self._volume_sum > 0 else 1.0
        if len(volumes) == volumes.maxlen:
            self._volume_sum -= volumes[0]
        volumes.append(volume)
        self._volume_sum += volume

        body = max(abs(close - open_), 1e-9)
        if relative_volume >= cfg.min_relative_volume:
            lower = min(open_, close) - low
            if lower / low * 1e4 >= cfg.min_wick_bps and lower / body >= cfg.min_wick_body_ratio:
                level = WickLevel(LevelSide.SUPPORT, low, index, ts, lower / low * 1e4, lower / body, relative_volume)
                self._add(supports, level, events)
            upper = high - max(open_, close)
            if upper / high * 1e4 >= cfg.min_wick_bps and upper / body >= cfg.min_wick_body_ratio:
                level = WickLevel(LevelSide.RESISTANCE, high, index, ts, upper / high * 1e4, upper / body, relative_volume)
                self._add(resistances, level, events)
        return events

    def _add(self, book: deque[WickLevel], level: WickLevel, events: list[WickEvent]) -> None:
        if len(book) >= self.config.max_levels:
            dropped = book.popleft()
            events.append(WickEvent(WickEventKind.EXPIRED, dropped, level.created_ts, 0.0, level.created_index - dropped.created_index))
        book.append(level)
        events.append(WickEvent(WickEventKind.CREATED, level, level.created_ts))
