"""A test actor for live nodes: writes every SwarmSignal the SwarmActor publishes and every 1-minute bar of the
instrument to a JSON-lines file, subscribing the way any consumer does."""

from __future__ import annotations

import json
from typing import Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.data import Bar
from nautilus_trader.model.identifiers import InstrumentId

from ravebear.catalog.swarm_data import swarm_data_type
from ravebear.strategies.bar_types import bar_type_for

FIELDS = ("direction", "score", "confluence", "long_votes", "short_votes", "regime", "votes", "ts_event")


class SwarmLogConfig(ActorConfig, frozen=True, kw_only=True):
    """The instrument to watch and the file to append to."""

    instrument_id: str
    path: str


class SwarmLog(Actor):
    """Append each published SwarmSignal (`{"signal": {...}}`) and each 1-minute bar (`{"bar": [ts, o, h, l, c, v]}`)."""

    def __init__(self, config: SwarmLogConfig) -> None:
        super().__init__(config)
        self._file: Any = None

    def on_start(self) -> None:
        """Subscribe to the instrument's SwarmSignals and 1-minute bars."""
        self._file = open(self.config.path, "a", encoding="utf-8")  # noqa: SIM115 - open for the actor's life
        name = self.config.instrument_id
        self.subscribe_data(swarm_data_type(name), instrument_id=InstrumentId.from_str(name))
        self.subscribe_bars(bar_type_for(name, "1m"))

    def on_data(self, data: Any) -> None:
        """One line per signal."""
        self._write({"signal": {name: getattr(data, name) for name in FIELDS}})

    def on_bar(self, bar: Bar) -> None:
        """One line per bar."""
        self._write({"bar": [bar.ts_event, bar.open.as_double(), bar.high.as_double(), bar.low.as_double(), bar.close.as_double(), bar.volume.as_double()]})

    def _write(self, row: dict) -> None:
        self._file.write(json.dumps(row) + "\n")
        self._file.flush()

    def on_stop(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
