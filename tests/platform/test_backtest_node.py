"""`RaveBacktestNode` on the shipped config (BTC, ETH, SOL on the bundled sample): during the engine loop the loaded bars
are frozen out of the cyclic garbage collector, afterwards nothing stays frozen, and the run's orders, fills and
positions equal those of nautilus's own BacktestNode."""

from __future__ import annotations

import gc
from pathlib import Path

from nautilus_trader.backtest.node import BacktestNode

from ravebear.platform.nodes.backtest import prepare_backtest_process
from ravebear.platform.nodes.backtest_node import RaveBacktestNode
from ravebear.platform.nodes.composer import backtest_run_config
from ravebear.platform.nodes.run_file import load_run_file
from tests.conftest import sample_catalog

REPO = Path(__file__).resolve().parents[2]
FROZEN_AT_START: list[int] = []
BASELINE = 1_000  # objects Python itself may hold frozen; a run's data is ~100x more


def _run(node_class: type, catalog_path: Path):  # noqa: ANN202
    run_file, _ = load_run_file(REPO / "config" / "backtest.yaml")
    prepare_backtest_process()
    run_config = backtest_run_config(run_file, catalog_path.resolve())
    node = node_class(configs=[run_config])
    node.build()
    engine = node.get_engine(run_config.id)
    strategy = engine.trader.strategies()[0]
    original = strategy.on_start

    def on_start() -> None:  # the engine starts its components after the node loaded the data
        FROZEN_AT_START.append(gc.get_freeze_count())
        original()

    strategy.on_start = on_start
    [result] = node.run()
    reports = (engine.trader.generate_order_fills_report(), engine.trader.generate_positions_report())
    node.dispose()
    return result, reports


def test_the_loaded_bars_are_frozen_for_the_run_and_the_run_is_nautilus_own(tmp_path):
    catalog = sample_catalog(tmp_path / "catalog")
    FROZEN_AT_START.clear()
    result, (fills, positions) = _run(RaveBacktestNode, catalog.path)
    assert FROZEN_AT_START and FROZEN_AT_START[0] > result.iterations > 70_000  # every loaded bar, and more, frozen
    # given back after the run (the interpreter keeps a few hundred static objects in the permanent generation:
    # 375 at the start of Python 3.12.1, and after some first imports)
    assert gc.get_freeze_count() < BASELINE
    FROZEN_AT_START.clear()
    stock_result, (stock_fills, stock_positions) = _run(BacktestNode, catalog.path)
    assert len(FROZEN_AT_START) == 1 and FROZEN_AT_START[0] < BASELINE  # nautilus's own node freezes nothing
    assert result.iterations == stock_result.iterations
    # every column but the random event UUIDs (init_id; a closed NETTING cycle's snapshot id carries a UUID suffix)
    assert len(fills) > 300 and fills.drop(columns=["init_id"]).equals(stock_fills.drop(columns=["init_id"]))
    assert len(positions) > 100
    assert _by_time(positions).equals(_by_time(stock_positions))


def _by_time(positions):  # noqa: ANN001, ANN202
    return positions.sort_values(["instrument_id", "ts_opened", "ts_closed"]).reset_index(drop=True)
