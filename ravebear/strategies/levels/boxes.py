"""Consolidation boxes: stretches of candles trapped in a narrow range, then their breakouts.

A box is `min_bars` consecutive candles (wicks included) inside a range whose height is at
most `max_height_bps` of the range's middle. It is CREATED (kind BOX, side RANGE, low/high =
that range) at the first candle that completes such a stretch; the bounds never change.

While it is the live box, only closes matter: a close beyond an edge by more than
`breakout_bps` (of that edge) is a BREAKOUT (direction +1 up, -1 down). Wicks beyond the
edges and shallower closes outside (sweeps, deviations) neither end nor reshape the box.
After a breakout the box is a retest zone on the breakout side (a support after an upward
breakout): TOUCHED when a later candle trades back into it (low <= high edge) without
closing beyond the far edge by more than `through_bps`, INVALIDATED when it does. Either way
it is gone afterwards. Events of a zone carry its breakout's direction. A box or zone EXPIRES
by the candle that makes it `max_age_bars` + 1 candles old (before that candle can break or
touch it); each side keeps at most `max_levels` retest zones (the oldest go first).

One box is live at a time: the search for the next one starts with the candle after the one
that broke the live box out or expired it.

Quality in [0, 1] is the mean of two parts, fixed at creation:
- tightness: 1 - height / max height;
- duration: min(bars / (2 x min_bars), 1) where bars = min_bars + the candles just before the
  box (since the search began, at most min_bars) whose closes are inside it: consolidation
  that had already been going on with a wick poking out scores higher.
The score is quality x freshness(age, half_life_bars), age counted from creation.

Speed: the search keeps the longest stretch of recent candles that fits; a candle that keeps
it fitting costs O(1), one that does not re-walks only that stretch (less than `min_bars`).
Invariant: untouched support zones are ordered by creation and by price (newer = higher), so a
candle touches a suffix of the list; resistance zones mirror this.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice

from ravebear.strategies.levels.model import EventKind, Level, LevelEvent, LevelKind, LevelSide


@dataclass(frozen=True)
class BoxConfig:
    """Thresholds of the consolidation-box detector."""

    min_bars: int = 20  # candles a box spans when it is created
    max_height_bps: float = 15.0  # box height (high - low), bps of its middle
    breakout_bps: float = 3.0  # a close beyond an edge by more than this (bps of the edge) is a breakout
    through_bps: float = 5.0  # a retest closing beyond the far edge by more than this (bps) invalidates the zone
    max_age_bars: int = 240  # candles after creation before a box or zone expires
    max_levels: int = 16  # retest zones per side; the oldest go first when full
    half_life_bars: float = 60.0  # candles for the score's freshness to halve

    def __post_init__(self) -> None:
        if self.min_bars < 1 or self.max_levels < 1:
            raise ValueError(f"min_bars and max_levels must be >= 1, got {self.min_bars} and {self.max_levels}")
        if min(self.max_height_bps, self.breakout_bps, self.through_bps) < 0:
            raise ValueError("max_height_bps, breakout_bps and through_bps must be >= 0")


_NO_EVENTS: tuple[LevelEvent, ...] = ()  # returned when a candle changes nothing (no allocation)
_NEVER = 1 << 62
_INF = float("inf")


class BoxDetector:
    """Find consolidation boxes of one instrument and one timeframe and follow their breakouts."""

    def __init__(self, config: BoxConfig | None = None, timeframe: str = "1m") -> None:
        self.config = config = config or BoxConfig()
        self.timeframe = timeframe
        self.box: Level | None = None  # the live box, before its breakout
        self.supports: list[Level] = []  # retest zones of upward breakouts, oldest first
        self.resistances: list[Level] = []  # retest zones of downward breakouts, oldest first
        self._index = 0
        self._min_bars = config.min_bars
        self._highs: deque[float] = deque(maxlen=2 * config.min_bars)
        self._lows: deque[float] = deque(maxlen=2 * config.min_bars)
        self._closes: deque[float] = deque(maxlen=2 * config.min_bars)
        self._search_start = 1  # index of the first candle of the current search
        self._run = 0  # length of the longest fitting stretch ending at the last candle
        self._run_high = -_INF
        self._run_low = _INF
        self._up_break = _INF  # a close above this breaks the live box out upward
        self._down_break = -_INF
        self._sup_trigger = -_INF  # a low at or below this touches a support zone
        self._res_trigger = _INF
        self._expire_at = _NEVER
        # thresholds read once per candle (update() is on the hot path)
        half = config.max_height_bps * 1e-4 * 0.5
        self._fit = (1.0 - half) / (1.0 + half) * (1.0 - 1e-12)  # fits when low >= high x this
        self._max_height = config.max_height_bps * 1e-4
        self._breakout_frac = config.breakout_bps * 1e-4
        self._through = config.through_bps * 1e-4
        self._max_age = config.max_age_bars
        self._half_life = config.half_life_bars

    def active(self) -> Iterable[Level]:
        """Return the live box (if any), then support and resistance retest zones."""
        return [*([self.box] if self.box is not None else []), *self.supports, *self.resistances]

    def update(self, open_: float, high: float, low: float, close: float, volume: float, ts: int) -> Sequence[LevelEvent]:
        """Feed one closed candle; return the events it caused, in order."""
        index = self._index = self._index + 1
        events: list[LevelEvent] | None = None
        boxed = self.box is not None
        if index > self._expire_at:
            events = self._expire(ts, index, [])
        if low <= self._sup_trigger:
            events = self._touch(self.supports, low, close, ts, index, events or [])
        if high >= self._res_trigger:
            events = self._touch(self.resistances, high, close, ts, index, events or [])
        if boxed:
            if self.box is not None and (close > self._up_break or close < self._down_break):
                events = self._breakout(close, ts, index, events or [])
            return events if events is not None else _NO_EVENTS

        run_high, run_low = self._run_high, self._run_low
        if high > run_high:
            run_high = high
        if low < run_low:
            run_low = low
        if run_low >= run_high * self._fit:
            self._run += 1
            self._run_high, self._run_low = run_high, run_low
        else:
            self._rewalk(high, low)
        self._highs.append(high)
        self._lows.append(low)
        self._closes.append(close)
        if self._run >= self._min_bars:
            events = self._create(ts, index, events or [])
        return events if events is not None else _NO_EVENTS

    def _rewalk(self, high: float, low: float) -> None:
        # the candle made a new extreme of the stretch: the stretch now ends where a candle is too far on the other side
        if low < high * self._fit:  # the candle alone is too tall
            self._run, self._run_high, self._run_low = 0, -_INF, _INF
            return
        stop = -self._run - 1
        k = -1
        if high > self._run_high:  # new top: every low must stay >= high x fit
            floor = high * self._fit
            lows, bottom = self._lows, low
            while k > stop:
                old = lows[k]
                if old < floor:
                    break
                if old < bottom:
                    bottom = old
                k -= 1
            self._run, self._run_high, self._run_low = -k, high, bottom
        else:  # new bottom: every high must stay <= low / fit
            ceiling = low / self._fit
            highs, top = self._highs, high
            while k > stop:
                old = highs[k]
                if old > ceiling:
                    break
                if old > top:
                    top = old
                k -= 1
            self._run, self._run_high, self._run_low = -k, top, low

    def _create(self, ts: int, index: int, events: list[LevelEvent]) -> list[LevelEvent]:
        low, high, bars = self._run_low, self._run_high, self._min_bars
        earlier = min(index - self._search_start + 1 - bars, bars)
        for old_close in islice(reversed(self._closes), bars, bars + earlier):  # the candles before the box
            if not low <= old_close <= high:
                break
            bars += 1
        height = (high - low) / ((high + low) * 0.5)
        tightness = max(1.0 - height / self._max_height, 0.0) if self._max_height > 0 else 1.0
        quality = (tightness + min(bars / (2.0 * self._min_bars), 1.0)) * 0.5
        self.box = box = Level(LevelKind.BOX, LevelSide.RANGE, low, high, self.timeframe, ts, index, quality)
        self._up_break = high * (1.0 + self._breakout_frac)
        self._down_break = low * (1.0 - self._breakout_frac)
        self._refresh()
        events.append(LevelEvent(EventKind.CREATED, box, ts, 0.0, 0, quality))
        return events

    def _breakout(self, close: float, ts: int, index: int, events: list[LevelEvent]) -> list[LevelEvent]:
        box = self.box
        assert box is not None
        direction = 1 if close > self._up_break else -1
        depth = (close - box.high) / box.high * 1e4 if direction > 0 else (box.low - close) / box.low * 1e4
        age = index - box.created_index
        score = box.score(age, self._half_life)
        events.append(LevelEvent(EventKind.BREAKOUT, box, ts, depth, age, score, direction))
        book = self.supports if direction > 0 else self.resistances
        if len(book) >= self.config.max_levels:
            events.append(self._event(EventKind.EXPIRED, book.pop(0), ts, 0.0, index, direction))
        book.append(box)
        self._end_box()
        return events

    def _touch(self, book: list[Level], extreme: float, close: float, ts: int, index: int,
               events: list[LevelEvent]) -> list[LevelEvent]:  # fmt: skip
        is_support = book is self.supports
        direction = 1 if is_support else -1
        while book and (extreme <= book[-1].high if is_support else extreme >= book[-1].low):  # nearest first
            zone = book.pop()
            if is_support:
                through = close < zone.low * (1.0 - self._through)
                depth = (zone.high - extreme) / zone.high * 1e4
            else:
                through = close > zone.high * (1.0 + self._through)
                depth = (extreme - zone.low) / zone.low * 1e4
            kind = EventKind.INVALIDATED if through else EventKind.TOUCHED
            events.append(self._event(kind, zone, ts, depth, index, direction))
        self._refresh()
        return events

    def _expire(self, ts: int, index: int, events: list[LevelEvent]) -> list[LevelEvent]:
        oldest_allowed = index - self._max_age
        if self.box is not None and self.box.created_index < oldest_allowed:
            events.append(self._event(EventKind.EXPIRED, self.box, ts, 0.0, index))
            self._end_box()
        for book, direction in ((self.supports, 1), (self.resistances, -1)):
            while book and book[0].created_index < oldest_allowed:
                events.append(self._event(EventKind.EXPIRED, book.pop(0), ts, 0.0, index, direction))
        self._refresh()
        return events

    def _end_box(self) -> None:
        self.box = None
        self._up_break, self._down_break = _INF, -_INF
        self._search_start, self._run, self._run_high, self._run_low = self._index + 1, 0, -_INF, _INF
        self._refresh()

    def _refresh(self) -> None:
        self._sup_trigger = self.supports[-1].high if self.supports else -_INF
        self._res_trigger = self.resistances[-1].low if self.resistances else _INF
        oldest = (self.box, *self.supports[:1], *self.resistances[:1])
        firsts = [level.created_index for level in oldest if level is not None]
        self._expire_at = min(firsts) + self._max_age if firsts else _NEVER

    def _event(self, kind: EventKind, level: Level, ts: int, depth_bps: float, index: int, direction: int = 0,
               ) -> LevelEvent:  # fmt: skip
        age = index - level.created_index
        return LevelEvent(kind, level, ts, depth_bps, age, level.score(age, self._half_life), direction)
