"""Atomic writes into the catalog folder: a killed process leaves the old files or the new ones, never half a file.

nautilus's `ParquetDataCatalog.write_data` writes each file straight under its final name
(`pq.write_table(where=<catalog>/data/<type>/<identifier>/<first>_<last>.parquet)`), so a process
killed mid-write leaves a truncated file on which every later read of that folder fails
("Parquet magic bytes not found in footer"). Here a write goes to a staging folder inside the
catalog (`<catalog>/.staging/<pid>-<random>/`, outside `data/`, so no reader sees it), is flushed to
disk, and each file is renamed into place with `os.replace` (atomic within one file system).

A write that also removes files (a merge replacing the files it overlaps) records its plan first
in a journal (`<catalog>/.staging/<pid>-<random>.commit.json`, itself written aside and renamed).
Once the journal exists the write is committed: if the process dies before it has moved and removed
everything, the next process that opens the catalog finishes the job (`recover`). A staging folder
without a journal is an unfinished write of a dead process and is removed.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

STAGING_DIR = ".staging"
_JOURNAL_SUFFIX = ".commit.json"


class CatalogNotWritable(ValueError):
    """The catalog folder cannot be created or written (message names the folder and why)."""


def fsync_path(path: Path) -> None:
    """Flush a file's (or a folder's entries') data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_writable(root: str | Path) -> Path:
    """Create the catalog folder if needed and prove a file can be written in it; return its path.

    Raises CatalogNotWritable with a one-line reason (a path component that is a file, no
    permission, read-only file system) before any work is done.
    """
    root = Path(root)
    probe = root / STAGING_DIR / f"{os.getpid()}-probe-{uuid.uuid4().hex[:8]}"
    try:
        probe.parent.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink(missing_ok=True)
    except OSError as exc:
        raise CatalogNotWritable(f"cannot write to the catalog folder {root}: {_reason(root, exc)}") from None
    return root


def _reason(root: Path, exc: OSError) -> str:
    for parent in [root, *root.parents]:
        if parent.exists() and not parent.is_dir():
            return f"{parent} is a file, not a folder"
    return exc.strerror or str(exc)


def _absolute(path: str | Path) -> Path:
    """An absolute, normalized path (no symlinks resolved), so the catalog root and its files compare equal."""
    return Path(os.path.abspath(path))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_pid(name: str) -> int | None:
    head = name.split("-", 1)[0]
    return int(head) if head.isdigit() else None


class Staging:
    """One write's private folder under `<catalog>/.staging`; `commit` moves its files into the catalog."""

    def __init__(self, root: str | Path) -> None:
        self.root = _absolute(root)
        self.name = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.path = self.root / STAGING_DIR / self.name
        self.path.mkdir(parents=True)

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        shutil.rmtree(self.path, ignore_errors=True)  # after a commit there is nothing left; after an error, the aborted files

    def staged(self, target: Path) -> Path:
        """The staging path of a catalog file (same path relative to the catalog)."""
        return self.path / _absolute(target).relative_to(self.root)

    def target(self, staged: Path) -> Path:
        """The catalog path a staged file goes to."""
        return self.root / staged.relative_to(self.path)

    def files(self) -> list[Path]:
        """The staged files, in a stable order."""
        return sorted(path for path in self.path.rglob("*") if path.is_file())

    def commit(self, replaces: Iterable[Path] = ()) -> list[Path]:
        """Move every staged file into the catalog and remove `replaces`; return the catalog files written."""
        moves = [(staged, self.target(staged)) for staged in self.files()]
        removes = [_absolute(path) for path in replaces]
        for staged, _ in moves:
            fsync_path(staged)
        journal = None
        if removes:
            journal = self.root / STAGING_DIR / f"{self.name}{_JOURNAL_SUFFIX}"
            plan = {
                "moves": [[str(s.relative_to(self.root)), str(t.relative_to(self.root))] for s, t in moves],
                "removes": [str(path.relative_to(self.root)) for path in removes],
            }
            _write_bytes_atomic(journal, json.dumps(plan).encode())  # the commit point
        _apply(moves, removes)
        if journal is not None:
            journal.unlink()
        return [target for _, target in moves]


def _write_bytes_atomic(path: Path, payload: bytes) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        handle.write(payload)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    fsync_path(path.parent)


