"""Idempotent order-flow writes into the catalog (every write through `atomic_write.write_data`).

A batch whose time span touches no stored file is written as one new file. Otherwise the stored
objects of the touched files are read back, the batch's objects already stored (same key) are
counted and skipped, and if anything is new the touched files are replaced by one merged file in a
single atomic commit. Importing the same capture twice therefore writes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ravebear.catalog.atomic_write import write_data

if TYPE_CHECKING:
    from ravebear.catalog.store import RaveCatalog

TRADES, QUOTES, DELTAS = "trade_tick", "quote_tick", "order_book_deltas"  # nautilus's folder names under data/


def _trade_key(tick: Any) -> tuple:
    return (tick.trade_id.value,)


def _quote_key(quote: Any) -> tuple:
    return (quote.ts_init, quote.ts_event, quote.bid_price.raw, quote.ask_price.raw, quote.bid_size.raw, quote.ask_size.raw)


def _delta_key(delta: Any) -> tuple:
    order = delta.order
    return (delta.ts_init, delta.sequence, int(delta.action), int(order.side), order.price.raw, order.size.raw, delta.flags)


KEYS: dict[str, Callable[[Any], tuple]] = {TRADES: _trade_key, QUOTES: _quote_key, DELTAS: _delta_key}


@dataclass(frozen=True)
class WriteResult:
    """How many objects of a batch were new to the catalog and how many it held already."""

    folder: str
    written: int
    already_stored: int


def _data_class(folder: str) -> type:
    from nautilus_trader.model.data import OrderBookDelta, QuoteTick, TradeTick

    return {TRADES: TradeTick, QUOTES: QuoteTick, DELTAS: OrderBookDelta}[folder]


def stored_files(store: RaveCatalog, folder: str, instrument_id: str) -> list[tuple[Path, tuple[int, int]]]:
    """A series' files with their (first, last) ts_init from their names, oldest first."""
    from nautilus_trader.persistence.catalog.parquet import _parse_filename_timestamps
    from nautilus_trader.persistence.funcs import urisafe_identifier

    directory = store.path / "data" / folder / urisafe_identifier(instrument_id)  # nautilus's folder: `BTC/USD.KRAKEN` -> `BTCUSD.KRAKEN`
    found = [(path, _parse_filename_timestamps(str(path))) for path in directory.glob("*.parquet")] if directory.is_dir() else []
    return sorted(((path, span) for path, span in found if span is not None), key=lambda item: item[1])


def write_series(store: RaveCatalog, folder: str, instrument_id: str, objects: list) -> WriteResult:
    """Write one instrument's objects of one type (sorted here by ts_init, stably), skipping those already stored."""
    if not objects:
        return WriteResult(folder, 0, 0)
    objects = sorted(objects, key=lambda item: item.ts_init)
    lo, hi = objects[0].ts_init, objects[-1].ts_init
    touched = [(path, span) for path, span in stored_files(store, folder, instrument_id) if span[0] <= hi and lo <= span[1]]
    if not touched:
        write_data(store.nautilus, objects)
        return WriteResult(folder, len(objects), 0)
    stored = store.nautilus.query(_data_class(folder), identifiers=[instrument_id], files=[str(path) for path, _ in touched])
    key = KEYS[folder]
    stored_keys = {key(item) for item in stored}
    new = [item for item in objects if key(item) not in stored_keys]
    if new:
        merged = sorted([*stored, *new], key=lambda item: item.ts_init)
        write_data(store.nautilus, merged, replaces=[path for path, _ in touched])
    return WriteResult(folder, len(new), len(objects) - len(new))


def series_summary(store: RaveCatalog) -> list[tuple[str, str, int, int, int]]:
    """Every stored trade, quote and book series: (kind, instrument id, rows, first ts_init, last ts_init) in ns."""
    import pyarrow.parquet as pq

    out = []
    for folder, kind in ((TRADES, "trades"), (QUOTES, "quotes"), (DELTAS, "book deltas")):
        root = store.path / "data" / folder
        if not root.is_dir():
            continue
        for directory in sorted(p for p in root.iterdir() if p.is_dir()):
            files = stored_files(store, folder, directory.name)
            if not files:
                continue
            rows = sum(pq.ParquetFile(path).metadata.num_rows for path, _ in files)
            out.append((kind, directory.name, rows, files[0][1][0], files[-1][1][1]))
    return out
