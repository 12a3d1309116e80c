"""What happened after a level touch, from 1-minute bars fed one at a time (pure: no database, no clock).

With t the touch time, P the touch price, L the level price and d its direction (+1 support, -1 resistance),
over the bars that close after t:

- markout at h minutes (1, 5, 15, 60): d x (C - P) / P x 10,000 bps, C the close of the last bar closing at or
  before t + h; known once a bar closing at or after t + h arrives (None when no bar closed in (t, t + h]: a gap);
- MFE / MAE: the largest favourable / adverse excursion of the bars' highs and lows from P within
  `excursion_window_min`, in bps, floored at 0;
- broken: a bar within `break_window_min` closes beyond the level against d by at least `break_bps`
  (support: close < L x (1 - break_bps / 10,000)); held: the window passes without one.

A touch's update is emitted once all three are known; `finish()` gives the partial ones still open (e.g. at the
end of a run)."""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ravebear.ledger.models import MARKOUT_MINUTES
from ravebear.ranges import Range, check_ranges
from ravebear.time_units import NS_PER_MINUTE

BPS = 10_000.0
OUTCOME_RANGES = {
    "break_bps": Range(0, 10_000, "bps"),
    "break_window_min": Range(1, 1440, "minutes"),
    "excursion_window_min": Range(1, 1440, "minutes"),
}
_MARKOUT_COLUMNS = tuple((h, f"markout_{h}m_bps") for h in MARKOUT_MINUTES)
_PRUNE_BARS = 4096  # an instrument's bars are trimmed to what its open touches need once this many are held


@dataclass(frozen=True)
class OutcomeSettings:
    """When a touched level counts as broken, and how long excursions are watched."""

    break_bps: float = 10.0  # a close this far beyond the level (against its direction) breaks it ...
    break_window_min: int = 60  # ... within this many minutes of the touch; otherwise it held
    excursion_window_min: int = 60  # MFE / MAE over this many minutes after the touch

    def __post_init__(self) -> None:
        check_ranges(self, OUTCOME_RANGES, "ledger.outcomes.")


@dataclass(frozen=True)
class OutcomeUpdate:
    """The outcome columns of one touch (None: not known), ready for `LedgerWriter.update_outcome(id, **values())`."""

    touch_id: str
    markouts_bps: dict[int, float | None]  # minutes -> bps
    mfe_bps: float | None
    mae_bps: float | None
    outcome: str | None  # held | broken
    filled_at: datetime  # the close time of the bar that completed it (the data's time, not the wall clock)

    def values(self) -> dict[str, Any]:
        """As LevelTouch column values."""
        markouts = self.markouts_bps
        columns: dict[str, Any] = {column: markouts.get(h) for h, column in _MARKOUT_COLUMNS}
        columns["mfe_bps"], columns["mae_bps"], columns["outcome"], columns["outcome_filled_at"] = self.mfe_bps, self.mae_bps, self.outcome, self.filled_at
        return columns


@dataclass(slots=True)
class _Pending:
    touch_id: str
    seq: int  # tracking order
    ts_ns: int
    price: float
    direction: int
    break_below: float  # support: a close below this breaks it (resistance: above)
    start: int  # absolute index of the first bar fed after it was tracked: earlier bars never count
    # once markouts and excursions are known but not yet held or broken (a break window longer than both):
    markouts: dict[int, float | None] | None = None
    best: float | None = None
    worst: float | None = None


@dataclass(slots=True)
class _Instrument:
    """One instrument's bars since its oldest open touch was tracked, and its open touches."""

    ts: list[int] = field(default_factory=list)
    high: list[float] = field(default_factory=list)
    low: list[float] = field(default_factory=list)
    close: list[float] = field(default_factory=list)
    base: int = 0  # absolute index of ts[0]
    prune_at: int = _PRUNE_BARS  # trim the bars no open touch needs once this many are held
    due: list[tuple[int, int, _Pending]] = field(default_factory=list)  # heap: (ts when markouts and excursions are known, seq, touch)
    watch: list[_Pending] = field(default_factory=list)  # markouts and excursions known, waiting for held / broken

    def clear(self) -> None:
        """Drop every bar (no open touch needs them)."""
        self.base += len(self.ts)
        for values in (self.ts, self.high, self.low, self.close):
            values.clear()
        self.prune_at = _PRUNE_BARS

    def prune(self) -> None:
        cut = min(touch.start for _, _, touch in self.due) - self.base
        if cut > 0:
            del self.ts[:cut], self.high[:cut], self.low[:cut], self.close[:cut]
            self.base += cut
        self.prune_at = max(_PRUNE_BARS, 2 * len(self.ts))


