"""What an order-flow import rejected or found wrong: bad rows, sequence gaps, crossed books."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ravebear.text import plural


def _when(ts_ns: int) -> str:
    return pd.Timestamp(int(ts_ns), unit="ns", tz="UTC").isoformat()


@dataclass(frozen=True)
class RowRejection:
    """One rejected source row (1-based `row` in the source file, `ts_ns` its receive time)."""

    row: int
    ts_ns: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row} ({_when(self.ts_ns)}): {self.reason}"


@dataclass(frozen=True)
class SequenceGap:
    """A break in a sequence: at source row `row`, `expected` was due and `got` came."""

    row: int
    ts_ns: int
    what: str  # e.g. "trade id", "depth update id (U)", "depth update id (pu)"
    expected: int
    got: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row} ({_when(self.ts_ns)}): {self.what} {self.got}, expected {self.expected}: {self.reason}"


@dataclass(frozen=True)
class CrossedBook:
    """The rebuilt book had best bid >= best ask after `events` consecutive updates from source row `row`."""

    row: int
    ts_ns: int
    update_id: int
    best_bid: float
    best_ask: float
    events: int

    def __str__(self) -> str:
        return (
            f"row {self.row} ({_when(self.ts_ns)}): book crossed after update {self.update_id} "
            f"(best bid {self.best_bid} >= best ask {self.best_ask}) for {plural(self.events, 'update')}"
        )


@dataclass
class OrderflowReport:
    """What one import read, kept, rejected, and found broken."""

    total: int  # source rows
    valid: int = 0  # rows that passed the row checks
    rejections: list[RowRejection] = field(default_factory=list)
    gaps: list[SequenceGap] = field(default_factory=list)
    crossed: list[CrossedBook] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def reject_rows(
    frame: pd.DataFrame,
    positive: tuple[str, ...] = (),
    non_negative: tuple[str, ...] = (),
    crossed: tuple[str, str] | None = None,
    decimals: dict[str, int] | None = None,
    tick_decimals: dict[str, int] | None = None,
) -> tuple[np.ndarray, list[RowRejection]]:
    """Check rows: `positive` columns must be > 0, `non_negative` >= 0 (NaN fails both), `crossed` = (bid, ask) must have bid < ask.

    `decimals`: the instrument's precision per column; a positive value that rounds to 0 there is rejected
    (nautilus refuses a zero size, and a zero book size would mean a removal).
    `tick_decimals`: the instrument's price precision per column; a price with more decimals is rejected
    rather than silently rounded (rounding can make two book sides meet).

    Returns the mask of good rows and one rejection per bad row (all its reasons, joined by "; ").
    """
    reasons = np.full(len(frame), "", dtype=object)

    def flag(mask: np.ndarray, reason: str) -> None:
        if mask.any():
            current = reasons[mask]
            reasons[mask] = np.where(current == "", reason, current + "; " + reason)

    for column in positive:
        values = frame[column].to_numpy(dtype=np.float64)
        flag(~(values > 0), f"non-positive or missing {column}")
    for column, places in (decimals or {}).items():
        values = frame[column].to_numpy(dtype=np.float64)
        flag((values > 0) & (np.round(values, places) == 0), f"{column} rounds to 0 at the instrument's {places} decimals")
    for column, places in (tick_decimals or {}).items():
        values = frame[column].to_numpy(dtype=np.float64)
        flag(np.abs(values - np.round(values, places)) > 10.0 ** -(places + 4), f"{column} has more decimals than the instrument's {places}")
    for column in non_negative:
        values = frame[column].to_numpy(dtype=np.float64)
        flag(~(values >= 0), f"negative or missing {column}")
    if crossed is not None:
        bid, ask = (frame[c].to_numpy(dtype=np.float64) for c in crossed)
        flag(bid >= ask, f"crossed quote ({crossed[0]} >= {crossed[1]})")
    bad = reasons != ""
    rows = np.flatnonzero(bad)
    ts = frame["local_ts_ns"].to_numpy()
    return ~bad, [RowRejection(int(i) + 1, int(ts[i]), str(reasons[i])) for i in rows]
