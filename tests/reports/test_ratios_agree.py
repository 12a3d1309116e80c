"""One Sharpe and one Sortino per run: the terminal, summary.json, the risk report and the tearsheet show the same
figures, and they are what this test computes by hand from the run folder's account.csv.

The definition (docs/NOTES.md): daily returns of the account balance over UTC days (a day's close is its last
balance, a day without events keeps the previous close, the first day starts from the starting balance), from
the run's first to its last day; annualised with sqrt(365), risk-free rate 0; Sortino's downside deviation is
the root mean square of min(return, 0) over all days. Profit factor: gross profit over gross loss of the closed
trades' PnL.
"""

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def ravebear(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ravebear.platform.cli", *args], check=False, capture_output=True, text=True, cwd=REPO, env={**os.environ, **env}, timeout=600)


@pytest.fixture(scope="module")
def backtest(tmp_path_factory) -> dict:
    """The default backtest on ten days of the sample, with its tearsheet and risk report, through the CLI."""
    root = tmp_path_factory.mktemp("ratios")
    env = {"RAVEBEAR_CATALOG": str(root / "catalog")}
    assert ravebear("catalog", "import-sample", "--if-empty", env=env).returncode == 0
    config = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    for entry in config["data"]:
        entry["start"], entry["end"] = "2026-07-27", "2026-08-06"
    config["run"]["tearsheet"] = config["run"]["risk_report"] = True
    (root / "backtest.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    done = ravebear("backtest", str(root / "backtest.yaml"), "--output", str(root / "runs"), env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    folder = Path(done.stdout.split("run folder:")[1].split()[0])
    return {"stdout": done.stdout, "folder": folder}


def by_hand(folder: Path) -> tuple[float, float, float]:
    summary = json.loads((folder / "summary.json").read_text())
    account = pd.read_csv(folder / "account.csv")
    stamps = pd.to_datetime(account["ts"], utc=True)
    fills = pd.to_datetime(pd.read_csv(folder / "fills.csv")["ts_event"], utc=True)
    first = min(stamps.min(), fills.min(), pd.Timestamp(summary["start"]))
    last = max(stamps.max(), fills.max(), pd.Timestamp(summary["end"]))
    returns, previous = [], summary["starting_balance"]
    for day in pd.date_range(first.floor("D"), last.floor("D"), freq="D"):
        same_day = account["total"][stamps.dt.floor("D") == day]
        close = float(same_day.iloc[-1]) if len(same_day) else previous
        returns.append(close / previous - 1)
        previous = close
    mean = sum(returns) / len(returns)
    std = math.sqrt(sum((r - mean) ** 2 for r in returns) / (len(returns) - 1))
    downside = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    positions = pd.read_csv(folder / "positions.csv")
    pnls = [float(str(v).split()[0]) for v in positions.loc[positions["ts_closed"].notna(), "realized_pnl"]]
    profit_factor = sum(p for p in pnls if p > 0) / -sum(p for p in pnls if p <= 0)
    return mean / std * math.sqrt(365), mean / downside * math.sqrt(365), profit_factor


def test_sharpe_sortino_and_profit_factor_are_one_figure_everywhere(backtest):
    folder = backtest["folder"]
    sharpe, sortino, profit_factor = by_hand(folder)
    summary = json.loads((folder / "summary.json").read_text())
    report = json.loads((folder / "risk_report.json").read_text())["summary"]
    assert summary["sharpe"] == pytest.approx(sharpe, rel=1e-9) and summary["sortino"] == pytest.approx(sortino, rel=1e-9)
    assert (report["sharpe"], report["sortino"]) == (summary["sharpe"], summary["sortino"])
    assert summary["profit_factor"] == pytest.approx(profit_factor) and report["profit_factor"] == pytest.approx(profit_factor)

    terminal = dict(re.findall(r"^  (\S.*?)\s{2,}(\S+)$", backtest["stdout"], flags=re.MULTILINE))
    assert terminal["Sharpe (daily, 365)"] == f"{sharpe:,.2f}" and terminal["Sortino (daily, 365)"] == f"{sortino:,.2f}"
    assert terminal["profit factor"] == f"{profit_factor:,.2f}"

    page = (folder / "risk_report.html").read_text()
    assert f"{sharpe:,.2f} / {sortino:,.2f}" in page  # the Sharpe / Sortino card

    tearsheet = (folder / "report.html").read_text()
    assert "Sharpe Ratio (252 days)" not in tearsheet and "Sortino Ratio (252 days)" not in tearsheet
    names = re.search(r'"values":\[\[([^\]]*Sharpe Ratio \(daily balance, 365 days\)[^\]]*)\],\[([^\]]*)\]', tearsheet)
    assert names, "the tearsheet's statistics table"
    labels = json.loads(f"[{names.group(1)}]")
    values = json.loads(f"[{names.group(2)}]")
    table = dict(zip(labels, values, strict=True))
    assert float(table["Sharpe Ratio (daily balance, 365 days)"]) == pytest.approx(sharpe, abs=1e-4)
    assert float(table["Sortino Ratio (daily balance, 365 days)"]) == pytest.approx(sortino, abs=1e-4)
    assert float(table["Profit Factor (closed trades' PnL)"]) == pytest.approx(profit_factor, abs=1e-4)
    assert "Profit Factor" not in table  # nautilus's own, of daily returns, is left out
