"""Run the level engine over a frame of 1-minute candles, exactly as a node would feed it.

Higher-timeframe candles come from `resample_candles` (the node's aggregation rules) and are
fed in the node's order: a candle that closed during a gap (before the next 1-minute candle)
comes before that 1-minute candle; one closing with a 1-minute candle comes right after it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ravebear.strategies.levels.engine import LevelEngine, LevelEngineConfig
from ravebear.strategies.levels.model import LevelEvent
from ravebear.strategies.levels.timeframes import ONE_MINUTE_MS, resample_candles, timeframe_minutes

Sink = Callable[[str, LevelEvent], None]


def _columns(frame: pd.DataFrame, minutes: int) -> tuple[list, ...]:
    close_ns = (frame["ts"].to_numpy(dtype=np.int64) + minutes * ONE_MINUTE_MS) * 1_000_000
    return (
        close_ns.tolist(),
        frame["open"].to_numpy(dtype=np.float64).tolist(),
        frame["high"].to_numpy(dtype=np.float64).tolist(),
        frame["low"].to_numpy(dtype=np.float64).tolist(),
        frame["close"].to_numpy(dtype=np.float64).tolist(),
        frame["volume"].to_numpy(dtype=np.float64).tolist(),
    )


def replay_levels(frame: pd.DataFrame, config: LevelEngineConfig | None = None, engine: LevelEngine | None = None) -> list[tuple[str, LevelEvent]]:
    """Feed 1-minute candles (`ts` open ms, OHLCV) and their higher timeframes; return (timeframe, event) in order."""
    engine = engine or LevelEngine(config)
    base = engine.base
    if timeframe_minutes(base) != 1:
        raise ValueError(f"replay needs 1-minute base candles, the engine's base timeframe is {base}")
    higher = [(tf, _columns(resample_candles(frame, timeframe_minutes(tf)), timeframe_minutes(tf))) for tf in engine.config.timeframes[1:]]
    positions = [0] * len(higher)
    out: list[tuple[str, LevelEvent]] = []
    on_candle = engine.on_candle

    def feed_higher(until: int, inclusive: bool) -> None:
        for slot, (tf, (close, o, h, lo, c, v)) in enumerate(higher):
            i, n = positions[slot], len(close)
            while i < n and (close[i] < until or (inclusive and close[i] == until)):
                for event in on_candle(tf, o[i], h[i], lo[i], c[i], v[i], close[i]):
                    out.append((tf, event))
                i += 1
            positions[slot] = i

    close, o, h, lo, c, v = _columns(frame, 1)
    for i in range(len(close)):
        t = close[i]
        if higher:
            feed_higher(t, inclusive=False)
        for event in on_candle(base, o[i], h[i], lo[i], c[i], v[i], t):
            out.append((base, event))
        if higher:
            feed_higher(t, inclusive=True)
    return out
