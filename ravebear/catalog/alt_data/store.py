"""Write alternative data to the catalog in nautilus's own layout: columnar, idempotent, resumable.

nautilus's `ParquetDataCatalog.write_data` turns each object into a one-row Arrow batch
(~20k objects/s) and refuses a file whose time interval overlaps a stored one. This module
builds the Arrow table column by column with the class's registered schema and writes it where
`write_data` would (`data/custom_<snake_name>/<identifier>/<first>_<last>.parquet`, named by
the first and last `ts_init`), so `catalog.query` and a BacktestNode read it unchanged.

Idempotence: rows are identified by the key columns of their type (`DEDUP_KEYS`). Rows already
stored are skipped; new rows that overlap stored files are merged into one file that replaces
them. Every file is written atomically (`ravebear.catalog.atomic_write`): a killed write leaves the
stored files as they were, and a committed merge is finished by the next process if need be.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ravebear.catalog.atomic_write import write_table as write_table_atomic
from ravebear.catalog.alt_data.types import (
    Dominance,
    FundingRate,
    Liquidation,
    LongShortRatio,
    OpenInterest,
    StablecoinSupply,
    WhaleTransaction,
)

if TYPE_CHECKING:
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    from ravebear.catalog.store import RaveCatalog

# Columns that identify a row of each type (within one identifier's folder).
DEDUP_KEYS: dict[type, tuple[str, ...]] = {
    OpenInterest: ("ts_event", "interval_s", "usd"),
    FundingRate: ("ts_event", "interval_s", "predicted"),
    LongShortRatio: ("ts_event", "interval_s"),
    Liquidation: ("ts_event", "interval_s", "usd"),
    WhaleTransaction: ("transaction_id", "blockchain"),
    StablecoinSupply: ("ts_event", "asset", "source", "interval_s"),
    Dominance: ("ts_event", "asset", "source"),
}


@dataclass
class WriteResult:
    """What one write stored."""

    written: int = 0  # rows new to the catalog
    already_stored: int = 0  # rows whose key was already stored (left as stored)
    files: int = 0  # files written (new or merged)

    def __iadd__(self, other: WriteResult) -> WriteResult:
        self.written += other.written
        self.already_stored += other.already_stored
        self.files += other.files
        return self


def schema_of(cls: type) -> pa.Schema:
    """Return the Arrow schema nautilus registered for a custom data class."""
    return cls._schema  # type: ignore[attr-defined]


def identifier_of(record: Any) -> str | None:
    """Return the catalog folder identifier of a record: its instrument id, or None."""
    instrument_id = getattr(record, "instrument_id", None)
    return None if instrument_id is None else instrument_id.value


def records_to_table(cls: type, records: Sequence[Any]) -> pa.Table:
    """Build the Arrow table of records of one class, one column at a time (sorted by ts_init)."""
    schema = schema_of(cls)
    columns: list[pa.Array] = []
    for field in schema:
        name = field.name
        if name == "type":
            values: list[Any] = [cls.__name__] * len(records)
        elif name in ("ts_event", "ts_init"):
            values = [getattr(record, name) for record in records]
        elif name == "instrument_id":
            values = [record.instrument_id.value for record in records]
        else:
            values = [getattr(record, name) for record in records]
        if pa.types.is_floating(field.type):
            columns.append(pa.array(np.asarray(values, dtype=np.float64), type=field.type))
        else:
            columns.append(pa.array(values, type=field.type))
    table = pa.Table.from_arrays(columns, schema=schema)
    return _sorted(table)


def columns_to_table(cls: type, columns: dict[str, Any]) -> pa.Table:
    """Build the Arrow table of a class from parsed columns (lists or numpy arrays), sorted by ts_init.

    Every schema field except `type` must be given; `ts_init` defaults to `ts_event`.
    """
    schema = schema_of(cls)
    rows = len(columns["ts_event"])
    arrays = []
    for field in schema:
        if field.name == "type":
            arrays.append(pa.array(np.full(rows, cls.__name__, dtype=object), type=field.type))
            continue
        if field.name == "ts_init" and "ts_init" not in columns:
            values = columns["ts_event"]
        else:
            try:
                values = columns[field.name]
            except KeyError:
                raise KeyError(f"{cls.__name__}: column {field.name!r} missing") from None
        arrays.append(pa.array(values, type=field.type))
    return _sorted(pa.Table.from_arrays(arrays, schema=schema))


def table_to_records(cls: type, table: pa.Table) -> list[Any]:
    """Decode an Arrow table of a class into objects, column by column."""
    from nautilus_trader.model.identifiers import InstrumentId

    fields = [name for name in schema_of(cls).names if name not in ("type", "ts_event", "ts_init")]
    columns = [table.column(name).to_pylist() for name in fields]
    if "instrument_id" in fields:
        index = fields.index("instrument_id")
        cache: dict[str, InstrumentId] = {}
        columns[index] = [cache.get(v) or cache.setdefault(v, InstrumentId.from_str(v)) for v in columns[index]]
    ts_event = table.column("ts_event").to_pylist()
    ts_init = table.column("ts_init").to_pylist()
    # customdataclass's __init__ takes ts_event, ts_init, then the fields in declaration order
    return [cls(event, init, *values) for event, init, *values in zip(ts_event, ts_init, *columns, strict=True)]


def register_fast_arrow(cls: type) -> None:
    """Give nautilus's serializer a columnar batch encoder and decoder for a custom data class.

    `catalog.write_data` then encodes a list in one pass instead of one Arrow batch per object,
    and `catalog.query` decodes column by column.
    """
    from nautilus_trader.serialization.arrow.serializer import register_arrow

    register_arrow(
        cls,
        schema_of(cls),
        encoder=cls.to_arrow,  # type: ignore[attr-defined]
        decoder=lambda table: table_to_records(cls, table),
        batch_encoder=lambda records: records_to_table(cls, records).combine_chunks().to_batches()[0],
    )


def _sorted(table: pa.Table) -> pa.Table:
    ts = table.column("ts_init").to_numpy()
    if len(ts) > 1 and bool(np.any(ts[1:] < ts[:-1])):
        return table.take(pa.array(np.argsort(ts, kind="stable")))
    return table


def _file_name(start_ns: int, end_ns: int) -> str:
    from nautilus_trader.persistence.catalog.parquet import _timestamps_to_filename

    return _timestamps_to_filename(start_ns, end_ns)


def _interval(path: Path) -> tuple[int, int] | None:
    from nautilus_trader.persistence.catalog.parquet import _parse_filename_timestamps

    return _parse_filename_timestamps(str(path))


class AltDataStore:
    """Idempotent reads and writes of alternative data in a nautilus Parquet catalog."""

    def __init__(self, catalog: RaveCatalog | ParquetDataCatalog | str | Path) -> None:
        from ravebear.catalog.store import RaveCatalog

        if isinstance(catalog, (str, Path)):
            catalog = RaveCatalog(catalog)
        self._catalog = catalog.nautilus if isinstance(catalog, RaveCatalog) else catalog
        self.path = Path(self._catalog.path)

    @property
    def nautilus(self) -> ParquetDataCatalog:
        """Return the nautilus catalog."""
        return self._catalog

    def directory(self, cls: type, identifier: str | None = None) -> Path:
        """Return the folder that holds a class's rows for one identifier."""
        from nautilus_trader.persistence.funcs import class_to_filename, urisafe_identifier

        directory = self.path / "data" / class_to_filename(cls)
        return directory / urisafe_identifier(identifier) if identifier is not None else directory

    def write(self, records: Iterable[Any]) -> WriteResult:
        """Store records of any alternative-data classes; rows already stored are skipped."""
        groups: dict[tuple[type, str | None], list[Any]] = {}
        for record in records:
            groups.setdefault((type(record), identifier_of(record)), []).append(record)
        result = WriteResult()
        for (cls, identifier), group in groups.items():
            result += self.write_table(cls, records_to_table(cls, group), identifier)
        return result

    def write_table(self, cls: type, table: pa.Table, identifier: str | None = None) -> WriteResult:
        """Store an Arrow table of one class (schema as `schema_of(cls)`) under one identifier."""
        if table.num_rows == 0:
            return WriteResult()
        table = _dedupe(_sorted(table.cast(schema_of(cls))), DEDUP_KEYS.get(cls, ("ts_event",)))
        directory = self.directory(cls, identifier)
        ts = table.column("ts_init").to_numpy()
        lo, hi = int(ts[0]), int(ts[-1])
        touched = [path for path, interval in self._files(directory) if interval[0] <= hi and lo <= interval[1]]
        key = DEDUP_KEYS.get(cls, ("ts_event",))
        if not touched:
            write_table_atomic(self.path, table, directory / _file_name(lo, hi))
            return WriteResult(written=table.num_rows, files=1)
        stored = pa.concat_tables([pq.read_table(path, schema=schema_of(cls)) for path in touched])
        new = _anti_join(table, stored, key)
        if new.num_rows == 0:
            return WriteResult(already_stored=table.num_rows)
        merged = _sorted(pa.concat_tables([stored, new]))
        ts = merged.column("ts_init").to_numpy()
        write_table_atomic(self.path, merged, directory / _file_name(int(ts[0]), int(ts[-1])), replaces=touched)
        return WriteResult(written=new.num_rows, already_stored=table.num_rows - new.num_rows, files=1)

    def read(self, cls: type, identifier: str | None = None, start: int | None = None, end: int | None = None) -> list[Any]:
        """Return stored records of a class (ts_init in [start, end] ns) through `catalog.query`, oldest first."""
        if not self.directory(cls, identifier).exists():
            return []
        identifiers = [identifier] if identifier is not None else None
        rows = self._catalog.query(cls, identifiers=identifiers, start=start, end=end)
        return [getattr(row, "data", row) for row in rows]

    def read_table(self, cls: type, identifier: str | None = None) -> pa.Table:
        """Return every stored row of a class under one identifier as one Arrow table, sorted by ts_init."""
        files = [path for path, _ in self._files(self.directory(cls, identifier))]
        if not files:
            return schema_of(cls).empty_table()
        return _sorted(pa.concat_tables([pq.read_table(path, schema=schema_of(cls)) for path in files]))

    def last_ts_event(self, cls: type, identifier: str | None = None, **equal: Any) -> int | None:
        """Return the latest stored ts_event of a class (optionally of rows whose columns equal `equal`)."""
        table = self.read_table(cls, identifier)
        for name, value in equal.items():
            table = table.filter(pc.equal(table.column(name), pa.scalar(value, type=table.schema.field(name).type)))
        if table.num_rows == 0:
            return None
        return int(pc.max(table.column("ts_event")).as_py())

    @staticmethod
    def _files(directory: Path) -> list[tuple[Path, tuple[int, int]]]:
        if not directory.exists():
            return []
        out = []
        for path in sorted(directory.glob("*.parquet")):
            interval = _interval(path)
            if interval is not None:
                out.append((path, interval))
        return sorted(out, key=lambda item: item[1])


def _keys(table: pa.Table, key: tuple[str, ...]) -> list[tuple[Any, ...]]:
    columns = [table.column(name).to_pylist() for name in key]
    return list(zip(*columns, strict=True))


def _dedupe(table: pa.Table, key: tuple[str, ...]) -> pa.Table:
    seen: set[tuple[Any, ...]] = set()
    keep = []
    for index, value in enumerate(_keys(table, key)):
        if value not in seen:
            seen.add(value)
            keep.append(index)
    return table if len(keep) == table.num_rows else table.take(pa.array(keep, type=pa.int64()))


def _anti_join(table: pa.Table, stored: pa.Table, key: tuple[str, ...]) -> pa.Table:
    stored_keys = set(_keys(stored, key))
    keep = [index for index, value in enumerate(_keys(table, key)) if value not in stored_keys]
    return table.take(pa.array(keep, type=pa.int64()))

