"""A backtest with `ledger:` fills the ledger (SQLite and a real PostgreSQL) with exactly what its run did: the
LevelActor's touches with their outcomes, the strategy's signals and fills, the alerts it counted, a run record."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sqlalchemy import text

from ravebear.ledger.store import open_ledger
from tests.platform.test_backtest import REPO, ravebear

pytestmark = pytest.mark.timeout(900)


def _frame(engine, table: str) -> pd.DataFrame:
    with engine.connect() as connection:
        return pd.read_sql(text(f"select * from {table}"), connection)


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cat") / "catalog"
    assert ravebear("catalog", "import-sample", env={"RAVEBEAR_CATALOG": str(path)}).returncode == 0
    return path


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_a_backtest_records_its_touches_signals_fills_and_alerts(database: str, catalog: Path, tmp_path: Path, request) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}" if database == "sqlite" else request.getfixturevalue("postgres_server").create_database()
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["run"] |= {"tearsheet": False}
    raw["data"] = [{"instrument_id": i, "start": "2026-07-28", "end": "2026-08-01"} for i in ("BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX")]
    raw["strategies"][0]["instruments"] = {"BTC-USDT-SWAP.OKX": {}, "ETH-USDT-SWAP.OKX": {}}
    raw["ledger"] = {"spill": str(tmp_path / "spill.jsonl"), "break_bps": 10.0, "break_window_min": 60}
    path = tmp_path / "ledger.yaml"
    path.write_text(yaml.safe_dump(raw))
    done = ravebear("backtest", str(path), "--catalog", str(catalog), "--output", str(tmp_path / "runs"), env={"RAVEBEAR_LEDGER_URL": url})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "s3cret" not in done.stdout + done.stderr
    folder = Path(done.stdout.split("run folder:")[1].split()[0])
    summary = json.loads((folder / "summary.json").read_text())
    engine = open_ledger(url)

    runs = _frame(engine, "runs")
    assert len(runs) == 1 and runs["mode"][0] == "backtest" and runs["run_file"][0] == raw["run"]["name"]
    assert pd.Timestamp(runs["data_start"][0]).date().isoformat() == "2026-07-28" and pd.notna(runs["ended_at"][0])
    run_id = runs["id"][0]

    signals = _frame(engine, "signals")
    assert len(signals) == summary["entry_signals"] > 0 and (signals["run_id"] == run_id).all()
    refused = signals[~signals["accepted"].astype(bool)]["refused_by"].value_counts().to_dict()
    assert refused == summary.get("skipped_entries", {})

    fills = _frame(engine, "fills")
    run_fills = pd.read_csv(folder / "fills.csv")
    assert len(fills) == len(run_fills)
    assert sorted(fills["trade_id"]) == sorted(run_fills["trade_id"].astype(str))
    closing = fills[fills["realized_pnl"].notna()]
    positions = pd.read_csv(folder / "positions.csv")
    closed = positions[positions["ts_closed"].notna()]
    assert len(closing) == len(closed)
    assert closing["realized_pnl"].sum() == pytest.approx(closed["realized_pnl"].map(lambda v: float(str(v).split()[0])).sum(), abs=0.02)
    assert closing["r_multiple"].notna().all()

    alerts = _frame(engine, "alerts_sent")
    counted = pd.read_csv(folder / "alerts.csv")
    assert len(alerts) == counted["alerts"].sum() and set(alerts["outcome"]) == {"shadow"}

    touches = _frame(engine, "level_touches")
    assert len(touches) > 50 and set(touches["side"]) <= {"support", "resistance", "range"}
    decided = touches[touches["outcome"].notna()]
    assert len(decided) > 0.8 * len(touches)
    bars = pd.read_parquet(next((REPO / "data" / "sample").glob("okx_swap_BTC-USDT-SWAP_*.parquet")))
    closes = dict(zip((bars["ts"] + 60_000) * 1_000_000, bars["close"]))
    btc = decided[(decided["instrument_id"] == "BTC-USDT-SWAP.OKX") & decided["markout_15m_bps"].notna()].head(20)
    for touch in btc.itertuples():  # markout by hand: the close 15 minutes after the touch, signed by the level's direction
        later = closes.get(touch.ts_event_ns + 15 * 60 * 10**9)
        if later is not None:
            assert touch.markout_15m_bps == pytest.approx(touch.direction * (later - touch.touch_price) / touch.touch_price * 1e4)
    engine.dispose()
