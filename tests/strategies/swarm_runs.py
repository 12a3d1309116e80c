"""Shared by the swarm node tests: the shipped swarm-gate run file narrowed to a few days of the bundled sample, with
the SwarmActor recording what it published and a SwarmRecorder listening on the message bus."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
INSTRUMENTS = ("BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX")
START, END = "2026-07-28", "2026-07-31"


def swarm_run_file(catalog: Path, entry_filter: dict[str, Any] | None = None, swarm_actor: bool = True, **extra: Any) -> dict[str, Any]:
    """config/backtests/swarm-gate.yaml on BTC and ETH over START..END (ETH reads BTC as its reference)."""
    raw = yaml.safe_load((REPO / "config" / "backtests" / "swarm-gate.yaml").read_text())
    raw["run"] |= {"catalog_path": str(catalog), "tearsheet": False, "risk_report": False, "log_level": "ERROR"}
    raw["data"] = [{"instrument_id": name, "start": START, "end": END} for name in INSTRUMENTS]
    strategy = raw["strategies"][0]
    strategy["instruments"] = {name: {} for name in INSTRUMENTS}
    if entry_filter is not None:
        strategy["config"]["entry_filter"] = entry_filter
    actor = raw["actors"][0]
    actor["config"] |= {"record": True, "reference": {INSTRUMENTS[1]: INSTRUMENTS[0]}}
    raw["actors"] = ([actor] if swarm_actor else []) + [{"actor_path": "tests.strategies.swarm_recorder:SwarmRecorder", "config": {}}]
    raw.update(extra)
    return raw


@dataclass
class SwarmRun:
    """What one node's swarm did: the actor's signals, what went over the bus, the strategies' decisions and skips."""

    signals: list  # the SwarmActor's, in publication order
    published: list  # SwarmSignals the recorder received
    decisions: list  # SignalDecision of every strategy
    skipped: dict[str, int]  # summed over the strategies
    unfed: list[str]  # the strategies' swarm-conditions warnings
    hit_rates: dict[str, Any]  # instrument -> the actor's HitRateTracker


def collect(actors: list, strategies: list) -> SwarmRun:
    """Read a finished node's actors and strategies (a paper node's taken before it runs: it lets them go at the end)."""
    recorder = next(actor for actor in actors if type(actor).__name__ == "SwarmRecorder")
    swarm = next((actor for actor in actors if type(actor).__name__ == "SwarmActor"), None)
    skipped: dict[str, int] = {}
    unfed = []
    for strategy in strategies:
        for name, count in strategy.skipped.items():
            skipped[name] = skipped.get(name, 0) + count
        if strategy.swarm is not None and strategy.swarm.unfed():
            unfed.append(strategy.swarm.unfed())
    hits = {name: swarm.hit_rates(name) for name in swarm.config.instrument_ids} if swarm else {}
    return SwarmRun(list(swarm.signals) if swarm else [], list(recorder.published), list(recorder.decisions), skipped, unfed, hits)


def backtest(raw: dict[str, Any], catalog: Path) -> SwarmRun:
    """Run the file in a BacktestNode built by the composer."""
    from nautilus_trader.backtest.node import BacktestNode

    from ravebear.platform.nodes.composer import backtest_run_config
    from ravebear.platform.nodes.run_file import parse_run_file

    run_config = backtest_run_config(parse_run_file(yaml.safe_dump(raw), "swarm.yaml"), catalog.resolve())
    node = BacktestNode(configs=[run_config])
    node.run()
    trader = node.get_engine(run_config.id).trader
    result = collect(trader.actors(), trader.strategies())
    node.dispose()
    return result
