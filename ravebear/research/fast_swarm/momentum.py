"""Compiled (numba) twins of the momentum bots (`ravebear.strategies.swarm.bots.momentum`).

Each kernel transcribes its bot line for line over whole arrays (same operand order; nautilus's EMA, MACD and
RSI updates as in their .pyx, see `windows.py`), so the votes equal the bot fed one candle at a time bit for bit;
`tests/research/test_fast_swarm_momentum.py` proves it on real data. Change a bot and its kernel in the same
commit. Arrays and return value as in `fast_swarm.volume`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numba import njit

from ravebear.research.fast_swarm.windows import ema_update, window_push
from ravebear.strategies.swarm.bots.momentum import ATHVolumeConfig, GoldenCrossConfig, MACDCrossConfig, RSIRevConfig, TrendRespectConfig
from ravebear.time_units import NS_PER_DAY, NS_PER_MINUTE


@njit(cache=True)
def _macd_cross(close: np.ndarray, fast_bars: int, slow_bars: int, signal_bars: int, scale: float) -> np.ndarray:
    out = np.zeros(close.shape[0])
    fast_alpha, slow_alpha, signal_alpha = 2.0 / (fast_bars + 1.0), 2.0 / (slow_bars + 1.0), 2.0 / (signal_bars + 1.0)
    fast = slow = signal = 0.0
    fast_count = slow_count = signal_count = 0
    previous = math.nan
    for k in range(close.shape[0]):
        c = close[k]
        fast, fast_count = ema_update(fast, fast_count, fast_alpha, c)
        slow, slow_count = ema_update(slow, slow_count, slow_alpha, c)
        macd = fast - slow
        signal, signal_count = ema_update(signal, signal_count, signal_alpha, macd)
        if not (fast_count >= fast_bars and slow_count >= slow_bars and signal_count >= signal_bars):
            continue
        histogram = macd - signal
        before = previous
        previous = histogram
        if (histogram > 0.0 and 0.0 >= before) or (histogram < 0.0 and 0.0 <= before):
            confidence = (histogram if histogram > 0.0 else -histogram) / c * scale
            confidence = 1.0 if confidence > 1.0 else confidence
            out[k] = confidence if histogram > 0.0 else -confidence
    return out


@njit(cache=True)
def _golden_cross(close: np.ndarray, fast_bars: int, slow_bars: int, scale: float) -> np.ndarray:
    out = np.zeros(close.shape[0])
    fast_values, slow_values = np.zeros(fast_bars), np.zeros(slow_bars)
    fast_count = fast_index = slow_count = slow_index = 0
    fast_mean = fast_m2 = slow_mean = slow_m2 = 0.0
    previous = math.nan
    for k in range(close.shape[0]):
        c = close[k]
        fast_count, fast_index, fast_mean, fast_m2 = window_push(fast_values, fast_count, fast_index, fast_mean, fast_m2, c)
        slow_count, slow_index, slow_mean, slow_m2 = window_push(slow_values, slow_count, slow_index, slow_mean, slow_m2, c)
        if slow_count < slow_bars:
            continue
        gap = fast_mean - slow_mean
        before = previous
        previous = gap
        if (gap > 0.0 and 0.0 >= before) or (gap < 0.0 and 0.0 <= before):
            confidence = (gap if gap > 0.0 else -gap) / slow_mean * scale
            confidence = 1.0 if confidence > 1.0 else confidence
            out[k] = confidence if gap > 0.0 else -confidence
    return out


@njit(cache=True)
def _ath_volume(ts: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, span_ns: int, volume_bars: int, mult: float, full: float, minute: int) -> np.ndarray:
    n = close.shape[0]
    out = np.zeros(n)
    values = np.zeros(volume_bars)
    count = index = 0
    mean = m2 = 0.0
    # monotonic queues (TimeExtremes) as bar positions; each bar enters once, so no wrap-around
    highs = np.zeros(n, np.int64)
    lows = np.zeros(n, np.int64)
    high_head = high_tail = low_head = low_tail = 0
    first_ts = -1
    for k in range(n):
        t, c, v = ts[k], close[k], volume[k]
        cutoff = t - span_ns
        while high_head < high_tail and ts[highs[high_head]] <= cutoff:
            high_head += 1
        while low_head < low_tail and ts[lows[low_head]] <= cutoff:
            low_head += 1
        covered = 0 <= first_ts <= cutoff + minute and high_tail > high_head
        if covered and count == volume_bars and mean > 0.0:
            ratio = v / mean
            if ratio >= mult:
                confidence = ratio / full
                confidence = 1.0 if confidence > 1.0 else confidence
                if c > high[highs[high_head]]:
                    out[k] = confidence
                elif c < low[lows[low_head]]:
                    out[k] = -confidence
        if first_ts < 0:
            first_ts = t
        while high_tail > high_head and high[highs[high_tail - 1]] <= high[k]:
            high_tail -= 1
        highs[high_tail] = k
        high_tail += 1
        while low_tail > low_head and low[lows[low_tail - 1]] >= low[k]:
            low_tail -= 1
        lows[low_tail] = k
        low_tail += 1
        count, index, mean, m2 = window_push(values, count, index, mean, m2, v)
    return out


@njit(cache=True)
def _rsi_rev(close: np.ndarray, bars: int, low_zone: float, high_zone: float, scale: float) -> np.ndarray:
    out = np.zeros(close.shape[0])
    alpha = 2.0 / (bars + 1.0)
    gain_avg = loss_avg = 0.0
    gain_count = loss_count = 0
    last = 0.0
    rsi = 0.0
    extreme = 0.5
    for k in range(close.shape[0]):
        c = close[k]
        # nautilus RelativeStrengthIndex.update_raw
        if k == 0:
            last = c
        gain = c - last
        if gain > 0:
            gain_avg, gain_count = ema_update(gain_avg, gain_count, alpha, gain)
            loss_avg, loss_count = ema_update(loss_avg, loss_count, alpha, 0.0)
        elif gain < 0:
            loss_avg, loss_count = ema_update(loss_avg, loss_count, alpha, -gain)
            gain_avg, gain_count = ema_update(gain_avg, gain_count, alpha, 0.0)
        else:
            gain_avg, gain_count = ema_update(gain_avg, gain_count, alpha, 0.0)
            loss_avg, loss_count = ema_update(loss_avg, loss_count, alpha, 0.0)
        if loss_avg == 0:
            rsi = 1.0
        else:
            rs = gain_avg / loss_avg
            rsi = 1.0 - (1.0 / (1 + rs))
        last = c
        if not (gain_count >= bars and loss_count >= bars):
            continue
        # the bot
        before = extreme
        if rsi < low_zone:
            if rsi < before:
                extreme = rsi
            continue
        if rsi > high_zone:
            if rsi > before:
                extreme = rsi
            continue
        extreme = 0.5
        if before < low_zone:
            confidence = (low_zone - before) * scale
            out[k] = 1.0 if confidence > 1.0 else confidence
        elif before > high_zone:
            confidence = (before - high_zone) * scale
            out[k] = -1.0 if confidence > 1.0 else -confidence
    return out


@njit(cache=True)
def _trend_respect(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, ema_bars: int, n: int, touch: float, min_slope: float, scale: float) -> np.ndarray:
    out = np.zeros(close.shape[0])
    lines = np.zeros(n)
    index = count = 0
    alpha = 2.0 / (ema_bars + 1.0)
    ema, ema_count = 0.0, 0
    for k in range(close.shape[0]):
        c = close[k]
        if count >= n:
            line = lines[index - 1] if index > 0 else lines[n - 1]
            slope = (line - lines[index]) / lines[index]
            if slope >= min_slope:
                if low[k] <= line * (1.0 + touch) and c > line and c > open_[k]:
                    vote = slope * scale
                    out[k] = 1.0 if vote > 1.0 else vote
            elif slope <= -min_slope:
                if high[k] >= line * (1.0 - touch) and c < line and c < open_[k]:
                    vote = -slope * scale
                    out[k] = -1.0 if vote > 1.0 else -vote
        ema, ema_count = ema_update(ema, ema_count, alpha, c)
        if ema_count >= ema_bars:
            lines[index] = ema
            index = 0 if index + 1 == n else index + 1
            count += 1
    return out


def _f(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, np.float64)


def macd_cross_votes(ts, open_, high, low, close, volume, funding, reference, config: MACDCrossConfig) -> np.ndarray:  # noqa: ANN001
    """MACDCross's votes per bar."""
    return _macd_cross(_f(close), int(config.fast_bars), int(config.slow_bars), int(config.signal_bars), 1e4 / config.full_bps)


