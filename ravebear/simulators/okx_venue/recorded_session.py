"""A recorded order-flow session for the venue: a Binance capture (trades + depth diffs + REST snapshot) as one timeline.

The capture's book is rebuilt with Binance's snapshot/diff sync (`catalog.orderflow.book_sync`, the importer's own);
every item keeps the collector's receive time (`local_ts_ns`: one clock for trades and book). Prices and sizes stay
the capture's (BTC); `book_feed.BookFeed` re-prices them to the venue's candle path and converts them to contracts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ravebear.catalog.orderflow.binance import (
    DEPTH,
    SNAPSHOT,
    TRADES,
    OrderflowFormatError,
    read_capture,
)
from ravebear.catalog.orderflow.book_sync import ADD, ASK, BID, CLEAR, DELETE, sync_book

if TYPE_CHECKING:
    import pandas as pd

SUFFIXES = (f"_{TRADES}.parquet", f"_{DEPTH}.parquet", f"_{SNAPSHOT}.parquet")


class SessionError(ValueError):
    """A recorded session that cannot be loaded (the message names the file and what is wrong)."""


@dataclass(frozen=True, slots=True)
class SessionTrade:
    """One recorded trade: capture price and size (base units), +1 the buyer took the offer, -1 the seller hit the bid."""

    ts_ns: int
    price: float
    size: float
    side: int


@dataclass(frozen=True, slots=True)
class SessionBookEvent:
    """One depth event: the new absolute size (0 removes) of each level it touched; side BID or ASK."""

    ts_ns: int
    levels: tuple[tuple[int, float, float], ...]


@dataclass(frozen=True)
class RecordedSession:
    """The capture's opening book (after the snapshot) and its trades and depth events in receive-time order."""

    source: str
    snapshot: tuple[tuple[int, float, float], ...]  # (side, price, size) of the synced snapshot
    items: tuple[SessionTrade | SessionBookEvent, ...]
    start_ns: int  # the snapshot's receive time: where the session (and every loop of it) starts
    end_ns: int  # the last item's receive time

    @property
    def duration_ns(self) -> int:
        """How long one pass of the session lasts."""
        return max(1, self.end_ns - self.start_ns)

    @property
    def trades(self) -> int:
        """The number of recorded trades in one pass."""
        return sum(1 for item in self.items if isinstance(item, SessionTrade))


def capture_prefix(path: str | Path) -> Path:
    """The common prefix of a capture's three files, from the prefix itself or any one of them."""
    text = str(path)
    for suffix in SUFFIXES:
        if text.endswith(suffix):
            return Path(text[: -len(suffix)])
    return Path(text)


def load_session(path: str | Path) -> RecordedSession:
    """Load `<prefix>_trades.parquet`, `_depthdiff.parquet` and `_depthsnap.parquet` of a Binance spot or USD-M capture."""
    prefix = capture_prefix(path)
    files = [Path(f"{prefix}{suffix}") for suffix in SUFFIXES]
    missing = [f.name for f in files if not f.exists()]
    if missing:
        raise SessionError(f"recorded session {prefix}: missing {', '.join(missing)} (give a capture prefix such as "
                           f"binance_usdm_BTCUSDT_20240808T2354Z_20240808T2359Z, or one of its _trades/_depthdiff/_depthsnap files)")  # fmt: skip
    try:
        frames = {}
        for file, kind in zip(files, (TRADES, DEPTH, SNAPSHOT), strict=True):
            found, frame = read_capture(file)
            if found != kind:
                raise SessionError(f"{file}: a {found} capture, expected {kind}")
            frames[kind] = frame
    except OrderflowFormatError as error:
        raise SessionError(str(error)) from None
    if "coinm" in prefix.name:
        raise SessionError(f"{prefix.name}: COIN-M sizes are 100-USD contracts, not BTC; use a spot or USD-M capture")
    return _timeline(str(prefix), frames[TRADES], frames[DEPTH], frames[SNAPSHOT])


def _sides(column: pd.Series) -> np.ndarray:
    return np.where(column.to_numpy() == "bid", BID, ASK).astype(np.int64)


def _timeline(source: str, trades: pd.DataFrame, diffs: pd.DataFrame, snapshot: pd.DataFrame) -> RecordedSession:
    diffs = diffs[(diffs["price"] > 0) & (diffs["qty"] >= 0) & diffs["side"].isin(("bid", "ask"))]
    snapshot = snapshot[(snapshot["price"] > 0) & (snapshot["qty"] > 0) & snapshot["side"].isin(("bid", "ask"))]
    futures = "prev_final_update_id" in diffs.columns and diffs["prev_final_update_id"].notna().all() and len(diffs) > 0
    snap_init = int(snapshot["local_ts_ns"].iloc[0])
    synced = sync_book(
        int(snapshot["last_update_id"].iloc[0]), _sides(snapshot["side"]), snapshot["price"].to_numpy(float), snapshot["qty"].to_numpy(float),
        snap_init, snap_init, diffs["first_update_id"].to_numpy(), diffs["final_update_id"].to_numpy(),
        diffs["prev_final_update_id"].to_numpy() if futures else None, _sides(diffs["side"]), diffs["price"].to_numpy(float),
        diffs["qty"].to_numpy(float), diffs["local_ts_ns"].to_numpy(np.int64), diffs["local_ts_ns"].to_numpy(np.int64),
        np.arange(1, len(diffs) + 1),
    )  # fmt: skip
    a = synced.actions
    opening: list[tuple[int, float, float]] = []
    events: list[SessionBookEvent] = []
    levels: list[tuple[int, float, float]] = []
    for action, side, price, size, last, snap, ts in zip(a.action, a.side, a.price, a.size, a.last, a.snapshot, a.ts_init, strict=True):
        if action == CLEAR:
            continue
        level = (side, price, 0.0 if action == DELETE else size)
        if snap:
            if action == ADD:
                opening.append(level)
            continue
        levels.append(level)
        if last:
            events.append(SessionBookEvent(int(ts), tuple(levels)))
            levels = []
    kept = trades[(trades["price"] > 0) & (trades["qty"] > 0) & (trades["local_ts_ns"] >= snap_init)]
    recorded = [
        SessionTrade(int(ts), float(px), float(qty), -1 if maker else 1)
        for ts, px, qty, maker in zip(kept["local_ts_ns"], kept["price"], kept["qty"], kept["is_buyer_maker"].astype(bool), strict=True)
    ]
    items = sorted([*events, *recorded], key=lambda item: item.ts_ns)  # stable: a book event before a trade of the same instant
    if not items:
        raise SessionError(f"{source}: no trades or depth events after the snapshot")
    return RecordedSession(source, tuple(opening), tuple(items), snap_init, items[-1].ts_ns)
