"""One backtest in this process, without a run folder: the run's metrics (the same numbers as summary.json and the
risk report) and its equity curve. The unit of work of every trial."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from ravebear.platform.nodes import snapshot_pnl_memo
from ravebear.platform.nodes.backtest import prepare_backtest_process
from ravebear.platform.nodes.composer import backtest_run_config
from ravebear.platform.nodes.level_replay import ReplayMemo
from ravebear.platform.nodes.run_file import RunFile, utc_ns
from ravebear.reports.equity import account_equity, run_currency
from ravebear.reports.run_folder import BalanceRecorder, summarize

METRICS = ("sharpe", "sortino", "calmar", "profit_factor", "expectancy", "max_drawdown", "return_pct")
DIRECTIONS = {name: "maximize" for name in METRICS}  # max_drawdown is a negative %: maximising it means a shallower one


@dataclass
class TrialRun:
    """What one backtest gave: the summary metrics (+ calmar), its equity curve and its window."""

    metrics: dict[str, float | int | None]
    equity: pd.Series
    start: pd.Timestamp
    end: pd.Timestamp
    bars: int


def calmar(return_pct: float, max_drawdown_pct: float, days: float) -> float | None:
    """Simple-annualised return over the magnitude of the maximum drawdown (both in %); None without a drawdown."""
    if max_drawdown_pct >= 0 or days <= 0:
        return None
    return return_pct * 365.0 / days / abs(max_drawdown_pct)


def window_of(config: RunFile) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The run's data window (the widest of its entries' start/end; they must be set)."""
    starts = [utc_ns(data.start) for data in config.data]
    ends = [utc_ns(data.end) for data in config.data]
    if None in starts or None in ends:
        raise ValueError("every data: entry needs a start and an end to be optimised over (set them in the run file)")
    return pd.Timestamp(min(starts), tz="UTC"), pd.Timestamp(max(ends), tz="UTC")


CACHE_ENTRIES = 16  # catalog reads a worker keeps (each a data entry over one window: a fold's IS/OOS or a prune cut)
_reads: dict[tuple[bytes, str, str], Any] = {}
TRIAL_REPLAY_MIN_BARS = 1  # a worker loads numba once (~0.6 s) for all its trials: every trial's levels are precomputed
_replays = ReplayMemo(entries=CACHE_ENTRIES)  # trials of one window and levels config replay the levels once


def _cached_node_class() -> type:
    """A BacktestNode that keeps its catalog reads in this process: trials of one window read the catalog once.

    nautilus builds a new engine per node and re-queries the catalog in `load_data_config` every run; the bars it
    returns are immutable and `engine.add_data` copies the list, so one read can feed every later trial."""
    from ravebear.platform.nodes.backtest_node import RaveBacktestNode as BacktestNode

    class CachedReadNode(BacktestNode):
        @classmethod
        def load_data_config(cls, config: Any, start: Any = None, end: Any = None) -> Any:
            key = (config.json(), str(start), str(end))
            if key not in _reads:
                if len(_reads) >= CACHE_ENTRIES:
                    _reads.pop(next(iter(_reads)))
                _reads[key] = super().load_data_config(config, start, end)
            return _reads[key]

    return CachedReadNode


def run_trial(config: RunFile, catalog_path: Path) -> TrialRun:
    """Run `config` as a backtest on the catalog and return its metrics; nothing is written (a trial is not a run:
    the file's `ledger:` and `alerts:` sections are left out, so no trial lands in the ledger)."""
    BacktestNode = _cached_node_class()
    config = config.model_copy(update={"ledger": None, "alerts": None})

    prepare_backtest_process()
    start, end = window_of(config)
    run_config = backtest_run_config(config, catalog_path.resolve(), log_level="ERROR")
    node = BacktestNode(configs=[run_config], level_replay_min_bars=TRIAL_REPLAY_MIN_BARS, level_replay_memo=_replays)
    try:
        node.build()
        engine = node.get_engine(run_config.id)
        recorder = BalanceRecorder()
        engine.kernel.msgbus.subscribe(topic="events.account.*", handler=recorder)
        results = node.run()
        bars = results[0].iterations if results else 0
        span = (results[0].backtest_start, results[0].backtest_end) if results and results[0].backtest_start and results[0].backtest_end else None
        positions = engine.trader.generate_positions_report()
        fills = engine.trader.generate_fills_report()
    finally:
        node.dispose()
        snapshot_pnl_memo.clear()
    balance, currency = config.venue.starting_balance.split()[:2]
    balances = recorder.frame()
    # the period of the ratios: the engine's own span, as run_backtest records it for summary.json
    first, last = (pd.Timestamp(v, unit="ns", tz="UTC").isoformat() for v in span) if span else (None, None)
    summary = summarize(positions, fills, balances, Decimal(balance), first, last, None, currency)
    days = (end - start).total_seconds() / 86_400
    metrics = {name: summary.get(name) for name in ("trades", "win_rate", "pnl", "return_pct", "sharpe", "sortino", "profit_factor", "expectancy")}
    metrics["max_drawdown"] = summary["max_drawdown_pct"]
    metrics["calmar"] = calmar(summary["return_pct"], summary["max_drawdown_pct"], days)
    equity = account_equity(balances, run_currency(balances, fills, currency))
    return TrialRun(metrics=metrics, equity=equity, start=start, end=end, bars=bars)


def period_returns(run: TrialRun, starting_balance: float, freq: str = "1h") -> pd.Series:
    """Returns per `freq` period of the run's equity over its whole window (flat periods are 0)."""
    index = pd.date_range(run.start.ceil(freq), run.end.floor(freq), freq=freq, tz="UTC")
    if len(index) < 2:
        return pd.Series(dtype=float)
    equity = pd.concat([pd.Series([starting_balance], index=[run.start - pd.Timedelta(1, "ns")]), run.equity]).sort_index()
    equity = equity[~equity.index.duplicated(keep="last")]
    sampled = equity.reindex(equity.index.union(index)).ffill().loc[index]
    return sampled.pct_change().dropna()
