"""Run one adapter data client outside a node: real MessageBus, Cache and LiveClock, published data captured."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.data.messages import SubscribeData
from nautilus_trader.model.data import CustomData, DataType
from nautilus_trader.model.identifiers import ClientId, TraderId


@dataclass
class ClientRun:
    """What a client published and logged during one run."""

    published: list[CustomData] = field(default_factory=list)
    logs: list[tuple[str, str]] = field(default_factory=list)  # (level, message) through the client's logger
    client: Any = None
    elapsed_s: float = 0.0

    @property
    def records(self) -> list[Any]:
        """Return the published records (unwrapped)."""
        return [item.data for item in self.published]

    def of(self, cls: type) -> list[Any]:
        """Return the published records of one class."""
        return [r for r in self.records if type(r) is cls]

    def errors(self) -> list[str]:
        """Return the messages logged at ERROR."""
        return [message for level, message in self.logs if level == "error"]

    def warnings(self) -> list[str]:
        """Return the messages logged at WARNING."""
        return [message for level, message in self.logs if level == "warning"]


async def run_client(
    factory: Any,
    name: str,
    config: Any,
    data_types: tuple[type, ...],
    until: Callable[[ClientRun], bool],
    timeout_s: float = 5.0,
    during: Callable[[ClientRun], None] | None = None,
) -> ClientRun:
    """Create the client with its factory, connect, subscribe to `data_types`, run until `until(run)` or the timeout."""
    loop = asyncio.get_running_loop()
    clock = LiveClock()
    msgbus = MessageBus(trader_id=TraderId("TESTER-001"), clock=clock)
    run = ClientRun()
    msgbus.register(endpoint="DataEngine.process", handler=run.published.append)
    client = factory.create(loop, name, config, msgbus, Cache(), clock)
    run.client = client
    client.log.listeners.append(lambda level, message: run.logs.append((level, message)))
    started = time.monotonic()
    client.connect()
    for cls in data_types:
        client.subscribe(
            SubscribeData(
                data_type=DataType(cls), instrument_id=None, client_id=ClientId(name), venue=None,
                command_id=UUID4(), ts_init=clock.timestamp_ns(),
            ),
        )  # fmt: skip
    try:
        while time.monotonic() - started < timeout_s and not until(run):
            if during is not None:
                during(run)
            await asyncio.sleep(0.02)
    finally:
        run.elapsed_s = time.monotonic() - started
        await client._disconnect()
        await client.cancel_pending_tasks(timeout_secs=1.0)
    return run
