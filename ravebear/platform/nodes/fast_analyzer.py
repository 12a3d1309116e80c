"""`BufferedPortfolioAnalyzer`: nautilus 1.231's PortfolioAnalyzer with the same results and no quadratic appends.

The stock analyzer grows its realized-PnL series with one `pd.concat` per closed trade, during the run
(`record_trade`, twice per trade: values and timestamps) and again after it (`calculate_statistics` ->
`add_positions` -> `add_trade`), and grows the position returns with a `.loc` enlargement per position. Each of
those copies everything appended before: ~2-3 ms a trade at a few thousand trades, and over half a minute of
post-run statistics in the three-instrument year. Here appends go to lists and the series are built once, when
read. The statistics it computes are nautilus's own; `tests/platform/test_fast_analyzer.py` proves every series
and statistic equal to the stock analyzer's on a real backtest's positions.

`install()` makes nautilus's Portfolio construct this class (its module looks the name up when it builds one).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from nautilus_trader.analysis.analyzer import PortfolioAnalyzer
from nautilus_trader.core.datetime import unix_nanos_to_dt
from numpy import float64

import nautilus_trader.portfolio.portfolio as _portfolio_module


class _RecordedPnls:
    """Per currency: position-id strings, realized PnLs (float) and event times, appended in order."""

    def __init__(self) -> None:
        self.rows: dict[Any, tuple[list[str], list[float], list[int | None]]] = {}
        self.built: tuple[dict[Any, pd.Series], dict[Any, pd.Series]] | None = None

    def append(self, currency: Any, position_id: str, pnl: float, ts_event: int | None) -> None:
        ids, pnls, times = self.rows.setdefault(currency, ([], [], []))
        ids.append(position_id)
        pnls.append(pnl)
        times.append(ts_event)
        self.built = None

    def series(self) -> tuple[dict[Any, pd.Series], dict[Any, pd.Series]]:
        """The stock analyzer's two dicts (currency -> PnL series, currency -> timestamp series)."""
        if self.built is None:
            self.built = (
                {c: pd.Series(p, index=pd.Index(i, dtype=object), dtype=float64) for c, (i, p, _) in self.rows.items()},
                {c: pd.Series(t, index=pd.Index(i, dtype=object), dtype=object) for c, (i, _, t) in self.rows.items()},
            )
        return self.built

    @classmethod
    def from_series(cls, pnls: dict[Any, pd.Series], timestamps: dict[Any, pd.Series]) -> _RecordedPnls:
        found = cls()
        for currency, series in pnls.items():
            times = timestamps.get(currency)
            for n, (position_id, value) in enumerate(series.items()):
                found.append(currency, position_id, value, None if times is None else times.iloc[n])
        return found


class BufferedPortfolioAnalyzer(PortfolioAnalyzer):
    """nautilus's PortfolioAnalyzer; trades recorded during the run and the post-run statistics append in O(1)."""

    @property
    def _recorded_realized_pnls(self) -> dict[Any, pd.Series]:
        return self._recorded.series()[0]

    @_recorded_realized_pnls.setter
    def _recorded_realized_pnls(self, value: dict[Any, pd.Series]) -> None:
        self._recorded = _RecordedPnls.from_series(value, {})

    @property
    def _recorded_realized_pnl_timestamps(self) -> dict[Any, pd.Series]:
        return self._recorded.series()[1]

    @_recorded_realized_pnl_timestamps.setter
    def _recorded_realized_pnl_timestamps(self, value: dict[Any, pd.Series]) -> None:
        self._recorded = _RecordedPnls.from_series(self._recorded.series()[0], value)

    def record_trade(self, position_id: Any, realized_pnl: Any, ts_event: int | None = None) -> None:
        """As the stock `record_trade` (called by the Portfolio for each closed position)."""
        self._recorded.append(realized_pnl.currency, position_id.value, realized_pnl.as_double(), None if ts_event is None else int(ts_event))

    def calculate_statistics(self, account: Any, positions: list[Any]) -> None:
        """As the stock `calculate_statistics` (+ `add_positions`), each series built once."""
        self._account_balances_starting = account.starting_balances()
        self._account_balances = account.balances_total()
        self._positions = list(positions)
        trades = _RecordedPnls()
        returns: dict[Any, float] = {}
        for position in positions:
            if position.realized_pnl is None:
                continue  # empty shell positions, as nautilus skips them
            ts_last = position.ts_last
            trades.append(position.realized_pnl.currency, position.id.value, position.realized_pnl.as_double(), None if ts_last is None else int(ts_last))
            if position.ts_closed > 0:
                when = unix_nanos_to_dt(position.ts_closed)
                returns[when] = returns.get(when, 0.0) + float(position.realized_return)
        self._realized_pnls, self._realized_pnl_timestamps = trades.series()
        position_returns = self._empty_returns()
        if returns:
            position_returns = pd.Series(list(returns.values()), index=pd.Index(list(returns.keys()), dtype=object), dtype=float64)  # object, as .loc enlargement leaves it
        self._position_returns = position_returns.sort_index()
        self._portfolio_returns = self._calculate_portfolio_returns(account)
        self._sync_returns_alias()


def install() -> None:
    """Make nautilus's Portfolio build a BufferedPortfolioAnalyzer (idempotent; nodes built afterwards get it)."""
    _portfolio_module.PortfolioAnalyzer = BufferedPortfolioAnalyzer


def uninstall() -> None:
    """Give the Portfolio nautilus's own analyzer back (the test compares both)."""
    _portfolio_module.PortfolioAnalyzer = PortfolioAnalyzer
