"""Poor highs and poor lows: adjacent candles whose extremes are equal.

A poor high is two or more ADJACENT candles whose highs are equal within the tolerance: the
auction stopped at the same price twice without a tail, so resting orders sit just above and
price tends to come back for them. A poor low mirrors it with lows.

Equality: |b - a| <= max(tolerance_ticks x tick_size, tolerance_bps of a), where a is the
earlier price (the first candle's extreme, or the level's price when extending a run), with
a tiny allowance for float rounding (1e-9 of the price, 1e-6 of the tick tolerance) so that
"exactly at the limit" counts as equal.
With tick_size 0 and tolerance_bps 0 only exactly equal prices match.

Life of a level (kind POOR, low == high == the level price):
- CREATED when the second equal candle closes; the price is the higher of the two highs (the
  lower of the two lows for a poor low); side RESISTANCE for a poor high, SUPPORT for a low.
  Only at a swing extreme: none of the `swing_bars` candles before the pair may have gone
  beyond the price by more than the tolerance (0 turns this off; equal highs inside a
  falling leg are noise, not a pool of resting orders).
- A run: further adjacent candles whose extreme is within the tolerance of the level price
  extend it silently (no event, the level does not change and they do not touch it). A
  candle belongs to at most one run, so a run never re-creates itself.
- TOUCHED when a later candle outside the run trades back to the level (high >= price for a
  resistance) and closes on its side; INVALIDATED when it closes through by more than
  `through_bps`. Either way the level is gone afterwards.
- EXPIRED by the candle that makes it `max_age_bars` + 1 candles old (before that candle can
  touch it), or when a side holds more than `max_levels` (the oldest goes first).

Quality in [0, 1] is the mean of three parts, fixed at creation:
- taps: min(taps / 4, 1). taps = 2 (the pair) + earlier candles that reached the level:
  walking back from the pair over at most `tap_lookback` candles, stop at the first candle
  whose extreme went beyond the level by more than the tolerance; count every candle within it.
- volume: min(relative volume / 2, 1), the pair's mean volume over the exponential mean volume
  (span `volume_lookback`) of the candles before the pair's second candle.
- cleanliness (no excess): 1 - the pair's mean share of its range taken by the wick beyond the
  body on the level's side (a flat top with no tail scores 1).
The score is quality x freshness(age, half_life_bars).

Invariant used for speed: every untouched poor high is above the high of every later candle
outside its run, so untouched poor highs are ordered by creation *and* by price (newer =
lower) and a candle touches a suffix of the list. Poor lows mirror this.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice

from ravebear.strategies.levels.model import EventKind, Level, LevelEvent, LevelKind, LevelSide


@dataclass(frozen=True)
class PoorLevelConfig:
    """Thresholds of the poor-high / poor-low detector."""

    tick_size: float = 0.0  # price units of one tick; 0 = unknown, the tick tolerance is off
    tolerance_ticks: float = 1.0  # equal within this many ticks ...
    tolerance_bps: float = 0.0  # ... or within this many bps of the earlier price, whichever is larger
    swing_bars: int = 10  # candles before the pair that must not exceed the level by more than the tolerance
    tap_lookback: int = 20  # candles before the pair searched for earlier taps of the level
    volume_lookback: int = 30  # span (candles) of the exponential mean volume
    max_age_bars: int = 240  # candles a level may stay untouched before it expires
    max_levels: int = 64  # per side; the oldest go first when full
    through_bps: float = 5.0  # a close beyond the level by more than this (bps) invalidates it
    half_life_bars: float = 60.0  # candles for the score's freshness to halve

    def __post_init__(self) -> None:
        if self.max_levels < 1:
            raise ValueError(f"max_levels must be >= 1, got {self.max_levels}")
        tolerances = (self.tick_size, self.tolerance_ticks, self.tolerance_bps, self.through_bps)
        if min(*tolerances, self.swing_bars, self.tap_lookback, self.volume_lookback) < 0:
            raise ValueError("poor-level tolerances, lookbacks and through_bps must be >= 0")


_NO_EVENTS: tuple[LevelEvent, ...] = ()  # returned when a candle changes nothing (no allocation)
_ROUNDING = 1e-9  # relative allowance for float rounding in the equality test
_NEVER = 1 << 62


class PoorLevelDetector:
    """Track untouched poor highs and poor lows of one instrument and one timeframe."""

    def __init__(self, config: PoorLevelConfig | None = None, timeframe: str = "1m") -> None:
        self.config = config = config or PoorLevelConfig()
        self.timeframe = timeframe
        self.supports: list[Level] = []  # poor lows, oldest first
        self.resistances: list[Level] = []  # poor highs, oldest first
        self._index = 0
        self._high_run: Level | None = None  # the poor high whose run the last candle extended
        self._low_run: Level | None = None
        self._res_trigger = float("inf")  # a high at or above this touches a resistance (run excluded)
        self._sup_trigger = float("-inf")
        self._expire_at = _NEVER  # index at which the oldest level is too old
        nan = float("nan")
        self._prev = (nan, nan, nan, nan, 0.0)  # open, high, low, close, volume of the last candle
        self._walk = max(config.tap_lookback, config.swing_bars)
        self._swing = config.swing_bars
        self._tap_lookback = config.tap_lookback
        self._highs: deque[float] = deque(maxlen=self._walk + 1)
        self._lows: deque[float] = deque(maxlen=self._walk + 1)
        self._mean_volume = -1.0  # < 0 until the first candle
        # thresholds read once per candle (update() is on the hot path)
        self._abs_tol = config.tolerance_ticks * config.tick_size * (1.0 + 1e-6)
        self._rel_tol = config.tolerance_bps * 1e-4 + _ROUNDING
        self._alpha = 2.0 / (config.volume_lookback + 1.0) if config.volume_lookback > 0 else 1.0
        self._through = config.through_bps * 1e-4
        self._max_age = config.max_age_bars
        self._half_life = config.half_life_bars

    def active(self) -> Iterable[Level]:
        """Return the untouched levels, supports then resistances."""
        return [*self.supports, *self.resistances]

    def update(self, open_: float, high: float, low: float, close: float, volume: float, ts: int) -> Sequence[LevelEvent]:
        """Feed one closed candle; return the events it caused, in order."""
        index = self._index = self._index + 1
        events: list[LevelEvent] | None = None
        prev = self._prev
        abs_tol, rel_tol = self._abs_tol, self._rel_tol
        if index > self._expire_at:
            events = self._expire(ts, index)

        run = self._high_run
        if run is not None:  # the last candle extended a run: this one extends it too or ends it, no new pair
            ref = run.high
            tol = ref * rel_tol
            if tol < abs_tol:
                tol = abs_tol
            if not -tol <= high - ref <= tol:
                self._high_run = None
                self._refresh()
            if high >= self._res_trigger:
                events = self._touch(self.resistances, self._high_run, high, close, ts, index, events)
        else:
            if high >= self._res_trigger:
                events = self._touch(self.resistances, None, high, close, ts, index, events)
            ref = prev[1]
            tol = ref * rel_tol
            if tol < abs_tol:
                tol = abs_tol
            if -tol <= high - ref <= tol:
                price, swing, history = (high if high > ref else ref), self._swing, self._highs
                if not swing or (len(history) > swing and max(islice(reversed(history), 1, swing + 1)) - price <= tol):
                    events = self._create(True, open_, high, low, close, volume, ts, index, tol, events)

        run = self._low_run
        if run is not None:  # the last candle extended a run: this one extends it too or ends it, no new pair
            ref = run.low
            tol = ref * rel_tol
            if tol < abs_tol:
                tol = abs_tol
            if not -tol <= low - ref <= tol:
                self._low_run = None
                self._refresh()
            if low <= self._sup_trigger:
                events = self._touch(self.supports, self._low_run, low, close, ts, index, events)
        else:
            if low <= self._sup_trigger:
                events = self._touch(self.supports, None, low, close, ts, index, events)
            ref = prev[2]
            tol = ref * rel_tol
            if tol < abs_tol:
                tol = abs_tol
            if -tol <= low - ref <= tol:
                price, swing, history = (low if low < ref else ref), self._swing, self._lows
                if not swing or (len(history) > swing and price - min(islice(reversed(history), 1, swing + 1)) <= tol):
                    events = self._create(False, open_, high, low, close, volume, ts, index, tol, events)

        mean = self._mean_volume
        self._mean_volume = volume if mean < 0 else mean + self._alpha * (volume - mean)
        self._prev = (open_, high, low, close, volume)
        self._highs.append(high)
        self._lows.append(low)
        return events if events is not None else _NO_EVENTS

    def _touch(self, book: list[Level], run: Level | None, extreme: float, close: float, ts: int, index: int,
               events: list[LevelEvent] | None) -> list[LevelEvent]:  # fmt: skip
        events = [] if events is None else events
        is_high = book is self.resistances
        through = self._through
        tail = book.pop() if run is not None and book and book[-1] is run else None  # the run cannot touch its level
        while book and (book[-1].high <= extreme if is_high else book[-1].high >= extreme):  # nearest first
            level = book.pop()
            price = level.high
            if is_high:
                kind = EventKind.INVALIDATED if close > price * (1.0 + through) else EventKind.TOUCHED
                depth = (extreme - price) / price * 1e4
            else:
                kind = EventKind.INVALIDATED if close < price * (1.0 - through) else EventKind.TOUCHED
                depth = (price - extreme) / price * 1e4
            events.append(self._event(kind, level, ts, depth, index))
        if tail is not None:
            book.append(tail)
        self._refresh()
        return events

    def _create(self, is_high: bool, open_: float, high: float, low: float, close: float, volume: float, ts: int,
                index: int, tol: float, events: list[LevelEvent] | None) -> list[LevelEvent]:  # fmt: skip
        p_open, p_high, p_low, p_close, p_volume = self._prev
        price = (high if high > p_high else p_high) if is_high else (low if low < p_low else p_low)
        history = self._highs if is_high else self._lows  # the caller checked the swing rule
        taps, walked, lookback = 2, 0, self._tap_lookback
        for extreme in islice(reversed(history), 1, None):  # the candles before the pair, newest first
            if (extreme - price if is_high else price - extreme) > tol:
                break
            walked += 1
            if walked > lookback:
                break
            if -tol <= extreme - price <= tol:
                taps += 1
        if is_high:
            excess = _share(high - max(open_, close), high - low) + _share(p_high - max(p_open, p_close), p_high - p_low)
        else:
            excess = _share(min(open_, close) - low, high - low) + _share(min(p_open, p_close) - p_low, p_high - p_low)
        events = [] if events is None else events
        mean = self._mean_volume
        relative_volume = (volume + p_volume) * 0.5 / mean if mean > 0 else 1.0
        quality = (min(taps / 4.0, 1.0) + min(relative_volume / 2.0, 1.0) + 1.0 - excess * 0.5) / 3.0
        side = LevelSide.RESISTANCE if is_high else LevelSide.SUPPORT
        level = Level(LevelKind.POOR, side, price, price, self.timeframe, ts, index, quality)
        book = self.resistances if is_high else self.supports
        if len(book) >= self.config.max_levels:
            events.append(self._event(EventKind.EXPIRED, book.pop(0), ts, 0.0, index))
        book.append(level)
        if is_high:
            self._high_run = level
        else:
            self._low_run = level
        self._refresh()
        events.append(LevelEvent(EventKind.CREATED, level, ts, 0.0, 0, quality))
        return events

    def _expire(self, ts: int, index: int) -> list[LevelEvent]:
        events: list[LevelEvent] = []
        oldest_allowed = index - self._max_age
        for book in (self.supports, self.resistances):
            while book and book[0].created_index < oldest_allowed:
                level = book.pop(0)
                if level is self._high_run:
                    self._high_run = None
                elif level is self._low_run:
                    self._low_run = None
                events.append(self._event(EventKind.EXPIRED, level, ts, 0.0, index))
        self._refresh()
        return events

    def _refresh(self) -> None:
        resistances, supports = self.resistances, self.supports
        self._res_trigger = _nearest(resistances, self._high_run, float("inf"))
        self._sup_trigger = _nearest(supports, self._low_run, float("-inf"))
        if supports and resistances:
            self._expire_at = min(supports[0].created_index, resistances[0].created_index) + self._max_age
        elif supports or resistances:
            self._expire_at = (supports or resistances)[0].created_index + self._max_age
        else:
            self._expire_at = _NEVER

    def _event(self, kind: EventKind, level: Level, ts: int, depth_bps: float, index: int) -> LevelEvent:
        age = index - level.created_index
        return LevelEvent(kind, level, ts, depth_bps, age, level.score(age, self._half_life))


def _nearest(book: list[Level], run: Level | None, none: float) -> float:
    if book and book[-1] is run:
        return book[-2].high if len(book) > 1 else none
    return book[-1].high if book else none


def _share(wick: float, candle_range: float) -> float:
    return min(max(wick, 0.0) / candle_range, 1.0) if candle_range > 0 else 0.0
