"""Every shipped strategy kind on a Binance spot pair (BTCUSDT, a CurrencyPair) on a cash account.

Each shipped run file is turned into a spot run (venue BINANCE, account CASH, Binance's regular
0.1 % spot fee) over one week of real Binance spot candles, and run through the normal backtest
path. A spot pair has no settlement currency, a cash account no leverage and no shorting: the
runs must trade (longs only, shorts skipped and counted as `spot_short`), pay fees in USDT, end
flat with the USDT balance equal to the start plus the PnL the fills add up to, and keep every
position under a stop.
"""

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ravebear.catalog.candles import read_ohlcv_file
from ravebear.catalog.instruments import instrument_for
from ravebear.catalog.store import RaveCatalog
from ravebear.platform.nodes.backtest import run_backtest
from ravebear.platform.nodes.run_file import load_run_file
from tests.run_checks import check_never_without_a_stop, check_no_exit_flipped, money
from tests.shared_data import SHARED

REPO = Path(__file__).resolve().parents[2]
SPOT_FILE = SHARED / "ohlcv_1m" / "binance_spot_BTCUSDT_1m_20250520_20250818.parquet"
SPOT = "BTCUSDT.BINANCE"
START, END = "2025-06-01", "2025-06-08"  # one week
CONFIGS = {
    "untouched-wick": REPO / "config" / "backtest.yaml",
    "poor-level-reversal": REPO / "config" / "backtests" / "poor-level-reversal.yaml",
    "zone-defense": REPO / "config" / "backtests" / "zone-defense.yaml",
    "whale-cluster": REPO / "config" / "backtests" / "whale-cluster.yaml",
}

pytestmark = pytest.mark.skipif(not SPOT_FILE.is_file(), reason=f"shared data missing: {SPOT_FILE}")


def spot_run_file(shipped: Path, folder: Path) -> Path:
    """The shipped run file with its venue, data and instruments moved to the Binance spot pair."""
    raw = yaml.safe_load(shipped.read_text())
    raw["run"].update(tearsheet=False, output_dir=str(folder / "runs"))
    venue = raw["venue"]
    venue.update(name="BINANCE", account_type="CASH", starting_balance="10000 USDT", maker_fee_bps=10.0, taker_fee_bps=10.0)
    venue.pop("default_leverage", None)
    raw.pop("funding", None)
    raw["data"] = [{"instrument_id": SPOT, "start": START, "end": END}]
    for strategy in raw["strategies"]:
        strategy["instruments"] = {SPOT: {}}
    path = folder / f"spot-{shipped.name}"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> RaveCatalog:
    store = RaveCatalog(tmp_path_factory.mktemp("spot-catalog"))
    frame = read_ohlcv_file(SPOT_FILE)
    first, last = (pd.Timestamp(day, tz="UTC").value // 1_000_000 for day in (START, END))
    week = frame[(frame["ts"] >= first) & (frame["ts"] < last + 60_000)]
    assert store.import_candles(week, instrument_for(SPOT)).written == len(week) > 10_000
    return store


@pytest.fixture(scope="module")
def runs(catalog, tmp_path_factory) -> dict[str, Path]:
    return {}


def run_of(name: str, catalog: RaveCatalog, runs: dict[str, Path], tmp_path_factory) -> Path:
    if name not in runs:
        folder = tmp_path_factory.mktemp(f"spot-{name}")
        config, text = load_run_file(spot_run_file(CONFIGS[name], folder))
        runs[name] = run_backtest(config, text, catalog, folder / "runs").run.path
    return runs[name]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_every_strategy_trades_a_spot_pair_long_only_under_a_stop(name, catalog, runs, tmp_path_factory):
    folder = run_of(name, catalog, runs, tmp_path_factory)
    positions = pd.read_csv(folder / "positions.csv")
    closed = positions[positions["ts_closed"].notna()]
    assert len(closed) >= 3
    assert set(closed["instrument_id"]) == {SPOT}
    assert set(closed["entry"]) == {"BUY"}  # a cash account cannot sell what it does not hold
    assert check_never_without_a_stop(folder) == len(closed)
    assert check_no_exit_flipped(folder) >= 2 * len(closed)


def check_spot_money(folder: Path, taker_fee: Decimal, base: str = "BTC") -> dict:
    """Fees in USDT at the taker rate of every fill, the run ends flat, and the USDT balance, the positions and
    the summary all equal the start plus the PnL the fills add up to; return the summary."""
    fills = pd.read_csv(folder / "fills.csv")
    positions = pd.read_csv(folder / "positions.csv")
    account = pd.read_csv(folder / "account.csv")
    summary = json.loads((folder / "summary.json").read_text())

    assert {str(c).split()[1] for c in fills["commission"]} == {"USDT"}
    fees = sum((money(c) for c in fills["commission"]), Decimal(0))
    notional = [Decimal(str(q)) * Decimal(str(p)) for q, p in zip(fills["last_qty"], fills["last_px"], strict=True)]
    assert fees == pytest.approx(sum(notional, Decimal(0)) * taker_fee, rel=Decimal("1e-6"))

    bought = sum((n for n, side in zip(notional, fills["order_side"], strict=True) if side == "BUY"), Decimal(0))
    sold = sum((n for n, side in zip(notional, fills["order_side"], strict=True) if side == "SELL"), Decimal(0))
    pnl_of_fills = sold - bought - fees
    pnl_of_positions = sum((money(v) for v in positions[positions["ts_closed"].notna()]["realized_pnl"]), Decimal(0))
    assert pnl_of_positions == pytest.approx(pnl_of_fills, abs=Decimal("1e-6"))

    last = account.groupby("currency")["total"].last()
    assert Decimal(str(last[base])) == 0  # flat at the end: everything bought was sold
    assert Decimal(str(last["USDT"])) == pytest.approx(Decimal(10_000) + pnl_of_fills, abs=Decimal("1e-6"))
    assert summary["pnl"] == pytest.approx(float(pnl_of_fills), abs=1e-6)
    assert summary["fees"] == pytest.approx(float(fees), abs=1e-6)
    assert summary["final_balance"] == pytest.approx(10_000 + float(pnl_of_fills), abs=1e-6)
    # equity while a position is held is USDT plus the BTC at its price, not the USDT left after the buy
    assert -20.0 < summary["max_drawdown_pct"] <= 0.0
    assert not (pd.read_csv(folder / "guard_events.csv")["guard"] == "kill_switch").any()
    return summary


@pytest.mark.parametrize("name", list(CONFIGS))
def test_spot_fees_are_usdt_and_the_balance_is_the_pnl_of_the_fills(name, catalog, runs, tmp_path_factory):
    folder = run_of(name, catalog, runs, tmp_path_factory)
    check_spot_money(folder, Decimal("0.001"))  # 10 bps of every fill


@pytest.mark.parametrize("name", ["untouched-wick", "whale-cluster"])
def test_short_signals_on_spot_are_skipped_and_counted(name, catalog, runs, tmp_path_factory):
    folder = run_of(name, catalog, runs, tmp_path_factory)
    guards = pd.read_csv(folder / "guard_events.csv")
    shorts = guards[guards["guard"] == "spot_short"]
    assert len(shorts) > 0 and set(shorts["action"]) == {"blocked"}
    assert all(d.startswith("short ") and d.endswith(f"{SPOT} is a spot pair on a cash account, which cannot sell what it does not hold") for d in shorts["detail"])
    assert json.loads((folder / "summary.json").read_text())["guard_events"] == len(guards)


def test_the_cli_runs_a_spot_backtest(catalog, tmp_path):
    path = spot_run_file(CONFIGS["untouched-wick"], tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "ravebear.platform.cli", "backtest", str(path), "--catalog", str(catalog.path)],
        check=False, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    (folder,) = (tmp_path / "runs").iterdir()
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["trades"] >= 3
    assert re.search(rf"^  trades +{summary['trades']}$", done.stdout, re.MULTILINE)
    assert re.search(rf"^  fees \(USDT\) +{summary['fees']:,.2f}$", done.stdout, re.MULTILINE)
    assert f"{SPOT} is a spot pair: on a cash account its short signals are skipped (spot_short), only longs trade" in done.stdout + done.stderr


def test_the_spot_cash_reserve_is_range_checked_by_name(tmp_path):
    from ravebear.platform.nodes.run_file import ConfigError

    path = spot_run_file(CONFIGS["untouched-wick"], tmp_path)
    raw = yaml.safe_load(path.read_text())
    raw["strategies"][0]["config"]["spot_cash_reserve_pct"] = 150
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=r"strategies\[0\]: config for BTCUSDT.BINANCE: spot_cash_reserve_pct: 150.0 % is outside 0 .. <100 % of the free quote balance"):
        load_run_file(path)


