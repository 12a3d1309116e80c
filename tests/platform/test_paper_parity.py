"""Backtest node and replay paper node, same run file, same real bars: the same orders, in the same order.

Compared per strategy, in each strategy's own submission order: side, type, quantity and
trigger price of every order, and the fill price of every fill. The run file's fill model is
used unchanged (half of the fills slip a tick, seed 42): the sandbox draws the same random
numbers for the same fills (docs/NOTES.md, "fill model draws").
"""

from pathlib import Path

import pandas as pd
import pytest
import yaml

from ravebear.platform.nodes.backtest import run_backtest
from ravebear.platform.nodes.run_file import parse_run_file
from ravebear.platform.nodes.trading import build_trading_node, run_trading_node
from tests.conftest import sample_catalog

REPO = Path(__file__).resolve().parents[2]
COLUMNS = ["side", "type", "quantity", "trigger_price", "status", "avg_px"]


def order_sequences(folder: Path) -> dict[str, pd.DataFrame]:
    """Each strategy's orders by its own submission counter (the last part of the client order id)."""
    orders = pd.read_csv(folder / "orders.csv")
    orders["seq"] = orders["client_order_id"].str.rsplit("-", n=1).str[1].astype(int)
    return {strategy: group.sort_values("seq")[COLUMNS].reset_index(drop=True) for strategy, group in orders.groupby("strategy_id")}


def parity_run_file() -> str:
    """The default run file over six days (its fill model unchanged), with partial targets and a break-even move;
    scripts/snapshot_runs.sh records this run too."""
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["run"].update(name="parity", tearsheet=False, risk_report=False, log_level="ERROR")
    for data in raw["data"]:
        data.update(start="2026-07-27", end="2026-08-02")
    raw["strategies"][0]["config"]["exits"].update(take_profits=[{"r": 1.0, "fraction": 0.5}, {"r": 4.0}], breakeven_after_r=1.2)
    raw["node"] = {"dashboard": False, "stop_action": "flatten"}
    return yaml.safe_dump(raw)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("parity")
    catalog = sample_catalog(root / "catalog")
    text = parity_run_file()
    config = parse_run_file(text, "parity.yaml")
    backtest = run_backtest(config, text, catalog, root / "runs").run.path
    handles = build_trading_node(config, "paper", catalog.path, log_level="ERROR")
    paper = run_trading_node(handles, config, text, root / "runs").run_dir
    return backtest, paper


def test_paper_replay_places_the_backtests_orders(runs):
    backtest, paper = order_sequences(runs[0]), order_sequences(runs[1])
    assert set(backtest) == set(paper) and len(backtest) == 3
    total = 0
    for strategy, expected in backtest.items():
        got = paper[strategy]
        total += len(expected)
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, obj=strategy)
    assert total >= 100  # brackets, partial targets, trailing exits, break-even moves over six days x 3 instruments


def test_both_end_with_the_same_balance(runs):
    balances = [pd.read_csv(folder / "account.csv")["total"].iloc[-1] for folder in runs]
    assert balances[0] == pytest.approx(balances[1], abs=1e-8)
