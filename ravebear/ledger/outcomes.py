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
        columns: dict[str, Any] = {f"markout_{h}m_bps": self.markouts_bps.get(h) for h in MARKOUT_MINUTES}
        return {**columns, "mfe_bps": self.mfe_bps, "mae_bps": self.mae_bps, "outcome": self.outcome, "outcome_filled_at": self.filled_at}


@dataclass
class _Pending:
    touch_id: str
    ts_ns: int
    price: float
    direction: int
    break_below: float  # support: a close below this breaks it (resistance: above)
    candidate: dict[int, float | None] = field(default_factory=lambda: dict.fromkeys(MARKOUT_MINUTES))
    markouts: dict[int, float | None] = field(default_factory=dict)
    best: float | None = None  # favourable excursion so far, bps
    worst: float | None = None  # adverse excursion so far, bps
    excursions_done: bool = False
    outcome: str | None = None


class OutcomeTracker:
    """Fills the outcome of pending touches from 1-minute bars; one per node, all instruments."""

    def __init__(self, settings: OutcomeSettings | None = None) -> None:
        self.settings = settings or OutcomeSettings()
        self._pending: dict[str, list[_Pending]] = {}
        self._horizons = [(h, h * NS_PER_MINUTE) for h in MARKOUT_MINUTES]
        self._window_ns = self.settings.excursion_window_min * NS_PER_MINUTE
        self._break_ns = self.settings.break_window_min * NS_PER_MINUTE

    def track(self, touch_id: str, instrument_id: str, ts_ns: int, touch_price: float, level_price: float, direction: int) -> None:
        """Start watching a touch (direction +1 support, -1 resistance); only bars closing after `ts_ns` count."""
        if direction not in (1, -1):
            raise ValueError(f"direction must be +1 or -1, got {direction}")
        if not touch_price > 0:
            raise ValueError(f"touch_price must be above 0, got {touch_price}")
        shift = self.settings.break_bps / BPS
        beyond = level_price * (1 - shift) if direction == 1 else level_price * (1 + shift)
        self._pending.setdefault(instrument_id, []).append(_Pending(touch_id, ts_ns, touch_price, direction, beyond))

    @property
    def pending(self) -> int:
        """Touches still open."""
        return sum(len(touches) for touches in self._pending.values())

    def on_bar(self, instrument_id: str, ts_close_ns: int, high: float, low: float, close: float) -> list[OutcomeUpdate]:
        """Feed one 1-minute bar (its close time); returns the touches it completed."""
        touches = self._pending.get(instrument_id)
        if not touches:
            return []
        done, still = [], []
        for touch in touches:
            if ts_close_ns <= touch.ts_ns:
                still.append(touch)
                continue
            self._step(touch, ts_close_ns, high, low, close)
            if len(touch.markouts) == len(MARKOUT_MINUTES) and touch.excursions_done and touch.outcome is not None:
                done.append(self._update(touch, ts_close_ns))
            else:
                still.append(touch)
        self._pending[instrument_id] = still
        return done

    def finish(self, ts_ns: int) -> list[OutcomeUpdate]:
        """The partial outcomes of every open touch (unknown parts None), stamped `ts_ns`; stops tracking them."""
        updates = [self._update(touch, ts_ns) for touches in self._pending.values() for touch in touches]
        self._pending.clear()
        return updates

    def _step(self, touch: _Pending, ts: int, high: float, low: float, close: float) -> None:
        # runs for every open touch at every bar (~60 bars each): horizons in ns and settings are read once per tracker
        elapsed = ts - touch.ts_ns
        d, price = touch.direction, touch.price
        markouts = touch.markouts
        if len(markouts) < len(MARKOUT_MINUTES):
            candidate = touch.candidate
            for h, horizon in self._horizons:
                if h in markouts:
                    continue
                if elapsed <= horizon:
                    candidate[h] = close
                if elapsed >= horizon:
                    last = candidate[h]
                    markouts[h] = None if last is None else d * (last - price) / price * BPS
        if not touch.excursions_done:
            if elapsed <= self._window_ns:
                favourable = (high - price) if d == 1 else (price - low)
                adverse = (price - low) if d == 1 else (high - price)
                touch.best = max(touch.best or 0.0, favourable / price * BPS)
                touch.worst = max(touch.worst or 0.0, adverse / price * BPS)
            if elapsed >= self._window_ns:
                touch.excursions_done = True
        if touch.outcome is None:
            if elapsed <= self._break_ns and (close < touch.break_below if d == 1 else close > touch.break_below):
                touch.outcome = "broken"
            elif elapsed >= self._break_ns:
                touch.outcome = "held"

    @staticmethod
    def _update(touch: _Pending, ts_ns: int) -> OutcomeUpdate:
        return OutcomeUpdate(
            touch.touch_id, {h: touch.markouts.get(h) for h in MARKOUT_MINUTES}, touch.best, touch.worst, touch.outcome,
            datetime.fromtimestamp(ts_ns / 1e9, UTC),
        )  # fmt: skip
