"""The level vocabulary every detector speaks: levels, their life events, and the detector protocol.

A level is a price zone [low, high] (a line when low == high) left by the market on one
timeframe. Detectors are plain classes fed one closed candle at a time (floats, times in ns)
and return the events that candle caused. No nautilus imports here: research, tests and the
LevelActor use the same classes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol


class LevelKind(Enum):
    """Which detector made a level."""

    __hash__ = object.__hash__  # members are singletons; the C slot is ~10x faster than Enum's name hash

    WICK = "wick"  # untouched wick extreme
    POOR = "poor"  # poor high / poor low: equal extremes of adjacent candles
    BOX = "box"  # consolidation box
    ORIGIN = "origin"  # displacement origin zone
    CONFLUENCE = "confluence"  # cluster of other levels


class LevelSide(Enum):
    """Which side of price a level defends."""

    __hash__ = object.__hash__  # as LevelKind

    SUPPORT = "support"  # below price: buyers defended it
    RESISTANCE = "resistance"  # above price: sellers defended it
    RANGE = "range"  # a box: both edges


class EventKind(Enum):
    """What happened to a level."""

    __hash__ = object.__hash__  # as LevelKind

    CREATED = "created"
    TOUCHED = "touched"  # price came back into the level and closed on its side
    INVALIDATED = "invalidated"  # price closed through the level by more than the detector's tolerance
    EXPIRED = "expired"  # untouched for the detector's maximum age (or pushed out by newer levels)
    BREAKOUT = "breakout"  # a box closed outside its range


@dataclass(slots=True, unsafe_hash=True)  # not frozen: frozen init costs ~5x (2.4 vs 0.4 us); treat as immutable
class Level:
    """One level. `quality` in [0, 1] is fixed at creation; the score also decays with age."""

    kind: LevelKind
    side: LevelSide
    low: float
    high: float
    timeframe: str  # "1m", "5m", "15m", "1h", ...
    created_ts: int  # close time (ns) of the candle that completed the level
    created_index: int  # that candle's counter on its timeframe
    quality: float

    @property
    def price(self) -> float:
        """The level's reference price: the line, or the middle of a zone."""
        return (self.low + self.high) * 0.5

    def score(self, age_bars: int, half_life_bars: float) -> float:
        """Return the level's score `age_bars` after its creation: quality x freshness."""
        return self.quality * freshness(age_bars, half_life_bars)


@dataclass(slots=True, unsafe_hash=True)  # not frozen: frozen init costs ~5x (2.4 vs 0.4 us); treat as immutable
class LevelEvent:
    """A level's life event. `depth_bps`: how far past the level's edge the candle reached."""

    kind: EventKind
    level: Level
    ts: int  # close time (ns) of the candle that caused it
    depth_bps: float = 0.0
    age_bars: int = 0  # candles of the level's timeframe since creation
    score: float = 0.0  # quality x freshness at the time of the event
    direction: int = 0  # +1 up / -1 down for a BREAKOUT (and any event with a direction), else 0


def freshness(age_bars: int, half_life_bars: float) -> float:
    """Return the weight of a level `age_bars` old: 1 when new, 0.5 after one half-life."""
    if half_life_bars <= 0:
        return 1.0
    return math.exp(-math.log(2.0) * age_bars / half_life_bars)


class Detector(Protocol):
    """What every level detector offers."""

    timeframe: str

    def update(self, open_: float, high: float, low: float, close: float, volume: float, ts: int) -> Sequence[LevelEvent]:
        """Feed one closed candle; return the events it caused, in order."""
        ...

    def active(self) -> Iterable[Level]:
        """Return the levels alive now."""
        ...