class OutcomeTracker:
    """Fills the outcome of pending touches from 1-minute bars; one per node, all instruments.

    A touch is judged in one pass over the bars held since it was tracked, at the first bar closing at or after
    its latest markout horizon and excursion window, so a bar costs an append, not a step of every open touch.
    An instrument's bars must come in time order: a bar older than the one before it is ignored."""

    def __init__(self, settings: OutcomeSettings | None = None) -> None:
        self.settings = settings or OutcomeSettings()
        self._instruments: dict[str, _Instrument] = {}
        self._seq = 0
        self._horizons = [(h, h * NS_PER_MINUTE) for h in MARKOUT_MINUTES]
        self._window_ns = self.settings.excursion_window_min * NS_PER_MINUTE
        self._break_ns = self.settings.break_window_min * NS_PER_MINUTE
        self._known_ns = max(max(ns for _, ns in self._horizons), self._window_ns)  # markouts and excursions are known this long after

    def track(self, touch_id: str, instrument_id: str, ts_ns: int, touch_price: float, level_price: float, direction: int) -> None:
        """Start watching a touch (direction +1 support, -1 resistance); only bars fed after this call and closing
        after `ts_ns` count."""
        if direction not in (1, -1):
            raise ValueError(f"direction must be +1 or -1, got {direction}")
        if not touch_price > 0:
            raise ValueError(f"touch_price must be above 0, got {touch_price}")
        shift = self.settings.break_bps / BPS
        beyond = level_price * (1 - shift) if direction == 1 else level_price * (1 + shift)
        bars = self._instruments.get(instrument_id)
        if bars is None:
            bars = self._instruments[instrument_id] = _Instrument()
        self._seq += 1
        touch = _Pending(touch_id, self._seq, ts_ns, touch_price, direction, beyond, bars.base + len(bars.ts))
        heapq.heappush(bars.due, (ts_ns + self._known_ns, self._seq, touch))

    @property
    def pending(self) -> int:
        """Touches still open."""
        return sum(len(bars.due) + len(bars.watch) for bars in self._instruments.values())

    def on_bar(self, instrument_id: str, ts_close_ns: int, high: float, low: float, close: float) -> list[OutcomeUpdate]:
        """Feed one 1-minute bar (its close time); returns the touches it completed, in the order they were tracked."""
        bars = self._instruments.get(instrument_id)
        if bars is None or not (bars.due or bars.watch):
            return []
        ts = bars.ts
        if ts and ts_close_ns < ts[-1]:
            return []
        ts.append(ts_close_ns)
        bars.high.append(high)
        bars.low.append(low)
        bars.close.append(close)
        due = bars.due
        if not bars.watch and due[0][0] > ts_close_ns:  # the common case: nothing completes at this bar
            if len(ts) >= bars.prune_at:
                bars.prune()
            return []
        done: list[tuple[int, OutcomeUpdate]] = []
        if bars.watch:
            self._watch(bars, ts_close_ns, close, done)
        while due and due[0][0] <= ts_close_ns:
            touch = heapq.heappop(due)[2]
            touch.markouts, touch.best, touch.worst, outcome = self._judge(bars, touch)
            if outcome is None:
                bars.watch.append(touch)
            else:
                done.append((touch.seq, self._update(touch, outcome, ts_close_ns)))
        if not due:
            bars.clear()
        elif len(ts) >= bars.prune_at:
            bars.prune()
        if len(done) > 1:
            done.sort(key=lambda item: item[0])
        return [update for _, update in done]

    def on_bars(self, instrument_id: str, ts_close_ns: Sequence[int], high: Sequence[float], low: Sequence[float],
                close: Sequence[float]) -> list[OutcomeUpdate]:  # fmt: skip
        """Feed an instrument's bars at once (close times non-decreasing): the same updates, in the same order, as
        feeding them one at a time with `on_bar`, which they go through where one completes a touch; the bars in
        between are only kept (a backtest that has every bar loaded feeds them in a few calls)."""
        updates: list[OutcomeUpdate] = []
        i, stop = 0, len(ts_close_ns)
        while i < stop:
            bars = self._instruments.get(instrument_id)
            if bars is None or not (bars.due or bars.watch):
                break  # nothing open: on_bar would drop the rest
            if not bars.watch:  # the bars before the next touch falls due are only kept
                j = bisect_left(ts_close_ns, bars.due[0][0], i, stop)
                if j > i and (not bars.ts or ts_close_ns[i] >= bars.ts[-1]):
                    bars.ts += ts_close_ns[i:j]
                    bars.high += high[i:j]
                    bars.low += low[i:j]
                    bars.close += close[i:j]
                    if len(bars.ts) >= bars.prune_at:
                        bars.prune()
                    i = j
                    continue
            updates += self.on_bar(instrument_id, ts_close_ns[i], high[i], low[i], close[i])
            i += 1
        return updates

    def finish(self, ts_ns: int) -> list[OutcomeUpdate]:
        """The partial outcomes of every open touch (unknown parts None), stamped `ts_ns`; stops tracking them."""
        updates = []
        for bars in self._instruments.values():
            judged: list[tuple[_Pending, str | None]] = [(touch, None) for touch in bars.watch]
            for _, _, touch in bars.due:
                touch.markouts, touch.best, touch.worst, outcome = self._judge(bars, touch)
                judged.append((touch, outcome))
            judged.sort(key=lambda item: item[0].seq)
            updates += [self._update(touch, outcome, ts_ns) for touch, outcome in judged]
        self._instruments.clear()
        return updates

    def _judge(self, bars: _Instrument, touch: _Pending) -> tuple[dict[int, float | None], float | None, float | None, str | None]:
        """Markouts, MFE, MAE and outcome from the bars fed so far (unknown parts None); each horizon or window
        takes the bars closing in (t, t + window] up to the first bar closing at or after its end."""
        ts, closes, end = bars.ts, bars.close, len(bars.ts)
        t, price, d = touch.ts_ns, touch.price, touch.direction
        first = bisect_right(ts, t, touch.start - bars.base, end)
        # each window (t, t + w] counts the bars up to `stop`; it is over once a bar closes at or after its end
        markouts: dict[int, float | None] = {}
        for h, horizon in self._horizons:
            edge = t + horizon
            j = bisect_left(ts, edge, first, end)
            if j == end:
                markouts[h] = None
            else:
                stop = j + 1 if ts[j] == edge else j
                markouts[h] = d * (closes[stop - 1] - price) / price * BPS if stop > first else None
        best = worst = None
        edge = t + self._window_ns
        j = bisect_left(ts, edge, first, end)
        stop = j + 1 if j < end and ts[j] == edge else j
        if stop > first:  # the same floats as a running max: (x - price) / price * BPS rises with x
            up = (max(bars.high[first:stop]) - price) / price * BPS
            down = (price - min(bars.low[first:stop])) / price * BPS
            best, worst = (max(0.0, up), max(0.0, down)) if d == 1 else (max(0.0, down), max(0.0, up))
        edge = t + self._break_ns
        j = bisect_left(ts, edge, first, end)
        over = j < end
        stop = j + 1 if over and ts[j] == edge else j
        outcome = None
        if stop > first and (min(closes[first:stop]) < touch.break_below if d == 1 else max(closes[first:stop]) > touch.break_below):
            outcome = "broken"
        elif over:
            outcome = "held"
        return markouts, best, worst, outcome

    def _watch(self, bars: _Instrument, ts: int, close: float, done: list[tuple[int, OutcomeUpdate]]) -> None:
        """Touches waiting only for held / broken (a break window longer than the markouts and excursions): this bar."""
        still = []
        for touch in bars.watch:
            elapsed = ts - touch.ts_ns
            if elapsed <= self._break_ns and (close < touch.break_below if touch.direction == 1 else close > touch.break_below):
                done.append((touch.seq, self._update(touch, "broken", ts)))
            elif elapsed >= self._break_ns:
                done.append((touch.seq, self._update(touch, "held", ts)))
            else:
                still.append(touch)
        bars.watch = still

    @staticmethod
    def _update(touch: _Pending, outcome: str | None, ts_ns: int) -> OutcomeUpdate:
        markouts = touch.markouts if touch.markouts is not None else dict.fromkeys(MARKOUT_MINUTES)
        return OutcomeUpdate(touch.touch_id, markouts, touch.best, touch.worst, outcome, datetime.fromtimestamp(ts_ns / 1e9, UTC))
