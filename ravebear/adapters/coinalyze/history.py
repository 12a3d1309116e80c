"""Download Coinalyze history into the catalog: window by window, resumable and idempotent.

Each metric is fetched in windows of `points_per_request` intervals for all symbols at once
(batched 20 to a request), parsed, and written before the next window, so an interrupted run
keeps what it fetched. A new run starts each metric where the catalog's rows of that metric,
interval and unit end; rows already stored are skipped by the writer. Only closed intervals are
stored (a row is stamped at its interval's end, which must not be after now).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ravebear.adapters.coinalyze import parsing
from ravebear.adapters.coinalyze.constants import HISTORY_ENDPOINTS, INTERVAL_SECONDS, USD_CONVERTIBLE
from ravebear.adapters.coinalyze.http import CoinalyzeHttpClient
from ravebear.adapters.common.redact import LogSink
from ravebear.catalog.alt_data.store import AltDataStore
from ravebear.catalog.alt_data.types import FundingRate, Liquidation, LongShortRatio, OpenInterest
from ravebear.time_units import NS_PER_SECOND

METRIC_TYPES: dict[str, type] = {
    "open_interest": OpenInterest,
    "funding_rate": FundingRate,
    "predicted_funding_rate": FundingRate,
    "liquidations": Liquidation,
    "long_short_ratio": LongShortRatio,
}


@dataclass
class HistoryResult:
    """What one Coinalyze history download fetched and stored."""

    windows: int = 0  # windows fetched (one request per 20 symbols each)
    fetched: int = 0  # closed rows received
    written: int = 0  # rows new to the catalog
    already_stored: int = 0
    skipped: int = 0  # malformed rows (each logged with the field at fault)
    symbols: dict[str, str] = field(default_factory=dict)  # Coinalyze symbol -> instrument id


def plan_windows(start_s: int, end_s: int, interval_s: int, points: int) -> list[tuple[int, int]]:
    """Split [start_s, end_s] into request windows of at most `points` intervals, aligned to the interval."""
    start = start_s - start_s % interval_s
    step = interval_s * points
    return [(lo, min(lo + step - 1, end_s)) for lo in range(start, end_s + 1, step)]


def _resume_from(store: AltDataStore, metric: str, instrument_id: str, interval_s: int, usd: bool) -> int | None:
    cls = METRIC_TYPES[metric]
    equal: dict[str, Any] = {"interval_s": interval_s}
    if metric in USD_CONVERTIBLE:
        equal["usd"] = usd
    if cls is FundingRate:
        equal["predicted"] = metric == "predicted_funding_rate"
    last = store.last_ts_event(cls, instrument_id, **equal)
    return None if last is None else last // NS_PER_SECOND  # the stored row's end = the next interval's start


async def download_coinalyze_history(
    store: AltDataStore,
    http: CoinalyzeHttpClient,
    instrument_ids: list[str],
    metrics: list[str],
    interval: str,
    start_s: int,
    end_s: int | None = None,
    log: LogSink | None = None,
    usd: bool = True,
    points_per_request: int = 1000,
    exchange_name: str = "OKX",
    on_window: Callable[[int, int], None] | None = None,
) -> HistoryResult:
    """Download `metrics` of OKX swaps for [start_s, end_s] (UNIX seconds) into the catalog.

    `on_window(done, total)` is called after each window (progress bars).
    """
    for metric in metrics:
        if metric not in HISTORY_ENDPOINTS:
            raise ValueError(f"unknown Coinalyze metric {metric!r}; known: {', '.join(HISTORY_ENDPOINTS)}")
    if interval not in INTERVAL_SECONDS:
        raise ValueError(f"unknown Coinalyze interval {interval!r}; known: {', '.join(INTERVAL_SECONDS)}")
    interval_s = INTERVAL_SECONDS[interval]
    now_s = int(time.time())
    end_s = min(end_s or now_s, now_s)
    result = HistoryResult()
    symbols = await http.resolve_symbols(instrument_ids, exchange_name)
    result.symbols = symbols
    _ensure_instruments(store, list(symbols.values()), log)

    plans: list[tuple[str, list[tuple[int, int]]]] = []
    for metric in metrics:
        resume = [_resume_from(store, metric, instrument, interval_s, usd) for instrument in symbols.values()]
        first = min(start_s if r is None else max(start_s, r) for r in resume)
        plans.append((metric, plan_windows(first, end_s, interval_s, points_per_request) if first <= end_s else []))
    total = sum(len(windows) for _, windows in plans)
    done = 0
    for metric, windows in plans:
        for lo, hi in windows:
            raw = await http.history(metric, list(symbols), interval, lo, hi, usd)
            parsed = parsing.parse_history(raw, metric, symbols, interval, usd=usd, closed_before_ns=now_s * NS_PER_SECOND)
            for error in parsed.errors:
                if log is not None:
                    log.error(f"Coinalyze skipped a record: {error}")
            written = store.write(parsed.records)
            result.windows += 1
            result.fetched += len(parsed.records)
            result.skipped += len(parsed.errors)
            result.written += written.written
            result.already_stored += written.already_stored
            done += 1
            if on_window is not None:
                on_window(done, total)
    return result


def _ensure_instruments(store: AltDataStore, instrument_ids: list[str], log: LogSink | None) -> None:
    """Store the OKX swaps the data refers to (a backtest data config with an instrument id needs them)."""
    from ravebear.catalog.instruments import swap_spec
    from ravebear.catalog.store import RaveCatalog

    catalog = RaveCatalog(store.path)
    for instrument_id in instrument_ids:
        try:
            swap_spec(instrument_id)
        except ValueError:
            if log is not None:
                log.warning(f"{instrument_id} is not a known OKX swap; its instrument is not stored (backtests must add it)")
            continue
        catalog.ensure_instrument(instrument_id.removesuffix(".OKX"))
