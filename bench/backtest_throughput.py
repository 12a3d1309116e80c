"""Backtest throughput benchmark: catalog import, engine bars/s (no-op vs default strategy), CLI latency.

Run from the repo root (it prints numbers; it is not a test)::

    .venv/bin/python -m bench.backtest_throughput [--bars 500000] [--repeats 2] [--json out.json]

What is measured, in one invocation
-----------------------------------
1. **Catalog import**: wall time of `RaveCatalog(tmpdir).import_candles(frame, "BTC-USDT-SWAP")` into a
   fresh temporary catalog (validation + conversion to nautilus bars + parquet write), and bars/s,
   in a child process. nautilus modules are imported before the clock starts, so the figure is
   the import's own work.
   Target: under 10 s for 500k bars.
2. **Backtest throughput**: a nautilus `BacktestNode` built with the project's own
   `parse_run_file` + `backtest_run_config` over all bars of that catalog, run with
   (a) `bench.noop_strategy:NoopStrategy` (subscribes to the bars, does nothing per bar; the
   engine's floor) and
   (b) the default strategy exactly as in `config/backtest.yaml` (its first strategy, `UntouchedWick`, on BTC alone; same venue,
   fees, fill model and strategy config; only the data window is dropped so every bar is used,
   and the tearsheet is off). The clock covers `node.run()` only, which includes reading the
   catalog, sorting and the engine loop; the engine loop alone (`engine.run_started` to
   `engine.run_finished`) is reported beside it. Each run is a separate child process
   (nautilus logging is process-wide, peak RSS is per process), the two kinds alternate
   (no-op, default, no-op, default, ...) `--repeats` times, and each child reports its peak RSS
   from `resource.getrusage(RUSAGE_SELF).ru_maxrss` and the orders/fills the strategy produced.
   Linux carries ru_maxrss across fork+exec (a child starts with its parent's peak), so the
   parent stays small: it imports neither pandas nor nautilus, and the series is built and
   imported in a child too. Each child also reports VmHWM from /proc/self/status (the peak
   of its own address space only) as a cross-check.
   Target: the default strategy keeps at least 60 % of the no-op bars/s. With `--split` the strategy + LevelActor
   and + ledger layers run too, and the table says how many microseconds a bar each layer adds.
3. **`ravebear --help` latency** (`bench.cli_help`): wall time of 7 subprocess runs of the `ravebear` console script
   (Python start-up included). Target: median under 0.5 s.

How the 500k-bar series is built
--------------------------------
The real data are the Binance USD-M BTCUSDT 1-minute files in ../shared/data/ohlcv_1m/ ($RAVEBEAR_SHARED_DATA)
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
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.cli_help import HELP_RUNS, HELP_TARGET_S, measure_help
from bench.common import (  # shared with the other benchmarks (levels_throughput imports them from here)
    DATA_DIR, REPO_ROOT, RESULT_MARKER, SEGMENT_FILES, chain_segments, count_fills, load_segments, peak_rss,
    finish, run_module_child,
)  # fmt: skip

SYMBOL = "BTC-USDT-SWAP"
INSTRUMENT_ID = f"{SYMBOL}.OKX"
BAR_TYPE = f"{INSTRUMENT_ID}-1-MINUTE-LAST-EXTERNAL"
DEFAULT_CONFIG = REPO_ROOT / "config" / "backtest.yaml"
NOOP_PATH = "bench.noop_strategy:NoopStrategy"
CHILD_TIMEOUT_S = 1800

IMPORT_TARGET_S = 10.0
RATIO_TARGET = 0.60
BACKTRADER_TARGET = 1.5  # default strategy bars/s over backtrader's toy wick rule (issue 16)
# each backtest kind and the parts of the shipped stack it keeps beside its strategy; the layers between "strategy"
# and "default" show where the stack's time goes (--split)
LAYERS: dict[str, tuple[str, ...]] = {
    "noop": (),
    "strategy": (),
    "+actor": ("actor",),
    "+ledger": ("actor", "ledger"),
    "default": ("actor", "ledger", "alerts"),
}
KINDS = tuple(LAYERS)
SPLIT_KINDS = ("+actor", "+ledger")


# -- child processes -----------------------------------------------------------------------


def child_import(catalog_path: Path, n_bars: int) -> dict[str, Any]:
    """Build the chained series and import it into a fresh catalog; return the figures."""
    import nautilus_trader.model.data  # noqa: F401 - import cost stays out of the figure
    import nautilus_trader.persistence.catalog  # noqa: F401

    from ravebear.catalog.store import RaveCatalog

    frame, segments = chain_segments(load_segments(), n_bars)
    started = time.perf_counter()
    result = RaveCatalog(catalog_path).import_candles(frame, SYMBOL)
    elapsed = time.perf_counter() - started
    return {
        "bars": len(frame),
        "segments": segments,
        "first_open_ms": int(frame["ts"].iloc[0]),
        "last_open_ms": int(frame["ts"].iloc[-1]),
        "first_close": float(frame["close"].iloc[0]),
        "last_close": float(frame["close"].iloc[-1]),
        "seconds": elapsed,
        "bars_per_s": len(frame) / elapsed,
        "written": result.written,
        "rejected": len(result.report.rejections),
        "gaps": len(result.report.gaps),
        **peak_rss(),
    }


def bench_config_text(kind: str, log_level: str, ledger_dir: Path | None = None) -> str:
    """Return the backtest YAML for a run: config/backtest.yaml without a data window or tearsheet; its `ledger:`
    (part of the stack) writes to a database in `ledger_dir`, never the repo's var/ledger.sqlite.

    kind "default" keeps the file's strategies and their config unchanged (instrument and bar type
    set to the benchmark's, which are the file's own) and its actors, ledger and alerts: the shipped stack; kind
    "noop" is the bare engine: NoopStrategy and nothing else.
    """
    import yaml

    raw = yaml.safe_load(DEFAULT_CONFIG.read_text())
    raw["run"].update({"name": f"bench-{kind}", "tearsheet": False, "log_level": log_level})
    raw["data"] = [{"instrument_id": INSTRUMENT_ID, "bar_type": BAR_TYPE}]
    if ledger_dir is not None and raw.get("ledger") is not None:
        raw["ledger"].update({"url": f"sqlite:///{ledger_dir / f'ledger-{kind}.sqlite'}", "spill": str(ledger_dir / "ledger_spill.jsonl")})
    if kind not in KINDS:
        raise ValueError(f"unknown backtest kind {kind!r}")
    keep = LAYERS[kind]  # the parts of the shipped stack this kind keeps (noop and strategy: none)
    if "actor" not in keep:
        raw["actors"] = []
    if "ledger" not in keep:
        raw.pop("ledger", None)
    if "alerts" not in keep:
        raw.pop("alerts", None)
    if kind == "noop":
        raw["strategies"] = [{"strategy_path": NOOP_PATH, "config": {"instrument_id": INSTRUMENT_ID, "bar_type": BAR_TYPE}}]
    else:  # the file's first strategy with its settings for this instrument, on this instrument alone
        strategy = raw["strategies"][0]
        overrides = strategy.get("instruments", {}).get(INSTRUMENT_ID, {})
        strategy["instruments"] = {INSTRUMENT_ID: overrides}
        raw["strategies"] = [strategy]
    return yaml.safe_dump(raw, sort_keys=False)


def child_backtest(kind: str, catalog_path: Path, log_level: str) -> dict[str, Any]:
    """Run one backtest over every bar of the catalog; return the figures."""
    from ravebear.platform.nodes.backtest_node import RaveBacktestNode as BacktestNode  # as `ravebear backtest` runs

    from ravebear.platform.nodes.backtest import prepare_backtest_process
    from ravebear.platform.nodes.composer import backtest_run_config
    from ravebear.platform.nodes.run_file import parse_run_file

    prepare_backtest_process()  # as `ravebear backtest` does, for both kinds alike
    config = parse_run_file(bench_config_text(kind, log_level, catalog_path.parent), f"bench-{kind}")
    run_config = backtest_run_config(config, catalog_path.resolve())
    node = BacktestNode(configs=[run_config])
    try:
        node.build()
        started = time.perf_counter()
        results = node.run()
        elapsed = time.perf_counter() - started
        engine = node.get_engine(run_config.id)
        orders = engine.cache.orders()
        bars = results[0].iterations
        return {
            "kind": kind,
            "bars": bars,
            "run_s": elapsed,
            "engine_loop_s": (engine.run_finished - engine.run_started).total_seconds(),
            "bars_per_s": bars / elapsed,
            "orders": len(orders),
            "fills": count_fills(orders),
            **peak_rss(),
        }
    finally:
        node.dispose()


def child_main(kind: str, catalog_path: Path, n_bars: int, log_level: str) -> None:
    """Do one measurement in this process and print its figures as one marked JSON line."""
    if kind == "import":
        figures = child_import(catalog_path, n_bars)
    elif kind == "backtrader":
        from bench.backtrader_toy import child_backtrader

        figures = child_backtrader(catalog_path, BAR_TYPE)
    else:
        figures = child_backtest(kind, catalog_path, log_level)
    print(RESULT_MARKER + json.dumps(figures), flush=True)


def run_child(kind: str, catalog_path: Path, n_bars: int, log_level: str) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter and return its figures."""
    args = ["--child", kind, "--catalog", str(catalog_path), "--bars", str(n_bars), "--log-level", log_level]
    return run_module_child("bench.backtest_throughput", args, CHILD_TIMEOUT_S)


