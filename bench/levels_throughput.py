"""Level engine throughput: research mode (every detector, four timeframes) and the LevelActor in a node.

Run from the repo root (it prints numbers; it is not a test)::

    .venv/bin/python -m bench.levels_throughput [--bars 500000] [--repeats 2]

1. **Research mode**: `replay_levels` (the same detectors, book and confluence stacks the
   LevelActor runs) over the chained real series of `bench.backtest_throughput` (Binance USD-M
   BTC 1-minute segments, see that module), with 1m/5m/15m/1h built from the 1-minute bars.
   Figure: 1-minute bars/s, resampling included. Also each detector alone and all without
   stacks, so the cost of each part is visible; then everything through the fast path
   (`ravebear.research.fast_levels`, compiled kernels giving the same events, checked here
   against the pure run). Target: >= 200k bars/s with everything on, fast path.
2. **In a node**: a BacktestNode over the same bars (imported into a temporary catalog) with
   (a) the no-op strategy and (b) the LevelActor (all detectors, four timeframes the actor builds
   from the 1-minute bars, events published on the bus), each in its own child process,
   alternating. Figure: bars/s of `node.run()`. Target: the LevelActor keeps >= 50 % of no-op.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.backtest_throughput import (
    BAR_TYPE, INSTRUMENT_ID, NOOP_PATH, REPO_ROOT, RESULT_MARKER, SYMBOL, chain_segments, load_segments, peak_rss,
)  # fmt: skip

RESEARCH_TARGET = 200_000
NODE_RATIO_TARGET = 0.50
ACTOR_PATH = "ravebear.strategies.level_actor:LevelActor"


def research_figures(n_bars: int) -> list[tuple[str, float, int]]:
    """Time replay_levels for each detector alone, all without stacks, and everything; then the fast path."""
    from ravebear.research.fast_levels import fast_replay_levels
    from ravebear.strategies.levels.engine import LevelEngineConfig
    from ravebear.strategies.levels.replay import replay_levels

    frame, _ = chain_segments(load_segments(), n_bars)
    cases = [(name, LevelEngineConfig(detectors=(name,), confluence_enabled=False)) for name in ("wicks", "poor", "boxes", "origins")]
    cases += [("all, no stacks", LevelEngineConfig(confluence_enabled=False)), ("everything", LevelEngineConfig())]
    out = []
    events: list = []
    for label, config in cases:
        events.clear()  # the last case's events are freed outside the timed region
        started = time.perf_counter()
        events = replay_levels(frame, config)
        elapsed = time.perf_counter() - started
        out.append((label, len(frame) / elapsed, len(events)))
        print(f"  research {label:<24} {len(frame) / elapsed:>10,.0f} bars/s  {len(events):>9,} events", flush=True)
    pure = events
    started = time.perf_counter()
    fast_replay_levels(frame.iloc[:2_000], LevelEngineConfig())  # JIT compile or cache load, once per process
    warm_up = time.perf_counter() - started
    started = time.perf_counter()
    fast = fast_replay_levels(frame, LevelEngineConfig())
    elapsed = time.perf_counter() - started
    label = "everything (fast path)"
    out.append((label, len(frame) / elapsed, len(fast)))
    same = "same events as pure" if fast == pure else "DIFFERENT EVENTS FROM PURE"
    print(f"  research {label:<24} {len(frame) / elapsed:>10,.0f} bars/s  {len(fast):>9,} events  ({same}; "
          f"first call {warm_up:.1f} s: JIT compile or cache load, not counted)", flush=True)  # fmt: skip
    return out


def node_config_text(kind: str) -> str:
    """Return the backtest YAML of a node run: no-op strategy or LevelActor alone."""
    import yaml

    raw: dict[str, Any] = {
        "run": {"name": f"levels-{kind}", "log_level": "ERROR", "tearsheet": False},
        "data": [{"instrument_id": INSTRUMENT_ID, "bar_type": BAR_TYPE}],
    }
    if kind == "noop":
        raw["strategies"] = [{"strategy_path": NOOP_PATH, "config": {"instrument_id": INSTRUMENT_ID, "bar_type": BAR_TYPE}}]
    else:
        raw["actors"] = [{"actor_path": ACTOR_PATH, "config": {"instrument_ids": [INSTRUMENT_ID]}}]
    return yaml.safe_dump(raw)


def child_node(kind: str, catalog_path: Path) -> dict[str, Any]:
    """Run one node over every bar of the catalog and return its figures."""
    from ravebear.platform.nodes.backtest_node import RaveBacktestNode as BacktestNode  # as `ravebear backtest` runs

    from ravebear.platform.nodes.backtest import prepare_backtest_process
    from ravebear.platform.nodes.composer import backtest_run_config
    from ravebear.platform.nodes.run_file import parse_run_file

    prepare_backtest_process()
    run_config = backtest_run_config(parse_run_file(node_config_text(kind)), catalog_path.resolve())
    node = BacktestNode(configs=[run_config])
    node.build()
    engine = node.get_engine(run_config.id)
    started = time.perf_counter()
    results = node.run()
    elapsed = time.perf_counter() - started
    events = engine.trader.actors()[0].event_count if kind == "actor" else 0
    bars = results[0].iterations
    node.dispose()
    return {"kind": kind, "bars": bars, "run_s": elapsed, "bars_per_s": bars / elapsed, "events": events, **peak_rss()}


def run_child(args: list[str]) -> dict[str, Any]:
    """Run this module in a fresh interpreter with `--child ...` and return its figures."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-m", "bench.levels_throughput", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=3600, check=False)  # fmt: skip
    found = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if done.returncode != 0 or not found:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise RuntimeError(f"child {args} failed with exit code {done.returncode}")
    return json.loads(found[-1].removeprefix(RESULT_MARKER))


