"""`ravebear analyze correlations` over a ledger a real backtest filled: its figures equal scipy on the touches
read straight from SQL, and bad input is one line."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import spearmanr

from tests.platform.test_backtest import REPO, ravebear


@pytest.fixture(scope="module")
def ledger(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corr")
    assert ravebear("catalog", "import-sample", env={"RAVEBEAR_CATALOG": str(root / "catalog")}).returncode == 0
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["run"] |= {"tearsheet": False, "risk_report": False}
    raw["data"] = [{"instrument_id": i, "start": "2026-07-28", "end": "2026-08-04"} for i in ("BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX")]
    raw["strategies"][0]["instruments"] = {"BTC-USDT-SWAP.OKX": {}, "ETH-USDT-SWAP.OKX": {}}
    raw["ledger"] |= {"spill": str(root / "spill.jsonl")}
    path = root / "run.yaml"
    path.write_text(yaml.safe_dump(raw))
    db = root / "ledger.sqlite"
    done = ravebear("backtest", str(path), "--catalog", str(root / "catalog"), "--output", str(root / "runs"), env={"RAVEBEAR_LEDGER_URL": f"sqlite:///{db}"})
    assert done.returncode == 0, done.stderr[-2000:]
    return db


def test_the_report_equals_scipy_on_the_ledgers_touches(ledger: Path, tmp_path: Path) -> None:
    done = ravebear("analyze", "correlations", "--url", f"sqlite:///{ledger}", "--out", str(tmp_path / "out"), "--set", "bootstrap=200")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Market state at level touches vs their outcomes" in done.stdout and "Held vs broken, all touches" in done.stdout
    result = json.loads((tmp_path / "out" / "results.json").read_text())["analyses"]["correlations"]
    with sqlite3.connect(ledger) as connection:
        touches = pd.read_sql("select * from level_touches", connection)
    touches["held"] = touches["outcome"].map({"held": 1.0, "broken": 0.0})
    assert result["touches"] == len(touches) > 100
    assert {"score", "age_min"} <= set(result["features"]) and "funding_rate" in result["missing_features"]  # no alt data in this run
    hours = pd.to_datetime(touches["ts_event_ns"], unit="ns", utc=True).dt.hour
    touches["session"] = np.select([hours < 8, hours < 13, hours < 21], ["asia", "london", "new_york"], "off")
    checked = 0
    for cell in result["cells"]:
        rows = touches if cell["group"] == "all" else touches[touches["session"] == cell["group"]]
        pair = rows[[cell["feature"], cell["outcome"]]].dropna()
        assert cell["n"] == len(pair)
        if cell["rho"] is not None:
            rho, p = spearmanr(pair[cell["feature"]], pair[cell["outcome"]])
            assert cell["rho"] == pytest.approx(rho) and cell["p"] == pytest.approx(p)
            checked += 1
    assert checked >= 30
    assert (tmp_path / "out" / "report.html").stat().st_size > 100_000  # plotly embedded: opens offline


def test_bad_input_is_one_line(ledger: Path, tmp_path: Path) -> None:
    missing = ravebear("analyze", "correlations", "--url", f"sqlite:///{tmp_path / 'nope.sqlite'}")
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "nope.sqlite" in missing.stderr and "Traceback" not in missing.stderr
    nothing = ravebear("analyze", "correlations", "--url", f"sqlite:///{ledger}", "--run", "no-such-run")
    assert nothing.returncode == 2
    assert nothing.stderr.strip() == ("error: the ledger holds no level touches for these filters; a backtest, paper or live run with "
                                      "a ledger: section and the LevelActor fills it")
    wrong = ravebear("analyze", "correlations", "--url", f"sqlite:///{ledger}", "--set", "fdr=2")
    assert wrong.returncode == 2 and wrong.stderr.strip() == "error: --set fdr=2: fdr must be above 0 and below 1, got 2"
    together = ravebear("analyze", "correlations", "sessions")
    assert together.returncode == 2 and "runs alone" in together.stderr
