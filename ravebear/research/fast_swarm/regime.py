"""Compiled (numba) twin of the rule regime (`ravebear.strategies.swarm.regime.RuleRegime`).

Transcribed line for line (same bucket rules, same operand order in the sums), so the labels equal the pure
regime fed one candle at a time; `tests/research/test_fast_swarm.py` proves it on real data. Change both together.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ravebear.strategies.swarm.regime import RegimeConfig
from ravebear.strategies.swarm.state import RANGING, TRENDING, VOLATILE, WARMUP
from ravebear.time_units import NS_PER_MINUTE


@njit(cache=True)
def _rule_regime(
    ts: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, bucket_ns: int, minute_ns: int, trend_period: int,
    trend_enter: float, trend_exit: float, vol_period: int, vol_lookback: int, vol_min_history: int, volatile_enter: float,
    volatile_exit: float, min_duration: int,
) -> np.ndarray:
    n = ts.shape[0]
    out = np.empty(n, np.int8)
    closes = np.empty(trend_period + 1)  # ring of the last regime closes
    n_closes = 0
    head_closes = 0  # index of the oldest close once the ring is full
    ranges = np.empty(vol_period)
    n_ranges = 0
    head_ranges = 0
    history = np.empty(vol_lookback)
    n_history = 0
    head_history = 0
    start = -1
    c_high = c_low = c_close = 0.0
    prev_close = np.nan
    label = WARMUP
    held = 0
    efficiency = np.nan
    percentile = np.nan
    for i in range(n):
        open_ns = ts[i] - minute_ns
        for step in range(2):  # 0: a bucket that ended in a gap before this minute; 1: add the minute
            if step == 0:
                if not (start >= 0 and start + bucket_ns <= open_ns):
                    continue
            else:
                if start < 0:
                    start = open_ns - open_ns % bucket_ns
                    c_high, c_low, c_close = high[i], low[i], close[i]
                else:
                    c_high = max(c_high, high[i])
                    c_low = min(c_low, low[i])
                    c_close = close[i]
                if ts[i] != start + bucket_ns:
                    continue
            # close the bucket (RuleRegime._close_bucket)
            start = -1
            prev = prev_close
            prev_close = c_close
            if n_closes <= trend_period:
                closes[n_closes] = c_close
                n_closes += 1
            else:
                closes[head_closes] = c_close
                head_closes = (head_closes + 1) % (trend_period + 1)
            if not math.isnan(prev):
                top = max(prev, c_high)
                bottom = min(prev, c_low)
                value = (top - bottom) / c_close * 1e4
                if n_ranges < vol_period:
                    ranges[n_ranges] = value
                    n_ranges += 1
                else:
                    ranges[head_ranges] = value
                    head_ranges = (head_ranges + 1) % vol_period
            if n_closes > trend_period:
                path = 0.0
                size = trend_period + 1
                for k in range(1, size):
                    path += abs(closes[(head_closes + k) % size] - closes[(head_closes + k - 1) % size])
                first = closes[head_closes]
                last = closes[(head_closes + trend_period) % size]
                efficiency = abs(last - first) / path if path > 0.0 else 0.0
            if n_ranges < vol_period:
                continue
            vol = 0.0
            for k in range(vol_period):
                vol += ranges[(head_ranges + k) % vol_period]
            vol = vol / vol_period
            if n_history >= vol_min_history:
                below = 0
                for k in range(n_history):
                    if history[k] < vol:
                        below += 1
                percentile = below / n_history
            if n_history < vol_lookback:
                history[n_history] = vol
                n_history += 1
            else:
                history[head_history] = vol
                head_history = (head_history + 1) % vol_lookback
            if math.isnan(percentile) or math.isnan(efficiency):
                continue
            held += 1
            if percentile >= (volatile_exit if label == VOLATILE else volatile_enter):
                want = VOLATILE
            elif efficiency >= (trend_exit if label == TRENDING else trend_enter):
                want = TRENDING
            else:
                want = RANGING
            if want != label and (label == WARMUP or held >= min_duration):
                label = want
                held = 0
        out[i] = label
    return out


def rule_regime_labels(ts: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, config: RegimeConfig) -> np.ndarray:
    """The rule regime's label after each 1-minute bar (`ts` = CLOSE time in ns), as int8 codes of state.py."""
    if config.kind != "rule":
        raise ValueError(f"the compiled regime twin is the rule kind only, got kind {config.kind!r}")
    return _rule_regime(
        np.ascontiguousarray(ts, np.int64), np.ascontiguousarray(high, np.float64), np.ascontiguousarray(low, np.float64),
        np.ascontiguousarray(close, np.float64), config.timeframe_min * NS_PER_MINUTE, NS_PER_MINUTE, config.trend_period,
        float(config.trend_enter), float(config.trend_exit), config.vol_period, config.vol_lookback, config.vol_min_history,
        float(config.volatile_enter), float(config.volatile_exit), config.min_duration,
    )
