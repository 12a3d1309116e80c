"""Download Whale Alert v1 transfers into the catalog, page by page (cursor paging), resumable and idempotent.

Each page is written before the next is requested. A new run starts at the newest stored
transfer's time; transfers already stored (same id and blockchain) are skipped by the writer.
The v1 API only serves the plan's history window (one hour on the free plan, 30 days on paid).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from ravebear.adapters.common.redact import LogSink
from ravebear.adapters.whale_alert import parsing
from ravebear.adapters.whale_alert.constants import MAX_PAGE_LIMIT
from ravebear.adapters.whale_alert.http import WhaleAlertHttpClient
from ravebear.catalog.alt_data.store import AltDataStore
from ravebear.catalog.alt_data.types import WhaleTransaction
from ravebear.time_units import NS_PER_SECOND


@dataclass
class WhaleHistoryResult:
    """What one Whale Alert download fetched and stored."""

    pages: int = 0
    fetched: int = 0  # transfers received and kept by the filters
    written: int = 0  # new to the catalog
    already_stored: int = 0
    skipped: int = 0  # malformed transfers (each logged with the field at fault)
    start_s: int = 0  # where this run started (after resuming)


async def download_whale_alert_history(
    store: AltDataStore,
    http: WhaleAlertHttpClient,
    start_s: int,
    end_s: int | None = None,
    min_value_usd: float = 500_000.0,
    tiers_usd: tuple[float, ...] = (1_000_000.0, 10_000_000.0, 50_000_000.0),
    symbols: tuple[str, ...] = (),
    page_limit: int = MAX_PAGE_LIMIT,
    log: LogSink | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> WhaleHistoryResult:
    """Download transfers of at least `min_value_usd` between `start_s` and `end_s` (UNIX s) into the catalog.

    `on_progress(covered_s, total_s)` reports how much of the time range is done.
    """
    end_s = end_s or int(time.time())
    last = store.last_ts_event(WhaleTransaction)
    first = max(start_s, last // NS_PER_SECOND) if last is not None else start_s
    result = WhaleHistoryResult(start_s=first)
    wanted = {s.lower() for s in symbols}
    currency = next(iter(wanted)) if len(wanted) == 1 else None
    limit = min(page_limit, MAX_PAGE_LIMIT)
    cursor: str | None = None
    total = max(end_s - start_s, 1)
    while first <= end_s:
        raw = await http.transactions(first, end_s, cursor=cursor, min_value_usd=min_value_usd, limit=limit, currency=currency)
        page = parsing.parse_transactions(raw, tiers_usd)
        for error in page.errors:
            if log is not None:
                log.error(f"Whale Alert skipped a record: {error}")
        records = [r for r in page.records if (not wanted or r.symbol in wanted) and r.amount_usd >= min_value_usd and r.ts_event <= end_s * NS_PER_SECOND]
        records.sort(key=lambda r: r.ts_event)
        written = store.write(records)
        result.pages += 1
        result.fetched += len(records)
        result.skipped += len(page.errors)
        result.written += written.written
        result.already_stored += written.already_stored
        if on_progress is not None:
            newest = max((r.ts_event // NS_PER_SECOND for r in page.records), default=end_s)
            on_progress(min(newest, end_s) - start_s if page.count >= limit else total, total)
        if not page.cursor or page.cursor == cursor or page.count < limit:
            break
        cursor = page.cursor
    return result
