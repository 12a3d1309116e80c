"""Run a BacktestNode from a run file (its config comes from the composer) and write the run folder."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from pathlib import Path

import pandas as pd

from ravebear.catalog.store import RaveCatalog, one_minute_bar_type
from ravebear.platform.nodes import fast_analyzer, snapshot_pnl_memo
from ravebear.platform.nodes.composer import backtest_run_config
from ravebear.platform.nodes.run_file import ConfigError, DataSection, RunFile
from ravebear.reports.run_folder import BalanceRecorder, GuardRecorder, RunFolder, new_run_dir, write_run_folder
from ravebear.risk.topics import GUARD_TOPIC


def prepare_backtest_process() -> None:
    """Set process-wide options every backtest process should run with.

    nautilus's PortfolioAnalyzer appends each closed trade's PnL with `pd.concat` onto a
    growing Series indexed by position-id strings, which is quadratic in trades; pandas 3's
    default pyarrow-backed string index makes each concat ~3x slower (3.3 ms a trade at
    1,200 trades). Object strings restore the pandas 2 behaviour for the whole backtest
    process; reports and results are the same text either way. Also installs the snapshot-PnL
    memo (`snapshot_pnl_memo`: nautilus 1.231 re-unpickles position snapshots quadratically) and
    the buffered PortfolioAnalyzer (`fast_analyzer`: the stock one appends each trade with `pd.concat`).
    """
    import warnings

    snapshot_pnl_memo.install()
    fast_analyzer.install()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the option is deprecated for pandas 4, where it goes away
        try:
            pd.set_option("future.infer_string", False)
        except (KeyError, ValueError, pd.errors.OptionError):
            pass


def check_output_dir(output_dir: Path, key: str = "run.output_dir") -> None:
    """Fail before the run when its output folder cannot be created or written (a file in the way, no permission);
    `key` names where the folder was given."""
    import os
    import tempfile

    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=output_dir, prefix=".write-check-")
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise ConfigError(f"{key}: cannot write the run folder under {output_dir} ({exc.strerror or exc})") from None


def _utc_minute(ns: int) -> str:
    return pd.Timestamp(ns, unit="ns", tz="UTC").strftime("%Y-%m-%d %H:%M")


def check_data_available(config: RunFile, catalog: RaveCatalog) -> list[str]:
    """Fail with a clear message when a configured series or funding file is missing, or a `data:` entry's range
    holds no bars (no trades / book deltas / quotes for those kinds); return a warning for each entry whose range the catalog covers only in part."""
    from ravebear.catalog.validation import ONE_MINUTE_MS
    from ravebear.platform.nodes.run_file import utc_ns

    for instrument_id, path in config.funding.rates.items():
        if not Path(path).is_file():
            raise ConfigError(f"funding.rates.{instrument_id}: no such file {path} (relative paths are from {Path.cwd()})")
    stored = {series.bar_type: series for series in catalog.summary()}
    warnings = []
    for index, data in enumerate(config.data):
        if data.kind != "bars":
            _check_orderflow_available(index, data, catalog)
            continue
        bar_type = data.bar_type or one_minute_bar_type(data.instrument_id)
        if bar_type not in stored:
            have = ", ".join(stored) or "nothing"
            raise ConfigError(
                f"no bars for {bar_type} in the catalog at {catalog.path} (it has {have}; data[{index}] asks for it); "
                "import some with `ravebear catalog import` or `ravebear catalog download`",
            )
        if data.start is None and data.end is None:
            continue
        # nautilus selects bars by ts_event, a 1-minute bar's close: open + 1 minute
        closes = (catalog.stored_open_times(bar_type) + ONE_MINUTE_MS) * 1_000_000
        start, end = utc_ns(data.start), utc_ns(data.end)
        inside = closes[(closes >= (start if start is not None else closes[0])) & (closes <= (end if end is not None else closes[-1]))]
        have = f"the catalog's {bar_type} bars close {_utc_minute(int(closes[0]))} .. {_utc_minute(int(closes[-1]))} UTC"
        wanted = f"{data.start or 'its first bar'} .. {data.end or 'its last bar'}"
        if len(inside) == 0:
            raise ConfigError(f"data[{index}]: no {data.instrument_id} bars in {wanted}; {have}")
        if (start is not None and start < closes[0] - ONE_MINUTE_MS * 1_000_000) or (end is not None and end > closes[-1] + ONE_MINUTE_MS * 1_000_000):
            warnings.append(
                f"data[{index}]: {data.instrument_id} has bars only for {_utc_minute(int(inside[0]))} .. {_utc_minute(int(inside[-1]))} UTC "
                f"of the requested {wanted}",
            )
    return warnings


_ORDERFLOW_NAMES = {"trades": "trades", "book": "L2 book deltas", "quotes": "quotes"}


def _check_orderflow_available(index: int, data: DataSection, catalog: RaveCatalog) -> None:
    """Fail when the catalog holds none of a trades / book / quotes entry's data in its range (by the stored files' intervals)."""
    import importlib

    from ravebear.platform.nodes.composer import DATA_CLASSES
    from ravebear.platform.nodes.run_file import utc_ns

    module, _, name = DATA_CLASSES[data.kind].partition(":")
    intervals = catalog.nautilus.get_intervals(getattr(importlib.import_module(module), name), data.instrument_id)
    what = f"{_ORDERFLOW_NAMES[data.kind]} for {data.instrument_id}"
    if not intervals:
        raise ConfigError(
            f"data[{index}]: no {what} in the catalog at {catalog.path}; import some with `ravebear catalog import-orderflow`",
        )
    start, end = utc_ns(data.start), utc_ns(data.end)
    first, last = intervals[0][0], intervals[-1][1]
    if any((start is None or stop >= start) and (end is None or begin <= end) for begin, stop in intervals):
        return
    wanted = f"{data.start or 'the first item'} .. {data.end or 'the last item'}"
    raise ConfigError(f"data[{index}]: no {what} in {wanted}; the catalog holds them for {_utc_second(first)} .. {_utc_second(last)} UTC")


def _utc_second(ns: int) -> str:
    return pd.Timestamp(ns, unit="ns", tz="UTC").strftime("%Y-%m-%d %H:%M:%S")


def _funding(engine, config: RunFile) -> pd.DataFrame | None:  # noqa: ANN001 - BacktestEngine
    """The funding the simulation module charged, or None when funding was not simulated."""
    if not (config.funding.rates or config.funding.from_catalog):
        return None
    from ravebear.platform.simulated_venue.funding import funding_frame

    return funding_frame(engine)


def _entry_counts(engine) -> tuple[int, dict[str, int]]:  # noqa: ANN001 - BacktestEngine
    """Entry signals of the run's strategies and the refused ones by reason (guard, entry_filter, stop_too_wide, size)."""
    signals, skipped = 0, {}
    for strategy in engine.trader.strategies():
        signals += getattr(strategy, "signals", 0)
        for reason, count in getattr(strategy, "skipped", {}).items():
            skipped[reason] = skipped.get(reason, 0) + count
    return signals, skipped


