"""`LedgerWriter`: the node hands rows over without waiting (a queue); a background thread writes them in batches,
each batch in ONE transaction, so a process killed mid-batch leaves whole batches or none.

When the database is unreachable (PostgreSQL stopped, SQLite locked): one warning line, rows held in memory up to
`max_pending_rows` and retried every `retry_s`; rows beyond the bound, a batch the database refuses, and whatever is
still held at `close()` go to a JSONL spill file, written into the database on the next start. Nothing is dropped."""

from __future__ import annotations

import itertools
import json
import operator
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import Connection, DateTime, Dialect, Engine, bindparam, insert, text, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import SQLModel

from ravebear.ledger.models import TABLES, LevelTouch, new_id
from ravebear.ledger.store import hide_secret, redact_url
from ravebear.ranges import Range, check_ranges

WRITER_RANGES = {
    "batch_rows": Range(1, 1_000_000, "rows"),
    "batch_s": Range(0, 60, "s", low_open=True),
    "max_pending_rows": Range(1, 100_000_000, "rows"),
    "retry_s": Range(0, 3600, "s", low_open=True),
}


@dataclass(frozen=True)
class WriterSettings:
    """How the writer batches and how much it holds while the database is away."""

    batch_rows: int = 1000  # a batch is written when it holds this many rows ...
    batch_s: float = 0.5  # ... or its first row waited this long, seconds
    max_pending_rows: int = 100_000  # held in memory while the database is unreachable; beyond: spilled to JSONL
    retry_s: float = 2.0  # seconds between attempts while it is unreachable

    def __post_init__(self) -> None:
        check_ranges(self, WRITER_RANGES, "ledger.")


@dataclass
class WriterStats:
    """What the writer did so far (read after close() for the final figures)."""

    written_rows: int = 0
    outcome_updates: int = 0
    batches: int = 0
    spilled_rows: int = 0
    replayed_rows: int = 0
    held_rows: int = 0


@dataclass(frozen=True)
class _Table:
    name: str
    columns: frozenset[str]
    required: frozenset[str]
    defaults: dict[str, Any]
    datetimes: frozenset[str]


def _table(model: type[SQLModel]) -> _Table:
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
    return _Table(table.name, frozenset(c.name for c in table.columns), frozenset(required), defaults, datetimes)


_TABLES: dict[str, _Table] = {}
_OUTCOME_COLUMNS = frozenset(c.name for c in LevelTouch.__table__.columns if c.name.startswith(("markout_", "mfe_", "mae_", "outcome")))
_STOP = object()


def _table_of(model: type[SQLModel]) -> _Table:
    found = _TABLES.get(model.__tablename__)
    if found is None:
        found = _TABLES[model.__tablename__] = _table(model)
    return found


def _utc_from_ns(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, UTC)


class _Insert:
    """Rows for one table that must land in the same transaction."""

    __slots__ = ("rows", "table")

    def __init__(self, table: _Table, rows: list[dict[str, Any]]) -> None:
        self.table, self.rows = table, rows


class _Update:
    __slots__ = ("touch_id", "values")

    def __init__(self, touch_id: str, values: dict[str, Any]) -> None:
        self.touch_id, self.values = touch_id, values


def _size(item: _Insert | _Update) -> int:
    return len(item.rows) if isinstance(item, _Insert) else 1


