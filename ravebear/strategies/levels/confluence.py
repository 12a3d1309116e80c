"""Confluence stacks: live levels of different kinds and timeframes clustered in a price band.

Clusters are recomputed only when the set of live levels changes: levels are sorted by price
and swept into groups whose span stays within `band_bps` of the group's first price. A group
is a stack when it has at least `min_levels` levels and `min_diversity` distinct
(kind, timeframe) pairs. A stack is identified by its members: when membership changes, the
old stack EXPIRES and the new one is CREATED (with its new score). A stack is TOUCHED once,
by the first base-timeframe candle whose range enters its zone.

Quality = 0.5 x density + 0.5 x diversity, density = min(levels / (2 x min_levels), 1),
diversity = min(distinct pairs / (2 x min_diversity), 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter

from ravebear.strategies.levels.book import level_key
from ravebear.strategies.levels.model import EventKind, Level, LevelEvent, LevelKind, LevelSide


@dataclass(frozen=True)
class ConfluenceConfig:
    """Thresholds of confluence stacks."""

    band_bps: float = 15.0  # widest price span of one stack, bps of its lowest level
    min_levels: int = 3  # levels in a stack
    min_diversity: int = 2  # distinct (kind, timeframe) pairs in a stack


@dataclass
class _Stack:
    level: Level
    members: frozenset
    touched: bool = False


class ConfluenceTracker:
    """Find and follow confluence stacks among live levels."""

    def __init__(self, config: ConfluenceConfig | None = None, timeframe: str = "1m") -> None:
        self.config = config or ConfluenceConfig()
        self.timeframe = timeframe
        self._stacks: dict[frozenset, _Stack] = {}

    def active(self) -> list[Level]:
        """Return the live stacks."""
        return [stack.level for stack in self._stacks.values()]

    def rebuild(self, levels: Iterable[Level], ts: int, index: int) -> list[LevelEvent]:
        """Recompute stacks from the live levels; return EXPIRED and CREATED events."""
        cfg = self.config
        found: dict[frozenset, list[Level]] = {}
        confluence = LevelKind.CONFLUENCE
        ordered = sorted(
            [((lv.low + lv.high) * 0.5, lv) for lv in levels if lv.kind is not confluence], key=itemgetter(0),
        )  # fmt: skip
        span = 1.0 + cfg.band_bps * 1e-4
        min_levels = cfg.min_levels
        group: list[Level] = []
        ceiling = 0.0
        for price, level in ordered:
            if group and price > ceiling:
                if len(group) >= min_levels:
                    self._keep(group, found)
                group = []
            if not group:
                ceiling = price * span
            group.append(level)
        if len(group) >= min_levels:
            self._keep(group, found)

        events: list[LevelEvent] = []
        for members in [m for m in self._stacks if m not in found]:
            stack = self._stacks.pop(members)
            events.append(LevelEvent(EventKind.EXPIRED, stack.level, ts, 0.0, index - stack.level.created_index, stack.level.quality))
        for members, group_levels in found.items():
            if members in self._stacks:
                continue
            level = self._stack_level(group_levels, ts, index)
            self._stacks[members] = _Stack(level, members)
            events.append(LevelEvent(EventKind.CREATED, level, ts, 0.0, 0, level.quality))
        return events

    def touches(self, high: float, low: float, ts: int, index: int) -> list[LevelEvent]:
        """Return TOUCHED for each untouched stack a candle's range enters."""
        events = []
        for stack in self._stacks.values():
            if not stack.touched and low <= stack.level.high and high >= stack.level.low:
                stack.touched = True
                level = stack.level
                events.append(LevelEvent(EventKind.TOUCHED, level, ts, 0.0, index - level.created_index, level.quality))
        return events

    def _keep(self, group: list[Level], found: dict[frozenset, list[Level]]) -> None:
        cfg = self.config
        if len(group) < cfg.min_levels:
            return
        if len({(lv.kind, lv.timeframe) for lv in group}) < cfg.min_diversity:
            return
        found[frozenset(level_key(lv) for lv in group)] = group

    def _stack_level(self, group: list[Level], ts: int, index: int) -> Level:
        cfg = self.config
        diversity = len({(lv.kind, lv.timeframe) for lv in group})
        quality = 0.5 * min(len(group) / (2.0 * cfg.min_levels), 1.0) + 0.5 * min(diversity / (2.0 * cfg.min_diversity), 1.0)
        supports = sum(lv.side is LevelSide.SUPPORT for lv in group)
        resistances = sum(lv.side is LevelSide.RESISTANCE for lv in group)
        side = LevelSide.SUPPORT if supports > resistances else LevelSide.RESISTANCE if resistances > supports else LevelSide.RANGE
        low = min(lv.low for lv in group)
        high = max(lv.high for lv in group)
        return Level(LevelKind.CONFLUENCE, side, low, high, self.timeframe, ts, index, quality)
