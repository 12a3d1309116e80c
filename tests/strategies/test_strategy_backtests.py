"""Every strategy of the family, multi-asset on the bundled real OKX sample, through the normal backtest path.

One shared account trades BTC, ETH and SOL; each run must leave every position protected by a
stop from its first fill to its close, never flip a position with an exit, and agree with its
own account series.
"""

import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from ravebear.catalog.store import RaveCatalog
from ravebear.platform.nodes.backtest import run_backtest
from ravebear.platform.nodes.run_file import load_run_file
from tests.conftest import sample_catalog
from tests.run_checks import check_never_without_a_stop, check_no_exit_flipped, money

REPO = Path(__file__).resolve().parents[2]
CONFIGS = {
    "untouched-wick": REPO / "config" / "backtest.yaml",
    "poor-level-reversal": REPO / "config" / "backtests" / "poor-level-reversal.yaml",
    "zone-defense": REPO / "config" / "backtests" / "zone-defense.yaml",
    "whale-cluster": REPO / "config" / "backtests" / "whale-cluster.yaml",
}
INSTRUMENTS = {"BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX", "SOL-USDT-SWAP.OKX"}


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> RaveCatalog:
    return sample_catalog(tmp_path_factory.mktemp("catalog"))


@pytest.fixture(scope="module")
def runs(catalog, tmp_path_factory) -> dict:
    return {}


def run_of(name: str, catalog: RaveCatalog, runs: dict, tmp_path_factory) -> Path:
    if name not in runs:
        config, text = load_run_file(CONFIGS[name])
        config = config.model_copy(update={"run": config.run.model_copy(update={"tearsheet": False})})
        runs[name] = run_backtest(config, text, catalog, tmp_path_factory.mktemp(name)).run.path
    return runs[name]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_strategy_trades_all_three_instruments_and_never_without_a_stop(name, catalog, runs, tmp_path_factory):
    folder = run_of(name, catalog, runs, tmp_path_factory)
    positions = pd.read_csv(folder / "positions.csv")
    closed = positions[positions["ts_closed"].notna()]
    assert set(closed["instrument_id"]) == INSTRUMENTS  # multi-asset: one strategy copy per instrument, all trading
    assert closed["strategy_id"].nunique() == 3
    assert check_never_without_a_stop(folder) == len(closed) > 10
    assert check_no_exit_flipped(folder) >= 2 * len(closed)


@pytest.mark.parametrize("name", list(CONFIGS))
def test_one_shared_account_agrees_with_every_strategys_trades(name, catalog, runs, tmp_path_factory):
    folder = run_of(name, catalog, runs, tmp_path_factory)
    summary = json.loads((folder / "summary.json").read_text())
    account = pd.read_csv(folder / "account.csv")
    positions = pd.read_csv(folder / "positions.csv")
    pnl = sum((money(v) for v in positions[positions["ts_closed"].notna()]["realized_pnl"]), Decimal(0))
    assert set(account["currency"]) == {"USDT"}
    assert Decimal(str(account["total"].iloc[-1])) == pytest.approx(Decimal(10_000) + pnl, abs=Decimal("1e-6"))
    assert summary["pnl"] == pytest.approx(float(pnl), abs=1e-6)
    guards = pd.read_csv(folder / "guard_events.csv")
    assert summary["guard_events"] == len(guards)
    assert set(guards["strategy_id"]) <= set(positions["strategy_id"])


def test_the_stop_check_catches_a_position_whose_stop_is_missing(catalog, runs, tmp_path_factory):
    folder = run_of("untouched-wick", catalog, runs, tmp_path_factory)
    broken = tmp_path_factory.mktemp("broken")
    for file in ("positions.csv", "fills.csv"):
        (broken / file).write_bytes((folder / file).read_bytes())
    orders = pd.read_csv(folder / "orders.csv")
    first_stop = orders.index[orders["type"] == "STOP_MARKET"][0]
    orders.drop(index=first_stop).to_csv(broken / "orders.csv", index=False)
    with pytest.raises(AssertionError, match="without a working stop"):
        check_never_without_a_stop(broken)
