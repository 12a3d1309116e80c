"""Risk-layer throughput: the full untouched-wick strategy (levels, entry filter, guards, sizing, exits) vs a no-op.

Run from the repo root (it prints numbers; it is not a test)::

    .venv/bin/python -m bench.risk_throughput [--bars 500000] [--repeats 2]    # throughput pairs
    .venv/bin/python -m bench.risk_throughput --year                          # one year, three instruments

The strategy under test ("full")
--------------------------------
`ravebear.strategies.untouched_wick:UntouchedWick` with everything on: levels on 1m/5m/15m/1h
(`levels.detectors: [wicks]`, confluence stacks on), the entry filter with the wick-alignment
condition (`entry_filter: {conditions: [wick_alignment], wick_alignment_min: 2}`), the account
guards at `config/backtest.yaml`'s `risk:` values, fixed-fractional sizing and the exits of that
file's untouched-wick strategy (bracket stop + final target, partial target, trailing exit,
break-even). The YAML is `config/backtest.yaml` itself with only these changes: the venue is
named BINANCE (same OMS, account, leverage, fees and fill model: an OKX-like venue), the data and
the strategy's `instruments:` map name the Binance USD-M perpetuals `BTCUSDT-PERP.BINANCE`,
`ETHUSDT-PERP.BINANCE`, `SOLUSDT-PERP.BINANCE` (the file's per-instrument overrides are carried
over from the OKX id of the same coin), the run writes no tearsheet or risk report, and the
levels/timeframes/entry-filter settings above are set explicitly. Anything keyed by OKX ids that
cannot apply (venue `leverages`, `funding`, `alt_data`) is dropped. It runs through the normal
path: `parse_run_file` + `backtest_run_config` + `BacktestNode`, as `ravebear backtest` does.

1. Throughput (default): `--bars` real 1-minute bars of BTCUSDT-PERP, chained from the Binance
   USD-M BTCUSDT files as `bench.backtest_throughput` does (`bench.common.chain_segments`), are
   imported into a temporary catalog; then `--repeats` pairs of backtests alternate no-op, full,
   no-op, full... each in a fresh child process. The no-op is `bench.noop_strategy:NoopStrategy`
   on the same venue and bars. The clock covers `node.run()` only (catalog read, sort, engine
   loop, post-run statistics), not imports or `node.build()`. Printed: bars/s of each run, the
   median ratio full / no-op (target >= 50 %), the full strategy's orders, fills and trades
   (closed positions), and each child's peak RSS.
2. `--year`: 525,600 bars (365 days) per instrument for BTCUSDT-PERP, ETHUSDT-PERP and
   SOLUSDT-PERP, each chained from its own Binance USD-M files (SOL has two files, BTC and ETH
   three; the set repeats as needed), all three shifted to start at the same minute; the full
   strategy on all three in one node with one shared account (one strategy copy per instrument
   via the `instruments:` map). Printed: `node.run()` wall time, bars/s, peak RSS (target
   < 2048 MiB). `--chunk-size N` streams the catalog in chunks (nautilus's `chunk_size`); it is
   off by default and only needed if the run does not fit in memory.

The kill switch: the guards halt new entries for good once the account is 10 % below its peak
(`risk.max_drawdown_pct`). Each run reports whether and when that happened, so a halted strategy
(levels still computed, no more entries) is not mistaken for a fast one.

Data: $RAVEBEAR_SHARED_DATA/ohlcv_1m, else ../shared/data/ohlcv_1m beside the repo.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.backtest_throughput import DEFAULT_CONFIG, NOOP_PATH, _utc, summarize
from bench.common import DATA_DIR, RESULT_MARKER, chain_segments, count_fills, finish, load_segments, peak_rss, usdm_segment_files

MODULE = "bench.risk_throughput"
STRATEGY_PATH = "ravebear.strategies.untouched_wick:UntouchedWick"
VENUE = "BINANCE"
THROUGHPUT_SYMBOLS = ("BTCUSDT",)
YEAR_SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
YEAR_BARS = 525_600  # 365 days of 1-minute bars
TIMEFRAMES = ["1m", "5m", "15m", "1h"]
ENTRY_FILTER = {"conditions": ["wick_alignment"], "wick_alignment_min": 2, "min_agree": 0}
CHILD_TIMEOUT_S = 3 * 3600

RATIO_TARGET = 0.50
RSS_TARGET_MB = 2048.0
YEAR_TARGET_S = 150.0  # issue 16: the three-instrument year trading all year (--no-kill-switch)


def instrument_id(symbol: str) -> str:
    """Return the nautilus id of a Binance USD-M perpetual: BTCUSDT -> BTCUSDT-PERP.BINANCE."""
    return f"{symbol}-PERP.{VENUE}"


def _binance_id_for(okx_id: str) -> str:
    """BTC-USDT-SWAP.OKX -> BTCUSDT-PERP.BINANCE (the same coin's perpetual)."""
    base, quote = okx_id.split(".")[0].split("-")[:2]
    return instrument_id(f"{base}{quote}")


# -- config --------------------------------------------------------------------------------


def config_text(kind: str, instrument_ids: list[str], log_level: str, kill_switch: bool = True, ledger_dir: Path | None = None) -> str:
    """Return the backtest YAML of a run: config/backtest.yaml on the BINANCE venue (see the module doc).

    `kill_switch=False` sets `risk.max_drawdown_pct` to 0 (off): a diagnostic variant, not the config's guards.
    The file's `ledger:` section stays (its writes are part of the stack) with the database in `ledger_dir`.
    """
    import yaml

    raw = yaml.safe_load(DEFAULT_CONFIG.read_text())
    if not kill_switch:
        raw["risk"] = {**(raw.get("risk") or {}), "max_drawdown_pct": 0}
    raw["run"].update({"name": f"bench-risk-{kind}", "tearsheet": False, "risk_report": False, "log_level": log_level})
    raw["venue"]["name"] = VENUE
    for key in ("leverages",):  # keyed by OKX ids
        raw["venue"].pop(key, None)
    for key in ("funding", "alt_data"):  # OKX-keyed funding files / no alternative data in the bench catalog
        raw.pop(key, None)
    raw["data"] = [{"instrument_id": iid} for iid in instrument_ids]
    raw["actors"] = []
    if ledger_dir is not None and raw.get("ledger") is not None:  # the file's ledger, but never the repo's var/ledger.sqlite
        raw["ledger"].update({"url": f"sqlite:///{ledger_dir / 'ledger.sqlite'}", "spill": str(ledger_dir / "ledger_spill.jsonl")})
    if kind == "noop":  # the bare engine: no strategy work, no ledger, no alerts
        raw.pop("ledger", None)
        raw.pop("alerts", None)
        raw["strategies"] = [{
            "strategy_path": NOOP_PATH, "config": {},
            "instruments": {iid: {"bar_type": f"{iid}-1-MINUTE-LAST-EXTERNAL"} for iid in instrument_ids},
        }]  # fmt: skip
        return yaml.safe_dump(raw, sort_keys=False)
    sections = [s for s in raw.get("strategies", []) if s.get("strategy_path") == STRATEGY_PATH]
    if not sections:
        raise SystemExit(f"{DEFAULT_CONFIG} has no {STRATEGY_PATH} strategy to take the exits and sizing from")
    section = copy.deepcopy(sections[0])
    config = section.get("config", {})
    config.pop("instrument_id", None)
    config.pop("alt_data_client", None)
    config["timeframes"] = list(TIMEFRAMES)
    config["levels"] = {**config.get("levels", {}), "detectors": ["wicks"], "confluence_enabled": True}
    config["entry_filter"] = {**config.get("entry_filter", {}), **ENTRY_FILTER}
    overrides = {_binance_id_for(okx): value or {} for okx, value in (section.get("instruments") or {}).items()}
    section["instruments"] = {iid: overrides.get(iid, {}) for iid in instrument_ids}
    section["config"] = config
    raw["strategies"] = [section]
    return yaml.safe_dump(raw, sort_keys=False)


# -- child processes -----------------------------------------------------------------------


def child_import(catalog_path: Path, symbols: list[str], n_bars: int) -> dict[str, Any]:
    """Chain each symbol's real segments into `n_bars` bars, all starting at the same minute, and import them."""
    import nautilus_trader.persistence.catalog  # noqa: F401 - import cost stays out of the figure

    from ravebear.catalog.instruments import BINANCE_USDM, binance_usdm
    from ravebear.catalog.store import RaveCatalog

    catalog = RaveCatalog(catalog_path)
    figures: dict[str, Any] = {"series": []}
    start_ms: int | None = None
    for symbol in symbols:
        files = usdm_segment_files(symbol)
        frame, segments = chain_segments(load_segments(files), n_bars, float(BINANCE_USDM[symbol].tick_size))
        if start_ms is None:
            start_ms = int(frame["ts"].iloc[0])
        frame["ts"] = frame["ts"] - int(frame["ts"].iloc[0]) + start_ms  # every series starts at the same minute
        started = time.perf_counter()
        result = catalog.import_candles(frame, binance_usdm(symbol))
        figures["series"].append({
            "instrument_id": instrument_id(symbol), "files": list(files), "segments": segments, "bars": len(frame),
            "first_open_ms": int(frame["ts"].iloc[0]), "last_open_ms": int(frame["ts"].iloc[-1]),
            "written": result.written, "rejected": len(result.report.rejections), "gaps": len(result.report.gaps),
            "gap_bars": sum(gap.missing for gap in result.report.gaps), "import_s": time.perf_counter() - started,
        })  # fmt: skip
    figures.update(peak_rss())
    return figures


def strategy_figures(engine: Any) -> dict[str, Any]:
    """Signals, skipped entries and guard state of the RaveBear strategies in the engine."""
    signals, skipped, guard_events, halted = 0, {}, {}, []
    for strategy in engine.trader.strategies():
        guards = getattr(strategy, "guards", None)
        if guards is None:
            continue
        signals += strategy.signals
        for reason, count in strategy.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + count
        for event in guards.events:
            key = f"{event.guard}:{event.action}"
            guard_events[key] = guard_events.get(key, 0) + 1
        halt = next((event.ts for event in guards.events if event.action == "halted"), None)
        if halt is not None:
            halted.append({"strategy": str(strategy.id), "instrument_id": strategy.config.instrument_id.value, "ts_ms": halt // 1_000_000})
    return {"signals": signals, "skipped": skipped, "guard_events": guard_events, "halted": halted}


def child_backtest(kind: str, catalog_path: Path, symbols: list[str], log_level: str, chunk_size: int, kill_switch: bool = True) -> dict[str, Any]:
    """Build a node through the project's own config path, time `node.run()`, return the figures."""
    import msgspec
    from ravebear.platform.nodes.backtest_node import RaveBacktestNode as BacktestNode  # as `ravebear backtest` runs
    from nautilus_trader.model.identifiers import Venue

    from ravebear.platform.nodes.backtest import prepare_backtest_process
    from ravebear.platform.nodes.composer import backtest_run_config
    from ravebear.platform.nodes.run_file import parse_run_file

    prepare_backtest_process()  # as `ravebear backtest` does, for both kinds alike
    ids = [instrument_id(symbol) for symbol in symbols]
    text = config_text("noop" if kind == "noop" else "full", ids, log_level, kill_switch, catalog_path.parent)
    config = parse_run_file(text, f"bench-risk-{kind}")
    run_config = backtest_run_config(config, catalog_path.resolve())
    if chunk_size:
        run_config = msgspec.structs.replace(run_config, chunk_size=chunk_size)
    node = BacktestNode(configs=[run_config])
    try:
        built = time.perf_counter()
        node.build()
        build_s = time.perf_counter() - built
        started = time.perf_counter()
        results = node.run()
        elapsed = time.perf_counter() - started
        engine = node.get_engine(run_config.id)
        orders = engine.cache.orders()
        positions = engine.trader.generate_positions_report()
        trades = int(positions["ts_closed"].notna().sum()) if not positions.empty and "ts_closed" in positions else 0
        bars = results[0].iterations
        balances = engine.portfolio.account(Venue(VENUE)).balances_total()
        balance = next((money for currency, money in balances.items() if currency.code == "USDT"), None)
        figures = {
            "kind": kind,
            "strategies": len(engine.trader.strategies()),
            "bars": bars,
            "build_s": build_s,
            "run_s": elapsed,
            "engine_loop_s": (engine.run_finished - engine.run_started).total_seconds(),
            "bars_per_s": bars / elapsed,
            "orders": len(orders),
            "fills": count_fills(orders),
            "trades": trades,
            "final_balance": balance.as_double() if balance is not None else None,
            "chunk_size": chunk_size or None,
            **strategy_figures(engine),
        }
        disposed = time.perf_counter()
        node.dispose()  # the ledger's rows: a backtest writes them as it ends
        node = None
        figures["dispose_s"] = time.perf_counter() - disposed
        figures["run_dispose_s"] = elapsed + figures["dispose_s"]
        return {**figures, **peak_rss()}
    finally:
        if node is not None:
            node.dispose()


def run_child(args: list[str]) -> dict[str, Any]:
    """Run one measurement of this module in a fresh interpreter and return its figures."""
    from bench.common import run_module_child

    return run_module_child(MODULE, args, CHILD_TIMEOUT_S)


# -- parent side ---------------------------------------------------------------------------


def check_data(symbols: tuple[str, ...]) -> None:
    """Exit with a clear message when the real 1-minute files are not there."""
    missing = [symbol for symbol in symbols if not usdm_segment_files(symbol)]
    if not DATA_DIR.is_dir() or missing:
        what = f"no folder {DATA_DIR}" if not DATA_DIR.is_dir() else f"no binance_usdm_<SYMBOL>_1m_*.parquet in {DATA_DIR} for {', '.join(missing)}"
        sys.exit(f"bench.risk_throughput: {what}; set RAVEBEAR_SHARED_DATA to the shared data folder (the one holding ohlcv_1m/)")


def import_series(catalog: Path, symbols: tuple[str, ...], n_bars: int) -> dict[str, Any]:
    """Build and import the chained series in a child; print what they are."""
    figures = run_child(["--child", "import", "--catalog", str(catalog), "--symbols", ",".join(symbols), "--bars", str(n_bars)])
    for series in figures["series"]:
        gaps = f", {series['gaps']} gaps ({series['gap_bars']:,} missing minutes, kept as in the source)" if series["gaps"] else ", no gaps"
        print(
            f"series {series['instrument_id']}: {series['bars']:,} bars from {series['segments']} real segments "
            f"({len(series['files'])} files), {_utc(series['first_open_ms'])} .. {_utc(series['last_open_ms'])} UTC{gaps}, "
            f"{series['rejected']} rejected, import {series['import_s']:.1f} s",
            flush=True,
        )
    return figures


def _halt_text(run: dict[str, Any], first_ms: int) -> str:
    if not run["halted"]:
        return "kill switch not tripped"
    by_time: dict[int, list[str]] = {}
    for halt in run["halted"]:
        by_time.setdefault(halt["ts_ms"], []).append(halt["instrument_id"].split("-")[0])
    parts = [f"{'/'.join(names)} on day {(ts - first_ms) / 86_400_000:.1f} ({_utc(ts)})" for ts, names in sorted(by_time.items())]
    return "kill switch tripped: " + ", ".join(parts)


def _run_line(run: dict[str, Any]) -> str:
    text = (
        f"node.run() {run['run_s']:.2f} s (engine loop {run['engine_loop_s']:.2f} s, build {run['build_s']:.1f} s) "
        f"= {run['bars_per_s']:,.0f} bars/s, peak RSS {run['peak_rss_mb']:,.0f} MiB (VmHWM {run['vm_hwm_mb']:,.0f})"
    )
    if run["kind"] != "noop":
        text += f", {run['orders']:,} orders, {run['fills']:,} fills, {run['trades']:,} trades, {run['signals']:,} signals"
    return text


def _child_flags(args: argparse.Namespace) -> list[str]:
    return ["--log-level", args.log_level, *(["--no-kill-switch"] if args.no_kill_switch else [])]


def describe_strategy(symbols: tuple[str, ...], kill_switch: bool) -> None:
    """Print the settings the full strategy runs with (config/backtest.yaml is read at run time)."""
    import yaml

    raw = yaml.safe_load(config_text("full", [instrument_id(symbol) for symbol in symbols], "WARNING", kill_switch))
    section = raw["strategies"][0]
    config = section["config"]
    overrides = {iid.split("-")[0]: value for iid, value in section["instruments"].items() if value}
    print(f"full strategy ({DEFAULT_CONFIG.name} as read now): levels {json.dumps(config['levels'])}, timeframes {config['timeframes']}, "
          f"entry_filter {json.dumps(config['entry_filter'])}, exits {json.dumps(config.get('exits', {}))}, "
          f"risk_per_trade_pct {config.get('risk_per_trade_pct')}, max_leverage {config.get('max_leverage')}, "
          f"overrides {json.dumps(overrides)}; risk {json.dumps(raw['risk'])}", flush=True)  # fmt: skip
    if not kill_switch:
        print("  --no-kill-switch: risk.max_drawdown_pct is 0 (a diagnostic variant, not the config's guards)", flush=True)


def _pass(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def measure_throughput(args: argparse.Namespace) -> tuple[dict[str, Any], list[tuple[str, str, str, str]]]:
    """Import the BTC series, run the no-op/full pairs; return the figures and the table rows."""
    with tempfile.TemporaryDirectory(prefix="ravebear-risk-bench-") as tmp:
        catalog = Path(tmp) / "catalog"
        imported = import_series(catalog, THROUGHPUT_SYMBOLS, args.bars)
        first_ms = imported["series"][0]["first_open_ms"]
        runs: dict[str, list[dict[str, Any]]] = {"noop": [], "full": []}
        print(f"backtests: {args.repeats} x (no-op, full), log level {args.log_level}", flush=True)
        for repeat in range(1, args.repeats + 1):
            for kind in ("noop", "full"):
                run = run_child(["--child", kind, "--catalog", str(catalog), "--symbols", ",".join(THROUGHPUT_SYMBOLS), *_child_flags(args)])
                runs[kind].append(run)
                print(f"  [{repeat}/{args.repeats}] {kind:<4} {run['bars']:,} bars: {_run_line(run)}", flush=True)
                if kind == "full":
                    print(f"         {_halt_text(run, first_ms)}; skipped {run['skipped']}", flush=True)
    noop, full = summarize(runs["noop"]), summarize(runs["full"])
    ratio = full["bars_per_s_median"] / noop["bars_per_s_median"]
    pairs = [f["bars_per_s"] / n["bars_per_s"] for n, f in zip(runs["noop"], runs["full"], strict=True)]
    last = runs["full"][-1]
    rows = [
        ("no-op backtest", f"{noop['bars_per_s_median']:,.0f} median, {noop['bars_per_s_best']:,.0f} best bars/s",
         f"{noop['bars']:,} BTCUSDT-PERP bars; node.run() wall", "(reference)"),
        ("full backtest", f"{full['bars_per_s_median']:,.0f} median, {full['bars_per_s_best']:,.0f} best bars/s",
         "UntouchedWick: levels 4 TF + wick filter + guards + exits", "-"),
        ("full / no-op", f"{ratio:.1%} median (pairs {', '.join(f'{p:.1%}' for p in pairs)})",
         "median over median bars/s", f">= {RATIO_TARGET:.0%}  {_pass(ratio >= RATIO_TARGET)}"),
        ("full traded", f"{last['orders']:,} orders, {last['fills']:,} fills, {last['trades']:,} trades",
         _halt_text(last, first_ms), f"> 0 fills  {_pass(last['fills'] > 0)}"),
        ("peak RSS", f"{noop['peak_rss_mb_max']:,.0f} no-op, {full['peak_rss_mb_max']:,.0f} full MiB", "ru_maxrss per child (max over runs)", "-"),
    ]  # fmt: skip
    figures = {"import": imported, "noop": noop, "full": full, "ratio_median": ratio, "ratio_per_pair": pairs}
    return figures, rows


def measure_year(args: argparse.Namespace) -> tuple[dict[str, Any], list[tuple[str, str, str, str]]]:
    """Import the three one-year series, run the full strategy on all three in one node; return figures and rows."""
    with tempfile.TemporaryDirectory(prefix="ravebear-risk-year-") as tmp:
        catalog = Path(tmp) / "catalog"
        imported = import_series(catalog, YEAR_SYMBOLS, args.year_bars)
        first_ms = imported["series"][0]["first_open_ms"]
        chunk = f", chunk_size {args.chunk_size:,}" if args.chunk_size else ", no streaming (all data loaded)"
        print(f"year backtest: full strategy on {len(YEAR_SYMBOLS)} instruments, one account{chunk}", flush=True)
        run = run_child([
            "--child", "year", "--catalog", str(catalog), "--symbols", ",".join(YEAR_SYMBOLS),
            "--chunk-size", str(args.chunk_size), *_child_flags(args),
        ])  # fmt: skip
    print(f"  year {run['bars']:,} bars, {run['strategies']} strategies: {_run_line(run)}", flush=True)
    print(f"       {_halt_text(run, first_ms)}; skipped {run['skipped']}; final balance {run['final_balance']:,.2f} USDT", flush=True)
    rss_ok = run["peak_rss_mb"] < RSS_TARGET_MB
    rows = [
        ("year wall time", f"{run['run_dispose_s']:.1f} s node.run() + dispose (engine loop {run['engine_loop_s']:.1f} s, ledger written {run['dispose_s']:.1f} s)",
         f"{len(YEAR_SYMBOLS)} x {args.year_bars:,} bars, one account", f"< {YEAR_TARGET_S:.0f} s  {_pass(run['run_dispose_s'] < YEAR_TARGET_S)}"),
        ("year throughput", f"{run['bars_per_s']:,.0f} bars/s", f"{run['bars']:,} bars over node.run()", "-"),
        ("year peak RSS", f"{run['peak_rss_mb']:,.0f} MiB (VmHWM {run['vm_hwm_mb']:,.0f})",
         "streaming: " + (f"chunk_size {args.chunk_size:,}" if args.chunk_size else "off"), f"< {RSS_TARGET_MB:,.0f} MiB  {_pass(rss_ok)}"),
        ("year traded", f"{run['orders']:,} orders, {run['fills']:,} fills, {run['trades']:,} trades",
         _halt_text(run, first_ms), f"> 0 fills  {_pass(run['fills'] > 0)}"),
    ]  # fmt: skip
    return {"import": imported, "year": run}, rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--bars", type=int, default=500_000, help="bars in the throughput series (default 500000)")
    parser.add_argument("--repeats", type=int, default=2, help="no-op/full backtest pairs (default 2)")
    parser.add_argument("--year", action="store_true", help="run the one-year three-instrument backtest instead of the pairs")
    parser.add_argument("--year-bars", type=int, default=YEAR_BARS, help=f"bars per instrument with --year (default {YEAR_BARS})")
    parser.add_argument("--chunk-size", type=int, default=0, help="with --year: stream the catalog in chunks of N (default 0: off)")
    parser.add_argument("--no-kill-switch", action="store_true",
                        help="diagnostic: risk.max_drawdown_pct 0 (the config's 10 %% kill switch off) so the strategy trades the whole series")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON to this path")
    parser.add_argument("--log-level", default="WARNING", choices=["WARNING", "ERROR"], help="nautilus log level (default WARNING)")
    parser.add_argument("--child", choices=["import", "noop", "full", "year"], help=argparse.SUPPRESS)
    parser.add_argument("--catalog", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--symbols", default="BTCUSDT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.bars < 1 or args.repeats < 1 or args.year_bars < 1 or args.chunk_size < 0:
        parser.error("--bars, --repeats and --year-bars must be positive, --chunk-size >= 0")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the throughput pairs (or the year run) and print the summary table (or, with --child, one measurement)."""
    args = parse_args(argv)
    if args.child:
        symbols = args.symbols.split(",")
        if args.child == "import":
            figures = child_import(args.catalog, symbols, args.bars)
        else:
            figures = child_backtest(args.child, args.catalog, symbols, args.log_level, args.chunk_size, not args.no_kill_switch)
        print(RESULT_MARKER + json.dumps(figures), flush=True)
        return
    check_data(YEAR_SYMBOLS if args.year else THROUGHPUT_SYMBOLS)
    wall = time.perf_counter()
    describe_strategy(YEAR_SYMBOLS if args.year else THROUGHPUT_SYMBOLS, not args.no_kill_switch)
    figures, rows = measure_year(args) if args.year else measure_throughput(args)
    figures["total_s"] = time.perf_counter() - wall
    finish(rows, figures, args.json)


if __name__ == "__main__":
    main()