def test_a_paper_replay_trades_an_okx_spot_pair_added_from_okx_metadata(tmp_path):
    """The two halves of the issue together: DOGE-style instrument from OKX's own metadata, traded on spot in a paper node."""
    from tests.okx_candle_server import OkxCandleServer, load_candles

    catalog = tmp_path / "cat"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cli = [sys.executable, "-m", "ravebear.platform.cli"]
    with OkxCandleServer() as okx:
        added = subprocess.run([*cli, "catalog", "instrument", "add", "OKX:BTC-USDT", "--url", okx.url, "--catalog", str(catalog)], check=False, capture_output=True, text=True, env=env, timeout=120)
    assert added.returncode == 0, added.stderr
    # the real OKX BTC candles as the spot pair's (volume in BTC: a pair counts base units)
    load_candles().drop(columns=["volume_contracts"]).to_parquet(tmp_path / "btc.parquet")
    imported = subprocess.run([*cli, "catalog", "import", str(tmp_path / "btc.parquet"), "-i", "BTC-USDT.OKX", "--catalog", str(catalog)], check=False, capture_output=True, text=True, env=env, timeout=120)
    assert imported.returncode == 0, imported.stderr

    raw = yaml.safe_load(CONFIGS["untouched-wick"].read_text())
    raw["run"].update(tearsheet=False, output_dir=str(tmp_path / "runs"))
    raw["venue"].update(account_type="CASH", maker_fee_bps=8.0, taker_fee_bps=10.0)  # OKX Lv1 spot
    raw["data"] = [{"instrument_id": "BTC-USDT.OKX", "start": "2026-07-28", "end": "2026-08-04"}]
    raw["strategies"][0]["instruments"] = {"BTC-USDT.OKX": {}}
    (tmp_path / "paper.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    done = subprocess.run(
        [*cli, "paper", str(tmp_path / "paper.yaml"), "--speed", "0", "--no-dashboard", "--timeout", "300", "--catalog", str(catalog)],
        check=False, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    (folder,) = (tmp_path / "runs").iterdir()
    positions = pd.read_csv(folder / "positions.csv")
    closed = positions[positions["ts_closed"].notna()]
    assert len(closed) >= 3 and set(closed["entry"]) == {"BUY"}
    summary = check_spot_money(folder, Decimal("0.001"))
    assert summary["trades"] == len(closed)
