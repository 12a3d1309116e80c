"""Wick geometry of a bar: hand-built bars and real 1-minute bars against a vectorised pandas computation."""

import math

import numpy as np
import pytest

from ravebear.strategies.microstructure.wick_geometry import wick_geometry
from tests.strategies.microstructure.real_data import trades


def test_hammer_doji_and_flat_bar():
    hammer = wick_geometry(100.0, 101.0, 96.0, 100.5)  # range 5, body 0.5, upper 0.5, lower 4
    assert (hammer.upper_wick_share, hammer.lower_wick_share, hammer.body_share) == (0.1, 0.8, 0.1)
    assert (hammer.wick_body_ratio, hammer.close_location) == (9.0, 0.9)
    doji = wick_geometry(100.0, 101.0, 99.0, 100.0)
    assert math.isinf(doji.wick_body_ratio) and doji.body_share == 0.0
    flat = wick_geometry(100.0, 100.0, 100.0, 100.0)
    assert (flat.body_share, flat.wick_body_ratio, flat.close_location) == (0.0, 0.0, 0.5)
    with pytest.raises(ValueError, match="not a bar"):
        wick_geometry(100.0, 99.0, 98.0, 100.0)


def test_real_ten_second_bars_match_pandas():
    frame = trades("spot")
    bars = frame.groupby(frame["ts_ns"] // 10_000_000_000)["price"].agg(["first", "max", "min", "last"])
    got = np.array([[*vars_of(wick_geometry(o, h, l, c))] for o, h, l, c in bars.itertuples(index=False)])
    span = bars["max"] - bars["min"]
    top, bottom = bars[["first", "last"]].max(axis=1), bars[["first", "last"]].min(axis=1)
    safe = span.where(span > 0)
    expected = np.column_stack([
        ((bars["max"] - top) / safe).fillna(0), ((bottom - bars["min"]) / safe).fillna(0), ((top - bottom) / safe).fillna(0),
        ((span - (top - bottom)) / (top - bottom)).where(top > bottom, np.where(span > 0, np.inf, 0.0)),
        ((bars["last"] - bars["min"]) / safe).fillna(0.5),
    ])
    assert len(bars) > 60 and (span > 0).sum() > 30
    assert np.allclose(got, expected, rtol=1e-9, atol=1e-12)


def vars_of(geometry):
    return geometry.upper_wick_share, geometry.lower_wick_share, geometry.body_share, geometry.wick_body_ratio, geometry.close_location
