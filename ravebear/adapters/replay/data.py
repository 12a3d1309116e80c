"""`ReplayDataClient`: catalog bars, order flow and custom data fed into a live TradingNode as if arriving now.

The client serves the subscriptions of one venue (the run file's): when the node's strategies and
actors have subscribed, it reads every subscribed 1-minute EXTERNAL bar series (all instruments), the
run file's order-flow entries (`kind: trades | book | quotes`: TradeTick, L2 OrderBookDeltas, QuoteTick)
and the configured custom data types from the catalog, merges them in time order (ties in the order
a BacktestNode gives them: its data configs' order) and hands them to the node one by one — paced at
`speed` x real time, or, at speed 0, each item fully handled by the node (strategies, orders, sandbox
fills) before the next, which is what makes a paper replay give the backtest's orders.

Order flow is served as a backtest streams it, whether or not anything subscribed (the sandbox fills
on it); a subscription to order flow the run file has no entry for is named in the log. Book deltas go
out as whole updates: one `OrderBookDeltas` per run of stored deltas up to the one flagged `F_LAST`,
so a subscriber (or the data engine's managed book) never sees a half-applied update.

Two things a TradingNode does not do for historical data, and that this client fixes once it
is bound to the node's kernel (`bind`):
- higher timeframes (`...-5-MINUTE-LAST-INTERNAL@1-MINUTE-EXTERNAL`) are aggregated on
  wall-clock timers: the client switches each time-bar aggregator to nautilus's historical
  mode (a private TestClock advanced by the data), as nautilus does for `request_aggregated_bars`;
- pacing needs the engines' queue sizes.
Bars keep their historical `ts_init`: the aggregators and the sandbox's clock run on it.

After each item the node has handled, the client stores how far it got in the node's cache
(`progress.ReplayProgress`; in Redis with `node.redis`): `resume()` on a restarted node finds it
and the replay continues after that item instead of from the start.
"""

from __future__ import annotations

import asyncio
import bisect
import heapq
import importlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from nautilus_trader.common.component import TestClock
from nautilus_trader.common.providers import InstrumentProvider
from nautilus_trader.core.data import Data
from nautilus_trader.data.aggregation import TimeBarAggregator
from nautilus_trader.live.data_client import LiveMarketDataClient
from nautilus_trader.live.enqueue import ThrottledEnqueuer
from nautilus_trader.model.data import BarType, CustomData, DataType, OrderBookDelta, OrderBookDeltas, QuoteTick, TradeTick
from nautilus_trader.model.enums import RecordFlag
from nautilus_trader.model.identifiers import ClientId, InstrumentId, Venue
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from ravebear.adapters.replay import progress as replay_progress
from ravebear.adapters.replay.config import ORDER_FLOW_KINDS, ReplayDataClientConfig
from ravebear.adapters.replay.progress import PROGRESS_KEY, ReplayProgress
from ravebear.catalog.instruments import instrument_for


ORDER_FLOW_CLASSES = {"trades": TradeTick, "book": OrderBookDelta, "quotes": QuoteTick}
YIELD_EVERY = 256  # speed 0: items handed between two yields to the event loop when nothing is queued (Ctrl-C, timers)


def _import(path: str) -> type:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def book_updates(deltas: list[OrderBookDelta]) -> list[OrderBookDeltas]:
    """Stored L2 deltas (in `ts_init` order) as whole updates: each run up to a delta flagged `F_LAST`.

    A run also ends where `ts_init` changes (one update reaches the node at one time, and the merge orders items by
    it), and a tail without `F_LAST` (a range cut mid-update) is an update of its own.
    """
    updates: list[OrderBookDeltas] = []
    run: list[OrderBookDelta] = []
    last_flag = int(RecordFlag.F_LAST)  # an int: `int & IntFlag` builds an enum each time (0.8 s on 430k deltas)
    for delta in deltas:
        if run and delta.ts_init != run[-1].ts_init:
            updates.append(OrderBookDeltas(run[0].instrument_id, run))
            run = []
        run.append(delta)
        if delta.flags & last_flag:
            updates.append(OrderBookDeltas(delta.instrument_id, run))
            run = []
    if run:
        updates.append(OrderBookDeltas(run[0].instrument_id, run))
    return updates


