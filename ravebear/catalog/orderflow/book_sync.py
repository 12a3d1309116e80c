"""Rebuild a Binance L2 book from a REST snapshot and depth diffs, as Binance documents it.

"How to manage a local order book correctly" (spot, `/ws-api` docs) and the USD-M / COIN-M variant:

- spot: drop every diff event with `u <= lastUpdateId`; the first event applied must have
  `U <= lastUpdateId + 1 <= u`; after it every event's `U` must be the previous event's `u + 1`.
- futures: drop every event with `u < lastUpdateId`; the first applied must have
  `U <= lastUpdateId <= u`; after it every event's `pu` must be the previous event's `u`.
- a diff's quantity is the level's new absolute size; 0 removes the level, and removing a level
  the book does not hold is normal (a no-op).

Pure Python and numpy (no nautilus): `sync_book` returns what to emit as book actions, which
`binance.py` turns into nautilus `OrderBookDelta`s.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np

from ravebear.catalog.orderflow.validation import CrossedBook, SequenceGap

ADD, UPDATE, DELETE, CLEAR = 1, 2, 3, 4  # nautilus BookAction values
BID, ASK = 1, 2  # nautilus OrderSide values (BUY = bid side)


@dataclass
class BookActions:
    """Book actions in apply order, as parallel lists (one entry per nautilus delta)."""

    action: list[int] = field(default_factory=list)
    side: list[int] = field(default_factory=list)
    price: list[float] = field(default_factory=list)
    size: list[float] = field(default_factory=list)
    last: list[bool] = field(default_factory=list)  # last delta of its event (nautilus F_LAST)
    snapshot: list[bool] = field(default_factory=list)  # part of the snapshot (nautilus F_SNAPSHOT)
    sequence: list[int] = field(default_factory=list)  # Binance update id (u; lastUpdateId for the snapshot)
    ts_event: list[int] = field(default_factory=list)
    ts_init: list[int] = field(default_factory=list)

    def add(self, action: int, side: int, price: float, size: float, sequence: int, ts_event: int, ts_init: int, snapshot: bool = False) -> None:
        """Append one action (not last of its event until `close_event`).

        `ts_init` never goes back (a stamp earlier than the previous action's is raised to it): the catalog
        orders data by `ts_init`, and a book's updates must stay in the order they were applied.
        """
        if self.ts_init and ts_init < self.ts_init[-1]:
            ts_init = self.ts_init[-1]
        self.action.append(action)
        self.side.append(side)
        self.price.append(price)
        self.size.append(size)
        self.last.append(False)
        self.snapshot.append(snapshot)
        self.sequence.append(sequence)
        self.ts_event.append(ts_event)
        self.ts_init.append(ts_init)

    def close_event(self) -> None:
        """Mark the latest action as the last of its event."""
        if self.last:
            self.last[-1] = True


class LevelBook:
    """Price -> size per side, with the best prices kept by lazy heaps."""

    def __init__(self) -> None:
        self.levels: dict[int, dict[float, float]] = {BID: {}, ASK: {}}
        self._heaps: dict[int, list[float]] = {BID: [], ASK: []}

    def set(self, side: int, price: float, size: float) -> int | None:
        """Apply one level's new absolute size (0 removes it); return the action taken, None for a no-op delete."""
        levels = self.levels[side]
        if size == 0:
            if price not in levels:
                return None
            del levels[price]
            return DELETE
        action = UPDATE if price in levels else ADD
        levels[price] = size
        if action == ADD:
            heapq.heappush(self._heaps[side], -price if side == BID else price)
        return action

    def best(self, side: int) -> float | None:
        """The best price of a side, or None when it is empty."""
        heap, levels = self._heaps[side], self.levels[side]
        while heap:
            price = -heap[0] if side == BID else heap[0]
            if price in levels:
                return price
            heapq.heappop(heap)  # a removed level (or a re-added one that has another heap entry)
        return None


class CrossWatch:
    """Records runs of crossed books (best bid >= best ask after an update), one entry per run."""

    def __init__(self) -> None:
        self.crossed: list[CrossedBook] = []
        self._open = False

    def check(self, book: LevelBook, row: int, ts_ns: int, update_id: int) -> None:
        """Look at the book after one whole update (an update may cross it only transiently)."""
        bid, ask = book.best(BID), book.best(ASK)
        if bid is None or ask is None or bid < ask:
            self._open = False
            return
        if self._open:
            run = self.crossed[-1]
            self.crossed[-1] = CrossedBook(run.row, run.ts_ns, run.update_id, run.best_bid, run.best_ask, run.events + 1)
        else:
            self.crossed.append(CrossedBook(row, ts_ns, update_id, bid, ask, 1))
        self._open = True


@dataclass
class SyncResult:
    """The rebuilt book's actions and what broke along the way."""

    actions: BookActions
    dropped_events: int  # diff events before the bridging one (older than the snapshot)
    applied_events: int
    noop_deletes: int  # removals of levels the book did not hold (normal, per Binance)
    gaps: list[SequenceGap]
    crossed: list[CrossedBook]
    book: LevelBook


def event_bounds(final_update_id: np.ndarray) -> np.ndarray:
    """Start row of each diff event (rows of one event share `u`), plus the end."""
    starts = np.flatnonzero(np.diff(final_update_id) != 0) + 1
    return np.concatenate([[0], starts, [len(final_update_id)]]).astype(np.int64)


def sync_book(
    snapshot_last_update_id: int,
    snapshot_side: np.ndarray, snapshot_price: np.ndarray, snapshot_size: np.ndarray, snapshot_ts_event: int, snapshot_ts_init: int,
    first_id: np.ndarray, final_id: np.ndarray, prev_final_id: np.ndarray | None,
    side: np.ndarray, price: np.ndarray, size: np.ndarray, ts_event: np.ndarray, ts_init: np.ndarray, rows: np.ndarray,
) -> SyncResult:  # fmt: skip
    """Apply the snapshot, then the diff events in Binance's order; `prev_final_id` (pu) given means futures rules.

    Sides are BID/ASK codes. `rows` are the diff rows' 1-based positions in the source file (for reports).
    A diff event received before the snapshot is stamped with the snapshot's receive time (that is when
    a client could apply it), so `ts_init` never goes backwards.
    """
    futures = prev_final_id is not None
    book = LevelBook()
    actions = BookActions()
    last_id = int(snapshot_last_update_id)
    actions.add(CLEAR, 0, 0.0, 0.0, last_id, snapshot_ts_event, snapshot_ts_init, snapshot=True)
    for s, p, q in zip(snapshot_side.tolist(), snapshot_price.tolist(), snapshot_size.tolist(), strict=True):
        if book.set(s, p, q) is not None:
            actions.add(ADD, s, p, q, last_id, snapshot_ts_event, snapshot_ts_init, snapshot=True)
    actions.close_event()

    bounds = event_bounds(final_id)
    gaps: list[SequenceGap] = []
    watch = CrossWatch()
    dropped = applied = noop = 0
    previous_u: int | None = None
    side_l, price_l, size_l = side.tolist(), price.tolist(), size.tolist()
    for start, end in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        U, u = int(first_id[start]), int(final_id[start])
        if previous_u is None:
            stale = u < last_id if futures else u <= last_id
            if stale:
                dropped += 1
                continue
            bridge = last_id if futures else last_id + 1
            if U > bridge:
                gaps.append(SequenceGap(int(rows[start]), int(ts_init[start]), "depth first update id (U)", bridge, U,
                                        "the first diff after the snapshot does not bridge it (lastUpdateId); levels untouched since may be stale"))  # fmt: skip
        elif futures and int(prev_final_id[start]) != previous_u:
            gaps.append(SequenceGap(int(rows[start]), int(ts_init[start]), "depth previous update id (pu)", previous_u, int(prev_final_id[start]),
                                    "diff events missing; levels untouched since may be stale"))  # fmt: skip
        elif not futures and U != previous_u + 1:
            gaps.append(SequenceGap(int(rows[start]), int(ts_init[start]), "depth first update id (U)", previous_u + 1, U,
                                    "diff events missing; levels untouched since may be stale"))  # fmt: skip
        previous_u = u
        applied += 1
        event_ts = int(ts_event[start])
        event_init = max(int(ts_init[start]), snapshot_ts_init)
        emitted = False
        for i in range(start, end):
            action = book.set(side_l[i], price_l[i], size_l[i])
            if action is None:
                noop += 1
                continue
            actions.add(action, side_l[i], price_l[i], size_l[i], u, event_ts, event_init)
            emitted = True
        if emitted:
            actions.close_event()
        watch.check(book, int(rows[start]), int(ts_init[start]), u)
    return SyncResult(actions, dropped, applied, noop, gaps, watch.crossed, book)
