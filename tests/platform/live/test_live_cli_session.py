"""`ravebear venue okx-sim --session`: what a user sees with a recorded session, and with a wrong one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

from ravebear.simulators.okx_venue.runner import free_port
from tests.platform.live.harness import KEYS_ENV, REPO
from tests.shared_data import SHARED

USDM = SHARED / "trades_book" / "binance_usdm_BTCUSDT_20240808T2354Z_20240808T2359Z"


def _okx_sim(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **KEYS_ENV, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "ravebear.platform.cli", "venue", "okx-sim", "--port", "0", *args],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def test_a_wrong_session_is_one_line_and_exit_2(tmp_path):
    done = _okx_sim(tmp_path, "--session", str(tmp_path / "binance_usdm_BTCUSDT_none"))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == (
        f"error: recorded session {tmp_path / 'binance_usdm_BTCUSDT_none'}: missing binance_usdm_BTCUSDT_none_trades.parquet, "
        "binance_usdm_BTCUSDT_none_depthdiff.parquet, binance_usdm_BTCUSDT_none_depthsnap.parquet (give a capture prefix such as "
        "binance_usdm_BTCUSDT_20240808T2354Z_20240808T2359Z, or one of its _trades/_depthdiff/_depthsnap files)"
    )
    done = _okx_sim(tmp_path, "--session", str(USDM), "--instruments", "ETH-USDT-SWAP", "--session-instrument", "BTC-USDT-SWAP")
    assert (done.returncode, done.stderr.strip()) == (2, "error: --session-instrument BTC-USDT-SWAP is not one of --instruments (ETH-USDT-SWAP)")
    done = _okx_sim(tmp_path, "--session", str(USDM), "--book-depth", "401")
    assert done.returncode == 2 and "401 is not in the range 1<=x<=400" in done.stderr


def test_okx_sim_plays_a_recorded_session(tmp_path):
    port = free_port()
    env = {**os.environ, **KEYS_ENV, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "ravebear.platform.cli", "venue", "okx-sim", "--port", str(port), "--instruments", "BTC-USDT-SWAP",
                             "--start", "2026-07-27 12:20", "--end", "2026-07-27 13:20", "--step", "1", "--start-now",
                             "--session", f"{USDM}_trades.parquet", "--book-depth", "25"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        banner = [proc.stdout.readline() for _ in range(2)]
        assert banner[1].strip() == (
            "recorded session on BTC-USDT-SWAP: binance_usdm_BTCUSDT_20240808T2354Z_20240808T2359Z, 21,308 trades, 345 s at 1.0x, books 25 levels (loops)"
        )
        time.sleep(2.0)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/sim/status", timeout=5) as response:
            session = json.loads(response.read())["session"]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 0
    assert session["instrument"] == "BTC-USDT-SWAP" and session["trades_pushed"] > 20 and session["books_seq_id"] > 1_000_001
