"""Binance captures (the hftbacktest-derived files in ../shared/data/trades_book/) as nautilus order-flow data.

File kinds, told apart by their columns (names only pick the instrument):
- trades: `trade_id, price, qty, is_buyer_maker` -> TradeTick (is_buyer_maker = the aggressor sold);
- bookticker: `update_id, bid_px, bid_qty, ask_px, ask_qty` -> QuoteTick;
- depthdiff (+ its `_depthsnap` sibling): `first_update_id, final_update_id[, prev_final_update_id]`
  -> OrderBookDelta, the book rebuilt with Binance's sync (`book_sync`).
Times: `ts_event` is the exchange's (trade time, event time), `ts_init` the collector's receive
time `local_ts_ns`; the spot bookTicker stream has no event time, so both are the receive time.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ravebear.catalog.orderflow.book_sync import ASK, BID, SyncResult, sync_book
from ravebear.catalog.orderflow.deltas import to_deltas
from ravebear.catalog.orderflow.validation import OrderflowReport, SequenceGap, reject_rows
from ravebear.text import plural

if TYPE_CHECKING:
    from nautilus_trader.model.instruments import Instrument

TRADES, QUOTES, DEPTH, SNAPSHOT = "trades", "bookticker", "depthdiff", "depthsnap"
KIND_COLUMNS: dict[str, tuple[str, ...]] = {
    TRADES: ("local_ts_ns", "trade_ts_ms", "trade_id", "price", "qty", "is_buyer_maker"),
    QUOTES: ("local_ts_ns", "update_id", "bid_px", "bid_qty", "ask_px", "ask_qty"),
    DEPTH: ("local_ts_ns", "event_ts_ms", "first_update_id", "final_update_id", "side", "price", "qty"),
    SNAPSHOT: ("local_ts_ns", "last_update_id", "side", "level", "price", "qty"),
}
_NAME = re.compile(r"binance_(spot|usdm|coinm)_([A-Z0-9_]+?)_\d{8}T")


class OrderflowFormatError(ValueError):
    """A file that is not an order-flow capture this importer knows (message names the file)."""


def capture_kind(columns: list[str], source: str) -> str:
    """The kind of a Binance capture from its columns; OrderflowFormatError names what is missing."""
    for kind, needed in KIND_COLUMNS.items():
        if all(column in columns for column in needed):
            return kind
    raise OrderflowFormatError(
        f"{source}: not a Binance trades, bookticker, depthdiff or depthsnap capture (columns: {', '.join(columns)})",
    )


def instrument_id_from_name(path: str | Path) -> str | None:
    """`BTCUSDT.BINANCE`, `BTCUSDT-PERP.BINANCE` or `BTCUSD_PERP.BINANCE` from a capture's file name, else None."""
    match = _NAME.search(Path(path).name)
    if match is None:
        return None
    market, symbol = match.groups()
    return {"spot": f"{symbol}.BINANCE", "usdm": f"{symbol}-PERP.BINANCE", "coinm": f"{symbol}.BINANCE"}[market]


def binance_coinm(symbol_or_id: str = "BTCUSD_PERP", ts_init: int = 0):  # noqa: ANN201 - CryptoPerpetual, imported lazily
    """Binance COIN-M `BTCUSD_PERP.BINANCE`: an inverse perpetual, 1 contract = 100 USD, settled in BTC.

    From Binance's COIN-M contract specifications (`/dapi/v1/exchangeInfo`: contractSize 100,
    tickSize 0.1, stepSize 1 contract) and the regular COIN-M fees (maker 0.02 %, taker 0.05 %).
    Only BTC is defined (the one COIN-M capture).
    """
    from nautilus_trader.model.currencies import Currency
    from nautilus_trader.model.identifiers import InstrumentId, Symbol, Venue
    from nautilus_trader.model.instruments import CryptoPerpetual
    from nautilus_trader.model.objects import Price, Quantity

    symbol = symbol_or_id.split(".")[0]
    if symbol != "BTCUSD_PERP":
        raise ValueError(f"unknown Binance COIN-M symbol {symbol_or_id!r}; known: BTCUSD_PERP")
    return CryptoPerpetual(
        instrument_id=InstrumentId(Symbol(symbol), Venue("BINANCE")),
        raw_symbol=Symbol(symbol),
        base_currency=Currency.from_str("BTC"),
        quote_currency=Currency.from_str("USD"),
        settlement_currency=Currency.from_str("BTC"),
        is_inverse=True,
        price_precision=1,
        size_precision=0,
        price_increment=Price.from_str("0.1"),
        size_increment=Quantity.from_str("1"),
        multiplier=Quantity.from_str("100"),
        maker_fee=Decimal("0.0002"),
        taker_fee=Decimal("0.0005"),
        ts_event=ts_init,
        ts_init=ts_init,
    )


