"""Gaps in a recording, kept beside the data in `<catalog>/recorder/gaps.jsonl` (never filled in).

A gap says which series (source, instrument, kind) has no data between `from_ns` (the last item
received before it, ts_init) and `to_ns` (the first after it; 0 while still open), and why. The file
is rewritten whole through the catalog's staging (`atomic_write.Staging`) for each new gap, so a
killed recorder leaves the old list or the new one.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ravebear.catalog.atomic_write import Staging

GAPS_FILE = Path("recorder") / "gaps.jsonl"

# why a gap was recorded
RESNAPSHOT = "book re-snapshot"  # the venue sent a new book snapshot mid-stream: the socket was re-subscribed
TRADE_IDS = "trade ids skipped"  # a venue with sequential trade ids skipped some
DISCONNECTED = "socket down"  # the client's WebSocket was seen inactive
NOT_RUNNING = "recorder not running"  # between the last stored item and the first of this session


@dataclass(frozen=True)
class Gap:
    """One hole in one recorded series."""

    source: str  # okx | kraken
    instrument_id: str
    kind: str  # trades | book
    reason: str
    from_ns: int  # ts_init of the last item before the gap (0: none)
    to_ns: int  # ts_init of the first item after it (0: not yet resumed)
    detail: str = ""

    def describe(self) -> str:
        """One line: series, reason, span in seconds and detail."""
        span = f"{(self.to_ns - self.from_ns) / 1e9:.1f} s" if self.from_ns and self.to_ns else "open"
        return f"{self.instrument_id} {self.kind}: {self.reason} ({span}){': ' + self.detail if self.detail else ''}"


def gaps_path(catalog_root: Path) -> Path:
    """Where a catalog keeps its recorder gaps."""
    return Path(catalog_root) / GAPS_FILE


def read_gaps(catalog_root: Path) -> list[Gap]:
    """Every gap recorded in a catalog, oldest first ([] when none)."""
    path = gaps_path(catalog_root)
    if not path.exists():
        return []
    return [Gap(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def append_gaps(catalog_root: Path, gaps: list[Gap]) -> None:
    """Add gaps to the catalog's list (the whole file replaced atomically)."""
    if not gaps:
        return
    target = gaps_path(catalog_root)
    lines = target.read_text().splitlines() if target.exists() else []
    lines += [json.dumps(asdict(gap), sort_keys=True) for gap in gaps]
    with Staging(catalog_root) as staging:
        staged = staging.staged(target)
        staged.parent.mkdir(parents=True, exist_ok=True)
        staged.write_text("\n".join(lines) + "\n")
        staging.commit()
