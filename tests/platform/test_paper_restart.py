"""kill -9 a replay paper node at several moments; restart it on the same Redis: nothing lost, nothing doubled.

Run 1 trades the bundled real OKX data (BTC, ETH, SOL) with a real redis-server and dies by
SIGKILL at the chosen moment (tests/killer_actor.py writes down what it held). Run 2 is the same
command and trader id, replaying from the first minute run 1 had not finished.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ravebear.reports.trades import parse_tags
from tests.conftest import sample_catalog

REPO = Path(__file__).resolve().parents[2]
INSTRUMENTS = ["BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX", "SOL-USDT-SWAP.OKX"]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory) -> Path:
    return sample_catalog(tmp_path_factory.mktemp("catalog")).path


def write_config(folder: Path, trader_id: str, port: int, start: str | int | None, killer: dict | None) -> Path:
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["run"].update(name="restart", tearsheet=False, risk_report=False, log_level="ERROR")
    raw["risk"].update(daily_loss_limit_pct=0, max_drawdown_pct=0)  # keep trading through the window
    for data in raw["data"]:
        data["start"] = pd.Timestamp(start, tz="UTC").isoformat() if isinstance(start, int) else "2026-07-27"
        data["end"] = "2026-07-31"
    raw["strategies"][0]["config"]["exits"].update(take_profits=[{"r": 1.0, "fraction": 0.5}, {"r": 4.0}], trailing_activation_r=1.0)
    raw["node"] = {"trader_id": trader_id, "redis": {"port": port}, "stop_action": "flatten", "dashboard": False, "reconciliation": True}
    if killer:
        raw["actors"] = [{"actor_path": "tests.killer_actor:Killer", "config": {"instrument_ids": INSTRUMENTS, **killer}}]
    path = folder / f"{trader_id}-{'run1' if killer else 'run2'}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def paper(config: Path, catalog: Path, output: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ravebear.platform.cli", "paper", str(config), "--catalog", str(catalog), "--output", str(output), "--no-dashboard"],
        capture_output=True, text=True, cwd=REPO, timeout=600, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip


def crash_and_restart(tmp_path: Path, catalog: Path, redis_server, trader_id: str, killer: dict) -> tuple[dict, Path, str]:
    redis_server.flush()
    marker = tmp_path / "marker.json"
    first = paper(write_config(tmp_path, trader_id, redis_server.port, None, {**killer, "marker": str(marker)}), catalog, tmp_path / "runs")
    assert first.returncode == -9, first.stderr[-2000:]  # SIGKILL: no shutdown, no run folder
    assert marker.exists()
    held = json.loads(marker.read_text())
    second = paper(write_config(tmp_path, trader_id, redis_server.port, held["last_ts"] + 1, None), catalog, tmp_path / "runs")
    assert second.returncode == 0, second.stderr[-3000:]
    folder = Path(second.stdout.split("run folder:")[1].split()[0])
    return held, folder, second.stdout + second.stderr


def is_entry(tags: dict) -> bool:
    return "risk" in tags  # entries carry the money at risk


def is_stop(tags: dict) -> bool:
    return tags.get("exit") == "stop"


def check_restart(held: dict, folder: Path) -> pd.DataFrame:
    orders = pd.read_csv(folder / "orders.csv")
    orders["tag_list"] = orders["tags"].map(parse_tags)
    known = set(held["all_orders"])
    assert known <= set(orders["client_order_id"]), "orders from before the crash are missing"
    assert orders["venue_order_id"].dropna().is_unique  # no venue id handed out twice across the restart
    new = orders[~orders["client_order_id"].isin(known)]
    new_entries = new[new["tag_list"].map(is_entry)]
    new_stops = new[new["tag_list"].map(is_stop)]
    # no order duplicated: every new protective stop belongs to a new entry's bracket
    assert len(new_stops) == len(new_entries)
    assert set(new_stops["order_list_id"]) == set(new_entries["order_list_id"])
    # the orders working at the crash were re-armed: none is left hanging as working
    restored_open = orders[orders["client_order_id"].isin(held["open_orders"])]
    assert set(restored_open["status"]) <= {"FILLED", "CANCELED"}, restored_open[["client_order_id", "type", "status"]]
    # trading went on after the restart
    assert (new_entries["status"] == "FILLED").sum() >= 1
    return orders


def test_killed_while_holding_a_position_with_stop_and_trailing_exit(tmp_path, catalog, redis_server):
    held, folder, output = crash_and_restart(tmp_path, catalog, redis_server, "RESTART-001", {"when": "holding_with_trailing"})
    assert held["positions"], "the crash came while holding"
    orders = check_restart(held, folder)
    positions = pd.read_csv(folder / "positions.csv")
    for instrument_id, strategy_id, side, quantity in held["positions"]:
        mine = positions[(positions["instrument_id"] == instrument_id) & (positions["strategy_id"] == strategy_id)]
        closed = mine[mine["ts_closed"].notna()].sort_values("ts_closed")
        first_close = closed.iloc[0]
        # the same position came back and was closed by one of the exits that protected it before the crash
        assert first_close["peak_qty"] == pytest.approx(quantity)
        assert first_close["closing_order_id"] in held["open_orders"]
    events = pd.read_csv(folder / "guard_events.csv")
    assert "no_stop" not in set(events["guard"])
    restarts = events[events["guard"] == "restart"]
    assert len(restarts) == len(held["positions"])  # each held position was adopted with its exits and saved plan
    assert restarts["detail"].str.contains("with stop, trailing exit").all() and restarts["detail"].str.contains("exit plan restored").all()
    # the balance continued from run 1: it ends at the start plus every closed trade's PnL, before and after the crash
    account = pd.read_csv(folder / "account.csv")
    pnl = sum(float(str(v).split()[0]) for v in positions[positions["ts_closed"].notna()]["realized_pnl"])
    assert account["total"].iloc[-1] == pytest.approx(10_000 + pnl, abs=0.01)
    assert held["balance"][0] != pytest.approx(10_000)  # run 1 had already booked fees and PnL
    assert len(orders) > len(held["all_orders"])


def test_killed_after_a_partial_target(tmp_path, catalog, redis_server):
    held, folder, _ = crash_and_restart(tmp_path, catalog, redis_server, "RESTART-002", {"when": "after_partial_target"})
    orders = check_restart(held, folder)
    stops = orders[orders["client_order_id"].isin(held["open_orders"]) & orders["tag_list"].map(is_stop)]
    assert len(stops) >= 1  # the shrunk stop of the half-closed position was still working, and came back


def test_killed_while_flat_between_trades(tmp_path, catalog, redis_server):
    held, folder, _ = crash_and_restart(tmp_path, catalog, redis_server, "RESTART-003", {"when": "flat_after_trade"})
    assert not held["positions"]
    check_restart(held, folder)


def test_killed_with_an_entry_in_flight(tmp_path, catalog, redis_server):
    held, folder, _ = crash_and_restart(tmp_path, catalog, redis_server, "RESTART-004", {"when": "entry_in_flight", "after_ns": 1_785_200_000_000_000_000})
    orders = check_restart(held, folder)
    lost = orders[~orders["status"].isin(["FILLED", "CANCELED"]) & orders["tag_list"].map(is_entry)]
    assert lost.empty  # an entry that never reached the venue is not left dangling
    events = pd.read_csv(folder / "guard_events.csv")
    assert "entry_lost" in set(events["guard"])  # the saved plan pointed at it; the restarted strategy dropped it and said so
