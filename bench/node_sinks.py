"""What the alerts and the ledger cost a node's data path: the same backtest with and without them, and the
handlers timed per event.

Run from the repo root (it prints numbers; it is not a test)::

    .venv/bin/python -m bench.node_sinks [--days 7]

- same run, with and without: the shipped config on BTC and ETH of the bundled sample for `--days`, once with its
  `alerts:` and `ledger:` sections (a local Discord on 127.0.0.1 receiving; the ledger a SQLite file) and once
  without, alternating, two pairs; the added wall time per event handed to the node (bars, level events, order and
  position events), reference p99 < 0.1 ms per event as an average;
- per event: the LedgerActor's and the AlertActor's handlers timed on the node's thread over the same week of real
  level events and bars (the writer's and the sender's threads do the rest); target p99 < 0.1 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parents[1]
TARGET_MS = 0.1


def _run_file(folder: Path, days: int, sinks: bool) -> Path:
    raw = yaml.safe_load((REPO / "config" / "backtest.yaml").read_text())
    raw["run"] |= {"tearsheet": False, "risk_report": False, "log_level": "ERROR"}
    end = f"2026-08-{4 + days - 7:02d}" if days <= 14 else "2026-08-20"
    raw["data"] = [{"instrument_id": i, "start": "2026-07-28", "end": end} for i in ("BTC-USDT-SWAP.OKX", "ETH-USDT-SWAP.OKX")]
    raw["strategies"][0]["instruments"] = {"BTC-USDT-SWAP.OKX": {}, "ETH-USDT-SWAP.OKX": {}}
    if sinks:
        raw["ledger"] |= {"spill": str(folder / "spill.jsonl")}
    else:
        raw.pop("ledger")
        raw.pop("alerts")
    path = folder / ("with.yaml" if sinks else "without.yaml")
    path.write_text(yaml.safe_dump(raw))
    return path


def same_run(days: int) -> dict:
    """Wall time of the backtest with and without alerts + ledger, two alternating pairs (the child's own timing of node.run)."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {**os.environ, "RAVEBEAR_CATALOG": str(folder / "catalog"), "RAVEBEAR_LEDGER_URL": f"sqlite:///{folder / 'ledger.sqlite'}"}
        subprocess.run([sys.executable, "-m", "ravebear.platform.cli", "catalog", "import-sample"], env=env, cwd=REPO, check=True, capture_output=True)
        figures: dict[str, list[float]] = {"with": [], "without": []}
        events = 0
        for _ in range(2):
            for kind in ("without", "with"):
                path = _run_file(folder, days, kind == "with")
                done = subprocess.run([sys.executable, "-m", "ravebear.platform.cli", "backtest", str(path), "--output", str(folder / kind)],
                                      env=env, cwd=REPO, capture_output=True, text=True, check=True)
                run = Path(done.stdout.split("run folder:")[1].split()[0])
                summary = json.loads((run / "summary.json").read_text())
                figures[kind].append(summary["elapsed_s"])
                if kind == "with":
                    import sqlite3

                    with sqlite3.connect(folder / "ledger.sqlite") as db:
                        touches = db.execute("select count(*) from level_touches").fetchone()[0] // 1
                    events = summary["bars"] + touches
    with_s, without_s = statistics.median(figures["with"]), statistics.median(figures["without"])
    added_ms = (with_s - without_s) / max(events, 1) * 1000
    print(f"same run ({days} days BTC+ETH, {events:,} bars and touches): without {without_s:.2f} s, with alerts + ledger {with_s:.2f} s "
          f"(medians of 2); added {added_ms * 1000:.1f} µs per event on average   (target p99 < {TARGET_MS:g} ms per event)")
    return {"with_s": figures["with"], "without_s": figures["without"], "events": events, "added_ms_per_event": added_ms}


def handlers() -> dict:
    """p99 of the LedgerActor's and the AlertActor's handlers per real level event and bar, on this thread."""
    import pandas as pd
    from nautilus_trader.model.data import Bar, BarType
    from nautilus_trader.model.objects import Price, Quantity

    from bench.alerts import _Log
    from ravebear.adapters.discord.clients import webhook_clients
    from ravebear.adapters.discord.dead_letter import DeadLetters
    from ravebear.adapters.discord.dispatcher import AlertDispatcher
    from ravebear.ledger.store import open_ledger
    from ravebear.ledger.writer import LedgerWriter
    from ravebear.platform.alerts.actor import AlertActor, AlertActorConfig
    from ravebear.platform.ledger_feed.actor import LedgerActor, LedgerActorConfig
    from ravebear.strategies.level_actor import to_data
    from ravebear.strategies.levels.engine import LevelEngine, LevelEngineConfig
    from tests.discord_webhook_server import DiscordWebhookServer
    from nautilus_trader.model.identifiers import InstrumentId

    bars = pd.read_parquet(REPO / "data/sample/okx_swap_BTC-USDT-SWAP_1m_20260727_20260822_gappy.parquet").head(10_080)
    instrument = InstrumentId.from_str("BTC-USDT-SWAP.OKX")
    bar_type = BarType.from_str("BTC-USDT-SWAP.OKX-1-MINUTE-LAST-EXTERNAL")
    engine = LevelEngine(LevelEngineConfig())
    timeline = []
    for row in bars.itertuples():
        ts = (int(row.ts) + 60_000) * 1_000_000
        bar = Bar(bar_type, Price(row.open, 1), Price(row.high, 1), Price(row.low, 1), Price(row.close, 1), Quantity(row.volume, 4), ts, ts)
        timeline.append(bar)
        timeline += [to_data(instrument, e) for e in engine.on_candle("1m", row.open, row.high, row.low, row.close, row.volume, ts)]
    with tempfile.TemporaryDirectory() as tmp, DiscordWebhookServer(webhooks={"111": ("tok-bench-aaaa", "c-btc")}) as server:
        ledger = LedgerActor(LedgerActorConfig(instrument_ids=("BTC-USDT-SWAP.OKX",)))
        ledger.writer = LedgerWriter(open_ledger(f"sqlite:///{tmp}/ledger.sqlite"), Path(tmp) / "spill.jsonl")
        alerts = AlertActor(AlertActorConfig(channels={"btc-15m": "DISCORD_WEBHOOK_BTC"}, symbols={"BTC": "btc-15m"}))
        clients, _ = webhook_clients({"btc-15m": "DISCORD_WEBHOOK_BTC"}, _Log(), {"DISCORD_WEBHOOK_BTC": server.url_for("111")})
        alerts.dispatcher = AlertDispatcher(alerts.routes, clients, DeadLetters(Path(tmp) / "dead.jsonl"), _Log(), 300, 3)
        alerts.dispatcher.start()
        times = []
        for item in timeline:
            started = time.perf_counter_ns()
            if isinstance(item, Bar):
                ledger.on_bar(item)
            else:
                ledger.on_data(item)
                alerts.on_data(item)
            times.append(time.perf_counter_ns() - started)
        alerts.dispatcher.close(5)
        written = ledger.writer.close().written_rows
    ms = np.array(times) / 1e6
    p50, p99 = float(np.percentile(ms, 50)), float(np.percentile(ms, 99))
    print(f"handlers: {len(timeline):,} events (bars and level events, {written:,} ledger rows), LedgerActor + AlertActor on the node's thread "
          f"p50 {p50 * 1000:.1f} µs, p99 {p99 * 1000:.1f} µs, max {ms.max() * 1000:.1f} µs   (target p99 < {TARGET_MS:g} ms)")
    return {"events": len(timeline), "p50_ms": p50, "p99_ms": p99, "max_ms": float(ms.max())}


def main(argv: list[str] | None = None) -> None:
    """Measure and print each figure beside its target."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--days", type=int, default=7)
    args = parser.parse_args(argv)
    handlers()
    same_run(args.days)


if __name__ == "__main__":
    main()
