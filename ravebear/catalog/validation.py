"""Validate a normalized candle frame: reject bad rows by name and reason, list gaps."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ravebear.catalog.candles import OHLCV_COLUMNS, PRICE_COLUMNS
from ravebear.text import plural

ONE_MINUTE_MS = 60_000


@dataclass(frozen=True)
class Rejection:
    """One rejected source row."""

    row: int
    ts: int | None
    reason: str

    def __str__(self) -> str:
        when = pd.Timestamp(self.ts, unit="ms", tz="UTC").isoformat() if self.ts is not None else "no time"
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
    high < low, open or close outside [low, high], a time off the candle grid, a duplicate
    time (the first one is kept) or a time earlier than a row before it (out of order).
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
    flag(ts.notna() & (ts % interval_ms != 0), f"time not on the {interval_ms // 1000}s candle grid")

    # Order checks run over rows with a usable time, in source order.
    timed = ts.notna() & (reasons == "")
    timed_ts = ts[timed]
    duplicate = timed_ts.duplicated(keep="first")
    previous_max = timed_ts.cummax().shift(1)
    out_of_order = (timed_ts < previous_max) & ~duplicate
    flag(duplicate.reindex(frame.index, fill_value=False), "duplicate time (an earlier row has it)")
    flag(out_of_order.reindex(frame.index, fill_value=False), "out of order (earlier than a previous row)")

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
    )
    return valid, report
