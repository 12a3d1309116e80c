"""Allowed ranges of config numbers with units, and the one error wording for a number outside its range:
`<key> must be between 0 and 100 % of equity (0 = off), got -5`."""

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
    """Where a config number may lie: `low`/`high` inclusive unless `low_open`; None: unbounded."""

    low: float | None = None
    high: float | None = None
    unit: str = ""  # e.g. "bps", "% of equity", "x equity", "bars"
    low_open: bool = False  # True: `low` itself is not allowed (must be above it)
    note: str = ""  # e.g. "0 = off"

    def allows(self, value: float) -> bool:
        """True when value lies in the range (NaN never does)."""
        if isinstance(value, float) and math.isnan(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return self.high is None or value <= self.high

    def text(self) -> str:
        """The range in words, with its unit: 'between 0 and 100 bps', 'above 0 and at most 125 x equity'."""
        unit = f" {self.unit}" if self.unit else ""
        if self.low is not None and self.high is not None:
            low, high = _number(self.low), _number(self.high)
            span = f"above {low} and at most {high}" if self.low_open else f"between {low} and {high}"
        elif self.low is not None:
            span = f"{'above' if self.low_open else 'at least'} {_number(self.low)}"
        else:
            span = f"at most {_number(self.high)}"
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
