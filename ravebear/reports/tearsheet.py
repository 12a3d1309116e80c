"""nautilus's HTML tearsheet of a backtest, with RaveBear's Sharpe, Sortino and profit factor in place of nautilus's.

nautilus's analyzer computes Sharpe and Sortino over 252 days a year from its own returns series and
a profit factor of daily returns; RaveBear's (`ravebear.reports.equity`, `stats`) use the account
balance's daily returns over 365 days and the PnL of closed trades. So that no page shows two
different figures under one name, the tearsheet gets RaveBear's figures under names that say how
they are computed, and nautilus's three statistics are left out.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from nautilus_trader.analysis import ProfitFactor, SharpeRatio, SortinoRatio
from nautilus_trader.analysis.statistic import PortfolioStatistic

if TYPE_CHECKING:
    from nautilus_trader.backtest.engine import BacktestEngine

SHARPE_NAME = "Sharpe Ratio (daily balance, 365 days)"
SORTINO_NAME = "Sortino Ratio (daily balance, 365 days)"
PROFIT_FACTOR_NAME = "Profit Factor (closed trades' PnL)"


class _RunFigure(PortfolioStatistic):
    """A figure RaveBear already computed, shown among the returns (or PnL) statistics under its own name."""

    def __init__(self, name: str, value: float | None, from_pnls: bool = False) -> None:
        self._name, self._value, self._from_pnls = name, value, from_pnls

    @property
    def name(self) -> str:
        return self._name

    def calculate_from_returns(self, returns: Any) -> float | None:
        return None if self._from_pnls else self._value

    def calculate_from_realized_pnls(self, realized_pnls: Any) -> float | None:
        return self._value if self._from_pnls else None


def write_tearsheet(engine: BacktestEngine, path: Path, summary: dict[str, Any]) -> None:
    """Write nautilus's tearsheet of `engine` to `path`, with the run summary's Sharpe, Sortino and profit factor."""
    from nautilus_trader.analysis import create_tearsheet

    analyzer = engine.portfolio.analyzer
    for statistic in (SharpeRatio(), SortinoRatio(), ProfitFactor()):
        analyzer.deregister_statistic(statistic)
    analyzer.register_statistic(_RunFigure(SHARPE_NAME, summary.get("sharpe")))
    analyzer.register_statistic(_RunFigure(SORTINO_NAME, summary.get("sortino")))
    analyzer.register_statistic(_RunFigure(PROFIT_FACTOR_NAME, summary.get("profit_factor"), from_pnls=True))
    create_tearsheet(engine, output_path=str(path))
