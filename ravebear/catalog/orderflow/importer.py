"""Import order-flow capture files into the catalog: read, validate, convert, write idempotently."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ravebear.catalog.orderflow import binance, okx, snapshots
from ravebear.catalog.orderflow.store import DELTAS, QUOTES, TRADES, WriteResult, write_series
from ravebear.catalog.orderflow.validation import OrderflowReport

if TYPE_CHECKING:
    from ravebear.catalog.store import RaveCatalog

SERIES = {
    binance.TRADES: (TRADES, "trades"), binance.QUOTES: (QUOTES, "quotes"), binance.DEPTH: (DELTAS, "book deltas"),
    okx.TRADES: (TRADES, "trades"), okx.QUOTES: (QUOTES, "quotes"), okx.BOOKS: (DELTAS, "book deltas"),
    **{kind: (TRADES, "trades") for kind in snapshots.TRADE_KINDS}, **{kind: (DELTAS, "book deltas") for kind in snapshots.BOOK_KINDS},
}  # fmt: skip
TARDIS_VENUES = {"binance-futures": "{}-PERP.BINANCE", "binance": "{}.BINANCE", "okex-swap": "{}.OKX"}  # Tardis exchange -> our id
OKX_SUFFIXES = (".json", ".jsonl")


class UnknownInstrument(ValueError):
    """No instrument could be found for a file (bad usage: exit 2)."""


@dataclass
class OrderflowImport:
    """The outcome of importing one series of one capture file."""

    source: str
    kind: str  # trades | bookticker | depthdiff (Binance) or trades | bbo-tbt | books (OKX)
    instrument_id: str
    report: OrderflowReport
    write: WriteResult
    series: str  # what was stored: trades | quotes | book deltas


def resolve_instrument(identifier: str | None, path: str | Path, store: RaveCatalog, named: str | None = None) -> Any:
    """The instrument `-i` names, else `named` (an OKX instId), else the one the file name names."""
    from ravebear.catalog.instruments import instrument_for

    wanted = identifier or named or binance.instrument_id_from_name(path)
    if wanted is None:
        raise UnknownInstrument(f"{path}: cannot tell the instrument from the file name; give it with -i (e.g. -i BTCUSDT.BINANCE)")
    if wanted.split(".")[0] == "BTCUSD_PERP":
        return binance.binance_coinm(wanted)
    try:
        return instrument_for(wanted, store)
    except ValueError as exc:
        raise UnknownInstrument(f"{path}: {exc}") from None


def snapshot_for(diff_path: Path, given: list[Path]) -> Path:
    """The REST snapshot file of a depth-diff capture: one given on the command line, else its `_depthsnap` sibling."""
    stem = diff_path.name.replace("_depthdiff", "_depthsnap")
    for path in given:
        if path.name == stem:
            return path
    sibling = diff_path.with_name(stem)
    if "_depthdiff" in diff_path.name and sibling.exists():
        return sibling
    raise binance.OrderflowFormatError(
        f"{diff_path}: a depth-diff capture needs its REST snapshot ({stem} beside it or on the command line) to rebuild the book",
    )


def _store(store: RaveCatalog, path: Path, kind: str, instrument: Any, objects: list, report: OrderflowReport) -> OrderflowImport:
    folder, series = SERIES[kind]
    store.ensure_instrument(instrument)
    write = write_series(store, folder, instrument.id.value, objects)
    return OrderflowImport(str(path), kind, instrument.id.value, report, write, series)


def import_file(store: RaveCatalog, path: str | Path, identifier: str | None = None, given: list[Path] | None = None) -> list[OrderflowImport]:
    """Import one capture file: a Binance parquet capture, OKX WebSocket messages (.json/.jsonl), a Tardis CSV or the Hyperliquid capture.

    Returns one result per stored series ([] for a Binance snapshot file, read with its diffs).
    Raises OrderflowFormatError for an unreadable file, UnknownInstrument when no instrument fits.
    """
    path = Path(path)
    if path.suffix.lower() in OKX_SUFFIXES:
        results = []
        for (kind, inst_id), items in okx.split_series(okx.read_messages(path), str(path)).items():
            instrument = resolve_instrument(identifier, path, store, named=inst_id)
            convert = {okx.TRADES: okx.trade_ticks, okx.QUOTES: okx.quote_ticks, okx.BOOKS: okx.book_deltas}[kind]
            objects, report = convert(items, instrument)
            results.append(_store(store, path, kind, instrument, objects, report))
        return results
    if not _is_binance(path):
        kind, frame = snapshots.read_capture(path)
        instrument = resolve_instrument(identifier, path, store, named=_tardis_id(path) if kind.startswith("tardis") else None)
        if kind in snapshots.TRADE_KINDS:
            objects, report = snapshots.trade_ticks(frame, instrument)
        else:
            objects, report = snapshots.book_deltas(kind, frame, instrument)
        return [_store(store, path, kind, instrument, objects, report)]
    instrument = resolve_instrument(identifier, path, store)
    result = import_capture(store, path, instrument, given)
    return [] if result is None else [result]


def _is_binance(path: Path) -> bool:
    """A parquet file with a Binance capture's columns (an unreadable one too: `binance.read_capture` names the fault)."""
    if path.suffix.lower() == ".csv":
        return False
    try:
        import pyarrow.parquet as pq

        names = pq.read_schema(path).names
    except Exception:  # noqa: BLE001 - not a parquet file: let the Binance reader say so in its words
        return True
    return any(all(column in names for column in needed) for needed in binance.KIND_COLUMNS.values())


def _tardis_id(path: Path) -> str | None:
    """Our instrument id for a Tardis file's exchange and symbol (first row), when we know the venue."""
    head = pd.read_csv(path, nrows=1, usecols=["exchange", "symbol"])
    pattern = TARDIS_VENUES.get(str(head["exchange"].iloc[0])) if len(head) else None
    return pattern.format(head["symbol"].iloc[0]) if pattern else None


def import_capture(store: RaveCatalog, path: str | Path, instrument: Any, given: list[Path] | None = None) -> OrderflowImport | None:
    """Import one Binance capture file; None for a snapshot file (it is read with its depth diffs)."""
    path = Path(path)
    kind, frame = binance.read_capture(path)
    if kind == binance.SNAPSHOT:
        return None
    if kind == binance.TRADES:
        objects, report = binance.trade_ticks(frame, instrument)
    elif kind == binance.QUOTES:
        objects, report = binance.quote_ticks(frame, instrument)
    else:
        snap_kind, snapshot = binance.read_capture(snapshot_for(path, given or []))
        if snap_kind != binance.SNAPSHOT:
            raise binance.OrderflowFormatError(f"{path}: its snapshot file is a {snap_kind} capture, not a depth snapshot")
        objects, report, _ = binance.book_deltas(frame, snapshot, instrument)
    return _store(store, path, kind, instrument, objects, report)