class ReplayDataClient(LiveMarketDataClient):
    """Replay catalog data into a live node; see the module docstring."""

    def __init__(self, loop: asyncio.AbstractEventLoop, msgbus: Any, cache: Any, clock: Any, config: ReplayDataClientConfig, name: str | None) -> None:
        super().__init__(
            loop=loop, client_id=ClientId(name or "REPLAY"), venue=Venue(config.venue), msgbus=msgbus, cache=cache,
            clock=clock, instrument_provider=InstrumentProvider(), config=config,
        )  # fmt: skip
        self._settings = config
        self._catalog = ParquetDataCatalog(config.catalog_path)
        self._bar_types: list[BarType] = []
        self._task: asyncio.Task | None = None
        self._kernel: Any = None
        self._aggregators_seen = 0
        self._enqueued = 0  # commands, events and data the engines' enqueuers were given (`bind`)
        self.finished = asyncio.Event()
        self.handed = 0  # items handed to the node
        self.failure: str | None = None  # why the replay stopped before its end
        self.last_ts = 0  # ts_init of the last item handed, UNIX ns (the node's data time)
        self.first_ts = 0  # ts_init of the first item this session handed, UNIX ns
        order_flow = tuple(entry for entry in config.entries if entry[0] in ORDER_FLOW_KINDS)
        self._order_flow = order_flow
        self._fingerprint = replay_progress.fingerprint(config.instrument_ids, config.start_ns, config.end_ns, config.custom_data, order_flow)
        self._unserved: set[tuple[str, str]] = set()  # order-flow subscriptions without an entry, named once each
        self._resume_after: ReplayProgress | None = None
        self.on_hand: Callable[[Data, int], None] | None = None  # hook (latency benchmark): item, wall ns at hand-off

    def bind(self, kernel: Any) -> None:
        """Give the client the node's kernel (queue sizes for pacing, time-bar aggregators, enqueue counts)."""
        self._kernel = kernel
        for engine in (kernel.data_engine, kernel.risk_engine, kernel.exec_engine):
            for enqueuer in vars(engine).values():
                if isinstance(enqueuer, ThrottledEnqueuer):
                    enqueuer.enqueue = self._counting(enqueuer.enqueue)

    def _counting(self, enqueue: Callable[[Any], None]) -> Callable[[Any], None]:
        """`enqueue`, counted: an engine's enqueuer puts with `call_soon_threadsafe`, so a command or event just sent
        is in no queue yet (`qsize()` 0) until the event loop runs; the count says that something was sent."""

        def counted(message: Any) -> None:
            self._enqueued += 1
            enqueue(message)

        return counted

    def resume(self) -> ReplayProgress | None:
        """Continue after the progress a previous run of this replay stored in the cache (loaded from Redis); return it, or None."""
        found = replay_progress.decode(self._cache.get(PROGRESS_KEY))
        self._resume_after = found if found is not None and found.fingerprint == self._fingerprint else None
        return self._resume_after

    async def _connect(self) -> None:
        for instrument_id in self._settings.instrument_ids:
            instrument = instrument_for(instrument_id, self._catalog)  # bundled, else the catalog's stored definition
            self._instrument_provider.add(instrument)
            self._cache.add_instrument(instrument)  # at once: strategies look it up in on_start
            self._handle_data(instrument)  # published too: the sandbox builds its matching engine from it

    async def _disconnect(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _subscribe_bars(self, command: Any) -> None:
        bar_type = command.bar_type
        if bar_type.is_externally_aggregated() and bar_type not in self._bar_types:
            self._bar_types.append(bar_type)
        if self._task is None:
            self._task = self.create_task(self._replay(), log_msg="catalog replay")

    async def _unsubscribe_bars(self, command: Any) -> None:
        if command.bar_type in self._bar_types:
            self._bar_types.remove(command.bar_type)

    async def _subscribe(self, command: Any) -> None:
        """Custom data subscriptions are served from `custom_data` (configured up front)."""

    async def _subscribe_trade_ticks(self, command: Any) -> None:
        self._order_flow_subscribed("trades", command.instrument_id)

    async def _subscribe_order_book_deltas(self, command: Any) -> None:
        self._order_flow_subscribed("book", command.instrument_id)

    async def _subscribe_quote_ticks(self, command: Any) -> None:
        self._order_flow_subscribed("quotes", command.instrument_id)

    async def _unsubscribe_trade_ticks(self, command: Any) -> None:
        """Nothing to stop: order flow is served as a backtest streams it (the sandbox fills on it)."""

    async def _unsubscribe_order_book_deltas(self, command: Any) -> None:
        """Nothing to stop (as `_unsubscribe_trade_ticks`)."""

    async def _unsubscribe_quote_ticks(self, command: Any) -> None:
        """Nothing to stop (as `_unsubscribe_trade_ticks`)."""

    def _order_flow_subscribed(self, kind: str, instrument_id: InstrumentId) -> None:
        """Start the replay (an order-flow actor may be the only subscriber); name a subscription no entry serves."""
        if not any(entry[0] == kind and entry[1] == instrument_id.value for entry in self._order_flow) and (kind, instrument_id.value) not in self._unserved:
            self._unserved.add((kind, instrument_id.value))
            self._log.warning(f"a subscription asks for {kind} of {instrument_id}, but the run file has no `kind: {kind}` data entry for it: the replay serves none")
        if self._task is None:
            self._task = self.create_task(self._replay(), log_msg="catalog replay")

    async def _unsubscribe(self, command: Any) -> None:
        """Nothing to stop: the replay ends with its data."""

    # -- replay --------------------------------------------------------------------------------

    async def _replay(self) -> None:
        kernel = self._kernel
        if kernel is None:
            self._log.error("replay client not bound to the node's kernel (call bind(node.kernel) after build); nothing replayed")
            return
        while not kernel.trader.is_running:  # strategies subscribe in on_start
            await asyncio.sleep(0.01)
        while kernel.data_engine.cmd_qsize():  # and the data engine has handled those subscriptions
            await asyncio.sleep(0.01)
        try:
            items = self._load()
            what = [*map(str, self._bar_types), *(f"{kind} {instrument_id}" for kind, instrument_id, _, _ in self._order_flow)]
            self._log.info(f"replaying {len(items):,} items ({', '.join(what)}) at speed {self._settings.speed or 'max'}")
            await self._stream(items)
            await self._drain()
        except Exception as exc:  # the session must end with the reason, not wait forever for a replay that died
            self.failure = f"the catalog replay stopped after {self.handed:,} items: {exc!r}"
            self._log.error(self.failure)
        else:
            self._log.info(f"replay finished: {self.handed:,} items")
        self.finished.set()

    def _load(self) -> list[Data]:
        settings = self._settings
        # one series per data entry, in the run file's order, then the custom data: items with equal times then come
        # in the order a BacktestNode gives them (its data configs' order, a stable sort), which sizing can depend on
        entries = settings.entries
        first_entry: dict[tuple[str, str], int] = {}
        for index, (kind, instrument_id, _, _) in enumerate(entries):
            first_entry.setdefault((kind, instrument_id), index)
        instrument_order = {instrument_id: index for index, instrument_id in enumerate(settings.instrument_ids)}
        series: list[tuple[int, Iterator[Data]]] = []
        for bar_type in self._bar_types:
            instrument_id = bar_type.instrument_id.value
            place = first_entry.get(("bars", instrument_id), len(entries) + instrument_order.get(instrument_id, len(instrument_order)))
            series.append((place, iter(self._catalog.bars([str(bar_type)], start=settings.start_ns, end=settings.end_ns))))
        for kind, instrument_id, start_ns, end_ns in self._order_flow:
            stored = self._catalog.query(ORDER_FLOW_CLASSES[kind], identifiers=[instrument_id], start=start_ns, end=end_ns)
            series.append((first_entry[(kind, instrument_id)], iter(book_updates(stored) if kind == "book" else stored)))
        custom_place = len(entries) + len(instrument_order) + 1
        for path in settings.custom_data:
            cls = _import(path)
            data_type = DataType(cls)
            rows = self._catalog.query(cls, start=settings.start_ns, end=settings.end_ns)
            series.append((custom_place, (CustomData(data_type, row.data if isinstance(row, CustomData) else row) for row in rows)))
        series.sort(key=lambda placed: placed[0])  # stable: bars of one entry keep their subscription order
        items = list(heapq.merge(*(iterator for _, iterator in series), key=lambda item: item.ts_init))
        return self._after_resume_point(items)

    def _after_resume_point(self, items: list[Data]) -> list[Data]:
        done = self._resume_after
        if done is None:
            return items
        first = bisect.bisect_right(items, done.ts - 1, key=lambda item: item.ts_init)  # the first item at done.ts
        return items[first + done.at_ts :]

    async def _stream(self, items: list[Data]) -> None:
        settings = self._settings
        speed = settings.speed
        start_wall = time.monotonic()
        start_data = items[0].ts_init if items else 0
        done = self._resume_after
        last_ts, at_ts = (done.ts, done.at_ts) if done is not None else (-1, 0)
        for item in items:
            if speed > 0:
                target = start_wall + (item.ts_init - start_data) / 1e9 / speed
                delay = target - time.monotonic()
                if delay > settings.max_gap_secs:  # a gap in the data: wait the cap, then re-anchor
                    await asyncio.sleep(settings.max_gap_secs)
                    start_wall, start_data = time.monotonic(), item.ts_init
                elif delay > 0:
                    await asyncio.sleep(delay)
            self._switch_aggregators_to_data_time()
            if self.on_hand is not None:
                self.on_hand(item, time.time_ns())
            self.first_ts = self.first_ts or item.ts_init
            self.last_ts = item.ts_init
            enqueued = self._enqueued
            if speed == 0:
                self._handle_now(item)
            else:
                self._handle_data(item)
            self.handed += 1
            if speed == 0:
                if self._enqueued != enqueued or self._busy():  # the item caused work (orders, aggregated bars)
                    await self._drain()
                elif self.handed % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
            at_ts = at_ts + 1 if item.ts_init == last_ts else 1
            last_ts = item.ts_init
            self._store_progress(last_ts, at_ts)
        if last_ts >= 0:
            self._store_progress(last_ts, at_ts, finished=True)

    def _handle_now(self, item: Data) -> None:
        """Have the data engine handle `item` at once, as its queue task would (speed 0: the queue is empty here).

        Skipping the queue's round trip through the event loop is what lets a replay hand hundreds of thousands of
        trades and book updates a second; what the item causes (orders, aggregated bars) still goes through the
        engines' queues, and `_stream` drains them before the next item (counted enqueues, `bind`).
        """
        engine = self._kernel.data_engine
        if engine.data_qsize():  # something else queued data first: keep the order
            self._handle_data(item)
            return
        try:
            engine._handle_data(item)  # noqa: SLF001 - what LiveDataEngine's data queue task calls for each item
        except Exception as exc:  # as the queue task does: log, then shut down or exit as the engine is configured
            engine._handle_queue_exception(exc, "Data")  # noqa: SLF001

    def _busy(self) -> bool:
        kernel = self._kernel
        data, risk, execution = kernel.data_engine, kernel.risk_engine, kernel.exec_engine
        return bool(data.data_qsize() + data.cmd_qsize() + risk.cmd_qsize() + risk.evt_qsize() + execution.cmd_qsize() + execution.evt_qsize())

    def _store_progress(self, ts: int, at_ts: int, finished: bool = False) -> None:
        before = self._resume_after.handed if self._resume_after is not None else 0
        progress = ReplayProgress(fingerprint=self._fingerprint, ts=ts, at_ts=at_ts, handed=before + self.handed, finished=finished)
        self._cache.add(PROGRESS_KEY, replay_progress.encode(progress))  # and to Redis when the node keeps state there

    def _switch_aggregators_to_data_time(self) -> None:
        engine = self._kernel.data_engine
        aggregators = engine._bar_aggregators  # noqa: SLF001 - readonly in nautilus; no public accessor in 1.231
        if len(aggregators) == self._aggregators_seen:
            return
        self._aggregators_seen = len(aggregators)
        for aggregator in aggregators.values():
            if isinstance(aggregator, TimeBarAggregator) and not aggregator.historical_mode:
                aggregator.stop_timer()  # off the wall clock...
                aggregator.set_clock(TestClock())  # ...onto one the data advances
                aggregator.set_historical_mode(True, engine.process)

    async def _drain(self) -> None:
        """Wait until every engine queue is empty twice in a row (the item and what it caused are handled)."""
        idle = 0
        while idle < 2:
            idle = 0 if self._busy() else idle + 1
            await asyncio.sleep(0)