@dataclass
class BacktestOutcome:
    """A finished backtest and where its results are."""

    run: RunFolder
    elapsed_s: float
    bars: int


def _write_alert_load(engine: Any, run_dir: Path) -> None:
    """alerts.csv (day, channel, alerts): what the AlertActor counted in shadow mode, when the run file has `alerts:`."""
    from ravebear.platform.alerts.actor import AlertActor

    for actor in engine.trader.actors():
        if isinstance(actor, AlertActor) and actor.shadow is not None:
            rows = [{"day": day, "channel": channel, "alerts": count} for (day, channel), count in sorted(actor.shadow.counts.items())]
            pd.DataFrame(rows, columns=["day", "channel", "alerts"]).to_csv(run_dir / "alerts.csv", index=False)


def run_backtest(config: RunFile, config_text: str, catalog: RaveCatalog, output_dir: Path | None = None) -> BacktestOutcome:
    """Run a backtest and write its run folder; return the outcome."""
    from decimal import Decimal

    from nautilus_trader.analysis import MaxDrawdown
    from ravebear.platform.nodes.backtest_node import RaveBacktestNode as BacktestNode

    check_data_available(config, catalog)
    runs_dir = output_dir or Path(config.run.output_dir)
    check_output_dir(runs_dir)
    prepare_backtest_process()
    run_config = backtest_run_config(config, catalog.path.resolve())
    node = BacktestNode(configs=[run_config])
    try:
        node.build()
        engine = node.get_engine(run_config.id)
        engine.portfolio.analyzer.register_statistic(MaxDrawdown())
        recorder = BalanceRecorder()
        engine.kernel.msgbus.subscribe(topic="events.account.*", handler=recorder)
        guards = GuardRecorder()
        engine.kernel.msgbus.subscribe(topic=GUARD_TOPIC, handler=guards)
        started = time.perf_counter()
        results = node.run()
        elapsed = time.perf_counter() - started
        bars = results[0].iterations if results else 0
        span = {}
        if results and results[0].backtest_start and results[0].backtest_end:
            span = {key: pd.Timestamp(value, unit="ns", tz="UTC").isoformat() for key, value in (("start", results[0].backtest_start), ("end", results[0].backtest_end))}
        signals, skipped = _entry_counts(engine)
        run_dir = new_run_dir(runs_dir, config.run.name)
        run = write_run_folder(
            engine,
            run_dir,
            config_text,
            recorder.frame(),
            Decimal(config.venue.starting_balance.split()[0]),
            meta={
                "bars": bars, "elapsed_s": round(elapsed, 3), "bars_per_s": round(bars / elapsed) if elapsed else None, **span,
                "entry_signals": signals, "skipped_entries": skipped,
            },  # fmt: skip
            tearsheet=config.run.tearsheet,
            guard_events=guards.frame(),
            funding=_funding(engine, config),
            currency=config.venue.starting_balance.split()[1],
        )
        _write_alert_load(engine, run.path)
        if config.run.risk_report:
            from ravebear.reports.risk_report_html import write_risk_report

            write_risk_report(run.path)
    finally:
        node.dispose()
        snapshot_pnl_memo.clear()
    return BacktestOutcome(run=run, elapsed_s=elapsed, bars=bars)
