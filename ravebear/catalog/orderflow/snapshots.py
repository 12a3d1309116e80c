"""Order flow from CSV/parquet files of other sources: Tardis.dev CSV (`trades`, `incremental_book_L2`,
`book_snapshot_*`) and the Hyperliquid capture (`l2book` snapshots, `trades`).

Full-book snapshots (Tardis `book_snapshot_N`, Hyperliquid `l2book`) are stored as nautilus stores a
snapshot: CLEAR, then one ADD per level, all `F_SNAPSHOT`, the last `F_LAST`. Tardis incremental rows
with `is_snapshot=true` after updates start a new snapshot (CLEAR first), as Tardis documents.
Times: Tardis `timestamp` (exchange, us) / `local_timestamp` (receive, us); Hyperliquid `exch_ts_ms` / `local_ts_ns`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ravebear.catalog.orderflow.binance import OrderflowFormatError
from ravebear.catalog.orderflow.book_sync import ADD, ASK, BID, CLEAR, BookActions, CrossWatch, LevelBook
from ravebear.catalog.orderflow.deltas import to_deltas
from ravebear.catalog.orderflow.validation import CrossedBook, OrderflowReport, RowRejection, reject_rows
from ravebear.text import plural

if TYPE_CHECKING:
    from nautilus_trader.model.instruments import Instrument

TARDIS_TRADES, TARDIS_L2, TARDIS_SNAPSHOTS = "tardis trades", "tardis incremental_book_L2", "tardis book_snapshot"
HL_TRADES, HL_BOOK = "hyperliquid trades", "hyperliquid l2book"
TRADE_KINDS, BOOK_KINDS = (TARDIS_TRADES, HL_TRADES), (TARDIS_L2, TARDIS_SNAPSHOTS, HL_BOOK)


def read_table(path: Path) -> tuple[str, pd.DataFrame] | None:
    """(kind, frame normalized to local_ts_ns, ts_event_ns, side, price, size[, trade_id | is_snapshot | snapshot columns]), or None."""
    frame = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    columns = set(frame.columns)
    if {"exchange", "timestamp", "local_timestamp"} <= columns:
        out = pd.DataFrame({"local_ts_ns": frame["local_timestamp"].astype("int64") * 1000, "ts_event_ns": frame["timestamp"].astype("int64") * 1000})
        if {"id", "side", "price", "amount"} <= columns:
            return TARDIS_TRADES, out.assign(trade_id=frame["id"].astype(str), side=frame["side"], price=frame["price"], size=frame["amount"])
        if {"is_snapshot", "side", "price", "amount"} <= columns:
            return TARDIS_L2, out.assign(is_snapshot=frame["is_snapshot"].astype(str).str.lower() == "true", side=frame["side"], price=frame["price"], size=frame["amount"])
        if "asks[0].price" in columns:
            return TARDIS_SNAPSHOTS, _tardis_levels(frame, out)
    if {"local_ts_ns", "exch_ts_ms", "trade_id", "px", "sz", "side"} <= columns:
        out = pd.DataFrame({"local_ts_ns": frame["local_ts_ns"], "ts_event_ns": frame["exch_ts_ms"].astype("int64") * 1_000_000})
        return HL_TRADES, out.assign(trade_id=frame["trade_id"].astype(str), side=frame["side"].map({"B": "buy", "A": "sell"}), price=frame["px"], size=frame["sz"])
    if {"local_ts_ns", "exch_ts_ms", "side", "level", "px", "sz"} <= columns:
        out = pd.DataFrame({"local_ts_ns": frame["local_ts_ns"], "ts_event_ns": frame["exch_ts_ms"].astype("int64") * 1_000_000})
        return HL_BOOK, out.assign(snapshot=frame["local_ts_ns"], side=frame["side"], price=frame["px"], size=frame["sz"])
    return None


def _tardis_levels(frame: pd.DataFrame, stamps: pd.DataFrame) -> pd.DataFrame:
    """One row per level of every Tardis book snapshot (wide `asks[i].price` columns to long rows)."""
    depth = max(int(m.group(1)) for c in frame.columns if (m := re.match(r"asks\[(\d+)\]\.price", c))) + 1
    parts = []
    for side, key in (("bid", "bids"), ("ask", "asks")):
        for i in range(depth):
            parts.append(stamps.assign(snapshot=np.arange(len(frame)), side=side, level=i,
                                       price=frame[f"{key}[{i}].price"], size=frame[f"{key}[{i}].amount"]))  # fmt: skip
    levels = pd.concat(parts).dropna(subset=["price"])  # a thin book leaves deep levels empty
    return levels.sort_values(["snapshot", "side", "level"], kind="stable").reset_index(drop=True)


def trade_ticks(frame: pd.DataFrame, instrument: Instrument) -> tuple[list, OrderflowReport]:
    """TradeTicks (side = the taker's); non-positive prices or sizes and unknown sides rejected."""
    from nautilus_trader.model.data import TradeTick

    report = OrderflowReport(total=len(frame))
    good, report.rejections = reject_rows(frame, positive=("price", "size"), decimals={"size": instrument.size_precision}, tick_decimals={"price": instrument.price_precision})
    good &= frame["side"].isin(("buy", "sell")).to_numpy()
    kept = frame[good].sort_values("local_ts_ns", kind="stable")
    report.valid = len(kept)
    ticks = TradeTick.from_raw_arrays_to_list(
        instrument.id, instrument.price_precision, instrument.size_precision,
        np.array(kept["price"], dtype=np.float64), np.array(kept["size"], dtype=np.float64),
        np.where(kept["side"] == "buy", 1, 2).astype(np.uint8), kept["trade_id"].tolist(),
        np.array(kept["ts_event_ns"], dtype=np.uint64), np.array(kept["local_ts_ns"], dtype=np.uint64),
    )  # fmt: skip
    return ticks, report


def book_deltas(kind: str, frame: pd.DataFrame, instrument: Instrument) -> tuple[list, OrderflowReport]:
    """OrderBookDeltas from snapshots (each a new book) or Tardis incremental L2 rows; crossed books named by row."""
    report = OrderflowReport(total=len(frame))
    good, report.rejections = reject_rows(frame, positive=("price",), non_negative=("size",), decimals={"size": instrument.size_precision}, tick_decimals={"price": instrument.price_precision})
    good &= frame["side"].isin(("bid", "ask")).to_numpy()
    report.valid = int(good.sum())
    actions, book, watch = BookActions(), LevelBook(), CrossWatch()
    if kind == TARDIS_L2:
        group = (frame["ts_event_ns"].ne(frame["ts_event_ns"].shift()) | frame["is_snapshot"].ne(frame["is_snapshot"].shift())).cumsum()
        starts_snapshot = frame["is_snapshot"] & ~frame["is_snapshot"].shift(fill_value=False)
    else:
        group = frame["snapshot"].ne(frame["snapshot"].shift()).cumsum()
        starts_snapshot = group.ne(group.shift())
    rows = frame.assign(good=good, group=group, new=starts_snapshot, row=np.arange(1, len(frame) + 1))
    for _, update in rows.groupby("group", sort=False):
        first = update.iloc[0]
        ts_event, ts_init = int(first["ts_event_ns"]), int(first["local_ts_ns"])
        snapshot = bool(first["new"])
        if snapshot:
            book = LevelBook()
            actions.add(CLEAR, 0, 0.0, 0.0, 0, ts_event, ts_init, snapshot=True)
        for side, price, size in update.loc[update["good"], ["side", "price", "size"]].itertuples(index=False):
            code = BID if side == "bid" else ASK
            done = book.set(code, float(price), float(size))
            if done is not None:
                actions.add(ADD if snapshot else done, code, float(price), float(size), 0, ts_event, ts_init, snapshot=snapshot)
        actions.close_event()
        watch.check(book, int(first["row"]), ts_init, 0)
    report.crossed = watch.crossed
    if kind == TARDIS_SNAPSHOTS:  # positions are CSV rows (one snapshot each), not level rows
        line = frame["snapshot"].to_numpy() + 1
        report.total = int(frame["snapshot"].nunique())
        report.valid = int(pd.Series(good).groupby(frame["snapshot"].to_numpy()).all().sum())
        by_line: dict[int, list[RowRejection]] = defaultdict(list)
        for rejection in report.rejections:
            by_line[int(line[rejection.row - 1])].append(rejection)
        report.rejections = [RowRejection(n, bad[0].ts_ns, f"{plural(len(bad), 'level')} left out: {bad[0].reason}") for n, bad in by_line.items()]
        report.crossed = [CrossedBook(int(line[c.row - 1]), c.ts_ns, c.update_id, c.best_bid, c.best_ask, c.events) for c in report.crossed]
    return to_deltas(actions, instrument), report


def read_capture(path: Path) -> tuple[str, pd.DataFrame]:
    """Kind and normalized frame of a Tardis CSV or Hyperliquid capture; OrderflowFormatError otherwise."""
    try:
        found = read_table(path)
    except Exception as exc:  # noqa: BLE001 - pandas/pyarrow raise many types for unreadable files
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise OrderflowFormatError(f"{path}: not a readable {path.suffix[1:].upper()} file ({first})") from None
    if found is None:
        columns = list(pd.read_parquet(path).columns) if path.suffix.lower() == ".parquet" else list(pd.read_csv(path, nrows=0).columns)
        raise OrderflowFormatError(
            f"{path}: not a Binance, Tardis (trades, incremental_book_L2, book_snapshot_*) or Hyperliquid capture (columns: {', '.join(map(str, columns))})",
        )
    return found
