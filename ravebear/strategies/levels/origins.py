"""Displacement origins: the zone a sudden, heavy move left from.

A move is a window of 1 to `max_run` consecutive candles of one direction (up: close > open,
down: close < open; a candle with close == open belongs to no move), ending at the candle
just closed. Its size is its extent, max(high) - min(low) over the window. It is a
displacement when all of these hold, with means over the `lookback` candles before the
candle just closed (for a one-candle move exactly the candles before it; a longer move's
earlier candles are inside that lookback, which makes runs a little harder to qualify):
- size >= `min_range_multiple` x the mean candle range (high - low);
- size >= `min_move_bps` of the first candle's open;
- the window's mean volume >= `min_relative_volume` x the mean volume;
- |last close - first open| >= `min_body_fraction` x size (the move went somewhere).
At each candle the windows ending at it are tried longest first (the last min(streak,
max_run) candles of the current same-direction streak down to the candle alone); the first
that qualifies makes the origin, and the rest of that streak makes no other origin. No
origin before `lookback` candles precede the candle.

The zone is taken from the window's first candle (o, h, l, c), body = |c - o|:
- up move: SUPPORT [l, max(o, l + body / 2)], its lower wick, or the lower half of its body
  when the wick is shorter than that (a candle opening at its low would leave no zone);
- down move: RESISTANCE [min(o, h - body / 2), h], mirrored.
It is CREATED (kind ORIGIN) when the move's last candle closes. TOUCHED when a later candle
trades back into it (low <= top of a support zone) without closing beyond its far edge by
more than `through_bps`, INVALIDATED when it does; either way it is gone afterwards. EXPIRED
by the candle that makes it `max_age_bars` + 1 candles old (before that candle can touch
it), or when a side holds more than `max_levels` (the oldest goes first).

Quality in [0, 1] is the mean of two parts, fixed at creation:
- magnitude: min(size / (2 x min_range_multiple x mean range), 1), 1 when the mean range is 0;
- volume: min(relative volume / (2 x max(min_relative_volume, 1)), 1).
The score is quality x freshness(age, half_life_bars).

Speed: a running sum of the ranges screens candles; only when the extent of the streak (or,
for a streak longer than `max_run`, of its last `max_run` candles), which bounds every
window's, reaches both size thresholds are the windows tested, with exact sums. Quiet
candles cost a few comparisons. Invariant: untouched support zones are ordered by creation
and by price (newer = higher), so a candle touches a suffix of the list; resistance zones
mirror this.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice

from ravebear.strategies.levels.model import EventKind, Level, LevelEvent, LevelKind, LevelSide


@dataclass(frozen=True)
class OriginConfig:
    """Thresholds of the displacement-origin detector."""

    lookback: int = 30  # candles (before the move's last one) in the mean range and mean volume
    min_range_multiple: float = 3.0  # move size / mean candle range
    min_move_bps: float = 15.0  # move size, bps of its first open
    min_relative_volume: float = 1.5  # the move's mean volume / mean volume
    min_body_fraction: float = 0.5  # |last close - first open| / move size
    max_run: int = 3  # candles a move may span
    max_age_bars: int = 240  # candles a zone may stay untouched before it expires
    max_levels: int = 32  # per side; the oldest go first when full
    through_bps: float = 5.0  # a close beyond the far edge by more than this (bps) invalidates a zone
    half_life_bars: float = 60.0  # candles for the score's freshness to halve

    def __post_init__(self) -> None:
        if min(self.lookback, self.max_run, self.max_levels) < 1:
            raise ValueError(f"lookback, max_run, max_levels must be >= 1: {self.lookback}, {self.max_run}, {self.max_levels}")
        thresholds = (self.min_range_multiple, self.min_move_bps, self.min_relative_volume, self.min_body_fraction)
        if min(*thresholds, self.through_bps) < 0:
            raise ValueError("origin thresholds must be >= 0")


_NO_EVENTS: tuple[LevelEvent, ...] = ()  # returned when a candle changes nothing (no allocation)
_NEVER = 1 << 62
_INF = float("inf")
_Candle = tuple[float, float, float, float, float, float]  # open, high, low, close, volume, high - low


class OriginDetector:
    """Track untouched displacement-origin zones of one instrument and one timeframe."""

    def __init__(self, config: OriginConfig | None = None, timeframe: str = "1m") -> None:
        self.config = config = config or OriginConfig()
        self.timeframe = timeframe
        self.supports: list[Level] = []  # zones of up moves, oldest first
        self.resistances: list[Level] = []  # zones of down moves, oldest first
        self._index = 0
        self._candles: deque[_Candle] = deque(maxlen=config.lookback + config.max_run)  # the last candles, newest last
        self._range_sum = 0.0  # running sum of the ranges (screening only; the test itself sums exactly)
        self._seen = 0  # candles in the lookback so far
        self._lookback = config.lookback
        self._max_run = config.max_run
        self._multiple = config.min_range_multiple / config.lookback * (1.0 - 1e-6)  # x range sum, slack for its drift
        self._direction = 0  # of the current streak
        self._streak = 0  # candles in it
        self._streak_high = -_INF
        self._streak_low = _INF
        self._spent = True  # the current streak already made an origin (or has no direction)
        self._sup_trigger = -_INF  # a low at or below this touches a support zone
        self._res_trigger = _INF
        self._expire_at = _NEVER
        # thresholds read once per candle (update() is on the hot path)
        self._min_move = config.min_move_bps * 1e-4
        self._through = config.through_bps * 1e-4
        self._max_age = config.max_age_bars
        self._half_life = config.half_life_bars

    def active(self) -> Iterable[Level]:
        """Return the untouched zones, supports then resistances."""
        return [*self.supports, *self.resistances]

    def update(self, open_: float, high: float, low: float, close: float, volume: float, ts: int) -> Sequence[LevelEvent]:
        """Feed one closed candle; return the events it caused, in order."""
        index = self._index = self._index + 1
        events: list[LevelEvent] | None = None
        if index > self._expire_at:
            events = self._expire(ts, index, [])
        if low <= self._sup_trigger:
            events = self._touch(self.supports, low, close, ts, index, events or [])
        if high >= self._res_trigger:
            events = self._touch(self.resistances, high, close, ts, index, events or [])

        direction = 1 if close > open_ else -1 if close < open_ else 0
        if direction == self._direction and direction:
            self._streak += 1
            if high > self._streak_high:
                self._streak_high = high
            if low < self._streak_low:
                self._streak_low = low
        else:
            self._direction, self._streak, self._spent = direction, 1, not direction
            self._streak_high, self._streak_low = high, low
        candles = self._candles
        candles.append((open_, high, low, close, volume, high - low))
        seen = self._seen
        if not self._spent and seen == self._lookback:
            extent, bottom = self._streak_high - self._streak_low, self._streak_low
            if self._streak > self._max_run and extent >= self._multiple * self._range_sum:  # only the last windows count
                top, bottom = -_INF, _INF
                for candle in islice(reversed(candles), self._max_run):
                    if candle[1] > top:
                        top = candle[1]
                    if candle[2] < bottom:
                        bottom = candle[2]
                extent = top - bottom
            if extent >= self._min_move * bottom and extent >= self._multiple * self._range_sum:
                events = self._examine(close, ts, index, events)
        if seen == self._lookback:  # slide the lookback to end with this candle
            self._range_sum += high - low - candles[-seen - 1][5]
        else:
            self._seen = seen + 1
            self._range_sum += high - low
        return events if events is not None else _NO_EVENTS

    def _examine(self, close: float, ts: int, index: int, events: list[LevelEvent] | None) -> list[LevelEvent] | None:
        cfg = self.config
        lookback, candles = self._lookback, self._candles
        before = list(islice(candles, len(candles) - 1 - lookback, len(candles) - 1))  # the lookback before this candle
        mean_range = sum(candle[5] for candle in before) / lookback  # exact here; the running sum only screens
        mean_volume = sum(candle[4] for candle in before) / lookback
        windows = []
        high, low, volume = -_INF, _INF, 0.0
        for size, candle in enumerate(islice(reversed(candles), min(self._streak, self._max_run)), 1):  # newest first
            high, low, volume = max(high, candle[1]), min(low, candle[2]), volume + candle[4]
            windows.append((size, candle, high - low, volume / size))
        for size, first, extent, window_volume in reversed(windows):  # longest first
            first_open = first[0]
            relative_volume = window_volume / mean_volume if mean_volume > 0 else 1.0
            if (
                extent >= cfg.min_range_multiple * mean_range
                and extent >= self._min_move * first_open
                and relative_volume >= cfg.min_relative_volume
                and abs(close - first_open) >= cfg.min_body_fraction * extent
            ):
                self._spent = True
                return self._create(first, extent, mean_range, relative_volume, ts, index, events or [])
        return events

    def _create(self, first: _Candle, extent: float, mean_range: float, relative_volume: float, ts: int, index: int,
                events: list[LevelEvent]) -> list[LevelEvent]:  # fmt: skip
        cfg = self.config
        open_, high, low, close = first[:4]
        half_body = abs(close - open_) * 0.5
        if self._direction > 0:
            side, zone_low, zone_high, book = LevelSide.SUPPORT, low, max(open_, low + half_body), self.supports
        else:
            side, zone_low, zone_high, book = LevelSide.RESISTANCE, min(open_, high - half_body), high, self.resistances
        threshold = cfg.min_range_multiple * mean_range
        magnitude = min(extent / (2.0 * threshold), 1.0) if threshold > 0 else 1.0
        quality = (magnitude + min(relative_volume / (2.0 * max(cfg.min_relative_volume, 1.0)), 1.0)) * 0.5
        level = Level(LevelKind.ORIGIN, side, zone_low, zone_high, self.timeframe, ts, index, quality)
        if len(book) >= cfg.max_levels:
            events.append(self._event(EventKind.EXPIRED, book.pop(0), ts, 0.0, index))
        book.append(level)
        self._refresh()
        events.append(LevelEvent(EventKind.CREATED, level, ts, 0.0, 0, quality, self._direction))
        return events

    def _touch(self, book: list[Level], extreme: float, close: float, ts: int, index: int,
               events: list[LevelEvent]) -> list[LevelEvent]:  # fmt: skip
        is_support = book is self.supports
        while book and (extreme <= book[-1].high if is_support else extreme >= book[-1].low):  # nearest first
            zone = book.pop()
            if is_support:
                through = close < zone.low * (1.0 - self._through)
                depth = (zone.high - extreme) / zone.high * 1e4
            else:
                through = close > zone.high * (1.0 + self._through)
                depth = (extreme - zone.low) / zone.low * 1e4
            events.append(self._event(EventKind.INVALIDATED if through else EventKind.TOUCHED, zone, ts, depth, index))
        self._refresh()
        return events

    def _expire(self, ts: int, index: int, events: list[LevelEvent]) -> list[LevelEvent]:
        oldest_allowed = index - self._max_age
        for book in (self.supports, self.resistances):
            while book and book[0].created_index < oldest_allowed:
                events.append(self._event(EventKind.EXPIRED, book.pop(0), ts, 0.0, index))
        self._refresh()
        return events

    def _refresh(self) -> None:
        supports, resistances = self.supports, self.resistances
        self._sup_trigger = supports[-1].high if supports else -_INF
        self._res_trigger = resistances[-1].low if resistances else _INF
        firsts = [book[0].created_index for book in (supports, resistances) if book]
        self._expire_at = min(firsts) + self._max_age if firsts else _NEVER

    def _event(self, kind: EventKind, level: Level, ts: int, depth_bps: float, index: int) -> LevelEvent:
        age = index - level.created_index
        direction = 1 if level.side is LevelSide.SUPPORT else -1
        return LevelEvent(kind, level, ts, depth_bps, age, level.score(age, self._half_life), direction)
