"""What a user sees when `ravebear live` or `ravebear venue okx-sim` cannot work: wrong keys, no keys."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.platform.live.harness import CREDS, KEYS_ENV, REPO, start_venue, write_config


def test_live_with_a_wrong_secret_stops_with_the_reason_instead_of_running_blind(tmp_path):
    venue = start_venue(minutes=30)
    try:
        config = write_config(tmp_path, venue)
        env = {**os.environ, **KEYS_ENV, "OKX_API_SECRET": "not-the-secret-0000", "PYTHONPATH": str(REPO)}
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "ravebear.platform.cli", "live", str(config), "--arm", "--no-dashboard"],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
        took = time.monotonic() - started
        refused = venue.call(lambda: [r for r in venue.venue.requests if r.get("status") == 401])
    finally:
        venue.stop()
    assert done.returncode == 1, done.stdout[-3000:]
    assert took < 60
    assert "OKX error 50113: Invalid Sign." in done.stdout + done.stderr  # nautilus's own log line of the refused call
    assert "error: the execution client did not connect within 20 s; stopping" in done.stderr
    assert "50113 'Invalid Sign' = wrong OKX_API_SECRET" in done.stderr
    assert refused and all(r["path"].startswith("/api/v5/account/") for r in refused)
    for secret in ("not-the-secret-0000", CREDS.passphrase):
        assert secret not in done.stdout + done.stderr


def test_the_venue_needs_the_keys_it_checks_signatures_with(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OKX_")}
    done = subprocess.run([sys.executable, "-m", "ravebear.platform.cli", "venue", "okx-sim", "--port", "0"],
                          cwd=tmp_path, env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: set OKX_API_KEY, OKX_API_SECRET, OKX_API_PASSPHRASE (environment or .env): "
        "the venue checks every signature with the keys the node will use"
    )


def test_the_venue_names_a_window_without_candles(tmp_path):
    env = {**os.environ, **KEYS_ENV, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "ravebear.platform.cli", "venue", "okx-sim", "--port", "0", "--start", "2030-01-01"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert (done.returncode, done.stderr.strip()) == (2, "error: no candles in the chosen window")
    done = subprocess.run([sys.executable, "-m", "ravebear.platform.cli", "venue", "okx-sim", "--start", "yesterday-ish"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert (done.returncode, done.stderr.strip()) == (2, "error: --start: not a date/time: 'yesterday-ish' (e.g. 2026-07-27 or '2026-07-27 12:20')")


def test_okx_sim_serves_and_answers_its_operator(tmp_path):
    import json
    import signal
    import urllib.request

    from ravebear.simulators.okx_venue.runner import free_port

    port = free_port()
    env = {**os.environ, **KEYS_ENV, "PYTHONPATH": str(REPO)}
    stderr = (tmp_path / "stderr.log").open("w")  # a file, never a pipe nobody reads: a full pipe would block its logging
    proc = subprocess.Popen([sys.executable, "-m", "ravebear.platform.cli", "venue", "okx-sim", "--port", str(port), "--instruments", "BTC-USDT-SWAP",
                             "--start", "2026-07-27 12:20", "--end", "2026-07-27 13:20", "--step", "0.05", "--start-now"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)  # fmt: skip
    try:
        banner = [proc.stdout.readline() for _ in range(3)]
        assert banner[0].startswith(f"OKX sim venue on 127.0.0.1:{port}: BTC-USDT-SWAP, 60 minutes of real candles (2026-07-27 12:20 .. 2026-07-27 13:19, replayed from ")
        assert f"base_url_http: 'http://127.0.0.1:{port}'" in banner[2]
        time.sleep(1.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/sim/status", timeout=5) as response:
            status = json.loads(response.read())
        assert status["started"] and status["minutes_played"] > 5 and status["minutes_total"] == 60
        assert status["data_window"] == ["2026-07-27 12:20:00 UTC", "2026-07-27 13:19:00 UTC"]
        assert abs(status["time_shift_ms"] + 1785154800000 - time.time() * 1000) < 120_000  # replayed from the current minute
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v5/public/instruments?instType=SWAP", timeout=5) as response:
            listed = json.loads(response.read())["data"]
        assert [(i["instId"], i["ctVal"], i["tickSz"], i["instIdCode"]) for i in listed] == [("BTC-USDT-SWAP", "0.01", "0.1", 10459)]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail(f"okx-sim did not stop within 60 s of Ctrl-C; its log ends:\n{(tmp_path / 'stderr.log').read_text()[-3000:]}")
    assert proc.returncode == 0
