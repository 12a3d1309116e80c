"""Test actor: what a node hands its components of one instrument's order flow, as a strategy would subscribe to it.

It records the OrderFlowActor's snapshots and events (`subscribe_data` with the actor's data types), every trade and
every book update (`OrderBookDeltas`, one per `on_order_book_deltas` call). With `log` set, each trade and book update
is also written to that file as a line (unbuffered: a SIGKILL loses nothing written):
`T <trade id> <ts_init>` or `B <ts_init> <deltas in the update> <sequence of its last delta>`. With
RAVEBEAR_TEST_KILL_AT_NS set, the first trade or update at or after that time is not written: the process gets
SIGKILL mid-item, like a crash (the restarted node runs the very same run file).
"""

from __future__ import annotations

import os
import signal
import time

from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.data import OrderBookDeltas, TradeTick
from nautilus_trader.model.enums import BookType
from nautilus_trader.model.identifiers import InstrumentId

from ravebear.strategies.orderflow_actor import orderflow_data_types


class OrderFlowRecorderConfig(ActorConfig, frozen=True, kw_only=True):
    instrument_id: str
    book: bool = True  # subscribe to the L2 book deltas
    log: str | None = None  # trades and book updates, appended to


class OrderFlowRecorder(Actor):
    def __init__(self, config: OrderFlowRecorderConfig) -> None:
        super().__init__(config)
        self.published: list = []  # OrderFlowSnapshot / OrderFlowEvent, as received
        self.trades: list[TradeTick] = []
        self.updates: list[OrderBookDeltas] = []
        self._kill_at = int(os.environ.get("RAVEBEAR_TEST_KILL_AT_NS", "0"))
        self._fd = -1

    def on_start(self) -> None:
        instrument_id = InstrumentId.from_str(self.config.instrument_id)
        for data_type in orderflow_data_types(self.config.instrument_id):
            self.subscribe_data(data_type, instrument_id=instrument_id)
        self.subscribe_trade_ticks(instrument_id)
        if self.config.book:
            self.subscribe_order_book_deltas(instrument_id, BookType.L2_MBP, managed=False)
        if self.config.log:
            self._fd = os.open(self.config.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def on_stop(self) -> None:
        pass

    def on_data(self, data) -> None:  # noqa: ANN001 - any custom data
        self.published.append(data)

    def on_trade_tick(self, tick: TradeTick) -> None:
        self.trades.append(tick)
        self._log_line(tick.ts_init, f"T {tick.trade_id} {tick.ts_init}")

    def on_order_book_deltas(self, deltas: OrderBookDeltas) -> None:
        self.updates.append(deltas)
        last = deltas.deltas[-1]
        self._log_line(last.ts_init, f"B {last.ts_init} {len(deltas.deltas)} {last.sequence}")

    def _log_line(self, ts_init: int, line: str) -> None:
        if self._fd < 0:
            return
        if self._kill_at and ts_init >= self._kill_at:
            time.sleep(0.5)  # let the cache's Redis writer finish: the crash is mid-item, not mid-write
            os.kill(os.getpid(), signal.SIGKILL)
        os.write(self._fd, f"{line}\n".encode())
