"""The set of live levels of one instrument, kept from the level event stream.

Anything that sees the events (the engine, a strategy subscribed to `LevelEventData`)
can keep a `LevelBook` and ask it what is alive and what pressure surrounds a price.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ravebear.strategies.levels.model import EventKind, Level, LevelEvent, LevelKind, LevelSide

ENDING_EVENTS = (EventKind.TOUCHED, EventKind.INVALIDATED, EventKind.EXPIRED)


def level_key(level: Level) -> tuple:
    """Return the identity of a level (its kind, side, timeframe, creation and bounds)."""
    return (level.kind, level.side, level.timeframe, level.created_ts, level.low, level.high)


@dataclass(frozen=True)
class PressureConfig:
    """Distance bands of the pressure map."""

    band_edges_bps: tuple[float, ...] = (25.0, 50.0, 100.0, 200.0)  # upper edges, bps from price
    half_life_bars: float = 60.0  # the level timeframe's candles for a level's weight to halve


@dataclass(frozen=True)
class PressureBand:
    """Levels between `from_bps` and `to_bps` away from price, on each side."""

    from_bps: float
    to_bps: float
    support_count: int
    support_weight: float  # sum of quality x freshness of supports below price in the band
    resistance_count: int
    resistance_weight: float  # same for resistances above price


@dataclass(frozen=True)
class PressureMap:
    """Support below vs resistance above a price, by distance band."""

    price: float
    bands: tuple[PressureBand, ...]

    @property
    def imbalance(self) -> float:
        """Return (support - resistance) / (support + resistance) weight over all bands, in [-1, 1]."""
        support = sum(band.support_weight for band in self.bands)
        resistance = sum(band.resistance_weight for band in self.bands)
        total = support + resistance
        return (support - resistance) / total if total > 0 else 0.0


@dataclass
class LevelBook:
    """Live levels, updated from level events."""

    levels: dict[tuple, Level] = field(default_factory=dict)
    bar_counts: dict[str, int] = field(default_factory=dict)  # candles seen per timeframe, for ages

    def apply(self, event: LevelEvent) -> None:
        """Add a created level, drop an ended one (BREAKOUT keeps the box alive as a retest zone)."""
        key = level_key(event.level)
        if event.kind is EventKind.CREATED:
            self.levels[key] = event.level
        elif event.kind in ENDING_EVENTS:
            self.levels.pop(key, None)

    def apply_all(self, events: Iterable[LevelEvent]) -> None:
        """Apply events in order."""
        for event in events:
            self.apply(event)

    def active(self) -> list[Level]:
        """Return the live levels, oldest first."""
        return sorted(self.levels.values(), key=lambda level: level.created_ts)

    def pressure(self, price: float, config: PressureConfig | None = None, now_index: dict[str, int] | None = None) -> PressureMap:
        """Count and weigh supports below and resistances above `price` by distance band.

        `now_index` gives each timeframe's current candle counter for the freshness decay;
        without it levels weigh their quality alone.
        """
        config = config or PressureConfig()
        edges = (0.0, *config.band_edges_bps)
        counts = [[0, 0.0, 0, 0.0] for _ in config.band_edges_bps]
        for level in self.levels.values():
            if level.kind is LevelKind.CONFLUENCE:
                continue  # a stack re-counts its members
            if level.side is LevelSide.RESISTANCE or (level.side is LevelSide.RANGE and level.low > price):
                distance, column = (level.low - price) / price * 1e4, 2
            elif level.side is LevelSide.SUPPORT or (level.side is LevelSide.RANGE and level.high < price):
                distance, column = (price - level.high) / price * 1e4, 0
            else:
                continue  # price is inside a box: neither above nor below
            if distance < 0:
                continue  # a support above price (or resistance below) is being traded through
            weight = level.quality
            if now_index is not None and level.timeframe in now_index:
                weight = level.score(now_index[level.timeframe] - level.created_index, config.half_life_bars)
            for band, upper in enumerate(config.band_edges_bps):
                if distance <= upper:
                    counts[band][column] += 1
                    counts[band][column + 1] += weight
                    break
        bands = tuple(
            PressureBand(edges[i], edges[i + 1], int(c[0]), c[1], int(c[2]), c[3]) for i, c in enumerate(counts)
        )
        return PressureMap(price, bands)