# -- the three measurements (parent side) --------------------------------------------------


def measure_import(catalog_path: Path, n_bars: int) -> dict[str, Any]:
    """Build and import the series in a child; print and return its figures."""
    figures = run_child("import", catalog_path, n_bars, "WARNING")
    print(
        f"series: {figures['bars']:,} bars from {figures['segments']} real segments, "
        f"open times {_utc(figures['first_open_ms'])} .. {_utc(figures['last_open_ms'])}, "
        f"close {figures['first_close']:,.1f} -> {figures['last_close']:,.1f}",
    )
    print(
        f"import: {figures['seconds']:.2f} s = {figures['bars_per_s']:,.0f} bars/s "
        f"({figures['written']:,} written, {figures['rejected']} rejected, {figures['gaps']} gaps; "
        f"peak RSS {figures['peak_rss_mb']:,.0f} MiB)",
        flush=True,
    )
    return figures


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Return best and median figures of the runs of one kind."""
    return {
        "bars": runs[0]["bars"],
        "bars_per_s_best": max(run["bars_per_s"] for run in runs),
        "bars_per_s_median": statistics.median(run["bars_per_s"] for run in runs),
        "run_s_best": min(run["run_s"] for run in runs),
        "run_s_median": statistics.median(run["run_s"] for run in runs),
        "engine_loop_s_median": statistics.median(run["engine_loop_s"] for run in runs),
        "peak_rss_mb_max": max(run["peak_rss_mb"] for run in runs),
        "vm_hwm_mb_max": max(run["vm_hwm_mb"] for run in runs),
        "orders": runs[0]["orders"],
        "fills": runs[0]["fills"],
        "runs": runs,
    }


def measure_backtests(catalog_path: Path, n_bars: int, repeats: int, log_level: str, split: bool = False) -> dict[str, Any]:
    """Run no-op and default backtests alternately, one child each; return summaries and ratios."""
    kinds = ("noop", "default", "strategy", *(SPLIT_KINDS if split else ()), "backtrader")
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    print(f"backtests: {repeats} x ({', '.join(kinds)}), log level {log_level}", flush=True)
    for repeat in range(1, repeats + 1):
        for kind in kinds:
            run = run_child(kind, catalog_path, n_bars, log_level)
            runs[kind].append(run)
            print(
                f"  [{repeat}/{repeats}] {kind:<7} {run['bars']:,} bars: node.run() {run['run_s']:.2f} s "
                f"(engine loop {run['engine_loop_s']:.2f} s) = {run['bars_per_s']:,.0f} bars/s, "
                f"peak RSS {run['peak_rss_mb']:,.0f} MiB (VmHWM {run['vm_hwm_mb']:,.0f}), "
                f"{run['orders']:,} orders, {run['fills'] if run['fills'] is not None else '-'} fills",
                flush=True,
            )
    noop, default, backtrader = summarize(runs["noop"]), summarize(runs["default"]), summarize(runs["backtrader"])
    strategy = summarize(runs["strategy"])
    layers = {kind: summarize(runs[kind]) for kind in ("noop", "strategy", *SPLIT_KINDS, "default") if runs.get(kind)}
    # microseconds a bar each layer adds to the one before it (medians), from the bare engine up to the shipped stack
    names = list(layers)
    cost_us = {name: 1e6 / layers[name]["bars_per_s_median"] - (1e6 / layers[names[i - 1]]["bars_per_s_median"] if i else 0.0)
               for i, name in enumerate(names)}  # fmt: skip
    return {
        "layers_us_per_bar": cost_us,
        "noop": noop,
        "default": default,
        "strategy": strategy,
        "backtrader": backtrader,
        "over_backtrader_median": default["bars_per_s_median"] / backtrader["bars_per_s_median"],
        "strategy_over_noop_median": strategy["bars_per_s_median"] / noop["bars_per_s_median"],
        "strategy_over_backtrader_median": strategy["bars_per_s_median"] / backtrader["bars_per_s_median"],
        "ratio_median": default["bars_per_s_median"] / noop["bars_per_s_median"],
        "ratio_best": default["bars_per_s_best"] / noop["bars_per_s_best"],
        "ratio_per_pair": [d["bars_per_s"] / n["bars_per_s"] for n, d in zip(runs["noop"], runs["default"], strict=True)],
    }


# -- report --------------------------------------------------------------------------------


def _utc(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(ms / 1000))


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def table_rows(figures: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Return (figure, value, reference, target) rows for the final table."""
    imp, bt, cli = figures["import"], figures["backtest"], figures["help"]
    noop, default = bt["noop"], bt["default"]
    return [
        ("catalog import", f"{imp['seconds']:.2f} s = {imp['bars_per_s']:,.0f} bars/s",
         f"{imp['bars']:,} bars, {imp['segments']} real segments chained", _target(f"< {IMPORT_TARGET_S:.0f} s", imp["seconds"] < IMPORT_TARGET_S)),
        ("no-op backtest", f"{noop['bars_per_s_best']:,.0f} best, {noop['bars_per_s_median']:,.0f} median bars/s",
         "engine floor; node.run() wall", "(reference)"),
        ("default backtest", f"{default['bars_per_s_best']:,.0f} best, {default['bars_per_s_median']:,.0f} median bars/s",
         "config/backtest.yaml: UntouchedWick + LevelActor + ledger + alerts", "-"),
        ("default / no-op", f"{bt['ratio_median']:.1%} median, {bt['ratio_best']:.1%} best",
         "no-op bars/s", _target(f">= {RATIO_TARGET:.0%}", bt["ratio_median"] >= RATIO_TARGET)),
        ("backtrader toy rule", f"{bt['backtrader']['bars_per_s_best']:,.0f} best, {bt['backtrader']['bars_per_s_median']:,.0f} median bars/s",
         f"bench.backtrader_toy, {bt['backtrader']['runs'][0]['entries']:,} entries", "(reference)"),
        ("default / backtrader", f"{bt['over_backtrader_median']:.2f}x median", "backtrader toy rule bars/s",
         _target(f">= {BACKTRADER_TARGET:.1f}x", bt["over_backtrader_median"] >= BACKTRADER_TARGET)),
        ("strategy alone", f"{bt['strategy']['bars_per_s_median']:,.0f} median bars/s: {bt['strategy_over_noop_median']:.1%} of no-op, "
         f"{bt['strategy_over_backtrader_median']:.2f}x backtrader", "UntouchedWick without the LevelActor, ledger, alerts", "-"),
        ("where a bar's time goes", layer_text(bt["layers_us_per_bar"]),
         "us a bar, medians: each layer over the one before", "-"),
        ("engine loop only", f"{noop['engine_loop_s_median']:.1f} s no-op, {default['engine_loop_s_median']:.1f} s default",
         "median; excl. catalog read + post-run stats", "-"),
        ("peak RSS", f"{imp['peak_rss_mb']:,.0f} import, {noop['peak_rss_mb_max']:,.0f} no-op, {default['peak_rss_mb_max']:,.0f} default MiB",
         "ru_maxrss per child", "-"),
        ("default traded", f"{default['orders']:,} orders, {default['fills']:,} fills", "engine.cache after the run",
         _target("> 0 fills", default["fills"] > 0)),
        ("ravebear --help", f"{cli['median_s']:.3f} s median, {cli['max_s']:.3f} s max",
         f"{HELP_RUNS} subprocess runs", _target(f"< {HELP_TARGET_S} s", cli["median_s"] < HELP_TARGET_S)),
    ]  # fmt: skip


