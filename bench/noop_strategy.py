"""A strategy that subscribes to bars and does nothing: the engine's throughput floor.

Lives in its own module so nautilus can import it as `bench.noop_strategy:NoopStrategy`
(run from the repo root, or with the repo root on PYTHONPATH).
"""

from __future__ import annotations

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy


class NoopStrategyConfig(StrategyConfig, frozen=True, kw_only=True):
    """The bars a no-op strategy subscribes to."""

    instrument_id: InstrumentId
    bar_type: BarType


class NoopStrategy(Strategy):
    """Subscribe to the configured bars and do nothing with them."""

    def __init__(self, config: NoopStrategyConfig) -> None:
        super().__init__(config)

    def on_start(self) -> None:
        """Subscribe to the configured bars."""
        self.subscribe_bars(self.config.bar_type)

    def on_bar(self, bar: Bar) -> None:
        """Do nothing."""

    def on_stop(self) -> None:
        """Do nothing (defined so nautilus does not warn about a missing on_stop)."""
