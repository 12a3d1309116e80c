"""End to end: the CLI imports the sample, runs the default backtest, and the run folder agrees with the summary."""

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]


def ravebear(*args: str, env: dict[str, str] | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ravebear.platform.cli", *args],
        capture_output=True, text=True, cwd=cwd, env={**os.environ, **(env or {})}, timeout=600,
    )  # fmt: skip


def money(text: str) -> Decimal:
    return Decimal(str(text).split()[0])


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("bt")
    env = {"RAVEBEAR_CATALOG": str(root / "catalog")}
    seeded = ravebear("catalog", "import-sample", "--if-empty", env=env)
    assert seeded.returncode == 0, seeded.stderr
    done = ravebear("backtest", "config/backtest.yaml", "--output", str(root / "runs"), env=env)
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.split("run folder:")[1].split()[0])
    return {"stdout": done.stdout, "folder": folder, "summary": json.loads((folder / "summary.json").read_text())}


def test_default_backtest_trades_the_sample_and_prints_its_summary(run):
    summary = run["summary"]
    assert summary["bars"] == 26_408 + 26_406 + 26_407  # every bundled BTC, ETH and SOL bar was replayed
    assert summary["trades"] >= 20
    assert summary["fills"] >= 2 * summary["trades"]  # each trade: one entry, one or more exits
    for label in ("trades", "win rate", "PnL (USDT)", "return", "max drawdown", "Sharpe", "Sortino", "profit factor", "expectancy", "fees"):
        assert label in run["stdout"]
    assert f"{summary['trades']:>14}" in run["stdout"]
    assert f"risk report: {run['folder'] / 'risk_report.html'}" in run["stdout"]
    assert f"tearsheet:   {run['folder'] / 'report.html'}" in run["stdout"]


def test_summary_agrees_with_the_run_folder(run):
    folder, summary = run["folder"], run["summary"]
    positions = pd.read_csv(folder / "positions.csv")
    fills = pd.read_csv(folder / "fills.csv")
    account = pd.read_csv(folder / "account.csv")
    closed = positions[positions["ts_closed"].notna()]
    pnl = sum(money(v) for v in closed["realized_pnl"])
    assert float(pnl) == pytest.approx(summary["pnl"], abs=1e-6)
    assert len(closed) == summary["trades"]
    assert sum(money(v) > 0 for v in closed["realized_pnl"]) / len(closed) == pytest.approx(summary["win_rate"], abs=1e-4)
    assert float(sum(money(v) for v in fills["commission"])) == pytest.approx(summary["fees"], abs=1e-6)
    # the balance series starts at the starting balance and ends at start + realized PnL (flat at the end)
    assert Decimal(str(account["total"].iloc[0])) == Decimal("10000")
    assert account["total"].iloc[-1] == pytest.approx(10_000 + float(pnl), abs=1e-6)
    assert summary["final_balance"] == pytest.approx(account["total"].iloc[-1], abs=1e-6)
    assert summary["return_pct"] == pytest.approx(float(pnl) / 100, abs=1e-3)
    peak = account["total"].cummax()
    assert summary["max_drawdown_pct"] == pytest.approx(((account["total"] - peak) / peak).min() * 100, abs=1e-3)
    assert (folder / "config.yaml").read_text() == (REPO / "config" / "backtest.yaml").read_text()
    assert (folder / "orders.csv").exists() and (folder / "report.html").stat().st_size > 100_000


def test_every_entry_had_its_stop_from_the_start(run):
    orders = pd.read_csv(run["folder"] / "orders.csv")
    entries = orders[(orders["type"] == "MARKET") & orders["order_list_id"].notna() & (orders["status"] == "FILLED")]
    stops = orders[orders["type"] == "STOP_MARKET"]
    assert len(entries) == run["summary"]["trades"]
    # bracket: each entry's order list holds a stop beyond the fill price, submitted with the entry
    assert set(entries["order_list_id"]) <= set(stops["order_list_id"])
    fills = pd.read_csv(run["folder"] / "fills.csv").drop_duplicates("client_order_id").set_index("client_order_id")
    for _, entry in entries.iterrows():
        stop = stops[stops["order_list_id"] == entry["order_list_id"]].iloc[0]
        fill_price = float(fills.loc[entry["client_order_id"], "last_px"])
        if entry["side"] == "BUY":
            assert float(stop["trigger_price"]) < fill_price and stop["side"] == "SELL"
        else:
            assert float(stop["trigger_price"]) > fill_price and stop["side"] == "BUY"
        # submitted for the whole entry; shrunk only with the position when another exit filled part of it
        assert stop["quantity"] <= entry["quantity"] and stop["is_reduce_only"]
