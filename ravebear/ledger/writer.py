"""`LedgerWriter`: the node hands rows over without waiting (a queue); a background thread writes them in batches
(`batch_rows` rows or `batch_s` seconds), each batch in ONE transaction, so a process killed mid-batch leaves whole
batches or none.

When the database is unreachable (PostgreSQL stopped, SQLite locked): one warning line, rows held in memory up to
`max_pending_rows` and retried every `retry_s`; the oldest rows beyond that bound, the groups the database refuses
(e.g. a duplicate id) and whatever is still held at `close()` go to a JSONL spill file, written into the database
on the next start. Nothing is dropped."""

from __future__ import annotations

import atexit
import itertools
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import SQLModel

from ravebear.ledger import spill
from ravebear.ledger.batches import OUTCOME_COLUMNS, SHAPES, Insert, Item, TableShape, Update, size, write_batch
from ravebear.ledger.models import Run, new_id
from ravebear.ledger.outcomes import OutcomeUpdate
from ravebear.ledger.store import hide_secret, redact_url
from ravebear.ranges import Range, check_ranges

RUN_END_COLUMNS = frozenset({"ended_at", "data_start", "data_end"})
WRITER_RANGES = {
    "batch_rows": Range(1, 1_000_000, "rows"),
    "batch_s": Range(0, 60, "s", low_open=True),
    "max_pending_rows": Range(1, 100_000_000, "rows"),
    "retry_s": Range(0, 3600, "s", low_open=True),
    "defer_rows": Range(0, 10_000_000, "rows", note="0 = write as they come"),
}
_STOP = object()


@dataclass(frozen=True)
class WriterSettings:
    """How the writer batches and how much it holds while the database is away."""

    batch_rows: int = 1000  # a batch is written when it holds this many rows ...
    batch_s: float = 0.5  # ... or its first row waited this long, seconds
    max_pending_rows: int = 100_000  # held in memory while the database is unreachable; beyond: spilled to JSONL
    retry_s: float = 2.0  # seconds between attempts while it is unreachable
    # rows queued before the thread starts writing (0: from the first row). A backtest defers: its rows arrive far
    # faster than wall time, and a writer thread busy during the run takes the GIL from the engine (~25 % of a
    # 3-instrument run); deferred, they are written in batches at close (or once this many are queued).
    defer_rows: int = 0

    def __post_init__(self) -> None:
        check_ranges(self, WRITER_RANGES, "ledger.")


@dataclass
class WriterStats:
    """What the writer did so far (read after close() for the final figures)."""

    written_rows: int = 0
    outcome_updates: int = 0
    batches: int = 0  # transactions committed
    spilled_rows: int = 0
    replayed_rows: int = 0  # from a previous run's spill file, at start
    held_rows: int = 0  # queued, not yet written


