"""Validate a normalized candle frame: reject bad rows by name and reason, list gaps."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ravebear.catalog.candles import OHLCV_COLUMNS, PRICE_COLUMNS
from ravebear.text import plural

ONE_MINUTE_MS = 60_000
# Candle times outside these bounds (UTC epoch ms) are rejected: a ts in another unit than the rest of its file lands here.
EARLIEST_CANDLE_MS = 946_684_800_000  # 2000-01-01
LATEST_CANDLE_MS = 4_102_444_800_000  # 2100-01-01


@dataclass(frozen=True)
class Rejection:
    """One rejected source row."""

    row: int
    ts: int | None
    reason: str

    def __str__(self) -> str:
        if self.ts is None:
            when = "no time"
        elif EARLIEST_CANDLE_MS <= self.ts < LATEST_CANDLE_MS:
            when = pd.Timestamp(self.ts, unit="ms", tz="UTC").isoformat()
        else:
            when = f"ts {self.ts}"
        return f"row {self.row} ({when}): {self.reason}"


@dataclass(frozen=True)
class Gap:
    """Missing candles between two stored ones: `first_missing` .. `last_missing` open times (ms)."""

    first_missing: int
    last_missing: int
    missing: int

    def __str__(self) -> str:
        start = pd.Timestamp(self.first_missing, unit="ms", tz="UTC")
        end = pd.Timestamp(self.last_missing, unit="ms", tz="UTC")
        return f"{start:%Y-%m-%d %H:%M} .. {end:%Y-%m-%d %H:%M} UTC ({plural(self.missing, 'candle')} missing)"


@dataclass
class ValidationReport:
    """What validation kept, rejected and found missing."""

    total: int
    valid: int
    rejections: list[Rejection] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how the file was read (ts unit, sorting), for the user


def find_gaps(open_times_ms: np.ndarray, interval_ms: int = ONE_MINUTE_MS) -> list[Gap]:
    """Return the gaps in a sorted array of candle open times."""
    if len(open_times_ms) < 2:
        return []
    steps = np.diff(open_times_ms)
    positions = np.flatnonzero(steps > interval_ms)
    return [
        Gap(
            first_missing=int(open_times_ms[i] + interval_ms),
            last_missing=int(open_times_ms[i + 1] - interval_ms),
            missing=int(steps[i] // interval_ms - 1),
        )
        for i in positions
    ]


def validate_candles(frame: pd.DataFrame, interval_ms: int = ONE_MINUTE_MS) -> tuple[pd.DataFrame, ValidationReport]:
    """Split a normalized frame into valid rows (sorted by time) and a report of every rejected row.

    A row is rejected for: NaN or non-numeric values, a non-positive price, negative volume,
    high < low, open or close outside [low, high], a time off the candle grid or outside
    2000..2100, or a duplicate time (the first one in the source is kept). Rows out of time
    order (a newest-first file) are sorted, and the report says so.
    """
    reasons = pd.Series("", index=frame.index, dtype=object)

    def flag(mask: pd.Series, reason: str) -> None:
        mask = mask.fillna(False).to_numpy(dtype=bool)
        if mask.any():
            current = reasons[mask]
            reasons[mask] = np.where(current == "", reason, current + "; " + reason)

    for column in OHLCV_COLUMNS:
        flag(frame[column].isna(), f"{column} is missing or not a number")
    for column in PRICE_COLUMNS:
        flag(frame[column] <= 0, f"non-positive {column}")
    flag(frame["volume"] < 0, "negative volume")
    if "volume_contracts" in frame.columns:
        flag(frame["volume_contracts"] < 0, "negative volume_contracts")
    flag(frame["high"] < frame["low"], "high < low")
    for column in ("open", "close"):
        flag((frame[column] < frame["low"]) | (frame[column] > frame["high"]), f"{column} outside [low, high]")
    ts = frame["ts"]
    implausible = ts.notna() & ((ts < EARLIEST_CANDLE_MS) | (ts >= LATEST_CANDLE_MS))
    flag(implausible, "time outside 2000..2100 (a ts in another unit than the rest of the file?)")
    flag(ts.notna() & ~implausible & (ts % interval_ms != 0), f"time not on the {interval_ms // 1000}s candle grid")

    # Duplicates among rows with a usable time, in source order: the first copy is kept.
    timed_ts = ts[ts.notna() & (reasons == "")]
    duplicate = timed_ts.duplicated(keep="first")
    flag(duplicate.reindex(frame.index, fill_value=False), "duplicate time (an earlier row has it)")
    notes = list(frame.attrs.get("notes", []))
    unique_ts = timed_ts[~duplicate]
    earlier = int((unique_ts < unique_ts.cummax().shift(1)).sum())
    if earlier:
        order = "newest first" if unique_ts.is_monotonic_decreasing else f"{earlier} rows earlier than a row before them"
        notes.append(f"rows were not in time order ({order}); sorted by time")

    bad = reasons != ""
    rejections = [
        Rejection(row=int(row), ts=None if pd.isna(t) else int(t), reason=reason)
        for row, t, reason in zip(frame["row"][bad], ts[bad], reasons[bad], strict=True)
    ]
    valid = frame[~bad].sort_values("ts", kind="stable").reset_index(drop=True)
    valid["ts"] = valid["ts"].astype("int64")
    report = ValidationReport(
        total=len(frame),
        valid=len(valid),
        rejections=rejections,
        gaps=find_gaps(valid["ts"].to_numpy(), interval_ms),
        notes=notes,
    )
    return valid, report
