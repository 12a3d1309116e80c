"""Zone defense: trade the defended side of a zone when price tests it and is pushed back.

Zones are the level engine's retest zones of broken-out consolidation boxes, displacement
origins and confluence stacks (`zone_kinds`). A TOUCHED event means a candle traded back into
the zone without closing through it; when that candle also closes outside the zone on its
defended side (above a support zone, below a resistance zone) the defenders won the test: the
strategy enters with them, stop beyond the zone's far edge (or the candle's extreme, whichever
is further). With `require_defended_zone` the book must agree: the order-flow zone-defense detector
(trades and L2 book at the zone, `orderflow_conditions.py`) must judge the zone defended at the
entry, else the entry is refused as `zone_not_defended`; its settings are `entry_filter.orderflow.context`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ravebear.ranges import Range
from ravebear.strategies.base import LONG, SHORT, LevelStrategy, LevelStrategyConfig, Signal
from ravebear.strategies.levels.model import EventKind, LevelEvent, LevelKind, LevelSide
from ravebear.strategies.levels.timeframes import Candle

_KINDS = {"box": LevelKind.BOX, "origin": LevelKind.ORIGIN, "confluence": LevelKind.CONFLUENCE}


class ZoneDefenseConfig(LevelStrategyConfig, frozen=True, kw_only=True):
    """Zone-defense thresholds (units in the comments)."""

    zone_kinds: tuple[str, ...] = ("box", "origin", "confluence")  # which zones are defended
    signal_timeframes: tuple[str, ...] = ("1m", "5m", "15m", "1h")  # zones of these timeframes (stacks: the base timeframe)
    min_score: float = 0.2  # zone score (0-1) at the test
    max_zone_bps: float = 80.0  # thicker zones are skipped (the stop would be too far), bps of price
    require_defended_zone: bool = False  # enter only when the book defends the zone (needs trades and book data)

    ranges: ClassVar[dict[str, Range]] = {
        **LevelStrategyConfig.ranges,
        "min_score": Range(0, 1, "zone score"),
        "max_zone_bps": Range(0, 5_000, "bps of price", low_open=True),
    }


class ZoneDefense(LevelStrategy):
    """Enter with the defenders when a zone's test is rejected."""

    default_levels: dict[str, Any] = {"detectors": ["boxes", "origins"]}

    def __init__(self, config: ZoneDefenseConfig) -> None:
        super().__init__(config)
        unknown = sorted(set(config.zone_kinds) - set(_KINDS))
        if unknown:
            raise ValueError(f"zone_kinds: unknown {unknown}; known: {sorted(_KINDS)}")
        self._kinds = frozenset(_KINDS[name] for name in config.zone_kinds)

    def signal(self, timeframe: str, candle: Candle, events: list[LevelEvent]) -> Signal | None:
        """Return a signal when a zone's test closed back on its defended side."""
        if not events:
            return None
        config = self.config
        close = candle.close
        best: Signal | None = None
        best_score = -1.0
        for event in events:
            level = event.level
            if event.kind is not EventKind.TOUCHED or level.kind not in self._kinds or event.score < config.min_score:
                continue
            if (level.high - level.low) / close * 1e4 > config.max_zone_bps or event.score <= best_score:
                continue
            if level.side is LevelSide.SUPPORT and close > level.high:
                best = Signal(LONG, min(level.low, candle.low), f"{level.timeframe} {level.kind.value} {level.low:g}-{level.high:g} defended", level)
            elif level.side is LevelSide.RESISTANCE and close < level.low:
                best = Signal(SHORT, max(level.high, candle.high), f"{level.timeframe} {level.kind.value} {level.low:g}-{level.high:g} defended", level)
            else:
                continue
            best_score = event.score
        return best