class LedgerWriter:
    """Writes ledger rows in batches on a background thread; `add`, `add_many` and `update_outcome` never block.

    `warn` receives one-line warnings (a node passes its logger's warning; default: loguru). The URL in them has its
    password hidden. Rows are plain values, not SQLModel objects: building one costs ~0.1 ms (docs/NOTES.md)."""

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
        self._queued_rows = 0  # while deferred: rows queued so far
        self._deferring = bool(self.settings.defer_rows)  # until the thread starts writing
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
        if not self.settings.defer_rows:
            self._thread.start()
        atexit.register(self.close)  # a process that exits without close() still writes (or spills) its queue

    # -- the caller's side: never blocks -------------------------------------------------------------------------

    def add(self, model: type[SQLModel], **values: Any) -> str:
        """Queue one row of `model`'s table; returns its id (given, or a new one).

        Raises TypeError at once for an unknown column or a missing required one (a programming error)."""
        shape = SHAPES[model.__tablename__]
        row = self._row(shape, values)
        self._put(Insert(shape, [row]))
        return row["id"]

    def new_id(self) -> str:
        """A fresh row id: this writer's random prefix and a counter (unique, sorts in the order issued, and cheaper
        than a uuid4), for a row that others reference before it is added."""
        return f"{self._id_prefix}{next(self._ids):012x}"

    def add_row(self, row: SQLModel) -> str:
        """Queue a SQLModel object (convenient off the hot path); returns its id."""
        return self.add(type(row), **row.model_dump())

    def add_many(self, model: type[SQLModel], rows: Iterable[dict[str, Any]]) -> list[str]:
        """Queue rows that are written together, in the same transaction (never split across batches)."""
        shape = SHAPES[model.__tablename__]
        prepared = [self._row(shape, dict(values)) for values in rows]
        if prepared:
            self._put(Insert(shape, prepared))
        return [row["id"] for row in prepared]

    def update_outcome(self, touch_id: str, **values: Any) -> None:
        """Queue outcome columns of a level touch (markout_*_bps, mfe_bps, mae_bps, outcome, outcome_filled_at):
        `writer.update_outcome(update.touch_id, **update.values())` for an `OutcomeTracker` update."""
        if not values.keys() <= OUTCOME_COLUMNS:
            raise TypeError(f"not outcome columns of level_touches: {', '.join(sorted(values.keys() - OUTCOME_COLUMNS))}")
        self._put(Update(touch_id, values))

    def add_outcomes(self, updates: Iterable[OutcomeUpdate]) -> None:
        """Queue `OutcomeTracker` updates (their columns are outcome columns by construction)."""
        for update in updates:
            self._put(Update(update.touch_id, update.values()))

    def update_run(self, run_id: str, **values: Any) -> None:
        """Queue the end of a run: `ended_at`, `data_start`, `data_end` (the row was added when the run started)."""
        unknown = set(values) - RUN_END_COLUMNS
        if unknown:
            raise TypeError(f"not end-of-run columns of runs: {', '.join(sorted(unknown))}")
        self._put(Update(run_id, values, Run.__tablename__))

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Write everything queued so far (or hold/spill it when the database is away); True when done within timeout."""
        done = threading.Event()
        self._put(done)
        self._start_writing()
        return done.wait(timeout)

    def close(self, timeout: float | None = 60.0) -> WriterStats:
        """Write what is queued, spilling what cannot be written, and stop the thread; returns the final stats."""
        if not self._closed:
            self._closed = True
            atexit.unregister(self.close)
            self._queue.put(_STOP)
            if self._thread.ident is None:  # deferred and never started: write here (at exit no thread may start)
                self._run()
            else:
                self._thread.join(timeout)
        return self.stats

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _row(self, shape: TableShape, values: dict[str, Any]) -> dict[str, Any]:
        keys = values.keys()
        if not keys <= shape.columns:
            raise TypeError(f"unknown columns for {shape.name}: {', '.join(sorted(keys - shape.columns))}")
        if not keys >= shape.required:
            raise TypeError(f"missing columns for {shape.name}: {', '.join(sorted(shape.required - keys))}")
        row = {**shape.defaults, **values}
        if row.get("id") is None:
            row["id"] = self.new_id()
        return row

    def _put(self, item: Any) -> None:
        if self._closed:
            raise RuntimeError("the ledger writer is closed")
        self._queue.put(item)
        if self._deferring:
            self._queued_rows += size(item) if isinstance(item, (Insert, Update)) else 0
            if self._queued_rows >= self.settings.defer_rows:
                self._start_writing()

    def _start_writing(self) -> None:
        self._deferring = False
        if self._thread.ident is None:  # deferred and not started yet
            self._thread.start()

    # -- the writer thread ---------------------------------------------------------------------------------------

    def _run(self) -> None:
        held: deque[Item] = deque()
        first_at = 0.0  # monotonic time the oldest held row arrived
        next_try = 0.0  # while down: when to try again
        down = stopping = False
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
                    self.stats.held_rows += size(item)
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
                if not self._write_one_batch(held):
                    down = True
                    next_try = time.monotonic() + self.settings.retry_s
                    break
                if down:
                    down = self._bound_warned = False
                    self._warn(f"ledger: {self._shown} is reachable again; writing the {self.stats.held_rows:,} held rows")
                first_at = time.monotonic()
            if stopping and held:
                self._spill(list(held), "still unwritten at close")
                held.clear()
            for waiter in waiters:
                waiter.set()
            if stopping:
                return

    def _write_one_batch(self, held: deque[Item]) -> bool:
        """Write the oldest groups (up to batch_rows rows, a group never split) in one transaction; False when the
        database is away (the groups stay held, in order)."""
        batch: list[Item] = []
        rows = 0
        while held and (not batch or rows + size(held[0]) <= self.settings.batch_rows):
            item = held.popleft()
            batch.append(item)
            rows += size(item)
        try:
            unmatched = write_batch(self.engine, batch)
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy's, the driver's own (COPY), or a value it cannot take
            if not _locked(exc) and self._reachable():  # the database is there: it refused this batch
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
        self._count([item for item in batch if item not in unmatched])
        self._keep_unmatched(unmatched)
        return True

    def _write_each_or_spill(self, batch: list[Item], error: Exception) -> None:
        """A refused batch: each group in its own transaction; the groups refused again go to the spill file."""
        refused = []
        unmatched: list[Update] = []
        for item in batch:
            try:
                unmatched += write_batch(self.engine, [item])
            except Exception as exc:  # noqa: BLE001 - as in _write_one_batch
                error = exc
                refused.append(item)
                continue
            if item not in unmatched:
                self._count([item])
        self._keep_unmatched(unmatched)
        if refused:
            self._spill(refused, f"refused by the database: {self._reason(error)}")

    def _keep_unmatched(self, unmatched: list[Update]) -> None:
        """Outcome updates whose touch is not stored (it went to the spill file) follow it there, so the next start
        writes the touch and then its outcome."""
        if unmatched:
            self._spill(list(unmatched), None)

    def _count(self, batch: list[Item]) -> None:
        self.stats.batches += 1
        for item in batch:
            if isinstance(item, Insert):
                self.stats.written_rows += len(item.rows)
            else:
                self.stats.outcome_updates += 1

    def _reachable(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def _reason(self, exc: Exception) -> str:
        original = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        lines = str(original).strip().splitlines() or [""]
        return hide_secret(f"{type(original).__name__}: {lines[0]}", self._url)

    # -- the spill file ------------------------------------------------------------------------------------------

    def _spill_over_bound(self, held: deque[Item]) -> None:
        """Move the oldest held groups to the spill file until the rest fits in max_pending_rows."""
        over: list[Item] = []
        while held and self.stats.held_rows > self.settings.max_pending_rows:
            item = held.popleft()
            self.stats.held_rows -= size(item)
            over.append(item)
        why = None if self._bound_warned else f"over the {self.settings.max_pending_rows:,}-row memory bound while the database is away"
        self._bound_warned = True
        self._spill(over, why)

    def _spill(self, items: list[Item], why: str | None, path: Path | None = None) -> None:
        path = path or self.spill_path
        count = spill.append(path, items)
        self.stats.spilled_rows += count
        if why is not None:
            self._warn(f"ledger: {count:,} rows {why}: spilled to {path}; they are written on the next start")

    def _replay_spill(self) -> None:
        """Write a previous run's spill file in one transaction (rows already stored are skipped), then remove it;
        groups the database still refuses are set aside in <spill>.rejected.jsonl."""
        if not self.spill_path.is_file():
            return
        items = spill.read(self.spill_path)
        unmatched: list[Update] = []
        try:
            unmatched = write_batch(self.engine, items, ignore_duplicates=True)
            self.stats.replayed_rows = sum(size(item) for item in items) - len(unmatched)
        except Exception as exc:  # noqa: BLE001 - as in _write_one_batch
            if _locked(exc) or not self._reachable():
                self._warn(f"ledger: the spill file {self.spill_path} could not be written to {self._shown} yet ({self._reason(exc)}); kept for the next start")
                return
            unmatched = self._replay_each(items)
        if unmatched:
            rejected = self.spill_path.with_suffix(".rejected.jsonl")
            spill.append(rejected, unmatched)
            self._warn(f"ledger: {len(unmatched):,} outcome updates in the spill file match no stored touch: set aside in {rejected}")
        self.spill_path.unlink()
        self._warn(f"ledger: wrote {self.stats.replayed_rows:,} rows from the spill file {self.spill_path} and removed it")

    def _replay_each(self, items: list[Item]) -> list[Update]:
        """Group by group; returns the outcome updates that matched no touch."""
        rejected = self.spill_path.with_suffix(".rejected.jsonl")
        refused, reason, unmatched = [], "", []
        for item in items:
            try:
                missed = write_batch(self.engine, [item], ignore_duplicates=True)
                unmatched += missed
                self.stats.replayed_rows += 0 if missed else size(item)
            except Exception as exc:  # noqa: BLE001 - as in _write_one_batch
                refused.append(item)
                reason = self._reason(exc)
        if refused:
            count = spill.append(rejected, refused)
            self._warn(f"ledger: {count:,} rows of the spill file refused by the database ({reason}): set aside in {rejected}, not replayed")
        return unmatched


def _locked(error: Exception) -> bool:
    """SQLite busy past its timeout (another writer holds the lock): wait and retry, not a refusal."""
    message = str(error).lower()
    return "database is locked" in message or "database is busy" in message
