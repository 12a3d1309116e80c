"""Whale trades and clusters of them.

A whale trade has notional >= `min_notional` in quote currency: price x size x contract_multiplier
for linear instruments, size x contract_multiplier for inverse ones (COIN-M: contracts of 100 USD).
A cluster is a run of whale trades on the same side where each comes within `cluster_window_s`
seconds of the previous one on that side; it counts as a cluster from `cluster_min_trades` trades.
Buy and sell runs are tracked apart (a sell whale does not break a buy run).
"""

from __future__ import annotations

from dataclasses import dataclass

from ravebear.strategies.microstructure.types import Trade
from ravebear.time_units import NS_PER_SECOND


@dataclass(frozen=True)
class WhaleConfig:
    """Whale-trade settings of one instrument."""

    min_notional: float = 1_000_000.0  # quote currency (USD for BTC-USDT/USD)
    contract_multiplier: float = 1.0  # base units per contract (linear) or quote per contract (inverse)
    inverse: bool = False  # True: notional = size x contract_multiplier (COIN-M)
    cluster_window_s: float = 60.0  # max gap between consecutive same-side whale trades, seconds
    cluster_min_trades: int = 2  # whale trades in a run before it is a cluster


@dataclass(frozen=True, slots=True)
class WhaleTrade:
    """A whale trade and the same-side run it extends."""

    trade: Trade
    notional: float  # quote currency
    run_trades: int  # whale trades in the run so far, this one included
    run_notional: float  # their total notional, quote currency
    run_start_ns: int
    cluster: bool  # the run has reached cluster_min_trades


class WhaleDetector:
    """Tag whale trades and their same-side clusters."""

    def __init__(self, config: WhaleConfig | None = None) -> None:
        self.config = config = config or WhaleConfig()
        self._gap_ns = int(config.cluster_window_s * NS_PER_SECOND)
        self._runs: dict[int, tuple[int, int, float, int]] = {}  # side -> (last ts, trades, notional, start ts)

    def notional(self, trade: Trade) -> float:
        """The trade's notional in quote currency."""
        config = self.config
        if config.inverse:
            return trade.size * config.contract_multiplier
        return trade.price * trade.size * config.contract_multiplier

    def update(self, trade: Trade) -> WhaleTrade | None:
        """Feed one trade; return it tagged when it is a whale, else None."""
        notional = self.notional(trade)
        if notional < self.config.min_notional:
            return None
        run = self._runs.get(trade.aggressor)
        if run is None or trade.ts_ns - run[0] > self._gap_ns:
            run = (trade.ts_ns, 1, notional, trade.ts_ns)
        else:
            run = (trade.ts_ns, run[1] + 1, run[2] + notional, run[3])
        self._runs[trade.aggressor] = run
        return WhaleTrade(trade, notional, run[1], run[2], run[3], run[1] >= self.config.cluster_min_trades)