class LedgerWriter:
    """Writes ledger rows in batches on a background thread; `add`, `add_many` and `update_outcome` never block.

    `warn` receives one-line warnings (a node passes its logger's warning; default: loguru). The URL in them has its
    password hidden."""

    def __init__(
        self, engine: Engine, spill_path: str | Path, settings: WriterSettings | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:  # fmt: skip
        self.engine = engine
        self.spill_path = Path(spill_path)
        self.settings = settings or WriterSettings()
        self.stats = WriterStats()
        self._url = engine.url
        self._shown = redact_url(engine.url)
        if warn is None:
            from loguru import logger

            warn = logger.warning
        self._warn = warn
        self._down_warned = False  # one warning per outage
        self._bound_warned = False
        self._id_prefix = new_id()[:16]  # random per writer, then a counter: unique, and cheaper than a uuid4 per row
        self._ids = itertools.count(1)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
        self._thread.start()

    # -- the caller's side: never blocks -------------------------------------------------------------------------

    def add(self, model: type[SQLModel], **values: Any) -> str:
        """Queue one row of `model`'s table (plain values: building a SQLModel object costs ~0.1 ms); returns its id.

        Raises TypeError at once for an unknown column or a missing required one (a programming error)."""
        row = self._row(_table_of(model), values)
        self._put(_Insert(_table_of(model), [row]))
        return row["id"]

    def add_row(self, row: SQLModel) -> str:
        """Queue a SQLModel object (convenient off the hot path); returns its id."""
        return self.add(type(row), **row.model_dump())

    def add_many(self, model: type[SQLModel], rows: Iterable[dict[str, Any]]) -> list[str]:
        """Queue rows that are written together, in the same transaction (never split across batches)."""
        table = _table_of(model)
        prepared = [self._row(table, dict(values)) for values in rows]
        if prepared:
            self._put(_Insert(table, prepared))
        return [row["id"] for row in prepared]

    def update_outcome(self, touch_id: str, **values: Any) -> None:
        """Queue the outcome columns of a level touch (markout_*_bps, mfe_bps, mae_bps, outcome, outcome_filled_at)."""
        unknown = set(values) - _OUTCOME_COLUMNS
        if unknown:
            raise TypeError(f"not outcome columns of level_touches: {', '.join(sorted(unknown))}")
        self._put(_Update(touch_id, values))

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Write everything queued so far (or spill it when the database is away); True when done within timeout."""
        done = threading.Event()
        self._put(done)
        return done.wait(timeout)

    def close(self, timeout: float | None = 60.0) -> WriterStats:
        """Write what is queued, spilling what cannot be written, and stop the thread; returns the final stats."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join(timeout)
        return self.stats

    def __enter__(self) -> LedgerWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _row(self, table: _Table, values: dict[str, Any]) -> dict[str, Any]:
        keys = values.keys()
        if not keys <= table.columns:
            raise TypeError(f"unknown columns for {table.name}: {', '.join(sorted(keys - table.columns))}")
        if not keys >= table.required:
            raise TypeError(f"missing columns for {table.name}: {', '.join(sorted(table.required - keys))}")
        row = {**table.defaults, **values}
        if row.get("id") is None:
            row["id"] = f"{self._id_prefix}{next(self._ids):x}"
        return row

    def _put(self, item: Any) -> None:
        if self._closed:
            raise RuntimeError("the ledger writer is closed")
        self._queue.put(item)

    # -- the writer thread ---------------------------------------------------------------------------------------

    def _run(self) -> None:
        held: deque[_Insert | _Update] = deque()
        first_at = 0.0  # monotonic time the oldest held row arrived
        next_try = 0.0  # while down: when to try again
        down = False
        stopping = False
        self._replay_spill()
        while True:
            now = time.monotonic()
            if stopping:
                timeout = 0.0
            elif not held:
                timeout = None
            else:
                timeout = max(0.0, (next_try if down else first_at + self.settings.batch_s) - now)
            waiters: list[threading.Event] = []
            try:
                item = self._queue.get(timeout=timeout) if timeout != 0.0 else self._queue.get_nowait()
            except queue.Empty:
                item = None
            while item is not None:  # take everything already queued
                if item is _STOP:
                    stopping = True
                elif isinstance(item, threading.Event):
                    waiters.append(item)
                else:
                    if not held:
                        first_at = time.monotonic()
                    held.append(item)
                    self.stats.held_rows += _size(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = None
            if down and self.stats.held_rows > self.settings.max_pending_rows:
                self._spill_over_bound(held)
            now = time.monotonic()
            urgent = stopping or bool(waiters)
            while held and (urgent or self.stats.held_rows >= self.settings.batch_rows or now >= first_at + self.settings.batch_s):
                if down and not urgent and now < next_try:
                    break
                ok = self._write_one_batch(held)
                if ok and down:
                    down = self._bound_warned = False
                    self._warn(f"ledger: {self._shown} is reachable again; writing the {self.stats.held_rows:,} held rows")
                if not ok:
                    if not down:
                        down = True
                    next_try = time.monotonic() + self.settings.retry_s
                    break
                first_at = time.monotonic()
            if stopping:
                if held:
                    self._spill(held, "still unwritten at close")
                for waiter in waiters:
                    waiter.set()
                return
            for waiter in waiters:
                waiter.set()

    def _write_one_batch(self, held: deque[_Insert | _Update]) -> bool:
        """Write the oldest groups (about batch_rows rows) in one transaction; False when the database is away."""
        batch: list[_Insert | _Update] = []
        rows = 0
        while held and (not batch or rows + _size(held[0]) <= self.settings.batch_rows):
            item = held.popleft()
            batch.append(item)
            rows += _size(item)
        try:
            self._execute(batch)
        except SQLAlchemyError as exc:
            if not _locked(exc) and self._reachable():  # the database is there and refused this batch
                self.stats.held_rows -= rows
                self._write_each_or_spill(batch, exc)
                return True
            held.extendleft(reversed(batch))
            if not self._down_warned:
                self._down_warned = True
                self._warn(
                    f"ledger: cannot write to {self._shown}: {self._reason(exc)}; holding {self.stats.held_rows:,} rows in memory "
                    f"(up to {self.settings.max_pending_rows:,}, then spilled to {self.spill_path}), retrying every {self.settings.retry_s:g} s"
                )  # fmt: skip
            return False
        self._down_warned = False
        self.stats.held_rows -= rows
        self.stats.batches += 1
        for item in batch:
            if isinstance(item, _Insert):
                self.stats.written_rows += len(item.rows)
            else:
                self.stats.outcome_updates += 1
        return True

    def _write_each_or_spill(self, batch: list[_Insert | _Update], error: SQLAlchemyError) -> None:
        """A refused batch: each group in its own transaction; the groups refused again go to the spill file."""
        refused = []
        for item in batch:
            try:
                self._execute([item])
            except SQLAlchemyError as exc:
                error = exc
                refused.append(item)
                continue
            self.stats.batches += 1
            if isinstance(item, _Insert):
                self.stats.written_rows += len(item.rows)
            else:
                self.stats.outcome_updates += 1
        if refused:
            self._spill(refused, f"refused by the database: {self._reason(error)}")

    def _execute(self, batch: list[_Insert | _Update], ignore_duplicates: bool = False) -> None:
        with self.engine.begin() as connection:
            i = 0
            while i < len(batch):
                item = batch[i]
                if isinstance(item, _Insert):  # adjacent inserts into one table: one executemany
                    rows = list(item.rows)
                    while i + 1 < len(batch) and isinstance(batch[i + 1], _Insert) and batch[i + 1].table is item.table:
                        i += 1
                        rows.extend(batch[i].rows)
                    if ignore_duplicates:
                        statement = _ignore_duplicates(insert(_MODEL_TABLES[item.table.name]), connection.dialect.name)
                        connection.execute(statement, [_with_event_time(row) for row in rows])
                    else:
                        _bulk_insert(item.table.name, connection.dialect).run(connection, rows)
                else:
                    table = LevelTouch.__table__
                    values = {key: bindparam(key) for key in item.values}
                    connection.execute(update(table).where(table.c.id == bindparam("_id")).values(values), [{**item.values, "_id": item.touch_id}])
                i += 1

    def _reachable(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def _reason(self, exc: SQLAlchemyError) -> str:
        original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        lines = str(original).strip().splitlines() or [""]
        return hide_secret(f"{type(original).__name__}: {lines[0]}", self._url)

    # -- the spill file ------------------------------------------------------------------------------------------

    def _spill_over_bound(self, held: deque[_Insert | _Update]) -> None:
        """Move the oldest held groups to the spill file until the rest fits in max_pending_rows."""
        over: list[_Insert | _Update] = []
        while held and self.stats.held_rows > self.settings.max_pending_rows:
            item = held.popleft()
            self.stats.held_rows -= _size(item)
            over.append(item)
        if not self._bound_warned:
            self._bound_warned = True
            self._spill(over, f"over the {self.settings.max_pending_rows:,}-row memory bound while the database is away")
        else:
            self._spill(over, None)

    def _spill(self, items: Iterable[_Insert | _Update], why: str | None) -> None:
        items = list(items)
        count = sum(_size(item) for item in items)
        self.spill_path.parent.mkdir(parents=True, exist_ok=True)
        with self.spill_path.open("a", encoding="utf-8") as out:
            for item in items:
                if isinstance(item, _Insert):
                    out.write(json.dumps({"insert": item.table.name, "rows": item.rows}, default=_json_default) + "\n")
                else:
                    out.write(json.dumps({"update": item.touch_id, "values": item.values}, default=_json_default) + "\n")
            out.flush()
        self.stats.spilled_rows += count
        if why is not None:
            self._warn(f"ledger: {count:,} rows {why}: spilled to {self.spill_path}; they are written on the next start")

    def _replay_spill(self) -> None:
        """Write a previous run's spill file in one transaction (duplicates of rows already stored are skipped)."""
        if not self.spill_path.is_file():
            return
        items: list[_Insert | _Update] = []
        for line in self.spill_path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill while spilling: the rest is still replayed
            if "insert" in record and record["insert"] in _MODEL_TABLES:
                table = _TABLES_BY_NAME[record["insert"]]
                items.append(_Insert(table, [_from_json(table, row) for row in record["rows"]]))
            elif "update" in record:
                items.append(_Update(record["update"], _from_json(_table_of(LevelTouch), record["values"])))
        try:
            self._execute(items, ignore_duplicates=True)
        except SQLAlchemyError as exc:
            if _locked(exc) or not self._reachable():
                self._warn(f"ledger: the spill file {self.spill_path} could not be written to {self._shown} yet ({self._reason(exc)}); kept for the next start")
                return
            self._replay_each(items)
        else:
            self.stats.replayed_rows = sum(_size(item) for item in items)
        self.spill_path.unlink()
        self._warn(f"ledger: wrote {self.stats.replayed_rows:,} rows from the spill file {self.spill_path} and removed it")

    def _replay_each(self, items: list[_Insert | _Update]) -> None:
        """The database refuses part of a spill file: write group by group; the refused ones go to <spill>.rejected.jsonl."""
        rejected = self.spill_path.with_suffix(".rejected.jsonl")
        refused, reason = [], ""
        for item in items:
            try:
                self._execute([item], ignore_duplicates=True)
                self.stats.replayed_rows += _size(item)
            except SQLAlchemyError as exc:
                refused.append(item)
                reason = self._reason(exc)
        if refused:
            path, self.spill_path = self.spill_path, rejected
            try:
                self._spill(refused, f"of the spill file refused by the database ({reason}); kept in {rejected}, not replayed")
            finally:
                self.spill_path = path


def _with_event_time(row: dict[str, Any]) -> dict[str, Any]:
    if row.get("event_time") is None and "ts_event_ns" in row:
        row["event_time"] = _utc_from_ns(row["ts_event_ns"])
    return row


class _BulkInsert:
    """One table's INSERT compiled once for a dialect and run through the driver's executemany: SQLAlchemy's
    per-row parameter processing cost ~15 us a row, more than the database itself (docs/NOTES.md)."""

    def __init__(self, table_name: str, dialect: Dialect) -> None:
        table = _MODEL_TABLES[table_name]
        compiled = insert(table).compile(dialect=dialect)
        self.sql = str(compiled)
        names = list(compiled.positiontup) if compiled.positional else [c.name for c in table.columns]
        self.positional = compiled.positional
        self.names = names
        self.values = operator.itemgetter(*names)  # the row's values in the statement's order, at C speed
        self.event_time = names.index("event_time") if "event_time" in names else None
        self.ts = names.index("ts_event_ns") if "ts_event_ns" in names else None
        processors = {names.index(c.name): c.type.dialect_impl(dialect).bind_processor(dialect) for c in table.columns if isinstance(c.type, DateTime)}
        self.processors = [(i, fn) for i, fn in processors.items() if fn is not None]  # SQLite: datetime -> text

    def run(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        if not self.positional:  # named parameters (psycopg): the row dicts themselves, event_time filled in
            params = [_with_event_time(dict(row)) if row.get("event_time") is None else row for row in rows]
            if self.processors:
                params = [self._processed_dict(row) for row in params]
            connection.exec_driver_sql(self.sql, params)
            return
        positional = []
        event_time, ts, processors = self.event_time, self.ts, self.processors
        for row in rows:
            values = list(self.values(row))
            if event_time is not None and values[event_time] is None:
                values[event_time] = _utc_from_ns(values[ts])
            for i, process in processors:
                if values[i] is not None:
                    values[i] = process(values[i])
            positional.append(tuple(values))
        connection.exec_driver_sql(self.sql, positional)

    def _processed_dict(self, row: dict[str, Any]) -> dict[str, Any]:
        row = dict(row)
        for i, process in self.processors:
            name = self.names[i]
            if row.get(name) is not None:
                row[name] = process(row[name])
        return row


_BULK: dict[tuple[str, str, str], _BulkInsert] = {}


def _bulk_insert(table_name: str, dialect: Dialect) -> _BulkInsert:
    key = (table_name, dialect.name, dialect.driver)
    found = _BULK.get(key)
    if found is None:
        found = _BULK[key] = _BulkInsert(table_name, dialect)
    return found


def _locked(error: SQLAlchemyError) -> bool:
    """SQLite busy past its timeout (another writer holds the lock): wait and retry, not a refusal."""
    text_ = str(error).lower()
    return "database is locked" in text_ or "database is busy" in text_


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _from_json(table: _Table, row: dict[str, Any]) -> dict[str, Any]:
    for name in table.datetimes & row.keys():
        if isinstance(row[name], str):
            row[name] = datetime.fromisoformat(row[name])
    return row


def _ignore_duplicates(statement: Any, dialect: str) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL (a replayed row that was already written)."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(statement.table).on_conflict_do_nothing()
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(statement.table).on_conflict_do_nothing()
    return statement


_MODEL_TABLES = {model.__tablename__: model.__table__ for model in TABLES.values()}
_TABLES_BY_NAME = {model.__tablename__: _table_of(model) for model in TABLES.values()}
