"""Real 1-minute candles as `Candle`s and simple deterministic votes from them, for the swarm tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ravebear.strategies.levels.timeframes import Candle
from ravebear.time_units import NS_PER_MINUTE


def candles(frame: pd.DataFrame) -> list[Candle]:
    """The frame's 1-minute candles (ts = open time in ms) as Candles (ts = close time in ns)."""
    ts = frame["ts"].to_numpy(np.int64) * 1_000_000 + NS_PER_MINUTE
    cols = [frame[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")]
    return [Candle(int(t), float(o), float(h), float(l), float(c), float(v)) for t, o, h, l, c, v in zip(ts, *cols, strict=True)]


def momentum_votes(frame: pd.DataFrame, lags: tuple[int, ...], threshold_bps: float) -> np.ndarray:
    """Votes [n, len(lags)] from real closes: bot k votes the sign of the return over lags[k] bars when it is
    larger than threshold_bps, with confidence |return| / (4 x threshold) capped at 1; otherwise it abstains."""
    close = frame["close"].to_numpy(np.float64)
    out = np.zeros((len(close), len(lags)))
    for k, lag in enumerate(lags):
        ret = np.zeros(len(close))
        ret[lag:] = (close[lag:] / close[:-lag] - 1.0) * 1e4
        fire = np.abs(ret) > threshold_bps
        out[fire, k] = np.sign(ret[fire]) * np.minimum(1.0, np.abs(ret[fire]) / (4 * threshold_bps))
    return out
