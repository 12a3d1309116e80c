"""`BufferedPortfolioAnalyzer` equals nautilus's PortfolioAnalyzer on the positions of a real backtest (the shipped
config: BTC, ETH, SOL on the bundled sample, one NETTING account), fed the same calls in the same order."""

from __future__ import annotations

import nautilus_trader.portfolio.portfolio as portfolio_module
import pandas as pd
import pytest
from nautilus_trader.analysis import MaxDrawdown
from nautilus_trader.analysis.analyzer import PortfolioAnalyzer

from ravebear.platform.nodes.backtest import prepare_backtest_process
from ravebear.platform.nodes.fast_analyzer import BufferedPortfolioAnalyzer
from tests.platform.shipped_run import shipped_backtest


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    with shipped_backtest(tmp_path_factory.mktemp("catalog")) as engine:
        cache = engine.kernel.cache
        account = cache.accounts()[0]
        positions = cache.position_snapshots() + cache.positions()
        yield engine, account, positions


def test_backtests_build_the_buffered_analyzer(finished_run):
    engine, _, _ = finished_run
    prepare_backtest_process()
    assert portfolio_module.PortfolioAnalyzer is BufferedPortfolioAnalyzer
    assert type(engine.portfolio.analyzer) is BufferedPortfolioAnalyzer


def _fed(analyzer: PortfolioAnalyzer, account, positions) -> PortfolioAnalyzer:  # noqa: ANN001
    analyzer.register_statistic(MaxDrawdown())
    for position in sorted((p for p in positions if p.is_closed and p.realized_pnl is not None), key=lambda p: p.ts_last):
        analyzer.record_trade(position.id, position.realized_pnl, position.ts_last)  # as the Portfolio does on each close
    analyzer.calculate_statistics(account, positions)  # as the engine does after the run
    return analyzer


def test_every_series_and_statistic_equals_nautilus_own(finished_run):
    _, account, positions = finished_run
    closed = [p for p in positions if p.is_closed]
    assert len(closed) > 100  # the shipped config's 178 trades, as snapshots and closed positions
    stock = _fed(PortfolioAnalyzer(), account, positions)
    buffered = _fed(BufferedPortfolioAnalyzer(), account, positions)
    currency = account.base_currency or next(iter(account.balances_total()))
    pd.testing.assert_series_equal(buffered.realized_pnls(currency), stock.realized_pnls(currency))
    pd.testing.assert_series_equal(buffered._recorded_realized_pnl_timestamps[currency], stock._recorded_realized_pnl_timestamps[currency])
    pd.testing.assert_series_equal(buffered._realized_pnl_timestamps[currency], stock._realized_pnl_timestamps[currency])
    pd.testing.assert_series_equal(buffered.returns(), stock.returns())
    pd.testing.assert_series_equal(buffered._position_returns, stock._position_returns)
    assert buffered.get_performance_stats_pnls(currency) == stock.get_performance_stats_pnls(currency)
    assert buffered.get_performance_stats_returns() == stock.get_performance_stats_returns()
    assert buffered.get_performance_stats_general() == stock.get_performance_stats_general()
    assert buffered.get_performance_stats_pnls(currency)["PnL (total)"] == pytest.approx(sum(p.realized_pnl.as_double() for p in positions if p.realized_pnl is not None))


def test_a_reset_analyzer_is_empty_again(finished_run):
    _, account, positions = finished_run
    analyzer = _fed(BufferedPortfolioAnalyzer(), account, positions)
    analyzer.reset()
    assert analyzer.realized_pnls() is None
    assert analyzer._recorded_realized_pnls == {} and analyzer._recorded_realized_pnl_timestamps == {}
