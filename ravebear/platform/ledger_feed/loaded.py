"""An instrument's loaded 1-minute bars handed to the ledger's `OutcomeTracker` in runs (a backtest).

A streaming ledger receives each 1-minute bar from nautilus and feeds it to the tracker: about 4 us a bar with the
dispatch, the handler and the tracker's own step. A backtest node has every bar before its loop, so the ledger
asks for them (`platform/nodes/loaded_bars.py`), holds its touch rows during the run, and at the end tracks each
touch after handing the tracker the bars closing up to it, then the rest: `OutcomeTracker.on_bars` gives the same
updates as bar-by-bar feeding, and a touch's outcome depends only on bars closing after it, which are never handed
over before it is tracked. Each row is then written once, with its outcome (tests/platform/ledger/test_loaded_outcomes.py:
every row equal to a streaming ledger's).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ravebear.ledger.outcomes import OutcomeTracker, OutcomeUpdate
from ravebear.platform.nodes.loaded_bars import LoadedBars


class LoadedMinutes:
    """One instrument's loaded bars from the run's start, and how many of them the tracker has had."""

    __slots__ = ("bars", "fed", "first", "instrument_id")

    def __init__(self, instrument_id: str, bars: LoadedBars, start_ns: int) -> None:
        self.instrument_id = instrument_id
        self.bars = bars
        self.first = self.fed = int(bars.ts_init.searchsorted(start_ns, side="left"))  # bars before the run's start are not fed

    @staticmethod
    def usable(bars: LoadedBars | None) -> bool:
        """Whether the bars can be handed over in runs: some, and their close times in feed order."""
        return bars is not None and len(bars) > 0 and bool((np.diff(bars.ts_event) >= 0).all())

    def feed_until(self, tracker: OutcomeTracker, ts_ns: int) -> list[OutcomeUpdate]:
        """Hand the tracker the bars closing at or before `ts_ns` it has not had; returns the updates they complete."""
        stop = int(self.bars.ts_event.searchsorted(ts_ns, side="right"))  # the method: numpy's function adds ~1.5 us
        return self._feed(tracker, stop)

    def feed_fed_by(self, tracker: OutcomeTracker, now_ns: int) -> list[OutcomeUpdate]:
        """Hand over every bar the engine has fed by `now_ns` (the run's end: its clock)."""
        return self._feed(tracker, int(self.bars.ts_init.searchsorted(now_ns, side="right")))

    def close_at_or_before(self, ts_ns: int) -> float | None:
        """The close of the latest bar closing at or before `ts_ns` (None: none since the run's start)."""
        i = int(self.bars.ts_event.searchsorted(ts_ns, side="right")) - 1
        return float(self.bars.close[i]) if i >= self.first else None

    def span(self) -> tuple[int, int] | None:
        """Close times of the first and last bar handed over (None: none yet)."""
        if self.fed <= self.first:
            return None
        return int(self.bars.ts_event[self.first]), int(self.bars.ts_event[self.fed - 1])

    def _feed(self, tracker: OutcomeTracker, stop: int) -> list[OutcomeUpdate]:
        start = self.fed
        if stop <= start:
            return []
        self.fed = stop
        bars = self.bars
        return tracker.on_bars(self.instrument_id, bars.ts_event[start:stop].tolist(), bars.high[start:stop].tolist(),
                               bars.low[start:stop].tolist(), bars.close[start:stop].tolist())  # fmt: skip


class HeldTouches:
    """A backtest's touch rows, held to the end of the run, then judged from the loaded bars and handed out once each
    with its outcome. Kept as value tuples with one shared keys tuple (about a third of a dict's memory)."""

    def __init__(self, minutes: dict[str, LoadedMinutes]) -> None:
        self.minutes = minutes  # instrument -> its loaded bars
        self._rows: list[Any] = []
        self._keys: tuple[str, ...] = ()
        self._judged: dict[str, OutcomeUpdate] = {}

    def add(self, row: dict[str, Any]) -> None:
        """Hold a touch row (LevelTouch values, its `id`, `instrument_id`, `ts_event_ns`, prices and `direction` set)."""
        keys = tuple(row)
        if keys != self._keys:
            self._keys = keys
        self._rows.append((self._keys, tuple(row.values())))

    def judge(self, tracker: OutcomeTracker, now_ns: int) -> tuple[int, int] | None:
        """Track each touch after the bars closing up to it, then hand over every bar the engine fed by `now_ns`;
        returns the close times of the first and last of those bars (None: none)."""
        mapped: tuple[str, ...] | None = None
        at: dict[str, int] = {}
        for keys, values in self._rows:
            if keys is not mapped:  # one shared keys tuple while the columns stay the same
                mapped, at = keys, {key: i for i, key in enumerate(keys)}
            instrument, ts = values[at["instrument_id"]], values[at["ts_event_ns"]]
            self._keep(self.minutes[instrument].feed_until(tracker, ts))
            tracker.track(values[at["id"]], instrument, ts, values[at["touch_price"]], values[at["level_price"]], values[at["direction"]])
        spans = []
        for minutes in self.minutes.values():
            self._keep(minutes.feed_fed_by(tracker, now_ns))
            span = minutes.span()
            if span is not None:
                spans.append(span)
        return (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None

    def rows(self, unfinished: list[OutcomeUpdate]) -> Iterator[dict[str, Any]]:
        """Each held row with its outcome (`unfinished`: the tracker's `finish()` for those still open), in the
        order they were held; each is let go once handed out (the writer keeps its own copy)."""
        self._keep(unfinished)
        held, self._rows = self._rows, []
        for i, (keys, values) in enumerate(held):
            row = dict(zip(keys, values, strict=True))
            row.update(self._judged.pop(row["id"]).values())
            held[i] = None
            yield row

    def _keep(self, updates: list[OutcomeUpdate]) -> None:
        for update in updates:
            self._judged[update.touch_id] = update
