"""Reading the ledger back: one table's rows with the CLI's filters, as a DataFrame with UTC times."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Engine,
    Float,
    Integer,
    Select,
    Table,
    select,
)

from ravebear.ledger.models import TABLES

KIND_TABLES = ("touches", "alerts")  # the tables with a `kind` column


class QueryError(ValueError):
    """A filter that does not apply to the table asked for (one line)."""


@dataclass(frozen=True)
class Filters:
    """Which rows: all None = every row. Times in UNIX ns (runs: on started_at; other tables: on ts_event_ns)."""

    run: str | None = None
    instrument: str | None = None  # exact, or a prefix such as BTC (matches BTC-USDT-SWAP.OKX)
    kind: str | None = None
    since_ns: int | None = None
    until_ns: int | None = None  # exclusive
    limit: int | None = None  # the newest `limit` rows (still listed oldest first)


def read_table(engine: Engine, name: str, filters: Filters = Filters()) -> pd.DataFrame:
    """The rows of table `name` (a key of models.TABLES) that pass `filters`, oldest first."""
    chunks = list(iter_table(engine, name, filters))
    return pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]


def iter_table(engine: Engine, name: str, filters: Filters = Filters(), chunk_rows: int = 100_000) -> Iterator[pd.DataFrame]:
    """The same rows in frames of at most `chunk_rows` (an export never holds a whole big table); at least one frame,
    empty when no row passes."""
    table = TABLES[name].__table__
    statement = _statement(table, name, filters)
    names = [c.name for c in table.columns]
    yielded = False
    with engine.connect() as connection:
        result = connection.execution_options(yield_per=chunk_rows).execute(statement)
        for rows in result.partitions(chunk_rows):
            yielded = True
            yield _frame(table, rows, names, newest_first=filters.limit is not None)
    if not yielded:
        yield _frame(table, [], names, newest_first=False)


def arrow_schema(name: str):
    """The Parquet schema of table `name`, fixed from its column types (every chunk of an export shares it)."""
    import pyarrow as pa

    types = {Boolean: pa.bool_(), BigInteger: pa.int64(), Integer: pa.int64(), Float: pa.float64(), DateTime: pa.timestamp("us", tz="UTC")}
    fields = []
    for column in TABLES[name].__table__.columns:
        kind = next((arrow for sql, arrow in types.items() if isinstance(column.type, sql)), pa.string())
        fields.append(pa.field(column.name, kind, nullable=column.nullable))
    return pa.schema(fields)


def _frame(table: Table, rows: list, names: list[str], newest_first: bool) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=names)
    if newest_first:
        frame = frame.iloc[::-1].reset_index(drop=True)
    for column in table.columns:
        if isinstance(column.type, DateTime):
            frame[column.name] = pd.to_datetime(frame[column.name], utc=True)  # SQLite returns naive UTC
    return frame


def _statement(table: Table, name: str, filters: Filters) -> Select:
    columns = table.c
    statement = select(table)
    if filters.kind is not None:
        if name not in KIND_TABLES:
            raise QueryError(f"--kind applies to {' and '.join(KIND_TABLES)}, not {name}")
        statement = statement.where(columns.kind == filters.kind)
    if name == "runs":
        if filters.instrument is not None:
            raise QueryError("--instrument does not apply to runs")
        if filters.run is not None:
            statement = statement.where(columns.id == filters.run)
        order = columns.started_at
        if filters.since_ns is not None:
            statement = statement.where(columns.started_at >= pd.Timestamp(filters.since_ns, tz="UTC").to_pydatetime())
        if filters.until_ns is not None:
            statement = statement.where(columns.started_at < pd.Timestamp(filters.until_ns, tz="UTC").to_pydatetime())
    else:
        if filters.run is not None:
            statement = statement.where(columns.run_id == filters.run)
        if filters.instrument is not None:
            statement = statement.where((columns.instrument_id == filters.instrument) | columns.instrument_id.startswith(f"{filters.instrument}-", autoescape=True))
        order = columns.ts_event_ns
        if filters.since_ns is not None:
            statement = statement.where(columns.ts_event_ns >= filters.since_ns)
        if filters.until_ns is not None:
            statement = statement.where(columns.ts_event_ns < filters.until_ns)
    if filters.limit is not None:
        return statement.order_by(order.desc(), columns.id.desc()).limit(filters.limit)
    return statement.order_by(order, columns.id)
