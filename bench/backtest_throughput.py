"""Backtest throughput benchmark: catalog import, engine bars/s (no-op vs default strategy), CLI latency.

Run from the repo root (it prints numbers; it is not a test)::

    .venv/bin/python -m bench.backtest_throughput [--bars 500000] [--repeats 2] [--json out.json]

What is measured, in one invocation
-----------------------------------
1. **Catalog import**: wall time of `RaveCatalog(tmpdir).import_candles(frame, "BTC-USDT-SWAP")` into a
   fresh temporary catalog (validation + conversion to nautilus bars + parquet write), and bars/s.
   nautilus modules are imported before the clock starts, so the figure is the import's own work.
   Target: under 10 s for 500k bars.
2. **Backtest throughput**: a nautilus `BacktestNode` built with the project's own
   `parse_backtest_config` + `build_run_config` over all bars of that catalog, run with
   (a) `NoopStrategy` below (subscribes to the bars, does nothing per bar; the engine's floor) and
   (b) the default strategy exactly as in `config/backtest.yaml` (`UntouchedWickLong`, same venue,
   fees, fill model and strategy config; only the data window is dropped so every bar is used,
   and the tearsheet is off). The clock covers `node.run()` only, which includes reading the
   catalog, sorting and the engine loop; the engine loop alone (`engine.run_started` to
   `engine.run_finished`) is reported beside it. Each run is a separate child process
   (nautilus logging is process-wide, peak RSS is per process), the two kinds alternate
   (no-op, default, no-op, default, ...) `--repeats` times, and each child reports its peak RSS
   from `resource.getrusage(RUSAGE_SELF).ru_maxrss` and the orders/fills the strategy produced.
   Target: the default strategy keeps at least 60 % of the no-op bars/s.
3. **`ravebear --help` latency**: wall time of 5 subprocess runs of the `ravebear` console script
   (Python start-up included). Target: median under 0.5 s.

How the 500k-bar series is built
--------------------------------
The real data are the Binance USD-M BTCUSDT 1-minute files in /work/shared/data/ohlcv_1m/
(2023-07-18..08-17, 43k rows; 2025-05-04..06-24, 73k; 2025-07-06..07-17, 16.5k: ~133k rows, no gaps).
They are chained end to end, in that order, repeating the set as often as needed, and the last
segment is cut so the series has exactly `--bars` bars. Each segment's timestamps are shifted so it
starts one minute after the previous one ends (the whole series is gapless), and its prices are
rescaled multiplicatively so its first open equals the previous segment's last close, then rounded
to the instrument's 0.1 tick. Returns, candle shapes and volumes are therefore real; only the
price level and the calendar are synthetic. The number of bars and segments used is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # also works as `python bench/backtest_throughput.py`
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import yaml  # noqa: E402
from nautilus_trader.config import StrategyConfig  # noqa: E402
from nautilus_trader.model.data import Bar, BarType  # noqa: E402
from nautilus_trader.model.identifiers import InstrumentId  # noqa: E402
from nautilus_trader.trading.strategy import Strategy  # noqa: E402

DATA_DIR = Path("/work/shared/data/ohlcv_1m")
SEGMENT_FILES = (
    "binance_usdm_BTCUSDT_1m_20230718_20230817.parquet",
    "binance_usdm_BTCUSDT_1m_20250504_20250624.parquet",
    "binance_usdm_BTCUSDT_1m_20250706_20250717.parquet",
)
SYMBOL = "BTC-USDT-SWAP"
INSTRUMENT_ID = f"{SYMBOL}.OKX"
BAR_TYPE = f"{INSTRUMENT_ID}-1-MINUTE-LAST-EXTERNAL"
DEFAULT_CONFIG = REPO_ROOT / "config" / "backtest.yaml"
TICK = 0.1
MINUTE_MS = 60_000
NOOP_PATH = "bench.backtest_throughput:NoopStrategy"
RESULT_MARKER = "BENCH_RESULT "
HELP_RUNS = 5

IMPORT_TARGET_S = 10.0
RATIO_TARGET = 0.60
HELP_TARGET_S = 0.5


# -- the no-op strategy (importable as bench.backtest_throughput:NoopStrategy) ------------


class NoopStrategyConfig(StrategyConfig, frozen=True, kw_only=True):
    """The bars a no-op strategy subscribes to."""

    instrument_id: InstrumentId
    bar_type: BarType


class NoopStrategy(Strategy):
    """Subscribe to the bars and do nothing with them: the engine's throughput floor."""

    def __init__(self, config: NoopStrategyConfig) -> None:
        super().__init__(config)

    def on_start(self) -> None:
        """Subscribe to the configured bars."""
        self.subscribe_bars(self.config.bar_type)

    def on_bar(self, bar: Bar) -> None:
        """Do nothing."""

    def on_stop(self) -> None:
        """Do nothing (defined so nautilus does not warn about a missing on_stop)."""


