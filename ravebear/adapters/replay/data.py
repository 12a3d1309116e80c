"""`ReplayDataClient`: catalog bars (and custom data) fed into a live TradingNode as if they were arriving now.

The client serves the subscriptions of one venue (OKX): when the node's strategies have
subscribed, it reads every subscribed 1-minute EXTERNAL bar series (all instruments) and the
configured custom data types from the catalog, merges them in time order and hands them to the
node one by one — paced at `speed` x real time, or, at speed 0, each item fully handled by the
node (strategies, orders, sandbox fills) before the next, which is what makes a paper replay
give the backtest's orders.

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
from nautilus_trader.model.data import BarType, CustomData, DataType
from nautilus_trader.model.identifiers import ClientId, Venue
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from ravebear.adapters.replay import progress as replay_progress
from ravebear.adapters.replay.config import ReplayDataClientConfig
from ravebear.adapters.replay.progress import PROGRESS_KEY, ReplayProgress
from ravebear.catalog.instruments import instrument_for


def _import(path: str) -> type:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


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
        self.finished = asyncio.Event()
        self.handed = 0  # items handed to the node
        self.failure: str | None = None  # why the replay stopped before its end
        self.last_ts = 0  # ts_init of the last item handed, UNIX ns (the node's data time)
        self.first_ts = 0  # ts_init of the first item this session handed, UNIX ns
        self._fingerprint = replay_progress.fingerprint(config.instrument_ids, config.start_ns, config.end_ns, config.custom_data)
        self._resume_after: ReplayProgress | None = None
        self.on_hand: Callable[[Data, int], None] | None = None  # hook (latency benchmark): item, wall ns at hand-off

    def bind(self, kernel: Any) -> None:
        """Give the client the node's kernel (queue sizes for pacing, time-bar aggregators)."""
        self._kernel = kernel

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
            self._log.info(f"replaying {len(items):,} items ({', '.join(map(str, self._bar_types))}) at speed {self._settings.speed or 'max'}")
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
        series: list[Iterator[Data]] = []
        # one series per instrument, in the config's instrument order: items with equal times then come in the
        # order a BacktestNode gives them (its data configs' order, a stable sort), which sizing can depend on
        order = {instrument_id: index for index, instrument_id in enumerate(settings.instrument_ids)}
        for bar_type in sorted(self._bar_types, key=lambda bt: order.get(bt.instrument_id.value, len(order))):
            series.append(iter(self._catalog.bars([str(bar_type)], start=settings.start_ns, end=settings.end_ns)))
        for path in settings.custom_data:
            cls = _import(path)
            data_type = DataType(cls)
            rows = self._catalog.query(cls, start=settings.start_ns, end=settings.end_ns)
            series.append(CustomData(data_type, row.data if isinstance(row, CustomData) else row) for row in rows)
        items = list(heapq.merge(*series, key=lambda item: item.ts_init))
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
            self._handle_data(item)
            self.handed += 1
            if speed == 0:
                await self._drain()
            at_ts = at_ts + 1 if item.ts_init == last_ts else 1
            last_ts = item.ts_init
            self._store_progress(last_ts, at_ts)
        if last_ts >= 0:
            self._store_progress(last_ts, at_ts, finished=True)

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
        kernel = self._kernel
        data, risk, execution = kernel.data_engine, kernel.risk_engine, kernel.exec_engine
        idle = 0
        while idle < 2:
            busy = data.data_qsize() + data.cmd_qsize() + risk.cmd_qsize() + risk.evt_qsize() + execution.cmd_qsize() + execution.evt_qsize()
            idle = idle + 1 if busy == 0 else 0
            await asyncio.sleep(0)
