"""Find damaged Parquet files in a catalog and set them aside, so one bad file does not break every command.

A Parquet file starts and ends with the magic bytes `PAR1`; the 4 bytes before the trailing magic
give the footer's length. A file cut short (a killed writer before RaveBear's writes were atomic,
a full disk, a copy interrupted) fails that check, and pyarrow refuses the whole folder it sits in
("Parquet magic bytes not found in footer"). Such a file is moved to `<catalog>/.damaged/` under
its own relative path, with one warning naming it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from loguru import logger

DAMAGED_DIR = ".damaged"
_MAGIC = b"PAR1"
_MIN_SIZE = 12  # leading magic + footer length + trailing magic


@dataclass(frozen=True)
class DamagedFile:
    """A catalog file that was set aside."""

    path: Path  # where it was, relative to the catalog
    moved_to: Path  # absolute
    reason: str


def parquet_damage(path: Path) -> str | None:
    """Why a file is not a complete Parquet file, or None when its framing is intact."""
    try:
        size = path.stat().st_size
        if size < _MIN_SIZE:
            return f"{size} bytes, too short to be a Parquet file"
        with open(path, "rb") as handle:
            head = handle.read(4)
            handle.seek(size - 8)
            tail = handle.read(8)
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if tail[4:] != _MAGIC:
        return "Parquet magic bytes not found in footer: the file was cut short"
    if head != _MAGIC:
        return "Parquet magic bytes not found at the start"
    footer = int.from_bytes(tail[:4], "little")
    if footer + _MIN_SIZE > size:
        return f"footer of {footer} bytes does not fit in a {size}-byte file"
    return None


def quarantine_damaged(root: str | Path) -> list[DamagedFile]:
    """Move every damaged `data/**/*.parquet` file of a catalog to `<catalog>/.damaged/`, warning once per file."""
    root = Path(root)
    data = root / "data"
    if not data.is_dir():
        return []
    found = []
    for path in sorted(data.rglob("*.parquet")):
        reason = parquet_damage(path)
        if reason is None:
            continue
        relative = path.relative_to(root)
        target = root / DAMAGED_DIR / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                target = target.with_name(f"{target.name}.{os.getpid()}")
            os.replace(path, target)
        except OSError as exc:
            logger.warning(
                "damaged catalog file {} ({}) could not be moved to {} ({}); delete it, then import or download that range again",
                relative, reason, root / DAMAGED_DIR, exc.strerror or exc,
            )  # fmt: skip
            continue
        found.append(DamagedFile(relative, target, reason))
        logger.warning(
            "damaged catalog file {} ({}) moved to {}; its data is no longer in the catalog: import or download that range again",
            relative, reason, target,
        )  # fmt: skip
    return found
