"""The shipped config's backtest (BTC, ETH, SOL on the bundled sample), run in this process, for tests that inspect
the engine afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nautilus_trader.backtest.node import BacktestNode

from ravebear.platform.nodes.backtest import prepare_backtest_process
from ravebear.platform.nodes.composer import backtest_run_config
from ravebear.platform.nodes.run_file import load_run_file
from tests.conftest import sample_catalog

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def shipped_backtest(folder: Path) -> Iterator[Any]:
    """Run config/backtest.yaml on a sample catalog in `folder`; yield the finished BacktestEngine."""
    catalog = sample_catalog(folder)
    run_file, _ = load_run_file(REPO / "config" / "backtest.yaml")
    prepare_backtest_process()
    run_config = backtest_run_config(run_file, catalog.path.resolve())
    node = BacktestNode(configs=[run_config])
    node.build()
    try:
        node.run()
        yield node.get_engine(run_config.id)
    finally:
        node.dispose()
