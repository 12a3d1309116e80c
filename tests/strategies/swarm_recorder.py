"""Test actor: what a node's message bus carries of the swarm: each instrument's SwarmSignals (subscribed as a strategy
does) and every strategy's entry decision (SIGNAL_TOPIC)."""

from __future__ import annotations

from typing import Any

from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.identifiers import InstrumentId

from ravebear.catalog.swarm_data import swarm_data_type
from ravebear.risk.topics import SIGNAL_TOPIC


class SwarmRecorderConfig(ActorConfig, frozen=True, kw_only=True):
    instrument_ids: list[str]


class SwarmRecorder(Actor):
    def __init__(self, config: SwarmRecorderConfig) -> None:
        super().__init__(config)
        self.published: list = []  # SwarmSignals as received, every instrument in one list
        self.decisions: list = []  # SignalDecision

    def on_start(self) -> None:
        for name in self.config.instrument_ids:
            self.subscribe_data(swarm_data_type(name), instrument_id=InstrumentId.from_str(name))
        self.msgbus.subscribe(topic=SIGNAL_TOPIC, handler=self.decisions.append)

    def on_data(self, data: Any) -> None:
        self.published.append(data)