def _apply(moves: list[tuple[Path, Path]], removes: list[Path]) -> None:
    folders: set[Path] = set()
    targets = {target for _, target in moves}
    for staged, target in moves:
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(staged, target)
        except FileNotFoundError:
            continue  # moved already (a recovery finishing a commit that got this far)
        folders.add(target.parent)
    for path in removes:
        if path not in targets:
            path.unlink(missing_ok=True)
            folders.add(path.parent)
    for folder in folders:
        if folder.exists():
            fsync_path(folder)


def recover(root: str | Path) -> None:
    """Finish the committed writes of dead processes and drop their unfinished ones."""
    root = _absolute(root)
    staging = root / STAGING_DIR
    if not staging.is_dir():
        return
    for journal in sorted(staging.glob(f"*{_JOURNAL_SUFFIX}")):
        pid = _owner_pid(journal.name)
        if pid is not None and pid != os.getpid() and _pid_alive(pid):
            continue  # its own process is finishing it
        plan = json.loads(journal.read_text())
        _apply([(root / s, root / t) for s, t in plan["moves"]], [root / path for path in plan["removes"]])
        journal.unlink(missing_ok=True)
    for entry in staging.iterdir():
        pid = _owner_pid(entry.name)
        if entry.name.endswith(_JOURNAL_SUFFIX) or (pid is not None and _pid_alive(pid)):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def catalog_root(catalog: ParquetDataCatalog | str | Path) -> Path:
    """The folder of a catalog given as a nautilus catalog or a path."""
    return _absolute(catalog if isinstance(catalog, (str, Path)) else catalog.path)


def write_data(catalog: ParquetDataCatalog | str | Path, data: list[Any], replaces: Iterable[Path] = ()) -> list[Path]:
    """Write nautilus objects as `ParquetDataCatalog.write_data` would (same files, same encoding), atomically.

    `replaces`: catalog files that the new files supersede (removed in the same commit). As in
    nautilus, a file whose name is already stored is skipped, and a file whose time interval
    overlaps a stored one (other than those replaced) raises ValueError; then nothing is written.
    Returns the catalog files written.
    """
    from nautilus_trader.persistence.catalog import ParquetDataCatalog
    from nautilus_trader.persistence.catalog.parquet import _are_intervals_disjoint, _parse_filename_timestamps

    root = catalog_root(catalog)
    rows_per_group = 5_000 if isinstance(catalog, (str, Path)) else catalog.max_rows_per_group
    replaced = {_absolute(path) for path in replaces}
    with Staging(root) as staging:
        staged_catalog = ParquetDataCatalog(str(staging.path), max_rows_per_group=rows_per_group)
        try:
            staged_catalog.write_data(data)
        finally:
            _forget_instance(ParquetDataCatalog, staged_catalog)
        for staged in staging.files():
            target = staging.target(staged)
            if target.exists() and target not in replaced:
                staged.unlink()  # nautilus skips a file name that is already stored
                continue
            stored = [
                interval
                for path in target.parent.glob("*.parquet")
                if path not in replaced and (interval := _parse_filename_timestamps(str(path))) is not None
            ]
            new = _parse_filename_timestamps(str(staged))
            if new is not None and not _are_intervals_disjoint([*stored, new]):
                raise ValueError(
                    f"writing {target.relative_to(root)} would overlap stored files in {target.parent} (intervals {sorted(stored)})",
                )
        return staging.commit(replaced)


def _forget_instance(cls: type, instance: Any) -> None:
    """Drop a catalog from nautilus's per-arguments instance cache (`Singleton`): each staging folder is new, so
    without this every write keeps one more ParquetDataCatalog alive (a long-running recorder grew ~25 MB an hour)."""
    for key, value in list(cls._instances.items()):  # type: ignore[attr-defined]
        if value is instance:
            cls._instances.pop(key, None)  # type: ignore[attr-defined]


def write_table(root: str | Path, table: pa.Table, target: Path, replaces: Iterable[Path] = (), **options: Any) -> Path:
    """Write one Arrow table to a catalog file atomically (`options` go to `pq.write_table`), replacing `replaces`."""
    import pyarrow.parquet as pq

    with Staging(root) as staging:
        staged = staging.staged(target)
        staged.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, staged, **options)
        staging.commit(replaces)
    return _absolute(target)
