"""Test actor: write down every 1-minute bar the node handles, and kill -9 the node at a chosen data time.

Each bar goes to `log` as "instrument_id ts_init" (unbuffered, so a SIGKILL loses nothing written).
With RAVEBEAR_TEST_KILL_AT_NS set, the first bar at or after that time is not written down: the
orders the node closed so far go to `marker`, then the process gets SIGKILL mid-item, like a crash.
The kill time comes from the environment so the restarted node runs the very same run file.
"""

import json
import os
import signal
import time

from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.data import Bar, BarType


class ReplayLogConfig(ActorConfig, frozen=True, kw_only=True):
    instrument_ids: list[str]
    log: str  # bar log, appended to
    marker: str  # JSON written just before the kill


class ReplayLog(Actor):
    def __init__(self, config: ReplayLogConfig) -> None:
        super().__init__(config)
        self._kill_at = int(os.environ.get("RAVEBEAR_TEST_KILL_AT_NS", "0"))
        self._fd = -1

    def on_start(self) -> None:
        self._fd = os.open(self.config.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        for instrument_id in self.config.instrument_ids:
            self.subscribe_bars(BarType.from_str(f"{instrument_id}-1-MINUTE-LAST-EXTERNAL"))

    def on_bar(self, bar: Bar) -> None:
        if self._kill_at and bar.ts_init >= self._kill_at:
            closed = [o.client_order_id.value for o in self.cache.orders_closed()]
            with open(self.config.marker, "w") as file:
                json.dump({"closed_orders": closed}, file)
            time.sleep(0.5)  # let the cache's Redis writer finish: the crash is mid-item, not mid-write
            os.kill(os.getpid(), signal.SIGKILL)
        os.write(self._fd, f"{bar.bar_type.instrument_id} {bar.ts_init}\n".encode())