def _ts_event(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Exchange time in ns where the capture has it, else the receive time."""
    if column in frame.columns:
        ms = frame[column]
        return np.where(ms.isna(), frame["local_ts_ns"], ms.fillna(0).astype("int64") * 1_000_000).astype(np.uint64)
    return frame["local_ts_ns"].to_numpy().astype(np.uint64)


def _floats(values: Any) -> np.ndarray:
    return np.array(values, dtype=np.float64, copy=True)  # nautilus wants writable buffers; pandas may hand read-only views


def trade_ticks(frame: pd.DataFrame, instrument: Instrument) -> tuple[list, OrderflowReport]:
    """TradeTicks from a trades capture; bad rows and trade-id breaks reported, duplicates of a trade id dropped."""
    from nautilus_trader.model.data import TradeTick

    report = OrderflowReport(total=len(frame))
    good, report.rejections = reject_rows(frame, positive=("price", "qty"), decimals={"qty": instrument.size_precision}, tick_decimals={"price": instrument.price_precision})
    rows = np.arange(1, len(frame) + 1)
    ids = frame["trade_id"].to_numpy()
    duplicate = pd.Series(ids).duplicated().to_numpy() & good
    for i in np.flatnonzero(duplicate):
        report.rejections.append(_rejection(frame, i, f"duplicate trade id {ids[i]} (an earlier row has it)"))
    good &= ~duplicate
    kept = frame[good]
    report.valid = len(kept)
    kept_ids, kept_rows = ids[good], rows[good]
    for i in np.flatnonzero(np.diff(kept_ids) != 1):
        report.gaps.append(SequenceGap(int(kept_rows[i + 1]), int(kept["local_ts_ns"].iloc[i + 1]), "trade id",
                                       int(kept_ids[i]) + 1, int(kept_ids[i + 1]),
                                       "trades missing" if kept_ids[i + 1] > kept_ids[i] else "trade ids out of order"))  # fmt: skip
    sides = np.where(kept["is_buyer_maker"].to_numpy(dtype=bool), 2, 1).astype(np.uint8)  # AggressorSide SELLER / BUYER
    ticks = TradeTick.from_raw_arrays_to_list(
        instrument.id, instrument.price_precision, instrument.size_precision,
        _floats(kept["price"]), _floats(kept["qty"]), np.array(sides, copy=True),
        [str(i) for i in kept_ids.tolist()], _ts_event(kept, "trade_ts_ms"), np.array(kept["local_ts_ns"], dtype=np.uint64),
    )  # fmt: skip
    return ticks, report


def quote_ticks(frame: pd.DataFrame, instrument: Instrument) -> tuple[list, OrderflowReport]:
    """QuoteTicks from a bookTicker capture; non-positive prices or sizes and crossed quotes rejected."""
    from nautilus_trader.model.data import QuoteTick

    report = OrderflowReport(total=len(frame))
    good, report.rejections = reject_rows(
        frame, positive=("bid_px", "bid_qty", "ask_px", "ask_qty"), crossed=("bid_px", "ask_px"),
        decimals={"bid_qty": instrument.size_precision, "ask_qty": instrument.size_precision},
        tick_decimals={"bid_px": instrument.price_precision, "ask_px": instrument.price_precision},
    )  # fmt: skip
    kept = frame[good]
    report.valid = len(kept)
    if "event_ts_ms" not in frame.columns or frame["event_ts_ms"].isna().all():
        report.notes.append("no exchange time in this capture (spot bookTicker): ts_event = receive time")
    quotes = QuoteTick.from_raw_arrays_to_list(
        instrument.id, instrument.price_precision, instrument.size_precision,
        _floats(kept["bid_px"]), _floats(kept["ask_px"]), _floats(kept["bid_qty"]), _floats(kept["ask_qty"]),
        _ts_event(kept, "event_ts_ms"), np.array(kept["local_ts_ns"], dtype=np.uint64),
    )  # fmt: skip
    return quotes, report


def _rejection(frame: pd.DataFrame, i: int, reason: str):  # noqa: ANN202
    from ravebear.catalog.orderflow.validation import RowRejection

    return RowRejection(int(i) + 1, int(frame["local_ts_ns"].iloc[i]), reason)


def _side_codes(column: pd.Series) -> np.ndarray:
    return np.where(column.to_numpy() == "bid", BID, ASK).astype(np.int64)


def book_deltas(diffs: pd.DataFrame, snapshot: pd.DataFrame, instrument: Instrument) -> tuple[list, OrderflowReport, SyncResult]:
    """OrderBookDeltas: the snapshot (CLEAR + one ADD per level), then every diff from the bridging event on.

    Rows with a non-positive price, a negative size or a side other than bid/ask are rejected (a
    snapshot level must also have a positive size); sequence breaks and crossed books are reported
    with their row, and the rest is kept.
    """
    report = OrderflowReport(total=len(diffs))
    good, report.rejections = reject_rows(diffs, positive=("price",), non_negative=("qty",), decimals={"qty": instrument.size_precision}, tick_decimals={"price": instrument.price_precision})
    bad_side = ~diffs["side"].isin(("bid", "ask")).to_numpy()
    for i in np.flatnonzero(bad_side & good):
        report.rejections.append(_rejection(diffs, i, f"side {diffs['side'].iloc[i]!r} is neither bid nor ask"))
    good &= ~bad_side
    snap_good, snap_rejections = reject_rows(snapshot, positive=("price", "qty"), decimals={"qty": instrument.size_precision}, tick_decimals={"price": instrument.price_precision})
    snap_good &= snapshot["side"].isin(("bid", "ask")).to_numpy()
    if snap_rejections:
        report.notes.append(f"snapshot: {plural(len(snap_rejections), 'level')} rejected ({snap_rejections[0]})")
    snap = snapshot[snap_good]
    last_ids = snapshot["last_update_id"].unique()
    if len(last_ids) != 1:
        raise OrderflowFormatError(f"the depth snapshot holds {len(last_ids)} lastUpdateIds; expected one REST snapshot")
    kept = diffs[good]
    report.valid = len(kept)
    futures = "prev_final_update_id" in kept.columns and kept["prev_final_update_id"].notna().all() and len(kept) > 0
    snap_init = int(snapshot["local_ts_ns"].iloc[0])
    synced = sync_book(
        int(last_ids[0]), _side_codes(snap["side"]), _floats(snap["price"]), _floats(snap["qty"]),
        int(_ts_event(snapshot.iloc[:1], "event_ts_ms")[0]), snap_init,
        kept["first_update_id"].to_numpy(), kept["final_update_id"].to_numpy(),
        kept["prev_final_update_id"].to_numpy() if futures else None,
        _side_codes(kept["side"]), _floats(kept["price"]), _floats(kept["qty"]),
        _ts_event(kept, "event_ts_ms"), kept["local_ts_ns"].to_numpy(), np.flatnonzero(good) + 1,
    )  # fmt: skip
    report.gaps, report.crossed = synced.gaps, synced.crossed
    rule = "futures: pu chain" if futures else "spot: U = previous u + 1"
    report.notes.append(
        f"synced on snapshot lastUpdateId {int(last_ids[0])} ({rule}): {plural(synced.dropped_events, 'event')} older than the snapshot "
        f"dropped, {plural(synced.applied_events, 'event')} applied, {plural(synced.noop_deletes, 'removal')} of absent levels skipped",
    )
    return to_deltas(synced.actions, instrument), report, synced


def read_capture(path: str | Path) -> tuple[str, pd.DataFrame]:
    """Read a Binance capture parquet file; return its kind and frame. OrderflowFormatError for anything else."""
    path = Path(path)
    if not path.exists():
        raise OrderflowFormatError(f"{path}: no such file")
    if path.is_dir():
        raise OrderflowFormatError(f"{path}: is a folder, not a capture file")
    if path.suffix.lower() != ".parquet":
        raise OrderflowFormatError(f"{path}: unsupported file type {path.suffix!r}; Binance captures are .parquet")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a file that is not Parquet
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise OrderflowFormatError(f"{path}: not a readable Parquet file ({first})") from None
    return capture_kind(list(frame.columns), str(path)), frame


def trade_arrays(frame: pd.DataFrame) -> pd.DataFrame:
    """A trades capture as plain columns for research and detectors: ts_ns (the collector's receive time,
    one clock for trades and book), price, size, aggressor (+1 the buyer took the offer, -1 the seller hit the
    bid: Binance's is_buyer_maker)."""
    return pd.DataFrame({
        "ts_ns": frame["local_ts_ns"].to_numpy(np.int64),
        "price": frame["price"].to_numpy(float),
        "size": frame["qty"].to_numpy(float),
        "aggressor": np.where(frame["is_buyer_maker"].to_numpy(bool), -1, 1),
    })
