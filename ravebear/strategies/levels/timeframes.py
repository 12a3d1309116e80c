"""Higher-timeframe candles from 1-minute candles, the way research builds them.

`resample_candles` turns a frame of 1-minute candles (`ts` = open time in ms, `open, high,
low, close, volume`) into N-minute candles aligned to UTC multiples of N minutes, with the
rules of nautilus's internal time-bar aggregation as RaveBear configures it
(`DataEngineConfig(time_bars_build_with_no_updates=False)`, see docs/NOTES.md):
- a bucket with no 1-minute candle (a gap in the data) produces no candle;
- a bucket partly filled before a gap is a candle of what it has;
- a bucket closes only when time reaches its end, so a trailing bucket whose end is after
  the last 1-minute candle's close is left out (in a node its timer never fires).
The node builds the same timeframes; a test proves both give the same candles.
"""

from __future__ import annotations

import pandas as pd

ONE_MINUTE_MS = 60_000
VOLUME_DECIMALS = 9  # above any instrument's size precision
TIMEFRAME_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "4h": 240}


def timeframe_minutes(timeframe: str) -> int:
    """Return the minutes of a timeframe label such as `15m` or `1h`."""
    try:
        return TIMEFRAME_MINUTES[timeframe]
    except KeyError:
        raise ValueError(f"unknown timeframe {timeframe!r}; known: {', '.join(TIMEFRAME_MINUTES)}") from None


def resample_candles(frame: pd.DataFrame, minutes: int) -> pd.DataFrame:
    """Aggregate 1-minute candles into `minutes`-minute candles (open-time `ts` in ms)."""
    if minutes == 1:
        return frame[["ts", "open", "high", "low", "close", "volume"]].reset_index(drop=True)
    bucket_ms = minutes * ONE_MINUTE_MS
    bucket = frame["ts"].to_numpy() // bucket_ms * bucket_ms
    grouped = frame.groupby(bucket, sort=True)
    out = pd.DataFrame(
        {
            "ts": grouped["ts"].first().index.to_numpy(),
            "open": grouped["open"].first().to_numpy(),
            "high": grouped["high"].max().to_numpy(),
            "low": grouped["low"].min().to_numpy(),
            "close": grouped["close"].last().to_numpy(),
            # nautilus sums volumes as exact decimals; rounding the float sum gives the same double
            "volume": grouped["volume"].sum().round(VOLUME_DECIMALS).to_numpy(),
        },
    )
    last_close = int(frame["ts"].iloc[-1]) + ONE_MINUTE_MS if len(frame) else 0
    return out[out["ts"].to_numpy() + bucket_ms <= last_close].reset_index(drop=True)