# -- data ----------------------------------------------------------------------------------


def load_segments() -> list[pd.DataFrame]:
    """Read the real Binance USD-M BTCUSDT 1-minute segments, oldest first."""
    return [pd.read_parquet(DATA_DIR / name, columns=["ts", "open", "high", "low", "close", "volume"]) for name in SEGMENT_FILES]


def chain_segments(segments: list[pd.DataFrame], n_bars: int) -> tuple[pd.DataFrame, int]:
    """Chain real segments (repeating the set) into a gapless `n_bars` series; return it and the segment count.

    Each segment starts one minute after the previous one ends and is rescaled so its first open
    equals the previous last close; prices are rounded to the 0.1 tick.
    """
    parts: list[pd.DataFrame] = []
    total = 0
    last_ts: int | None = None
    last_close: float | None = None
    index = 0
    while total < n_bars:
        seg = segments[index % len(segments)].iloc[: n_bars - total]
        index += 1
        ts = seg["ts"].to_numpy(dtype=np.int64)
        if last_ts is not None:
            ts = ts - ts[0] + last_ts + MINUTE_MS
        scale = 1.0 if last_close is None else last_close / float(seg["open"].iloc[0])
        part = pd.DataFrame({"ts": ts})
        for column in ("open", "high", "low", "close"):
            part[column] = np.round(seg[column].to_numpy(dtype=np.float64) * scale / TICK) * TICK
            part[column] = part[column].round(1)
        part["volume"] = seg["volume"].to_numpy(dtype=np.float64)
        parts.append(part)
        total += len(part)
        last_ts = int(ts[-1])
        last_close = float(part["close"].iloc[-1])
    frame = pd.concat(parts, ignore_index=True)
    frame.insert(0, "row", np.arange(1, len(frame) + 1))
    return frame, len(parts)


# -- 1. catalog import ---------------------------------------------------------------------


def measure_import(frame: pd.DataFrame, catalog_dir: Path) -> dict[str, Any]:
    """Import the frame into a fresh catalog; return seconds, bars/s and what was written."""
    import nautilus_trader.persistence.catalog  # noqa: F401 - import cost stays out of the figure

    from ravebear.catalog.store import RaveCatalog

    started = time.perf_counter()
    result = RaveCatalog(catalog_dir).import_candles(frame, SYMBOL)
    elapsed = time.perf_counter() - started
    return {
        "bars": len(frame),
        "seconds": elapsed,
        "bars_per_s": len(frame) / elapsed,
        "written": result.written,
        "rejected": len(result.report.rejections),
        "gaps": len(result.report.gaps),
    }


# -- 2. backtests (one child process per run) ----------------------------------------------


def bench_config_text(kind: str, log_level: str) -> str:
    """Return the backtest YAML for a run: config/backtest.yaml without a data window or tearsheet.

    kind "default" keeps the file's strategies unchanged; kind "noop" replaces them by NoopStrategy.
    """
    raw = yaml.safe_load(DEFAULT_CONFIG.read_text())
    raw["run"].update({"name": f"bench-{kind}", "tearsheet": False, "log_level": log_level})
    raw["data"] = [{"instrument_id": INSTRUMENT_ID, "bar_type": BAR_TYPE}]
    if kind == "noop":
        raw["strategies"] = [{"strategy_path": NOOP_PATH, "config": {"instrument_id": INSTRUMENT_ID, "bar_type": BAR_TYPE}}]
    elif kind != "default":
        raise ValueError(f"unknown run kind {kind!r}")
    for strategy in raw["strategies"]:
        strategy["config"].update({"instrument_id": INSTRUMENT_ID, "bar_type": BAR_TYPE})
    return yaml.safe_dump(raw, sort_keys=False)


def count_fills(orders: list[Any]) -> int:
    """Return the number of OrderFilled events over the given orders."""
    from nautilus_trader.model.events import OrderFilled

    return sum(isinstance(event, OrderFilled) for order in orders for event in order.events)


