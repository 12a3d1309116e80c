"""Reading the ledger back: one table's rows with the CLI's filters, as a DataFrame with UTC times."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import DateTime, Engine, select

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
    table = TABLES[name].__table__
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
        statement = statement.order_by(order.desc(), columns.id.desc()).limit(filters.limit)
    else:
        statement = statement.order_by(order, columns.id)
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    frame = pd.DataFrame.from_records(rows, columns=[c.name for c in table.columns])
    if filters.limit is not None:
        frame = frame.iloc[::-1].reset_index(drop=True)
    for column in table.columns:
        if isinstance(column.type, DateTime):
            frame[column.name] = pd.to_datetime(frame[column.name], utc=True)  # SQLite returns naive UTC
    return frame
