"""Run `ravebear live --arm` (a subprocess, as a user would) against the local OKX venue (a thread here) and collect both sides."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd
import yaml

from ravebear.simulators.okx_venue.auth import Credentials
from ravebear.simulators.okx_venue.runner import VenueSettings, VenueThread
from ravebear.simulators.okx_venue.server import OKXVenue, PlayerSettings

REPO = Path(__file__).resolve().parents[3]
CREDS = Credentials("rb-test-key-7f3a", "rb-test-secret-91c2e4", "rb-test-pass-55d0")
KEYS_ENV = {"OKX_API_KEY": CREDS.api_key, "OKX_API_SECRET": CREDS.secret, "OKX_API_PASSPHRASE": CREDS.passphrase}
INSTRUMENT = "BTC-USDT-SWAP"
# Real OKX BTC-USDT-SWAP candles (data/sample): from 12:20 UTC a long entered on the 24th minute (12:43, close 65,011.7)
# rises ~1 % within the hour and gives back 0.3 % from its high: enough to take a partial target, arm the trailing exit and fire it.
WINDOW_START = pd.Timestamp("2026-07-27 12:20", tz="UTC")
WINDOW_MINUTES = 110
ENTRY_BAR, INVALIDATION = 24, 64750.0
EXITS = {
    "min_stop_bps": 30.0, "max_stop_bps": 500.0, "take_profits": [{"r": 1.0, "fraction": 0.5}, {"r": 4.0}],
    "trailing_offset_bps": 30.0, "trailing_activation_r": 1.0,
}  # fmt: skip


def start_venue(minutes: int = WINDOW_MINUTES, leverage: int = 10, balance: str = "10000", step_s: float = 0.25, settle_s: float = 0.15) -> VenueThread:
    """The venue on a free port, replaying the window, waiting for the node to subscribe."""
    start = int(WINDOW_START.timestamp() * 1000)
    settings = VenueSettings(
        inst_ids=(INSTRUMENT,), start_ms=start, end_ms=start + minutes * 60_000, creds=CREDS, leverage=leverage, balance=Decimal(balance),
        player=PlayerSettings(step_s=step_s, settle_s=settle_s, warmup_s=1.5),
    )  # fmt: skip
    return VenueThread(settings).start()


def write_config(folder: Path, venue: VenueThread, trader_id: str = "LIVE-001", entries: list | None = None, exits: dict | None = None,
                 redis_port: int | None = None, stop_action: str = "flatten", strategy: dict | None = None, risk: dict | None = None) -> Path:
    """A live run file: the scripted-entry strategy (real exits, guards, sizing) on BTC-USDT-SWAP at the venue."""  # fmt: skip
    config = {
        "instrument_id": f"{INSTRUMENT}.OKX", "timeframes": ["1m"], "entries": entries if entries is not None else [[ENTRY_BAR, 1, INVALIDATION]],
        "risk_per_trade_pct": 0.5, "max_leverage": 3.0, "exits": {**EXITS, **(exits or {})}, **(strategy or {}),
    }  # fmt: skip
    raw = {
        "run": {"name": "venue", "output_dir": str(folder / "runs"), "log_level": "INFO", "tearsheet": False},
        "venue": {"name": "OKX", "starting_balance": "10000 USDT", "default_leverage": 10},
        "node": {
            "trader_id": trader_id, "data": "okx", "stop_action": stop_action, "dashboard": False, "reconciliation": True,
            "okx": {"environment": "live", "base_url_http": venue.base_url_http, "base_url_ws": venue.base_url_ws},
            **({"redis": {"host": "127.0.0.1", "port": redis_port}} if redis_port else {}),
        },
        "risk": {"max_open_positions": 2, "daily_loss_limit_pct": 5, "max_drawdown_pct": 10, "max_orders_per_minute": 30, **(risk or {})},
        "data": [{"instrument_id": f"{INSTRUMENT}.OKX"}],
        "strategies": [{"strategy_path": "tests.scripted_strategy:ScriptedEntries", "config": config}],
    }  # fmt: skip
    path = folder / f"{trader_id}-{time.monotonic_ns()}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@dataclass
class LiveRun:
    """What one `ravebear live` session left: its exit code, output, run folder and the venue's books."""

    returncode: int
    output: str
    run_dir: Path | None
    ledger: dict

    def csv(self, name: str) -> pd.DataFrame:
        """A table of the run folder."""
        assert self.run_dir is not None, self.output[-3000:]
        return pd.read_csv(self.run_dir / name)


def start_live(config: Path, log: Path) -> subprocess.Popen:
    """`ravebear live CONFIG --arm` with the test keys, output to `log`."""
    env = {**os.environ, **KEYS_ENV, "PYTHONPATH": str(REPO)}
    env.pop("RAVEBEAR_LIVE_ARMED", None)
    return subprocess.Popen(
        [sys.executable, "-m", "ravebear.platform.cli", "live", str(config), "--arm", "--no-dashboard"],
        cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def wait_for(venue: VenueThread, condition: Callable[[OKXVenue], bool], timeout_s: float, proc: subprocess.Popen | None = None) -> bool:
    """Poll `condition` on the venue's loop until true; False on timeout or when the node exited."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if venue.call(lambda: condition(venue.venue)):
            return True
        if proc is not None and proc.poll() is not None:
            return False
        time.sleep(0.1)
    return False


def finish(venue: VenueThread, proc: subprocess.Popen, log: Path, sig: int = signal.SIGINT) -> LiveRun:
    """Stop the node (Ctrl-C by default), wait for it, read the run folder and the venue's ledger."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        proc.wait(timeout=90)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    output = log.read_text()
    run_dir = None
    if "run folder:" in output:
        run_dir = Path(output.split("run folder:")[1].split()[0])
    return LiveRun(proc.returncode, output, run_dir, venue.call(venue.venue.ledger_view))


def run_session(tmp_path: Path, venue: VenueThread, config: Path, until: Callable[[OKXVenue], bool] | None = None, timeout_s: float = 150,
                during: Callable[[subprocess.Popen], None] | None = None) -> LiveRun:
    """One live session: start the node, optionally act while it runs, stop it when `until` holds or the price path ends."""  # fmt: skip
    log = tmp_path / f"live-{time.monotonic_ns()}.log"
    proc = start_live(config, log)
    try:
        if during is not None:
            during(proc)
        wait_for(venue, until or (lambda v: v.finished.is_set()), timeout_s, proc)
        time.sleep(1.0)  # let the last pushes land
    finally:
        result = finish(venue, proc, log)
    return result
