"""What the writer queues (groups of rows for one table, outcome updates) and how a batch of them is written in ONE
transaction: each table's INSERT compiled once per dialect and run through the driver's executemany."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import Connection, DateTime, Dialect, Engine, bindparam, insert, select, update
from sqlmodel import SQLModel

from ravebear.ledger.models import TABLES, LevelTouch

OUTCOME_COLUMNS = frozenset(c.name for c in LevelTouch.__table__.columns if c.name.startswith(("markout_", "mfe_", "mae_", "outcome")))


@dataclass(frozen=True)
class TableShape:
    """A table's columns as the writer checks them: which exist, which must be given, the others' defaults."""

    name: str
    columns: frozenset[str]
    required: frozenset[str]
    defaults: dict[str, Any]
    datetimes: frozenset[str]


def _shape(model: type[SQLModel]) -> TableShape:
    table = model.__table__
    defaults, required = {}, set()
    for name, field in model.model_fields.items():
        if field.default_factory is not None or name == "id":
            continue
        if field.default is PydanticUndefined:
            required.add(name)
        else:
            defaults[name] = field.default
    datetimes = frozenset(c.name for c in table.columns if isinstance(c.type, DateTime))
    return TableShape(table.name, frozenset(c.name for c in table.columns), frozenset(required), defaults, datetimes)


SHAPES: dict[str, TableShape] = {model.__tablename__: _shape(model) for model in TABLES.values()}
"""Table name -> its shape."""
_SQL_TABLES = {model.__tablename__: model.__table__ for model in TABLES.values()}


class Insert:
    """Rows for one table that land in the same transaction (never split across batches)."""

    __slots__ = ("rows", "table")

    def __init__(self, table: TableShape, rows: list[dict[str, Any]]) -> None:
        self.table, self.rows = table, rows


class Update:
    """Columns of one stored row: a level touch's outcomes (the default table) or a run's end."""

    __slots__ = ("touch_id", "values", "table_name")

    def __init__(self, touch_id: str, values: dict[str, Any], table_name: str = LevelTouch.__tablename__) -> None:
        self.touch_id, self.values, self.table_name = touch_id, values, table_name


Item = Insert | Update


def size(item: Item) -> int:
    """Rows an item counts for in a batch."""
    return len(item.rows) if isinstance(item, Insert) else 1


def utc_from_ns(ns: int) -> datetime:
    """A UNIX ns time as an aware UTC datetime."""
    return datetime.fromtimestamp(ns / 1e9, UTC)


def write_batch(engine: Engine, batch: list[Item], ignore_duplicates: bool = False) -> list[Update]:
    """Write `batch` in one transaction; returns the outcome updates that matched no row (its row is not stored yet,
    e.g. it went to the spill file).

    Each table's inserts go as one executemany (their order kept), then the updates, grouped by table and columns
    (their order kept): an update only needs its row stored, and the tables have no foreign keys, so one driver
    call per table replaces one per queued item (outcome updates arrive between the next touches' inserts).
    An update of a row inserted in the same batch is folded into that row instead (a copy: the queued dicts stay
    as they were), so the row is written once, as the UPDATE would have left it.
    `ignore_duplicates`: rows whose id is already stored are skipped (a spill file replayed after a kill)."""
    inserts: dict[str, list[dict[str, Any]]] = {}
    updates: dict[tuple[str, tuple[str, ...]], list[Update]] = {}
    for item in batch:
        if isinstance(item, Insert):
            inserts.setdefault(item.table.name, []).extend(item.rows)
    where: dict[str, dict[str, int]] = {}  # table -> row id -> index in inserts[table], built when an update needs it
    for item in batch:
        if isinstance(item, Insert):
            continue
        rows = inserts.get(item.table_name)
        if rows is not None:
            index = where.get(item.table_name)
            if index is None:
                index = where[item.table_name] = {row["id"]: i for i, row in enumerate(rows)}
            i = index.get(item.touch_id)
            if i is not None:
                rows[i] = {**rows[i], **item.values}
                continue
        updates.setdefault((item.table_name, tuple(item.values)), []).append(item)
    unmatched: list[Update] = []
    with engine.begin() as connection:
        for table_name, rows in inserts.items():
            if ignore_duplicates:
                statement = _insert_ignoring_duplicates(table_name, connection.dialect.name)
                connection.execute(statement, [_with_event_time(dict(row)) for row in rows])
            else:
                _bulk_insert(table_name, connection.dialect).run(connection, rows)
        for (table_name, keys), group in updates.items():
            unmatched += _bulk_update(table_name, keys, connection.dialect).run(connection, group)
    return unmatched


class _BulkUpdate:
    """Updates of the same columns of one table by id, compiled once and run through the driver's executemany (one
    SQLAlchemy `execute` per update cost ~1 ms of the writer thread's time, and the GIL with it)."""

    def __init__(self, table_name: str, keys: tuple[str, ...], dialect: Dialect) -> None:
        table = _SQL_TABLES[table_name]
        statement = update(table).where(table.c.id == bindparam("_id")).values({key: bindparam(key) for key in keys})
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = compiled.positional
        self.names = list(compiled.positiontup) if compiled.positional else [*keys, "_id"]
        self.processors = {c.name: _datetime_processor(c.type, dialect) for c in table.columns if c.name in keys and isinstance(c.type, DateTime)}
        self.processors = {name: fn for name, fn in self.processors.items() if fn is not None}
        self.exists = select(table.c.id).where(table.c.id.in_(bindparam("ids", expanding=True)))

    def run(self, connection: Connection, group: list[Update]) -> list[Update]:
        """Apply the updates; return those that matched no stored row."""
        params = []
        for update_ in group:
            values = {**update_.values, "_id": update_.touch_id}
            for name, process in self.processors.items():
                if values[name] is not None:
                    values[name] = process(values[name])
            params.append(tuple(values[name] for name in self.names) if self.positional else values)
        changed = connection.exec_driver_sql(self.sql, params).rowcount
        if changed == len(group):  # ids are unique: every update found its row
            return []
        stored = set(connection.execute(self.exists, {"ids": [u.touch_id for u in group]}).scalars())
        return [u for u in group if u.touch_id not in stored]


_BULK_UPDATES: dict[tuple[str, tuple[str, ...], str, str], _BulkUpdate] = {}


def _bulk_update(table_name: str, keys: tuple[str, ...], dialect: Dialect) -> _BulkUpdate:
    key = (table_name, keys, dialect.name, dialect.driver)
    found = _BULK_UPDATES.get(key)
    if found is None:
        found = _BULK_UPDATES[key] = _BulkUpdate(table_name, keys, dialect)
    return found


def _with_event_time(row: dict[str, Any]) -> dict[str, Any]:
    if row.get("event_time") is None and "ts_event_ns" in row:
        row["event_time"] = utc_from_ns(row["ts_event_ns"])
    return row


class _BulkInsert:
    """One table's rows written without SQLAlchemy's per-row parameter processing (~15 us a row, more than SQLite's own
    cost; docs/NOTES.md): PostgreSQL through psycopg gets COPY, other databases the INSERT compiled once and the
    driver's executemany."""

    def __init__(self, table_name: str, dialect: Dialect) -> None:
        table = _SQL_TABLES[table_name]
        compiled = insert(table).compile(dialect=dialect)
        self.sql = str(compiled)
        self.positional = compiled.positional  # SQLite: ? placeholders, tuples; psycopg: named (dicts) or COPY
        names = list(compiled.positiontup) if compiled.positional else [c.name for c in table.columns]
        self.names = names
        self.copy = None
        if dialect.name == "postgresql" and dialect.driver == "psycopg":
            preparer = dialect.identifier_preparer
            columns = ", ".join(preparer.quote(name) for name in names)
            self.copy = f"COPY {preparer.format_table(table)} ({columns}) FROM STDIN"
        self.values = operator.itemgetter(*names)  # the row's values in the statement's order, at C speed
        self.event_time = names.index("event_time") if "event_time" in names else None
        self.ts = names.index("ts_event_ns") if "ts_event_ns" in names else None
        processors = {names.index(c.name): _datetime_processor(c.type, dialect) for c in table.columns if isinstance(c.type, DateTime)}
        self.processors = [(i, fn) for i, fn in processors.items() if fn is not None]  # SQLite: datetime -> text

    def run(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        """Insert the rows in the connection's transaction (the writer's dicts are never changed: a failed batch is
        retried as it was)."""
        tuples = self._tuples(rows)
        if self.copy is not None:
            with connection.connection.driver_connection.cursor() as cursor, cursor.copy(self.copy) as copy:
                for values in tuples:
                    copy.write_row(values)
        elif self.positional:
            connection.exec_driver_sql(self.sql, tuples)
        else:
            connection.exec_driver_sql(self.sql, [dict(zip(self.names, values, strict=True)) for values in tuples])

    def _tuples(self, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        out = []
        event_time, ts, processors = self.event_time, self.ts, self.processors
        for row in rows:
            values = list(self.values(row))
            if event_time is not None and values[event_time] is None:
                values[event_time] = utc_from_ns(values[ts])
            for i, process in processors:
                if values[i] is not None:
                    values[i] = process(values[i])
            out.append(tuple(values))
        return out


def sqlite_datetime_text(processor: Any) -> Any:
    """SQLAlchemy's SQLite DATETIME `processor` with a fast path: a plain datetime as it stores one by default
    ("YYYY-MM-DD HH:MM:SS.ffffff", the wall time of an aware value) from `isoformat`, ~0.3 us against ~1.8 us for its
    %-formatting of a dict (25k rows a 200k-bar backtest; a test holds the two equal). Anything else (None, a
    subclass, a wrong type and its error) goes to `processor`."""

    def process(value: Any) -> Any:
        if value.__class__ is datetime:
            return value.isoformat(" ", "microseconds")[:26]
        return processor(value)

    return process


def _datetime_processor(column_type: Any, dialect: Dialect) -> Any:
    """The bind processor of a DateTime column, with `sqlite_datetime_text`'s fast path where SQLite keeps its default format."""
    impl = column_type.dialect_impl(dialect)
    processor = impl.bind_processor(dialect)
    if processor is not None and dialect.name == "sqlite" and getattr(impl, "_storage_format", None) == _SQLITE_DATETIME_FORMAT:
        return sqlite_datetime_text(processor)
    return processor


_SQLITE_DATETIME_FORMAT = "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d"
_BULK: dict[tuple[str, str, str], _BulkInsert] = {}


def _bulk_insert(table_name: str, dialect: Dialect) -> _BulkInsert:
    key = (table_name, dialect.name, dialect.driver)
    found = _BULK.get(key)
    if found is None:
        found = _BULK[key] = _BulkInsert(table_name, dialect)
    return found


def _insert_ignoring_duplicates(table_name: str, dialect: str) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL (a plain INSERT elsewhere)."""
    table = _SQL_TABLES[table_name]
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing()
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing()
    return insert(table)
