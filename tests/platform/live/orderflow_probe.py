"""A test actor for live nodes: writes every `OrderFlowSnapshot` the OrderFlowActor publishes to a JSON-lines file.

It subscribes the way any consumer does (`orderflow_data_types`), so what it writes is what the node published.
"""

from __future__ import annotations

import json

from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.identifiers import InstrumentId

from ravebear.catalog.orderflow.events import OrderFlowSnapshot
from ravebear.strategies.orderflow_actor import orderflow_data_types

FIELDS = ("interval_start", "trades", "buy_size", "sell_size", "last_price", "has_book", "obi", "weighted_obi", "spread_bps", "bid_depth", "ask_depth",
          "ts_event", "ts_init")  # fmt: skip


class SnapshotLogConfig(ActorConfig, frozen=True, kw_only=True):
    """The instrument to watch and the file to append to."""

    instrument_id: str
    path: str


class SnapshotLog(Actor):
    """Append each published snapshot, with the wall time it was received, to `path`."""

    def __init__(self, config: SnapshotLogConfig) -> None:
        super().__init__(config)
        self._file = None

    def on_start(self) -> None:
        """Subscribe to the instrument's snapshots."""
        self._file = open(self.config.path, "a", encoding="utf-8")  # noqa: SIM115 - open for the actor's life
        snapshots, _ = orderflow_data_types(self.config.instrument_id)
        self.subscribe_data(snapshots, instrument_id=InstrumentId.from_str(self.config.instrument_id))

    def on_data(self, data: OrderFlowSnapshot) -> None:
        """Write one line per snapshot."""
        row = {name: getattr(data, name) for name in FIELDS}
        row["received_ns"] = self.clock.timestamp_ns()
        self._file.write(json.dumps(row) + "\n")
        self._file.flush()

    def on_stop(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
