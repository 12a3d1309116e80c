"""A paper node cannot charge the run file's fee rates (nautilus's sandbox charges the instrument's): it says so."""

import os
import subprocess
import sys
from pathlib import Path

import yaml

from ravebear.catalog.instruments import instrument_for
from ravebear.catalog.store import RaveCatalog

REPO = Path(__file__).resolve().parents[2]


def paper(tmp_path: Path, taker_fee_bps: float) -> subprocess.CompletedProcess:
    catalog = RaveCatalog(tmp_path / "catalog")
    sample = next((REPO / "data" / "sample").glob("okx_swap_BTC-USDT-SWAP_*.parquet"))
    catalog.import_file(sample, instrument_for("BTC-USDT-SWAP"))
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["run"].update(name="fees", tearsheet=False, risk_report=False, log_level="ERROR")
    raw["venue"]["taker_fee_bps"] = taker_fee_bps
    raw["data"] = [{"instrument_id": "BTC-USDT-SWAP.OKX", "start": "2026-07-27T12:00", "end": "2026-07-27T13:00"}]
    raw["strategies"][0]["instruments"] = {"BTC-USDT-SWAP.OKX": {}}
    raw["node"] = {"dashboard": False}
    config = tmp_path / "fees.yaml"
    config.write_text(yaml.safe_dump(raw))
    return subprocess.run(
        [sys.executable, "-m", "ravebear.platform.cli", "paper", str(config), "--catalog", str(catalog.path), "--output", str(tmp_path / "runs"), "--no-dashboard"],
        capture_output=True, text=True, cwd=REPO, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip


def test_run_file_fees_other_than_the_instruments_are_named(tmp_path):
    result = paper(tmp_path, 4.0)
    assert result.returncode == 0, result.stderr[-2000:]
    expected_rate = float(instrument_for("BTC-USDT-SWAP").taker_fee) * 10_000
    assert (
        f"warning: the paper sandbox charges each instrument's own fee rates, not the run file's: "
        f"BTC-USDT-SWAP.OKX taker {expected_rate:g} bps (venue.taker_fee_bps 4)"
    ) in result.stderr


def test_the_instruments_own_fees_give_no_warning(tmp_path):
    result = paper(tmp_path, float(instrument_for("BTC-USDT-SWAP").taker_fee) * 10_000)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "fee rates" not in result.stderr
