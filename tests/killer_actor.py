"""Test actor: kill -9 its own paper node at a chosen moment, after writing down what the node held.

It checks at the first bar of each new minute, when everything the previous minute caused has
been handled (replay at speed 0, synchronous sandbox): the marker file gets the last handled bar
time, the open positions and the working orders, then the process gets SIGKILL — no clean
shutdown, exactly like a crash. `entry_in_flight` kills on an entry's OrderInitialized instead,
before the venue sees it.
"""

import json
import os
import signal
import time

from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.data import Bar, BarType


class KillerConfig(ActorConfig, frozen=True, kw_only=True):
    instrument_ids: list[str]
    when: str  # holding_with_trailing | after_partial_target | flat_after_trade | entry_in_flight
    marker: str  # JSON file written just before the kill
    after_ns: int = 0  # only kill after this data time


class Killer(Actor):
    def __init__(self, config: KillerConfig) -> None:
        super().__init__(config)
        self._last_ts = None

    def on_start(self) -> None:
        for instrument_id in self.config.instrument_ids:
            self.subscribe_bars(BarType.from_str(f"{instrument_id}-1-MINUTE-LAST-EXTERNAL"))
        if self.config.when == "entry_in_flight":
            self.msgbus.subscribe("events.order.*", self._on_order_event, priority=100)

    def on_bar(self, bar: Bar) -> None:
        if self._last_ts is not None and bar.ts_event != self._last_ts and self._last_ts > self.config.after_ns and self._condition():
            self._kill(self._last_ts)
        self._last_ts = bar.ts_event

    def _on_order_event(self, event) -> None:
        if type(event).__name__ == "OrderInitialized" and any(tag.startswith("risk=") for tag in (event.tags or [])) and (self._last_ts or 0) > self.config.after_ns:
            self._kill(self._last_ts - 1)  # the minute being handled is replayed again after the restart

    def _condition(self) -> bool:
        cache = self.cache
        positions = cache.positions_open()
        orders = cache.orders_open()
        tags = [tag for order in orders for tag in (order.tags or [])]
        if self.config.when == "holding_with_trailing":
            return bool(positions) and "exit=stop" in tags and "exit=trailing" in tags
        if self.config.when == "after_partial_target":
            partial = [o for o in cache.orders() if "exit=take_profit" in (o.tags or []) and o.is_closed and o.filled_qty.as_double() > 0]
            return bool(positions) and bool(partial) and "exit=stop" in tags
        if self.config.when == "flat_after_trade":
            return not positions and len(cache.positions_closed()) >= 2
        return False

    def _kill(self, last_ts: int) -> None:
        cache = self.cache
        marker = {
            "last_ts": last_ts,
            "positions": [[p.instrument_id.value, p.strategy_id.value, p.side.name, p.quantity.as_double()] for p in cache.positions_open()],
            "open_orders": sorted(o.client_order_id.value for o in cache.orders_open()),
            "all_orders": sorted(o.client_order_id.value for o in cache.orders()),
            "balance": [a.balance_total(a.currencies()[0]).as_double() for a in cache.accounts()],
        }
        with open(self.config.marker, "w") as file:
            json.dump(marker, file)
        time.sleep(0.5)  # let the cache's Redis writer finish: the crash is "while holding", not "mid-write"
        os.kill(os.getpid(), signal.SIGKILL)
