"""Download stablecoin supply history (DefiLlama daily charts) into the catalog, and record dominance snapshots.

DefiLlama serves each chart whole, so a run always asks for the full daily series and the
writer skips the days already stored: reruns are idempotent and an interrupted run resumes
by asset. CoinGecko has no free dominance history; `record_dominance_snapshot` stores the
current value, so a scheduled run builds the history over time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ravebear.adapters.common.redact import LogSink
from ravebear.adapters.stablecoins.sources import StablecoinSource
from ravebear.catalog.alt_data.store import AltDataStore


@dataclass
class StablecoinHistoryResult:
    """What one stablecoin download fetched and stored."""

    fetched: int = 0
    written: int = 0
    already_stored: int = 0
    skipped: int = 0  # malformed points (each logged with the field at fault)


async def download_stablecoin_history(
    store: AltDataStore,
    source: StablecoinSource,
    start_s: int,
    end_s: int | None = None,
    log: LogSink | None = None,
    on_step: Callable[[], None] | None = None,
) -> StablecoinHistoryResult:
    """Store the source's history between start_s and end_s (UNIX s)."""
    parsed = await source.history(start_s, end_s or int(time.time()))
    result = StablecoinHistoryResult(fetched=len(parsed.records), skipped=len(parsed.errors))
    for error in parsed.errors:
        if log is not None:
            log.error(f"{source.name} skipped a record: {error}")
    written = store.write(parsed.records)
    result.written, result.already_stored = written.written, written.already_stored
    if on_step is not None:
        on_step()
    return result


async def record_dominance_snapshot(store: AltDataStore, source: StablecoinSource, log: LogSink | None = None) -> StablecoinHistoryResult:
    """Store the source's current values (e.g. CoinGecko dominance), once per source update."""
    parsed = await source.latest(time.time_ns())
    for error in parsed.errors:
        if log is not None:
            log.error(f"{source.name} skipped a record: {error}")
    written = store.write(parsed.records)
    return StablecoinHistoryResult(len(parsed.records), written.written, written.already_stored, len(parsed.errors))