def child_main(kind: str, catalog_path: Path, log_level: str) -> None:
    """Run one backtest in this process and print its figures as one JSON line."""
    from nautilus_trader.backtest.node import BacktestNode

    from ravebear.platform.backtest import build_run_config
    from ravebear.platform.config import parse_backtest_config

    config = parse_backtest_config(bench_config_text(kind, log_level), f"bench-{kind}")
    run_config = build_run_config(config, catalog_path.resolve())
    node = BacktestNode(configs=[run_config])
    try:
        node.build()
        started = time.perf_counter()
        results = node.run()
        elapsed = time.perf_counter() - started
        engine = node.get_engine(run_config.id)
        orders = engine.cache.orders()
        loop_s = (engine.run_finished - engine.run_started).total_seconds()
        figures = {
            "kind": kind,
            "bars": results[0].iterations,
            "run_s": elapsed,
            "engine_loop_s": loop_s,
            "bars_per_s": results[0].iterations / elapsed,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "orders": len(orders),
            "fills": count_fills(orders),
            "positions": len(engine.cache.positions()),
        }
    finally:
        node.dispose()
    print(RESULT_MARKER + json.dumps(figures), flush=True)


def run_child(kind: str, catalog_path: Path, log_level: str) -> dict[str, Any]:
    """Run one backtest in a fresh interpreter and return its figures."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "bench.backtest_throughput", "--child", kind, "--catalog", str(catalog_path), "--log-level", log_level]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False)
    lines = done.stdout.splitlines()
    found = [line for line in lines if line.startswith(RESULT_MARKER)]
    if done.returncode != 0 or not found:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise RuntimeError(f"{kind} backtest child failed with exit code {done.returncode}")
    figures = json.loads(found[-1].removeprefix(RESULT_MARKER))
    figures["log_lines"] = len(lines) - len(found)
    return figures


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return best and median of the runs of one kind."""
    rates = [run["bars_per_s"] for run in runs]
    return {
        "bars": runs[0]["bars"],
        "bars_per_s_best": max(rates),
        "bars_per_s_median": statistics.median(rates),
        "run_s_best": min(run["run_s"] for run in runs),
        "run_s_median": statistics.median(run["run_s"] for run in runs),
        "engine_loop_s_median": statistics.median(run["engine_loop_s"] for run in runs),
        "peak_rss_mb_max": max(run["peak_rss_mb"] for run in runs),
        "peak_rss_mb_median": statistics.median(run["peak_rss_mb"] for run in runs),
        "orders": runs[0]["orders"],
        "fills": runs[0]["fills"],
        "positions": runs[0]["positions"],
        "log_lines": runs[0]["log_lines"],
        "runs": runs,
    }


def measure_backtests(catalog_path: Path, repeats: int, log_level: str) -> dict[str, Any]:
    """Run no-op and default backtests alternately; return both summaries and the default/no-op ratio."""
    runs: dict[str, list[dict[str, Any]]] = {"noop": [], "default": []}
    for repeat in range(1, repeats + 1):
        for kind in ("noop", "default"):
            figures = run_child(kind, catalog_path, log_level)
            runs[kind].append(figures)
            print(
                f"  [{repeat}/{repeats}] {kind:<7} {figures['bars']:,} bars in {figures['run_s']:.2f} s "
                f"(engine loop {figures['engine_loop_s']:.2f} s) = {figures['bars_per_s']:,.0f} bars/s, "
                f"peak RSS {figures['peak_rss_mb']:,.0f} MiB, {figures['orders']} orders, {figures['fills']} fills",
                flush=True,
            )
    noop, default = summarize(runs["noop"]), summarize(runs["default"])
    return {
        "noop": noop,
        "default": default,
        "ratio_median": default["bars_per_s_median"] / noop["bars_per_s_median"],
        "ratio_best": default["bars_per_s_best"] / noop["bars_per_s_best"],
    }


# -- 3. CLI latency ------------------------------------------------------------------------


def help_command() -> list[str]:
    """Return the command that runs `ravebear --help` with this interpreter's environment."""
    script = Path(sys.executable).parent / "ravebear"
    return [str(script), "--help"] if script.exists() else [sys.executable, "-m", "ravebear.platform.cli", "--help"]


def measure_help(runs: int = HELP_RUNS) -> dict[str, Any]:
    """Time `ravebear --help` in fresh subprocesses; return median and max seconds."""
    command = help_command()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=REPO_ROOT, capture_output=True, check=True, timeout=60)
        times.append(time.perf_counter() - started)
    return {"command": " ".join(command), "seconds": times, "median_s": statistics.median(times), "max_s": max(times)}


