"""Wick geometry of one bar, a plain function of its OHLC.

With range = high - low, body = |close - open|, upper wick = high - max(open, close) and lower wick =
min(open, close) - low: upper/lower wick share and body share are fractions of the range (they sum
to 1); wick/body ratio is (upper + lower) / body (inf for a doji with wicks, 0 for a flat bar);
close location = (close - low) / range, 0 at the low and 1 at the high. A flat bar (range 0) has
shares 0 and close location 0.5.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WickGeometry:
    """Shape of one bar."""

    upper_wick_share: float
    lower_wick_share: float
    body_share: float
    wick_body_ratio: float
    close_location: float


def wick_geometry(open_: float, high: float, low: float, close: float) -> WickGeometry:
    """The bar's wick geometry (see the module docstring)."""
    if not low <= min(open_, close) <= max(open_, close) <= high:
        raise ValueError(f"not a bar: open {open_}, high {high}, low {low}, close {close}")
    span = high - low
    body = abs(close - open_)
    upper, lower = high - max(open_, close), min(open_, close) - low
    if span <= 0:
        return WickGeometry(0.0, 0.0, 0.0, 0.0, 0.5)
    ratio = (upper + lower) / body if body > 0 else math.inf
    return WickGeometry(upper / span, lower / span, body / span, ratio, (close - low) / span)
