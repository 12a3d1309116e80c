"""Rotating batches of recorded order flow, written to the catalog on a thread of their own.

The node's event loop only appends to a buffer per (catalog folder, instrument); a buffer is handed
to the writer thread when it holds `batch_items` objects or when `rotate()` runs (every
`batch_seconds`). The thread writes each batch with `orderflow.store.write_series` (atomic: staged,
fsynced, renamed; idempotent by key), so a Ctrl-C or a kill leaves whole files only, and `close()`
writes what is buffered before it returns.

Trades a venue sends again (a reconnect's or a restart's replay of recent trades) are dropped by trade
id: the writer remembers the last `SEEN_TRADE_IDS` ids per instrument, primed from the newest stored
files, so a restart appends without duplicates while memory stays bounded.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ravebear.catalog.orderflow.store import DELTAS, TRADES, stored_files, write_series
from ravebear.platform.recorder.gaps import Gap, append_gaps

if TYPE_CHECKING:
    from ravebear.catalog.store import RaveCatalog

SEEN_TRADE_IDS = 10_000  # trade ids remembered per instrument to drop a venue's repeats (~1 MB each; Kraken re-sends <= 50 on subscribe)


@dataclass
class WriterStats:
    """What the writer thread has done (read by the status line; plain ints, updated by one thread)."""

    batches: int = 0
    written: int = 0
    repeats_dropped: int = 0  # trades already stored or already written in this session
    queued: int = 0  # batches handed over and not yet written
    last_write_s: float = 0.0  # wall time of the latest batch write
    busy_s: float = 0.0  # wall time spent writing batches, all told
    failure: str | None = None  # the first write error; the runner stops the recorder on it
    per_series: dict[tuple[str, str], int] = field(default_factory=dict)  # (folder, instrument) -> objects written


class _SeenIds:
    """The most recent trade ids of one instrument (a bounded set)."""

    def __init__(self, size: int) -> None:
        self.order: deque[str] = deque()
        self.ids: set[str] = set()
        self.size = size

    def add(self, trade_id: str) -> bool:
        """Remember an id; False when it was already there."""
        if trade_id in self.ids:
            return False
        self.ids.add(trade_id)
        self.order.append(trade_id)
        if len(self.order) > self.size:
            self.ids.discard(self.order.popleft())
        return True


class BatchWriter:
    """Buffers per series on the event loop; writes batches on its own thread."""

    def __init__(self, store: RaveCatalog, batch_items: int) -> None:
        self.store = store
        self.batch_items = batch_items
        self.stats = WriterStats()
        self._buffers: dict[tuple[str, str], list[Any]] = {}
        self._queue: queue.Queue[tuple[str, Any] | None] = queue.Queue()
        self._seen: dict[str, _SeenIds] = {}
        self._thread = threading.Thread(target=self._run, name="recorder-writer", daemon=True)
        self._thread.start()

    # -- event-loop side ------------------------------------------------------------------------------

    def add(self, folder: str, instrument_id: str, objects: list[Any]) -> None:
        """Buffer objects of one series; hand the buffer over once it holds `batch_items`."""
        key = (folder, instrument_id)
        buffer = self._buffers.setdefault(key, [])
        buffer.extend(objects)
        if len(buffer) >= self.batch_items:
            self._hand_over(key)

    def rotate(self) -> None:
        """Hand every non-empty buffer to the writer (the periodic batch boundary)."""
        for key in [key for key, buffer in self._buffers.items() if buffer]:
            self._hand_over(key)

    def record_gaps(self, gaps: list[Gap]) -> None:
        """Write gaps to the sidecar file, in order with the data batches."""
        if gaps:
            self.stats.queued += 1
            self._queue.put(("gaps", gaps))

    def close(self, timeout_s: float = 60.0) -> bool:
        """Write everything buffered and stop the thread; False when it did not finish within `timeout_s`."""
        self.rotate()
        self._queue.put(None)
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def _hand_over(self, key: tuple[str, str]) -> None:
        batch = self._buffers[key]
        self._buffers[key] = []
        self.stats.queued += 1
        self._queue.put(("batch", (key, batch)))

    # -- writer thread ----------------------------------------------------------------------------

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            kind, payload = job
            try:
                if self.stats.failure is None:
                    self._write(kind, payload)
            except Exception as exc:  # noqa: BLE001 - a full disk or a removed folder: reported, the runner stops
                self.stats.failure = f"{type(exc).__name__}: {exc}"
            finally:
                self.stats.queued -= 1

    def _write(self, kind: str, payload: Any) -> None:
        if kind == "gaps":
            append_gaps(self.store.path, payload)
            return
        (folder, instrument_id), objects = payload
        if folder == TRADES:
            objects = self._new_trades(instrument_id, objects)
        if not objects:
            return
        started = time.perf_counter()
        result = write_series(self.store, folder, instrument_id, objects)
        self.stats.last_write_s = time.perf_counter() - started
        self.stats.busy_s += self.stats.last_write_s
        self.stats.batches += 1
        self.stats.written += result.written
        self.stats.repeats_dropped += result.already_stored
        self.stats.per_series[(folder, instrument_id)] = self.stats.per_series.get((folder, instrument_id), 0) + result.written

    def _new_trades(self, instrument_id: str, trades: list[Any]) -> list[Any]:
        seen = self._seen.get(instrument_id)
        if seen is None:
            seen = self._seen[instrument_id] = _SeenIds(SEEN_TRADE_IDS)
            for trade_id in self._stored_trade_ids(instrument_id):
                seen.add(trade_id)
        fresh = [trade for trade in trades if seen.add(trade.trade_id.value)]
        self.stats.repeats_dropped += len(trades) - len(fresh)
        return fresh

    def _stored_trade_ids(self, instrument_id: str) -> list[str]:
        """Trade ids of the newest stored files of a series, oldest first, up to `SEEN_TRADE_IDS` (what a restart may be sent again)."""
        import pyarrow.parquet as pq

        chunks: list[list[str]] = []
        count = 0
        for path, _ in reversed(stored_files(self.store, TRADES, instrument_id)):
            if count >= SEEN_TRADE_IDS:
                break
            ids = [str(value) for value in pq.read_table(path, columns=["trade_id"]).column("trade_id").to_pylist()]
            chunks.append(ids)
            count += len(ids)
        return [trade_id for chunk in reversed(chunks) for trade_id in chunk][-SEEN_TRADE_IDS:]


def last_stored_ns(store: RaveCatalog, folder: str, instrument_id: str) -> int:
    """ts_init of the newest stored object of a series (0: none), from its file names."""
    files = stored_files(store, folder, instrument_id)
    return files[-1][1][1] if files else 0


__all__ = ["DELTAS", "TRADES", "BatchWriter", "WriterStats", "last_stored_ns"]