# -- report --------------------------------------------------------------------------------


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def table_rows(figures: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Return (figure, value, reference, target) rows for the final table."""
    imp, bt, cli = figures["import"], figures["backtest"], figures["help"]
    noop, default = bt["noop"], bt["default"]
    data = f"{imp['bars']:,} bars ({figures['data']['segments']} real segments chained)"
    return [
        ("catalog import", f"{imp['seconds']:.2f} s = {imp['bars_per_s']:,.0f} bars/s", data,
         f"< {IMPORT_TARGET_S:.0f} s  {_mark(imp['seconds'] < IMPORT_TARGET_S)}"),
        ("no-op backtest", f"{noop['bars_per_s_best']:,.0f} / {noop['bars_per_s_median']:,.0f} bars/s",
         "node.run() wall, best / median", "floor (reference)"),
        ("default backtest", f"{default['bars_per_s_best']:,.0f} / {default['bars_per_s_median']:,.0f} bars/s",
         "UntouchedWickLong, config/backtest.yaml", "-"),
        ("default / no-op", f"{bt['ratio_median']:.0%} median, {bt['ratio_best']:.0%} best",
         "no-op bars/s", f">= {RATIO_TARGET:.0%}  {_mark(bt['ratio_median'] >= RATIO_TARGET)}"),
        ("engine loop only", f"{noop['engine_loop_s_median']:.2f} s / {default['engine_loop_s_median']:.2f} s",
         "no-op / default, median", "-"),
        ("peak RSS", f"{noop['peak_rss_mb_max']:,.0f} / {default['peak_rss_mb_max']:,.0f} MiB",
         "no-op / default, max per child", "-"),
        ("default traded", f"{default['orders']:,} orders, {default['fills']:,} fills, {default['positions']:,} positions",
         "engine.cache after run", "> 0  " + _mark(default["fills"] > 0)),
        ("ravebear --help", f"{cli['median_s']:.3f} s median, {cli['max_s']:.3f} s max",
         f"{HELP_RUNS} subprocess runs", f"< {HELP_TARGET_S} s  {_mark(cli['median_s'] < HELP_TARGET_S)}"),
    ]


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    """Print rows as an aligned text table."""
    header = ("figure", "value", "reference", "target")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    line = "  ".join("-" * width for width in widths)
    print(line)
    for row in [header, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if row is header:
            print(line)
    print(line)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--bars", type=int, default=500_000, help="bars in the chained series (default 500000)")
    parser.add_argument("--repeats", type=int, default=2, help="no-op/default backtest pairs (default 2)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    parser.add_argument("--log-level", default="WARNING", choices=["WARNING", "ERROR"], help="nautilus log level")
    parser.add_argument("--child", choices=["noop", "default"], help=argparse.SUPPRESS)
    parser.add_argument("--catalog", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the three measurements and print the table."""
    args = parse_args(argv)
    if args.child:
        child_main(args.child, args.catalog, args.log_level)
        return
    wall = time.perf_counter()
    frame, segments = chain_segments(load_segments(), args.bars)
    print(
        f"series: {len(frame):,} bars from {segments} real segments "
        f"({pd.Timestamp(int(frame['ts'].iloc[0]), unit='ms')} .. {pd.Timestamp(int(frame['ts'].iloc[-1]), unit='ms')}, "
        f"close {frame['close'].iloc[0]:,.1f} -> {frame['close'].iloc[-1]:,.1f})",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="ravebear-bench-") as tmp:
        catalog_path = Path(tmp) / "catalog"
        imported = measure_import(frame, catalog_path)
        print(
            f"import: {imported['seconds']:.2f} s = {imported['bars_per_s']:,.0f} bars/s "
            f"({imported['written']:,} written, {imported['rejected']} rejected, {imported['gaps']} gaps)",
            flush=True,
        )
        print(f"backtests: {args.repeats} x (no-op, default), log level {args.log_level}", flush=True)
        backtest = measure_backtests(catalog_path, args.repeats, args.log_level)
    cli = measure_help()
    print(f"help: {cli['median_s']:.3f} s median, {cli['max_s']:.3f} s max ({cli['command']})", flush=True)
    figures = {
        "data": {"bars": len(frame), "segments": segments, "files": list(SEGMENT_FILES)},
        "import": imported,
        "backtest": backtest,
        "help": cli,
        "targets": {"import_s": IMPORT_TARGET_S, "default_over_noop": RATIO_TARGET, "help_s": HELP_TARGET_S},
    }
    figures["total_s"] = time.perf_counter() - wall
    print()
    print_table(table_rows(figures))
    print(f"total benchmark time: {figures['total_s']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()
