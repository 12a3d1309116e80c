"""The actor that records: subscribes to trades and L2 book deltas, buffers them, notices gaps.

Gaps it records (never filling them in):
- a book snapshot after the first (nautilus re-subscribes OKX's `books` on a prevSeqId break, and after a
  reconnect; OKX then sends a new snapshot): the book series has a hole from its last item to the snapshot,
  and the trades of the same instrument (same socket) are marked as possibly missing since their last;
  the book restarts from that snapshot (stored with a CLEAR first, so a replay resets its book there);
- trade ids that skip (Kraken's are sequential per pair): the ids not received;
- a client socket seen down (polled every status tick): from each series' last item to its next one;
- the time the recorder did not run: from the newest stored item of a series to this session's first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.data import OrderBookDelta, OrderBookDeltas, TradeTick
from nautilus_trader.model.enums import BookAction, BookType, RecordFlag
from nautilus_trader.model.identifiers import InstrumentId

from ravebear.platform.recorder.clients import KRAKEN_CLIENT
from ravebear.platform.recorder.gaps import DISCONNECTED, NOT_RUNNING, RESNAPSHOT, TRADE_IDS, Gap
from ravebear.platform.recorder.writer import DELTAS, TRADES, BatchWriter, last_stored_ns

SEQUENTIAL_TRADE_IDS = frozenset({KRAKEN_CLIENT})  # venues whose trade ids count up by one per pair
_SNAPSHOT = int(RecordFlag.F_SNAPSHOT)


class RecorderConfig(ActorConfig, frozen=True):
    """What to record and how often to rotate batches."""

    okx_ids: tuple[str, ...] = ()  # book + trades
    kraken_ids: tuple[str, ...] = ()  # trades
    batch_seconds: float = 60.0  # s: every buffer is written at least this often
    status_seconds: float = 1.0  # s: status line and socket check interval


@dataclass
class Series:
    """One recorded series (instrument x trades|book) as the status line shows it."""

    source: str
    instrument_id: str
    kind: str  # trades | book
    received: int = 0  # items (trades, or book deltas) this session
    last_ts: int = 0  # ts_init of the last item (ns)
    first_wall: float = 0.0  # time.monotonic() of the first item
    last_wall: float = 0.0  # time.monotonic() of the last item
    updates: int = 0  # handler calls: one per trade, one per book update (OrderBookDeltas)
    rate: float = 0.0  # items/s over the last status interval
    counted: int = 0  # `received` at the last status tick
    stored_until: int = 0  # newest ts_init already in the catalog at start (0: none)
    open_gap: Gap | None = None  # a gap waiting for this series' next item
    last_trade_id: int | None = None
    snapshots: int = 0


@dataclass
class RecorderState:
    """Everything the status line and the exit summary read."""

    series: dict[tuple[str, str], Series] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)


class RecorderActor(Actor):
    """Hands every trade and book update to a `BatchWriter`; records gaps. Attach the writer before the node starts."""

    def __init__(self, config: RecorderConfig) -> None:
        super().__init__(config)
        self.settings = config
        self.recorded = RecorderState()
        self.writer: BatchWriter | None = None
        self.on_status: Any = None  # called with the state every status tick (the runner draws the line)
        self.socket_states: Any = None  # () -> {client name: socket active}
        self._sockets_up: dict[str, bool] = {}

    def attach(self, writer: BatchWriter, on_status: Any = None, socket_states: Any = None) -> None:
        """Give the actor its writer, status callback and socket probe (before the node runs)."""
        self.writer, self.on_status, self.socket_states = writer, on_status, socket_states
        for source, ids, kinds in (("OKX", self.settings.okx_ids, ("trades", "book")), (KRAKEN_CLIENT, self.settings.kraken_ids, ("trades",))):
            for instrument_id in ids:
                for kind in kinds:
                    folder = TRADES if kind == "trades" else DELTAS
                    self.recorded.series[(instrument_id, kind)] = Series(source, instrument_id, kind, stored_until=last_stored_ns(writer.store, folder, instrument_id))

    def on_start(self) -> None:  # noqa: D102
        for instrument_id in self.settings.okx_ids:
            self.subscribe_trade_ticks(InstrumentId.from_str(instrument_id))
            self.subscribe_order_book_deltas(InstrumentId.from_str(instrument_id), BookType.L2_MBP, managed=False)
        for instrument_id in self.settings.kraken_ids:
            self.subscribe_trade_ticks(InstrumentId.from_str(instrument_id))
        self.clock.set_timer("recorder-rotate", timedelta(seconds=self.settings.batch_seconds), callback=lambda _: self._rotate())
        self.clock.set_timer("recorder-status", timedelta(seconds=self.settings.status_seconds), callback=lambda _: self.tick())

    def on_stop(self) -> None:  # noqa: D102
        for name in ("recorder-rotate", "recorder-status"):
            if name in self.clock.timer_names:
                self.clock.cancel_timer(name)
        open_gaps = [series.open_gap for series in self.recorded.series.values() if series.open_gap is not None]
        for series in self.recorded.series.values():
            series.open_gap = None
        self._record(open_gaps)  # still open at exit: to_ns 0
        if self.writer is not None:
            self.writer.rotate()

    # -- data -----------------------------------------------------------------------------------------

    def on_trade_tick(self, tick: TradeTick) -> None:  # noqa: D102
        series = self.recorded.series.get((tick.instrument_id.value, "trades"))
        if series is None:
            return
        if series.source in SEQUENTIAL_TRADE_IDS:
            self._check_trade_id(series, tick)
        self._arrived(series, tick.ts_init, 1)
        self.writer.add(TRADES, series.instrument_id, [tick])

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:  # noqa: D102
        instrument_id = deltas.instrument_id.value
        series = self.recorded.series.get((instrument_id, "book"))
        if series is None:
            return
        items = deltas.deltas
        if items and items[0].flags & _SNAPSHOT:
            if series.snapshots and series.open_gap is None:
                trades = self.recorded.series.get((instrument_id, "trades"))
                details = {
                    "book": f"new snapshot at seq {deltas.sequence} (a sequence break or a reconnect): the book restarts from it",
                    "trades": "the book was re-subscribed (a sequence break or a reconnect): trades in between may be missing",
                }
                for hole in (series, trades):
                    if hole is not None and hole.open_gap is None:
                        hole.open_gap = Gap(hole.source, instrument_id, hole.kind, RESNAPSHOT, hole.last_ts, 0, details[hole.kind])
            series.snapshots += 1
            if items[0].action != BookAction.CLEAR:
                items = [OrderBookDelta.clear(deltas.instrument_id, items[0].sequence, items[0].ts_event, items[0].ts_init), *items]
        self._arrived(series, deltas.ts_init, len(items))
        self.writer.add(DELTAS, instrument_id, items)

    def _check_trade_id(self, series: Series, tick: TradeTick) -> None:
        try:
            trade_id = int(tick.trade_id.value)
        except ValueError:
            return
        previous = series.last_trade_id
        series.last_trade_id = trade_id
        if previous is None or trade_id <= previous + 1:
            return
        detail = f"ids {previous + 1}..{trade_id - 1} ({trade_id - previous - 1} trades) not received"
        if series.open_gap is not None:  # the socket was seen down: that gap (closed by this trade) says which ids it cost
            series.open_gap = replace(series.open_gap, detail=f"{series.open_gap.detail}; {detail}")
        else:
            self._record([Gap(series.source, series.instrument_id, "trades", TRADE_IDS, series.last_ts, tick.ts_init, detail)])

    def _arrived(self, series: Series, ts_init: int, count: int) -> None:
        if series.received == 0 and series.stored_until and series.open_gap is None:
            series.open_gap = Gap(series.source, series.instrument_id, series.kind, NOT_RUNNING, series.stored_until, 0, "catalog data before, this session after")
        if series.open_gap is not None:
            gap, series.open_gap = series.open_gap, None
            self._record([replace(gap, to_ns=ts_init)])
        series.received += count
        series.updates += 1
        if not series.first_wall:
            series.first_wall = time.monotonic()
        series.last_ts = ts_init
        series.last_wall = time.monotonic()

    def _record(self, gaps: list[Gap]) -> None:
        if not gaps:
            return
        self.recorded.gaps.extend(gaps)
        if self.writer is not None:
            self.writer.record_gaps(gaps)
        for gap in gaps:
            self.log.warning(f"gap: {gap.describe()}")

    # -- timers ---------------------------------------------------------------------------------------

    def _rotate(self) -> None:
        if self.writer is not None:
            self.writer.rotate()

    def tick(self) -> None:
        """Status tick: rates, the socket check, then the status callback."""
        for series in self.recorded.series.values():
            series.rate = (series.received - series.counted) / self.settings.status_seconds
            series.counted = series.received
        if self.socket_states is not None:
            self._watch_sockets(self.socket_states())
        if self.on_status is not None:
            self.on_status(self.recorded)

    def _watch_sockets(self, states: dict[str, bool]) -> None:
        for source, up in states.items():
            was_up = self._sockets_up.get(source, True)
            self._sockets_up[source] = up
            if was_up and not up:
                for series in self.recorded.series.values():
                    if series.source == source and series.open_gap is None and series.received:
                        series.open_gap = Gap(source, series.instrument_id, series.kind, DISCONNECTED, series.last_ts, 0, "the client's WebSocket went down")
