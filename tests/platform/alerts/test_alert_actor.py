"""The AlertActor in a BacktestNode built from a run file (shadow mode): it counts, per UTC day and channel,
exactly the alerts the node's own events call for: level events from the LevelActor, entries and exits
from the positions, through the one cooldown."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import yaml
from nautilus_trader.backtest.node import BacktestNode
from nautilus_trader.model.identifiers import InstrumentId

from ravebear.platform.alerts.actor import AlertActor
from ravebear.platform.nodes.composer import backtest_run_config
from ravebear.platform.nodes.run_file import parse_run_file
from ravebear.strategies.level_actor import LevelActor, to_data
from tests.conftest import sample_catalog

REPO = Path(__file__).resolve().parents[3]
COOLDOWN_S = 600


def _run(tmp_path: Path) -> tuple[AlertActor, LevelActor, list]:
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    catalog = sample_catalog(tmp_path / "cat")
    raw["run"] |= {"catalog_path": str(catalog.path), "tearsheet": False, "risk_report": False, "log_level": "ERROR"}
    raw["data"] = [{"instrument_id": "BTC-USDT-SWAP.OKX", "start": "2026-07-28", "end": "2026-08-04"}]
    raw["strategies"][0]["instruments"] = {"BTC-USDT-SWAP.OKX": {}}
    raw["actors"] = [
        {"actor_path": "ravebear.strategies.level_actor:LevelActor",
         "config": {"instrument_ids": ["BTC-USDT-SWAP.OKX"], "timeframes": ["1m", "15m"], "record": True,
                    "levels": {"detectors": ["wicks"], "wicks": {"min_wick_bps": 6.0, "min_wick_body_ratio": 1.5, "max_age_bars": 240}}}},
    ]
    raw["alerts"] = {"channels": {"btc-15m": "DISCORD_WEBHOOK_BTC", "high-conf": "DISCORD_WEBHOOK_HIGH"}, "symbols": {"BTC": "btc-15m"},
                     "high_conf_channel": "high-conf", "high_conf_score": 85, "cooldown_s": COOLDOWN_S}  # the composer adds the actor, counting
    text = yaml.safe_dump(raw)
    config = parse_run_file(text, "alerts.yaml")
    run_config = backtest_run_config(config, catalog.path.resolve())
    node = BacktestNode(configs=[run_config])
    node.build()
    engine = node.get_engine(run_config.id)
    node.run()
    actors = {type(a).__name__: a for a in engine.trader.actors()}
    positions = [*engine.cache.position_snapshots(), *engine.cache.positions()]  # NETTING: one id, a snapshot per closed cycle
    return actors["AlertActor"], actors["LevelActor"], positions


def _day(ts_ns: int) -> str:
    return pd.Timestamp(ts_ns, unit="ns", tz="UTC").date().isoformat()


def test_shadow_counts_equal_the_alerts_the_events_call_for(tmp_path: Path) -> None:
    alerts, levels, positions = _run(tmp_path)
    assert alerts.shadow is not None and alerts.dispatcher is None  # shadow: nothing is sent
    expected: Counter[tuple[str, str]] = Counter()
    last: dict[tuple, int] = {}

    def count(key: tuple, ts: int, score: float | None = None) -> None:
        if key in last and ts - last[key] < COOLDOWN_S * 10**9:
            return
        last[key] = ts
        expected[(_day(ts), "btc-15m")] += 1
        if score is not None and score >= 85:
            expected[(_day(ts), "high-conf")] += 1

    items = []
    for instrument, _, event in levels.events:
        data = to_data(InstrumentId.from_str(instrument), event)
        if data.event in ("created", "touched"):
            key = ("BTC", f"{instrument}:{data.kind}:{data.timeframe}:{data.created_ts}:{data.low}", f"level_{data.event}")
            items.append((data.ts_event, 0, key, data.score * 100))
    for position in positions:
        items.append((position.ts_opened, 1, ("BTC", f"BTC-USDT-SWAP.OKX:{position.ts_opened}", "entry"), None))
        if position.is_closed:
            items.append((position.ts_closed, 2, ("BTC", f"BTC-USDT-SWAP.OKX:{position.ts_opened}", "exit"), None))
    for ts, _, key, score in sorted(items, key=lambda item: (item[0], item[1])):
        count(key, ts, score)
    assert len(positions) > 5 and sum(e.kind.value == "touched" for _, _, e in levels.events) > 20
    assert dict(alerts.shadow.counts) == dict(expected)


def test_a_sending_node_without_any_webhook_sends_nothing_and_touches_no_file(tmp_path: Path, monkeypatch) -> None:
    for variable in ("DISCORD_WEBHOOK_BTC", "DISCORD_WEBHOOK_HIGH"):
        monkeypatch.delenv(variable, raising=False)
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    catalog = sample_catalog(tmp_path / "cat")
    raw["run"] |= {"catalog_path": str(catalog.path), "tearsheet": False, "risk_report": False, "log_level": "ERROR"}
    raw["data"] = [{"instrument_id": "BTC-USDT-SWAP.OKX", "start": "2026-07-28", "end": "2026-07-29"}]
    raw["strategies"][0]["instruments"] = {"BTC-USDT-SWAP.OKX": {}}
    raw.pop("alerts")
    raw.pop("ledger")
    dead = tmp_path / "alerts" / "dead.jsonl"
    raw["actors"] = [{"actor_path": "ravebear.platform.alerts.actor:AlertActor",  # as a paper node composes it: sending
                      "config": {"channels": {"btc-15m": "DISCORD_WEBHOOK_BTC"}, "symbols": {"BTC": "btc-15m"}, "dead_letter": str(dead),
                                 "instrument_ids": ["BTC-USDT-SWAP.OKX"]}}]
    config = parse_run_file(yaml.safe_dump(raw), "alerts.yaml")
    run_config = backtest_run_config(config, catalog.path.resolve())
    node = BacktestNode(configs=[run_config])
    node.build()
    engine = node.get_engine(run_config.id)
    node.run()
    actor = next(a for a in engine.trader.actors() if isinstance(a, AlertActor))
    assert actor.dispatcher is None and actor.shadow is None and actor.built == 0
    assert not dead.parent.exists()
    node.dispose()
