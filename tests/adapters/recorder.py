"""An actor that records the custom data (and, optionally, bars) it receives (importable by node configs as `tests.adapters.recorder`)."""

from __future__ import annotations

import importlib
import time
from typing import Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.common.config import ActorConfig
from nautilus_trader.core.data import Data
from nautilus_trader.model.data import Bar, BarType, DataType
from nautilus_trader.model.identifiers import ClientId

RECEIVED: dict[str, list[Any]] = {}  # recorder key -> data received, in order (one process)


def import_class(path: str) -> type:
    """Import `module:Class`."""
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


class RecorderConfig(ActorConfig, frozen=True):
    """Which data types to subscribe to (`module:Class`), from which client, and where to record."""

    data_types: list[str]
    client_id: str
    client_ids: dict[str, str] = {}  # data type path -> client id, where not `client_id`
    key: str = "default"
    bar_types: list[str] = []  # bar types to subscribe to as well; bars are recorded in the same list, in arrival order


class Recorder(Actor):
    """Subscribe to custom data types through one client and record everything that arrives."""

    def __init__(self, config: RecorderConfig) -> None:
        super().__init__(config)
        self.received: list[Data] = RECEIVED.setdefault(config.key, [])
        self.arrivals: list[float] = []  # time.monotonic() of each arrival

    def on_start(self) -> None:
        for path in self.config.data_types:
            client_id = self.config.client_ids.get(path, self.config.client_id)
            self.subscribe_data(DataType(import_class(path)), client_id=ClientId(client_id))
        for bar_type in self.config.bar_types:
            self.subscribe_bars(BarType.from_str(bar_type))

    def on_data(self, data: Data) -> None:
        self.received.append(data)
        self.arrivals.append(time.monotonic())

    def on_bar(self, bar: Bar) -> None:
        self.received.append(bar)
        self.arrivals.append(time.monotonic())
