"""`alerts:` in a run file: checked like every section, and a backtest's run folder and risk report show the
alert load a live node would send (shadow mode), equal to what the AlertActor counted."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ravebear.platform.nodes.run_file import ConfigError, parse_run_file
from tests.platform.test_backtest import REPO, ravebear

ALERTS = {"channels": {"btc-15m": "DISCORD_WEBHOOK_BTC", "eth-15m": "DISCORD_WEBHOOK_ETH", "high-conf": "DISCORD_WEBHOOK_HIGH_CONF"},
          "symbols": {"BTC": "btc-15m", "ETH": "eth-15m"}, "high_conf_channel": "high-conf", "high_conf_score": 85, "cooldown_s": 900}
LEVELS = {"actor_path": "ravebear.strategies.level_actor:LevelActor",
          "config": {"instrument_ids": ["BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX"], "timeframes": ["1m", "15m"],
                     "levels": {"detectors": ["wicks"], "wicks": {"min_wick_bps": 6.0, "min_wick_body_ratio": 1.5, "max_age_bars": 240}}}}


def _file(tmp_path: Path, alerts: dict | None = None, **changes) -> Path:
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["run"] |= {"tearsheet": False}
    raw["data"] = [{"instrument_id": i, "start": "2026-07-28", "end": "2026-08-02"} for i in ("BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX")]
    raw["strategies"][0]["instruments"] = {"BTC-USDT-SWAP.OKX": {}, "ETH-USDT-SWAP.OKX": {}}
    raw["actors"] = [LEVELS]
    raw["alerts"] = {**ALERTS, **(alerts or {})}
    raw.update(changes)
    path = tmp_path / "alerts.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(("alerts", "message"), [
    ({"channels": {"btc-15m": "https://discord.com/api/webhooks/1/abc"}, "symbols": {}, "high_conf_channel": None},
     "alerts: channels.btc-15m holds a webhook URL: URLs are secrets; put it in the environment or .env (e.g. DISCORD_WEBHOOK_BTC_15M=...) and name the variable here"),
    ({"cooldwn_s": 60}, "alerts: unknown key 'cooldwn_s' (did you mean 'cooldown_s'?)"),
    ({"symbols": {"BTC": "btc-1m"}}, "alerts: symbols.BTC names channel 'btc-1m', which is not under channels (did you mean 'btc-15m'?)"),
    ({"high_conf_score": 150}, "'alerts.high_conf_score' must be between 0 and 100 score, got 150"),
    ({"kinds": ["level_touch"]}, "alerts: kinds: unknown alert kind 'level_touch' (did you mean 'level_touched'?)"),
    ({"shadow": False}, "alerts: 'shadow' is set by the node, not in alerts:"),
])
def test_a_wrong_alerts_section_is_named(tmp_path: Path, alerts: dict, message: str) -> None:
    path = _file(tmp_path, alerts)
    with pytest.raises(ConfigError) as error:
        parse_run_file(path.read_text(), "alerts.yaml")
    assert str(error.value).endswith(message), str(error.value)
    done = ravebear("backtest", str(path))
    assert done.returncode == 2 and done.stderr.strip().endswith(message) and "Traceback" not in done.stderr


def test_a_backtest_reports_the_alert_load_it_would_send(tmp_path: Path) -> None:
    env = {"RAVEBEAR_CATALOG": str(tmp_path / "catalog")}
    assert ravebear("catalog", "import-sample", env=env).returncode == 0
    done = ravebear("backtest", str(_file(tmp_path)), "--output", str(tmp_path / "runs"), env=env)
    assert done.returncode == 0, done.stderr
    folder = Path(done.stdout.split("run folder:")[1].split()[0])
    load = pd.read_csv(folder / "alerts.csv")
    line = next(x for x in done.stdout.splitlines() if x.startswith("alerts a live node would send"))
    btc = load[load["channel"] == "btc-15m"]["alerts"]
    assert f"btc-15m {btc.sum():,} (" in line and f"busiest {btc.max():,})" in line
    assert set(load["channel"]) == {"btc-15m", "eth-15m", "high-conf"}
    assert list(load.columns) == ["day", "channel", "alerts"] and (load["alerts"] > 0).all()
    positions = pd.read_csv(folder / "positions.csv")
    per_symbol = load[load["channel"] != "high-conf"].groupby("channel")["alerts"].sum()
    for symbol, channel in (("BTC", "btc-15m"), ("ETH", "eth-15m")):
        trades = positions[positions["instrument_id"].str.startswith(symbol)]
        assert per_symbol[channel] > 2 * len(trades) > 0  # an entry and an exit per trade, and level alerts besides
    report = json.loads((folder / "risk_report.json").read_text())
    channels = {c["channel"]: c for c in report["alerts"]["channels"]}
    span = pd.date_range(pd.Timestamp(report["summary"]["start"]).date(), pd.Timestamp(report["summary"]["end"]).date())
    assert report["alerts"]["recorded"] and report["alerts"]["days"] == len(span) >= 4
    assert set(load["day"]) <= {day.date().isoformat() for day in span}
    for channel, rows in load.groupby("channel"):
        assert channels[channel]["total"] == rows["alerts"].sum()
        assert channels[channel]["per_day"] == pytest.approx(rows["alerts"].sum() / len(span))
        assert channels[channel]["max_day"] == rows["alerts"].max()
    html = (folder / "risk_report.html").read_text()
    assert "Alert load per Discord channel" in html and f"{channels['btc-15m']['total']:,}" in html


def test_level_alerts_without_a_level_actor_are_warned_about(tmp_path: Path) -> None:
    from ravebear.platform.nodes.composer import backtest_warnings

    without = parse_run_file(_file(tmp_path, actors=[]).read_text())
    assert [w for w in backtest_warnings(without) if w.startswith("alerts:")] == [
        "alerts: level alerts need the LevelActor under actors: (ravebear.strategies.level_actor:LevelActor); "
        "without it only entries, exits, guards and whales are alerted"]
    entries_only = parse_run_file(_file(tmp_path, {"kinds": ["entry", "exit"]}, actors=[]).read_text())
    assert not [w for w in backtest_warnings(entries_only) if w.startswith("alerts:")]