def child_import(catalog_path: Path, n_bars: int) -> dict[str, Any]:
    """Import the chained series into a fresh catalog."""
    from ravebear.catalog.store import RaveCatalog

    frame, segments = chain_segments(load_segments(), n_bars)
    RaveCatalog(catalog_path).import_candles(frame, SYMBOL)
    return {"bars": len(frame), "segments": segments}


def main(argv: list[str] | None = None) -> None:
    """Print the research and node figures against their targets."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bars", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--child", choices=["import", "noop", "actor"])
    parser.add_argument("--catalog", type=Path)
    args = parser.parse_args(argv)
    if args.child:
        figures = child_import(args.catalog, args.bars) if args.child == "import" else child_node(args.child, args.catalog)
        print(RESULT_MARKER + json.dumps(figures), flush=True)
        return

    started = time.perf_counter()
    print(f"research mode, {args.bars:,} chained real 1-minute bars, timeframes 1m/5m/15m/1h:", flush=True)
    research = research_figures(args.bars)
    with tempfile.TemporaryDirectory(prefix="ravebear-levels-bench-") as tmp:
        catalog = Path(tmp) / "catalog"
        imported = run_child(["--child", "import", "--catalog", str(catalog), "--bars", str(args.bars)])
        print(f"node runs over {imported['bars']:,} bars ({imported['segments']} segments):", flush=True)
        runs: dict[str, list[dict[str, Any]]] = {"noop": [], "actor": []}
        for repeat in range(1, args.repeats + 1):
            for kind in ("noop", "actor"):
                run = run_child(["--child", kind, "--catalog", str(catalog)])
                runs[kind].append(run)
                print(f"  [{repeat}/{args.repeats}] {kind:<5} {run['run_s']:.2f} s = {run['bars_per_s']:,.0f} bars/s, "
                      f"{run['events']:,} level events, peak RSS {run['peak_rss_mb']:,.0f} MiB", flush=True)  # fmt: skip
    pure_everything, everything = research[-2][1], research[-1][1]
    noop = statistics.median(run["bars_per_s"] for run in runs["noop"])
    actor = statistics.median(run["bars_per_s"] for run in runs["actor"])
    ratios = [a["bars_per_s"] / n["bars_per_s"] for n, a in zip(runs["noop"], runs["actor"], strict=True)]
    print()
    print(f"research, everything on     {everything:>10,.0f} bars/s   target >= {RESEARCH_TARGET:,}  "
          f"{'ok' if everything >= RESEARCH_TARGET else 'MISSED'}  (fast path)")  # fmt: skip
    print(f"research, pure replay       {pure_everything:>10,.0f} bars/s   reference (one candle at a time through LevelEngine)")
    print(f"node no-op (median)         {noop:>10,.0f} bars/s   reference")
    print(f"node LevelActor (median)    {actor:>10,.0f} bars/s")
    print(f"LevelActor / no-op          {actor / noop:>10.1%} median, pairs {', '.join(f'{r:.1%}' for r in ratios)}   "
          f"target >= {NODE_RATIO_TARGET:.0%}  {'ok' if actor / noop >= NODE_RATIO_TARGET else 'MISSED'}")  # fmt: skip
    print(f"total benchmark time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