PART_NAMES = {"actor": "LevelActor", "ledger": "ledger", "alerts": "alerts"}


def layer_text(cost_us: dict[str, float]) -> str:
    """'engine 23.3; strategy +12.2; LevelActor +4.3; ...': each layer named by what it adds to the one before."""
    parts, previous = [], None
    for kind, us in cost_us.items():
        if previous is None:
            parts.append(f"engine {us:.1f}")
        elif kind == "strategy":
            parts.append(f"strategy {us:+.1f}")
        else:
            added = [PART_NAMES[part] for part in LAYERS[kind] if part not in LAYERS[previous]]
            parts.append(f"{' + '.join(added)} {us:+.1f}")
        previous = kind
    return "; ".join(parts)


def _target(text: str, ok: bool) -> str:
    return f"{text}  {_mark(ok)}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--bars", type=int, default=500_000, help="bars in the chained series (default 500000)")
    parser.add_argument("--repeats", type=int, default=2, help="no-op/default backtest pairs (default 2)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON to this path")
    parser.add_argument("--log-level", default="WARNING", choices=["WARNING", "ERROR"], help="nautilus log level (default WARNING)")
    parser.add_argument("--split", action="store_true", help="also run the strategy + LevelActor and + ledger layers: where the stack's time goes")
    parser.add_argument("--child", choices=["import", "backtrader", *KINDS], help=argparse.SUPPRESS)
    parser.add_argument("--catalog", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bars < 1 or args.repeats < 1:
        parser.error("--bars and --repeats must be positive")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the three measurements and print the table (or, with --child, one measurement)."""
    args = parse_args(argv)
    if args.child:
        child_main(args.child, args.catalog, args.bars, args.log_level)
        return
    wall = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ravebear-bench-") as tmp:
        catalog_path = Path(tmp) / "catalog"
        imported = measure_import(catalog_path, args.bars)
        backtest = measure_backtests(catalog_path, args.bars, args.repeats, args.log_level, args.split)
    cli = measure_help()
    figures: dict[str, Any] = {
        "data": {"files": [str(DATA_DIR / name) for name in SEGMENT_FILES], "bars": imported["bars"], "segments": imported["segments"]},
        "import": imported,
        "backtest": backtest,
        "help": cli,
        "targets": {"import_s": IMPORT_TARGET_S, "default_over_noop": RATIO_TARGET, "default_over_backtrader": BACKTRADER_TARGET, "help_s": HELP_TARGET_S},
        "total_s": time.perf_counter() - wall,
    }
    finish(table_rows(figures), figures, args.json)


if __name__ == "__main__":
    main()
