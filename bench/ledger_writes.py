"""Ledger write throughput: batched `LedgerWriter` events/s on SQLite (target >= 20,000) and on PostgreSQL, same run.

Run from the repo root (it prints numbers; it is not a test)::

    .venv/bin/python -m bench.ledger_writes [--events 200000] [--batch-rows 1000] [--json var/bench_ledger.json]

Events are `LevelTouch` rows (the widest table, 40 columns) built from the bundled real OKX BTC 1-minute candles
(data/sample): a touch per bar at its low or high with its close as the touch price, the sample repeated with its
times shifted until there are `--events`. The clock runs from the first `writer.add()` to the end of `close()`
(every row committed), producer and writer thread in one process as in a node. Also printed: the caller's
`add()` latency p50/p99 (what the node's data path pays per event), and events per CPU-second of this process
(producer + writer thread; the PostgreSQL server's own CPU is not in it): on a shared machine the wall figure follows
the load, the CPU figure much less. PostgreSQL is a real server started from the
pgserver wheel's binaries (test extra) on 127.0.0.1 (fsync off, as the tests start it: a lower bound on a real server's cost is not measured); SQLite is a file in a temporary folder (WAL,
synchronous=NORMAL, as the ledger opens it).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample" / "okx_swap_BTC-USDT-SWAP_1m_20260727_20260822_gappy.parquet"
TARGET_SQLITE = 20_000


def events(count: int) -> list[dict]:
    """`count` touch rows from the real candles (repeated, shifted in time, when more are asked than bars exist)."""
    from ravebear.catalog.candles import read_ohlcv_file

    frame = read_ohlcv_file(SAMPLE)
    bars = list(frame[["ts", "high", "low", "close", "volume"]].itertuples(index=False))
    span_ns = (int(bars[-1].ts) - int(bars[0].ts) + 60_000) * 1_000_000
    rows = []
    for i in range(count):
        bar = bars[i % len(bars)]
        support = i % 2 == 0
        rows.append({
            "run_id": "bench", "ts_event_ns": (int(bar.ts) + 60_000) * 1_000_000 + (i // len(bars)) * span_ns,
            "instrument_id": "BTC-USDT-SWAP.OKX", "level_id": f"L{i % 997}", "kind": "wick", "timeframe": "15m",
            "score": (i % 100) / 100, "age_min": float(i % 600), "touch_price": bar.close,
            "level_price": bar.low if support else bar.high, "side": "support" if support else "resistance",
            "direction": 1 if support else -1, "open_interest_usd": bar.volume * bar.close, "funding_rate": 0.0001,
            "long_short_ratio": 1.1, "usdt_supply_usd": 1.8e11, "usdt_net_flow_usd": 2.5e7, "btc_dominance_pct": 57.0,
        })  # fmt: skip
    return rows


def measure(url: str, rows: list[dict], spill: Path, batch_rows: int) -> dict:
    """Write `rows` through a LedgerWriter at `url`; events/s to the last commit and the add() latencies."""
    from sqlalchemy import func, select

    from ravebear.ledger.models import LevelTouch
    from ravebear.ledger.store import open_ledger
    from ravebear.ledger.writer import LedgerWriter, WriterSettings

    engine = open_ledger(url)
    writer = LedgerWriter(engine, spill, WriterSettings(batch_rows=batch_rows, batch_s=0.5))
    latencies = []
    clock = time.perf_counter
    cpu_started = time.process_time()
    started = clock()
    for row in rows:
        before = clock()
        writer.add(LevelTouch, **row)
        latencies.append(clock() - before)
    queued = clock()
    stats = writer.close(timeout=None)
    done = clock()
    cpu = time.process_time() - cpu_started
    with engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(LevelTouch)).scalar_one()
    engine.dispose()
    latencies.sort()
    return {
        "events": len(rows), "stored": stored, "batches": stats.batches, "seconds": done - started,
        "events_per_s": len(rows) / (done - started), "events_per_cpu_s": len(rows) / cpu, "add_only_per_s": len(rows) / (queued - started),
        "add_p50_us": latencies[len(latencies) // 2] * 1e6, "add_p99_us": latencies[int(len(latencies) * 0.99)] * 1e6,
    }  # fmt: skip


def main() -> None:
    """Measure SQLite, then PostgreSQL, and print both with the target."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch-rows", type=int, default=1000)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    rows = events(args.events)
    results = {}
    with tempfile.TemporaryDirectory(prefix="ledger-bench-") as folder:
        root = Path(folder)
        results["sqlite"] = measure(f"sqlite:///{root / 'ledger.sqlite'}", [dict(r) for r in rows], root / "spill-a.jsonl", args.batch_rows)
        try:
            from tests.postgres_server import PostgresServer
        except ImportError as exc:  # the test extra is not installed
            print(f"postgresql: skipped ({exc}; install the test extra: pip install -e '.[test]')")
        else:
            server = PostgresServer()
            try:
                results["postgresql"] = measure(server.create_database("bench"), [dict(r) for r in rows], root / "spill-b.jsonl", args.batch_rows)
            finally:
                server.close()
    for name, figures in results.items():
        target = f">= {TARGET_SQLITE:,}  {'ok' if figures['events_per_s'] >= TARGET_SQLITE else 'MISSED'}" if name == "sqlite" else "(beside it)"
        print(f"{name:<11} {figures['events_per_s']:>9,.0f} events/s  ({figures['events_per_cpu_s']:,.0f} per CPU-second of this process)  "
              f"{figures['events']:,} touches in {figures['batches']:,} batches, {figures['seconds']:.2f} s to the last commit   "
              f"add() p50 {figures['add_p50_us']:.1f} us, p99 {figures['add_p99_us']:.1f} us   {target}")  # fmt: skip
        assert figures["stored"] == figures["events"], f"{name}: stored {figures['stored']} of {figures['events']}"
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
