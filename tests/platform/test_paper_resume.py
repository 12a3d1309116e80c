"""kill -9 a replay paper node mid-replay, start it again with the same run file and trader id: it resumes by itself.

Run 1 (real OKX sample data, a real redis-server) dies by SIGKILL at a chosen data time
(tests/platform/replay_log_actor.py logs every bar the node handled). Run 2 is the same command:
it says where it resumes, and the two runs together handle every bar of the range exactly once.
An uninterrupted run of the same file gives the orders run 1 had closed, unchanged.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ravebear.catalog.store import RaveCatalog, one_minute_bar_type
from ravebear.platform.nodes.run_file import utc_ns
from tests.conftest import sample_catalog

REPO = Path(__file__).resolve().parents[2]
INSTRUMENTS = ["BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX", "SOL-USDT-SWAP.OKX"]
START, END = "2026-07-27", "2026-07-28T23:59"
KILL_AT = pd.Timestamp("2026-07-28 09:30", tz="UTC")
COLUMNS = ["strategy_id", "seq", "side", "type", "quantity", "trigger_price", "status", "avg_px"]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    return sample_catalog(tmp_path_factory.mktemp("catalog")).path


def write_config(folder: Path, port: int | None) -> Path:
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["run"].update(name="resume", tearsheet=False, risk_report=False, log_level="ERROR")
    for data in raw["data"]:
        data.update(start=START, end=END)
    raw["node"] = {"trader_id": "RESUME-001", "stop_action": "flatten", "dashboard": False}
    if port is not None:
        raw["node"]["redis"] = {"port": port}
    log, marker = folder / "bars.log", folder / "marker.json"
    raw["actors"] = [{"actor_path": "tests.platform.replay_log_actor:ReplayLog", "config": {"instrument_ids": INSTRUMENTS, "log": str(log), "marker": str(marker)}}]
    path = folder / "resume.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def paper(config: Path, catalog: Path, output: Path, kill_at: int = 0, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAVEBEAR_TEST_KILL_AT_NS": str(kill_at)}
    return subprocess.run(
        [sys.executable, "-m", "ravebear.platform.cli", "paper", str(config), "--catalog", str(catalog), "--output", str(output), "--no-dashboard", *extra],
        capture_output=True, text=True, cwd=REPO, timeout=600, env=env,
    )  # fmt: skip


def bar_log(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep=" ", names=["instrument_id", "ts"])


def orders(folder: Path) -> pd.DataFrame:
    frame = pd.read_csv(folder / "orders.csv")
    frame["seq"] = frame["client_order_id"].str.rsplit("-", n=1).str[1].astype(int)
    return frame


def run_folder(result: subprocess.CompletedProcess) -> Path:
    return Path(result.stdout.split("run folder:")[1].split()[0])


def test_a_killed_replay_resumes_after_the_last_bar_it_handled(tmp_path, catalog, redis_server):
    redis_server.flush()
    killed, uninterrupted = tmp_path / "killed", tmp_path / "uninterrupted"
    killed.mkdir(), uninterrupted.mkdir()
    config = write_config(killed, redis_server.port)

    first = paper(config, catalog, killed / "runs", KILL_AT.value)
    assert first.returncode == -9, first.stderr[-2000:]
    handled_before = bar_log(killed / "bars.log")
    last = pd.Timestamp(handled_before["ts"].max(), unit="ns", tz="UTC")
    assert last < KILL_AT

    second = paper(config, catalog, killed / "runs")  # the same command, no start given
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"resuming replay at {last:%Y-%m-%d %H:%M} UTC (last run stopped there after {len(handled_before):,} items" in second.stdout
    handled = bar_log(killed / "bars.log")

    # every bar of the range, each handled once across the two runs: none replayed twice, none skipped
    store = RaveCatalog(catalog)
    expected = [(i, bar.ts_init) for i in INSTRUMENTS for bar in store.bars(one_minute_bar_type(i), utc_ns(START), utc_ns(END))]
    assert len(expected) > 3 * 1440  # the sample starts 2026-07-27 11:21: over a day of three instruments
    assert not handled.duplicated().any()
    assert sorted(map(tuple, handled.values.tolist())) == sorted(expected)

    # a third start has nothing left to replay, and says so
    third = paper(config, catalog, killed / "runs")
    assert third.returncode == 0, third.stderr[-3000:]
    assert f"this replay already finished at {pd.Timestamp(handled['ts'].max(), unit='ns', tz='UTC'):%Y-%m-%d %H:%M} UTC ({len(handled):,} items)" in third.stdout
    assert len(bar_log(killed / "bars.log")) == len(handled)

    # trading went on after the restart, and what run 1 had closed is what an uninterrupted run closed by then
    resumed = orders(run_folder(second))
    closed_in_run_1 = set(json.loads((killed / "marker.json").read_text())["closed_orders"])
    assert closed_in_run_1 and len(resumed) > len(closed_in_run_1)
    whole = paper(write_config(uninterrupted, None), catalog, uninterrupted / "runs")
    assert whole.returncode == 0, whole.stderr[-3000:]
    reference = orders(run_folder(whole)).set_index(["strategy_id", "seq"])
    mine = resumed[resumed["client_order_id"].isin(closed_in_run_1)].set_index(["strategy_id", "seq"])
    got = mine[COLUMNS[2:]].sort_index()
    pd.testing.assert_frame_equal(got, reference.loc[got.index, COLUMNS[2:]], check_dtype=False)


def test_start_over_replays_from_the_start(tmp_path, catalog, redis_server):
    redis_server.flush()
    config = write_config(tmp_path, redis_server.port)
    first = paper(config, catalog, tmp_path / "runs", pd.Timestamp("2026-07-27 18:00", tz="UTC").value)
    assert first.returncode == -9, first.stderr[-2000:]
    (tmp_path / "bars.log").unlink()
    again = paper(config, catalog, tmp_path / "runs", 0, "--start-over")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resuming" not in again.stdout
    handled = bar_log(tmp_path / "bars.log")
    assert pd.Timestamp(handled["ts"].min(), unit="ns", tz="UTC") < pd.Timestamp("2026-07-27 11:25", tz="UTC")
