"""A real redis-server killed and restarted (same port) while a paper node replays: the node notices, refuses
entries while its state cannot be kept, and writes its whole state again when Redis is back.

After the run, the state nautilus loads from that Redis (a fresh cache adapter, as a restarted node
would) is the run's: every order with its final status, the account's final balance, each strategy's state.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pandas as pd
import pytest
import yaml

from ravebear.reports.trades import parse_tags
from tests.conftest import sample_catalog
from tests.redis_server import RedisServer, redis_server_binary

REPO = Path(__file__).resolve().parents[2]
TRADER = "OUTAGE-001"
INSTRUMENTS = ["BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX", "SOL-USDT-SWAP.OKX"]
# in data time: Redis dies before the afternoon's entry signals (13:44 .. 15:00 in a backtest) and returns after them
KILL_AT, RESTART_AT = pd.Timestamp("2026-07-27 13:30", tz="UTC"), pd.Timestamp("2026-07-27 15:30", tz="UTC")


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    return sample_catalog(tmp_path_factory.mktemp("catalog")).path


def write_config(folder: Path, port: int) -> Path:
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["run"].update(name="outage", tearsheet=False, risk_report=False, log_level="ERROR")
    raw["risk"].update(daily_loss_limit_pct=0, max_drawdown_pct=0)  # keep entering: the only block is the outage's
    for data in raw["data"]:
        data.update(start="2026-07-27", end="2026-07-28T16:00")
    raw["node"] = {"trader_id": TRADER, "redis": {"port": port, "check_s": 0.25}, "stop_action": "flatten", "dashboard": False, "speed": 4000}
    log = {"instrument_ids": INSTRUMENTS, "log": str(folder / "bars.log"), "marker": str(folder / "unused.json")}
    raw["actors"] = [{"actor_path": "tests.platform.replay_log_actor:ReplayLog", "config": log}]
    path = folder / "outage.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def data_time(folder: Path) -> pd.Timestamp:
    """The time of the last bar the node handled (tests/platform/replay_log_actor.py writes them down)."""
    path = folder / "bars.log"
    lines = path.read_text().splitlines() if path.exists() else []
    return pd.Timestamp(int(lines[-1].split()[1]), unit="ns", tz="UTC") if lines else pd.Timestamp(0, tz="UTC")


def wait_for(folder: Path, node: subprocess.Popen, when: pd.Timestamp) -> None:
    deadline = time.monotonic() + 120
    while data_time(folder) < when and node.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert node.poll() is None, "the replay ended before the outage: slow it down"


def stored_state(port: int):
    """What a restarted node would load from Redis (nautilus's own adapter and serializer)."""
    from nautilus_trader.cache.config import CacheConfig
    from nautilus_trader.cache.database import CacheDatabaseAdapter
    from nautilus_trader.common.config import DatabaseConfig
    from nautilus_trader.core.uuid import UUID4
    from nautilus_trader.model.identifiers import TraderId
    from nautilus_trader.serialization.serializer import MsgSpecSerializer

    config = CacheConfig(database=DatabaseConfig(type="redis", host="127.0.0.1", port=port), encoding="msgpack")
    serializer = MsgSpecSerializer(encoding=msgspec.msgpack, timestamps_as_str=True)
    database = CacheDatabaseAdapter(trader_id=TraderId(TRADER), instance_id=UUID4(), serializer=serializer, config=config)
    try:
        return database.load_orders(), database.load_accounts(), database.keys("strategies:*")
    finally:
        database.close()


def test_redis_killed_and_restarted_mid_replay(tmp_path, catalog):
    server = RedisServer(tmp_path / "redis")
    port = server.port
    node = subprocess.Popen(
        [sys.executable, "-m", "ravebear.platform.cli", "paper", str(write_config(tmp_path, port)), "--catalog", str(catalog),
         "--output", str(tmp_path / "runs"), "--no-dashboard"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        wait_for(tmp_path, node, KILL_AT)
        server.process.kill()  # as a crash would: no shutdown, nothing saved (the server keeps no files either)
        server.process.wait()
        wait_for(tmp_path, node, RESTART_AT)
        server.process = subprocess.Popen(
            [redis_server_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path / "redis"), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        output, _ = node.communicate(timeout=300)
        assert node.returncode == 0, output[-3000:]

        gone = [line for line in output.splitlines() if f"Redis at 127.0.0.1:{port} is gone" in line]
        assert len(gone) == 1 and "[ERROR]" in gone[0], output[-3000:]
        folder = Path(output.split("run folder:")[1].split()[0])
        events = pd.read_csv(folder / "guard_events.csv")
        outage = events[events["guard"] == "state_store"]
        blocks, resumes = outage[outage["action"] == "blocked"], outage[outage["action"] == "resumed"]
        assert len(resumes) == 3  # each strategy copy was blocked, then allowed again
        went, came = pd.to_datetime(blocks["ts"], utc=True).min(), pd.to_datetime(resumes["ts"], utc=True).max()
        assert KILL_AT <= went < RESTART_AT <= came
        refused = blocks.iloc[3:]  # after the three blocks themselves: the entry signals they refused
        assert len(refused) >= 1, "no entry signal came during the outage: make it longer"
        assert refused["detail"].str.contains(f"Redis at 127.0.0.1:{port} is gone").all()

        orders = pd.read_csv(folder / "orders.csv")
        entries = orders[orders["tags"].map(parse_tags).map(lambda tags: "risk" in tags)]
        placed = pd.to_datetime(entries["ts_last"], utc=True)  # market entries fill on the bar they are sent on (data time)
        assert not ((placed > went) & (placed < came)).any(), "an entry was placed while Redis was down"
        assert (placed > came).any(), "no entry after Redis came back"

        # the state in Redis is the run's final state: nothing of before the outage missing, nothing stale
        stored_orders, accounts, strategy_keys = stored_state(port)
        expected = dict(zip(orders["client_order_id"], orders["status"], strict=True))
        assert {str(k): o.status_string() for k, o in stored_orders.items()} == expected
        account = next(iter(accounts.values()))
        final = pd.read_csv(folder / "account.csv")["total"].iloc[-1]
        assert account.balance_total(account.currencies()[0]).as_double() == pytest.approx(final, abs=1e-6)
        assert len(strategy_keys) == 3  # written again after the restart emptied Redis
    finally:
        if node.poll() is None:
            node.kill()
        server.stop()


def test_redis_gone_until_the_end(tmp_path, catalog):
    """Redis never returns: the node keeps refusing entries to the end and says its final state was not saved."""
    server = RedisServer(tmp_path / "redis")
    config = write_config(tmp_path, server.port)
    raw = yaml.safe_load(config.read_text())
    for data in raw["data"]:
        data["end"] = "2026-07-27T18:00"
    config.write_text(yaml.safe_dump(raw))
    node = subprocess.Popen(
        [sys.executable, "-m", "ravebear.platform.cli", "paper", str(config), "--catalog", str(catalog), "--output", str(tmp_path / "runs"), "--no-dashboard"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        wait_for(tmp_path, node, KILL_AT)
        server.stop()
        output, _ = node.communicate(timeout=300)
    finally:
        if node.poll() is None:
            node.kill()
        server.stop()
    assert node.returncode == 0, output[-3000:]
    errors = [line for line in output.splitlines() if "[ERROR]" in line]
    assert len([line for line in errors if "is gone" in line]) == 1
    assert any("its final state was not saved" in line for line in errors), errors
    events = pd.read_csv(Path(output.split("run folder:")[1].split()[0]) / "guard_events.csv")
    outage = events[events["guard"] == "state_store"]
    assert set(outage["action"]) == {"blocked"}  # never resumed
