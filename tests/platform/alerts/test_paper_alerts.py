"""A paper replay of the shipped config sends its alerts to a local Discord and fills the ledger: exactly the alerts a
backtest of the same file counts in shadow mode (per channel), the same touches and signals in the ledger, and
`analyze correlations` reports on it; webhook URLs only in the environment, never in the output."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import yaml

from ravebear.catalog.instruments import instrument_for
from ravebear.catalog.store import RaveCatalog
from tests.discord_webhook_server import DiscordWebhookServer
from tests.platform.alerts.test_alerts_run_file import ALERTS, LEVELS

REPO = Path(__file__).resolve().parents[3]
HOOKS = {"btc-15m": ("111", "tok-btc-secret-aaaa"), "eth-15m": ("222", "tok-eth-secret-bbbb"), "high-conf": ("333", "tok-high-secret-cccc")}


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ravebear.platform.cli", *args], capture_output=True, text=True, cwd=REPO, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def _delivered(server: DiscordWebhookServer) -> Counter[str]:
    channel_of = {hook: name for name, (hook, _) in HOOKS.items()}
    count: Counter[str] = Counter()
    for received in server.received:
        for embed in received.payload.get("embeds", []):
            count[channel_of[received.webhook_id]] += len(embed["fields"]) if embed["title"].endswith("digest") else 1
        count[channel_of[received.webhook_id]] += bool(received.payload.get("content"))
    return count


def test_a_paper_replay_sends_what_the_backtest_counts(tmp_path: Path) -> None:
    catalog = RaveCatalog(tmp_path / "catalog")
    for symbol in ("BTC", "ETH"):
        sample = next((REPO / "data" / "sample").glob(f"okx_swap_{symbol}-USDT-SWAP_*.parquet"))
        catalog.import_file(sample, instrument_for(f"{symbol}-USDT-SWAP"))
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["run"].update(name="alerts", tearsheet=False, risk_report=False, log_level="ERROR")
    raw["data"] = [{"instrument_id": i, "start": "2026-07-28", "end": "2026-07-29"} for i in ("BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX")]
    raw["strategies"][0]["instruments"] = {"BTC-USDT-SWAP.OKX": {}, "ETH-USDT-SWAP.OKX": {}}
    raw["actors"] = [LEVELS]
    raw["alerts"] = {**ALERTS, "dead_letter": str(tmp_path / "alerts" / "dead.jsonl")}
    raw["ledger"] |= {"spill": str(tmp_path / "spill.jsonl")}
    ledger = {"RAVEBEAR_LEDGER_URL": f"sqlite:///{tmp_path / 'ledger.sqlite'}"}
    raw["node"] = {"dashboard": False, "stop_action": "flatten"}  # ends flat as a backtest does: the same exits
    path = tmp_path / "alerts.yaml"
    path.write_text(yaml.safe_dump(raw))

    backtest = _cli("backtest", str(path), "--catalog", str(catalog.path), "--output", str(tmp_path / "bt"), env=ledger)
    assert backtest.returncode == 0, backtest.stderr[-2000:]
    folder = Path(backtest.stdout.split("run folder:")[1].split()[0])
    counted = pd.read_csv(folder / "alerts.csv").groupby("channel")["alerts"].sum().to_dict()

    with DiscordWebhookServer(webhooks={hook: (token, f"c-{name}") for name, (hook, token) in HOOKS.items()}) as server:
        env = {ALERTS["channels"][name]: f"{server.url}/api/webhooks/{hook}/{token}" for name, (hook, token) in HOOKS.items()} | ledger
        result = _cli("paper", str(path), "--catalog", str(catalog.path), "--output", str(tmp_path / "paper"), "--no-dashboard", env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        delivered = _delivered(server)
    assert dict(delivered) == counted and counted["btc-15m"] > 20
    assert not (tmp_path / "alerts" / "dead.jsonl").exists() or (tmp_path / "alerts" / "dead.jsonl").read_text() == ""
    output = result.stdout + result.stderr + "".join(p.read_text(errors="replace") for p in (tmp_path / "paper").rglob("*") if p.is_file())
    assert not any(token in output for _, token in HOOKS.values())

    with sqlite3.connect(tmp_path / "ledger.sqlite") as connection:
        runs = pd.read_sql("select id, mode from runs", connection).set_index("mode")["id"]
        rows = {table: pd.read_sql(f"select * from {table}", connection) for table in ("level_touches", "signals", "alerts_sent")}
    for table in ("level_touches", "signals"):
        by_run = rows[table].groupby("run_id").size()
        assert by_run[runs["paper"]] == by_run[runs["backtest"]] > 0, table
    alerts = rows["alerts_sent"].groupby(["run_id", "outcome"]).size()
    assert alerts[(runs["backtest"], "shadow")] == sum(counted.values())
    paper = rows["alerts_sent"][rows["alerts_sent"]["run_id"] == runs["paper"]]
    assert set(paper["outcome"]) <= {"sent", "merged"} and paper.groupby("channel").size().to_dict() == dict(delivered)
    report = _cli("analyze", "correlations", "--run", runs["paper"], "--out", str(tmp_path / "corr"), "--set", "bootstrap=200", env=ledger)
    assert report.returncode == 0, report.stderr[-2000:]
    result = json.loads((tmp_path / "corr" / "results.json").read_text())["analyses"]["correlations"]
    assert result["touches"] == (rows["level_touches"]["run_id"] == runs["paper"]).sum()
