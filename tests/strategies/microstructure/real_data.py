"""The shared Binance BTC captures (spot, USD-M, COIN-M; minutes long) read straight from Parquet for the detector tests.

Times are the capture's local receive time (`local_ts_ns`): unique and increasing in every file, and the
one clock trades and book updates share, so they interleave in the order the collector saw them.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from ravebear.catalog.orderflow.binance import trade_arrays
from ravebear.strategies.microstructure.types import BookUpdate, Trade
from tests.shared_data import SHARED

TRADES_BOOK = SHARED / "trades_book"
PREFIX = {
    "spot": "binance_spot_BTCUSDT_20240808T2354Z_20240809T0005Z",
    "usdm": "binance_usdm_BTCUSDT_20240808T2354Z_20240808T2359Z",
    "coinm": "binance_coinm_BTCUSD_PERP_20240808T2354Z_20240809T0005Z",
}
COINM_CONTRACT_USD = 100.0  # a COIN-M BTCUSD_PERP contract is worth 100 USD


@cache
def trades(market: str) -> pd.DataFrame:
    """ts_ns, price, size, aggressor (+1 buy, -1 sell: is_buyer_maker means the seller hit the bid)."""
    return trade_arrays(pd.read_parquet(TRADES_BOOK / f"{PREFIX[market]}_trades.parquet"))


def trade_objects(frame: pd.DataFrame) -> list[Trade]:
    """The rows as detector input, in order."""
    return [Trade(int(t), float(p), float(s), int(a)) for t, p, s, a in frame[["ts_ns", "price", "size", "aggressor"]].itertuples(index=False)]


@cache
def bookticker(market: str) -> pd.DataFrame:
    """ts_ns, bid_px, bid_qty, ask_px, ask_qty per L1 update."""
    raw = pd.read_parquet(TRADES_BOOK / f"{PREFIX[market]}_bookticker.parquet")
    return raw.rename(columns={"local_ts_ns": "ts_ns"})[["ts_ns", "update_id", "bid_px", "bid_qty", "ask_px", "ask_qty"]]


@cache
def synced_depth(market: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(snapshot rows, diff rows after it) by Binance's sync: drop diff events with u <= lastUpdateId; the first kept
    event must bridge lastUpdateId + 1 (the README says exactly one does, and the sequence has no break after it)."""
    snap = pd.read_parquet(TRADES_BOOK / f"{PREFIX[market]}_depthsnap.parquet")
    diffs = pd.read_parquet(TRADES_BOOK / f"{PREFIX[market]}_depthdiff.parquet")
    last = int(snap["last_update_id"].iloc[0])
    kept = diffs[diffs["final_update_id"] > last].reset_index(drop=True)
    first = kept.iloc[0]
    assert first["first_update_id"] <= last + 1 <= first["final_update_id"], "no diff event bridges the snapshot"
    kept = kept.rename(columns={"local_ts_ns": "ts_ns"})
    snap = snap.rename(columns={"local_ts_ns": "ts_ns"})
    return snap[["ts_ns", "side", "price", "qty"]], kept[["ts_ns", "final_update_id", "side", "price", "qty"]]


def book_updates(frame: pd.DataFrame, ts_ns: int | None = None) -> list[BookUpdate]:
    """Depth rows (side 'bid'/'ask', price, qty) as detector input; `ts_ns` overrides the rows' time (the snapshot's)."""
    sides = np.where(frame["side"].to_numpy(str) == "bid", 1, -1)
    times = frame["ts_ns"].to_numpy(np.int64) if ts_ns is None else np.full(len(frame), ts_ns, np.int64)
    return [BookUpdate(int(t), int(s), float(p), float(q)) for t, s, p, q in zip(times, sides, frame["price"].to_numpy(float), frame["qty"].to_numpy(float))]


def session_labels(ts_ns: np.ndarray) -> pd.Series:
    """The default buckets written independently: asia [0, 8), london [8, 13), new_york [13, 21), off [21, 24) UTC, per day."""
    stamps = pd.to_datetime(ts_ns, unit="ns")
    hours = stamps.hour + stamps.minute / 60
    name = np.select([hours < 8, hours < 13, hours < 21], ["asia", "london", "new_york"], "off")
    return pd.Series(stamps.strftime("%Y-%m-%d")) + "/" + name
