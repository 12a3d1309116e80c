"""The level engine: every detector on every timeframe of one instrument, plus stacks and pressure.

Fed closed candles of each timeframe (the base timeframe first at any moment, as both the
node and research deliver them). Per-timeframe detectors are independent; the live-level
book and the confluence stacks join them. Stacks are rebuilt on base-timeframe candles
only, from the levels alive at that moment, so the result does not depend on the order in
which higher-timeframe candles closing at the same instant arrive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from ravebear.strategies.levels.book import LevelBook, PressureConfig, PressureMap
from ravebear.strategies.levels.boxes import BoxConfig, BoxDetector
from ravebear.strategies.levels.confluence import ConfluenceConfig, ConfluenceTracker
from ravebear.strategies.levels.model import Detector, EventKind, Level, LevelEvent, LevelKind
from ravebear.strategies.levels.origins import OriginConfig, OriginDetector
from ravebear.strategies.levels.poor_levels import PoorLevelConfig, PoorLevelDetector
from ravebear.strategies.levels.ranges import check_level_ranges
from ravebear.strategies.levels.timeframes import timeframe_minutes
from ravebear.strategies.levels.wicks import UntouchedWickDetector, WickConfig

DETECTORS: dict[str, tuple[type, Callable[..., Detector]]] = {
    "wicks": (WickConfig, UntouchedWickDetector),
    "poor": (PoorLevelConfig, PoorLevelDetector),
    "boxes": (BoxConfig, BoxDetector),
    "origins": (OriginConfig, OriginDetector),
}
_CHANGES = (EventKind.CREATED, EventKind.TOUCHED, EventKind.INVALIDATED, EventKind.EXPIRED)
_DETECTOR_OF = {LevelKind.WICK: "wicks", LevelKind.POOR: "poor", LevelKind.BOX: "boxes", LevelKind.ORIGIN: "origins"}


@dataclass(frozen=True, slots=True)
class ScoredLevel:
    """A live level and its score now."""

    level: Level
    score: float  # quality x freshness at the level's age, with its detector's half-life


@dataclass(frozen=True)
class LevelEngineConfig:
    """Timeframes, enabled detectors and every detector's thresholds."""

    timeframes: tuple[str, ...] = ("1m", "5m", "15m", "1h")  # the first is the base timeframe
    detectors: tuple[str, ...] = ("wicks", "poor", "boxes", "origins")
    wicks: WickConfig = field(default_factory=WickConfig)
    poor: PoorLevelConfig = field(default_factory=PoorLevelConfig)
    boxes: BoxConfig = field(default_factory=BoxConfig)
    origins: OriginConfig = field(default_factory=OriginConfig)
    confluence: ConfluenceConfig = field(default_factory=ConfluenceConfig)
    pressure: PressureConfig = field(default_factory=PressureConfig)
    confluence_enabled: bool = True

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> LevelEngineConfig:
        """Build from plain data (YAML); unknown keys raise ValueError naming them."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise ValueError(f"unknown level engine key(s): {', '.join(unknown)}; known: {', '.join(known)}")
        values: dict[str, Any] = {}
        nested = {"wicks": WickConfig, "poor": PoorLevelConfig, "boxes": BoxConfig, "origins": OriginConfig,
                  "confluence": ConfluenceConfig, "pressure": PressureConfig}  # fmt: skip
        for key, value in raw.items():
            if key in nested:
                allowed = {f.name for f in fields(nested[key])}
                bad = sorted(set(value) - allowed)
                if bad:
                    raise ValueError(f"unknown key(s) in levels.{key}: {', '.join(bad)}; known: {', '.join(sorted(allowed))}")
                values[key] = nested[key](**{k: tuple(v) if isinstance(v, list) else v for k, v in value.items()})
                check_level_ranges(key, values[key])
            elif key in ("timeframes", "detectors"):
                values[key] = tuple(value)
            else:
                values[key] = value
        config = cls(**values)
        for timeframe in config.timeframes:
            timeframe_minutes(timeframe)
        for name in config.detectors:
            if name not in DETECTORS:
                raise ValueError(f"unknown detector {name!r}; known: {', '.join(DETECTORS)}")
        return config


class LevelEngine:
    """Run the configured detectors on each timeframe of one instrument."""

    def __init__(self, config: LevelEngineConfig | None = None) -> None:
        self.config = config = config or LevelEngineConfig()
        self.base = config.timeframes[0]
        self.detectors: dict[str, list[Detector]] = {
            timeframe: [DETECTORS[name][1](getattr(config, name), timeframe=timeframe) for name in config.detectors]
            for timeframe in config.timeframes
        }
        self.book = LevelBook()
        self.confluence = ConfluenceTracker(config.confluence, timeframe=self.base) if config.confluence_enabled else None
        self.index: dict[str, int] = dict.fromkeys(config.timeframes, 0)
        self.last_close = 0.0
        self._dirty = False

    def on_candle(self, timeframe: str, open_: float, high: float, low: float, close: float, volume: float, ts: int) -> list[LevelEvent]:
        """Feed one closed candle of `timeframe`; return every event it caused."""
        self.index[timeframe] += 1
        events: list[LevelEvent] = []
        for detector in self.detectors[timeframe]:
            found = detector.update(open_, high, low, close, volume, ts)
            if found:
                events.extend(found)
        if events:
            book = self.book
            for event in events:
                book.apply(event)
                if event.kind in _CHANGES:
                    self._dirty = True
        if timeframe == self.base:
            self.last_close = close
            if self.confluence is not None:
                index = self.index[timeframe]
                touched = self.confluence.touches(high, low, ts, index)
                if self._dirty:
                    self._dirty = False
                    touched.extend(self.confluence.rebuild(self.book.levels.values(), ts, index))
                if touched:
                    events.extend(touched)
        return events

    def half_life(self, kind: LevelKind) -> float:
        """Return the half-life (candles) a level of `kind` decays with: its detector's, or the pressure map's for stacks."""
        name = _DETECTOR_OF.get(kind)
        return getattr(self.config, name).half_life_bars if name else self.config.pressure.half_life_bars

    def scored_levels(self) -> list[ScoredLevel]:
        """Return every live level, oldest first, with its score now (age counted on the level's timeframe)."""
        index = self.index
        return [
            ScoredLevel(level, level.score(index.get(level.timeframe, level.created_index) - level.created_index, self.half_life(level.kind)))
            for level in self.book.active()
        ]

    def pressure(self, price: float | None = None) -> PressureMap:
        """Return the pressure map around `price` (default: the last base-timeframe close)."""
        return self.book.pressure(self.last_close if price is None else price, self.config.pressure, self.index)