def golden_cross_votes(ts, open_, high, low, close, volume, funding, reference, config: GoldenCrossConfig) -> np.ndarray:  # noqa: ANN001
    """GoldenCross's votes per bar."""
    return _golden_cross(_f(close), int(config.fast_bars), int(config.slow_bars), 1e4 / config.full_bps)


def ath_volume_votes(ts, open_, high, low, close, volume, funding, reference, config: ATHVolumeConfig) -> np.ndarray:  # noqa: ANN001
    """ATHVolume's votes per bar."""
    return _ath_volume(
        np.ascontiguousarray(ts, np.int64), _f(high), _f(low), _f(close), _f(volume), int(config.lookback_days * NS_PER_DAY), int(config.volume_bars),
        float(config.volume_mult), float(config.volume_full), NS_PER_MINUTE,
    )


def rsi_rev_votes(ts, open_, high, low, close, volume, funding, reference, config: RSIRevConfig) -> np.ndarray:  # noqa: ANN001
    """RSIRev's votes per bar."""
    return _rsi_rev(_f(close), int(config.bars), config.oversold / 100.0, config.overbought / 100.0, 100.0 / config.depth_full)


def trend_respect_votes(ts, open_, high, low, close, volume, funding, reference, config: TrendRespectConfig) -> np.ndarray:  # noqa: ANN001
    """TrendRespect's votes per bar."""
    return _trend_respect(
        _f(open_), _f(high), _f(low), _f(close), int(config.ema_bars), int(config.slope_bars) + 1, config.touch_bps * 1e-4,
        config.min_slope_bps * 1e-4, 1e4 / config.slope_full_bps,
    )


# bot name -> its twin, in MOMENTUM_BOTS order
MOMENTUM_TWINS: dict[str, Callable[..., np.ndarray]] = {
    "MACDCross": macd_cross_votes,
    "GoldenCross": golden_cross_votes,
    "ATHVolume": ath_volume_votes,
    "RSIRev": rsi_rev_votes,
    "TrendRespect": trend_respect_votes,
}
