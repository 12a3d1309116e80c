"""Allowed ranges of config numbers with units, and the one error wording for a number outside its range:
`<key> must be between 0 and 100 % of equity (0 = off), got -5`. Imports no layer: run files, risk,
strategies and research settings all use it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


def _number(value: float) -> str:
    """1000000 -> '1,000,000'; 0.5 -> '0.5'; -5.0 -> '-5'."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:g}"
    return f"{int(value):,}" if math.isfinite(value) else str(value)


@dataclass(frozen=True)
class Range:
    """Where a config number may lie: `low`/`high` inclusive unless `low_open`/`high_open`; None: unbounded."""

    low: float | None = None
    high: float | None = None
    unit: str = ""  # e.g. "bps", "% of equity", "x equity", "bars"
    low_open: bool = False  # True: `low` itself is not allowed (must be above it)
    high_open: bool = False  # True: `high` itself is not allowed (must be below it)
    note: str = ""  # e.g. "0 = off"

    def allows(self, value: float) -> bool:
        """True when value lies in the range (NaN never does)."""
        if isinstance(value, float) and math.isnan(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or (value < self.high if self.high_open else value <= self.high)

    def text(self) -> str:
        """The range in words, with its unit: 'between 0 and 100 bps', 'above 0 and at most 125 x equity'."""
        unit = f" {self.unit}" if self.unit else ""
        low = None if self.low is None else f"{'above' if self.low_open else 'at least'} {_number(self.low)}"
        high = None if self.high is None else f"{'below' if self.high_open else 'at most'} {_number(self.high)}"
        if low is not None and high is not None:
            closed = not self.low_open and not self.high_open
            span = f"between {_number(self.low)} and {_number(self.high)}" if closed else f"{low} and {high}"
        else:
            span = low or high or "any number"
        return span + unit + (f" ({self.note})" if self.note else "")

    def message(self, key: str, value: Any) -> str:
        """The one-line error for a value outside the range."""
        shown = _number(value) if isinstance(value, (int, float)) else repr(value)
        return f"{key} must be {self.text()}, got {shown}"


def check_ranges(config: Any, ranges: dict[str, Range], prefix: str = "") -> None:
    """Raise ValueError naming the first attribute of `config` outside its range."""
    for name, allowed in ranges.items():
        value = getattr(config, name)
        if value is not None and not allowed.allows(value):
            raise ValueError(allowed.message(f"{prefix}{name}", value))
