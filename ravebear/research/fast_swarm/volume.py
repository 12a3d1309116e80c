"""Compiled (numba) twins of the volume bots (`ravebear.strategies.swarm.bots.volume`).

Each kernel transcribes its bot line for line over whole arrays (same operand order; Python's max()/min() of a
list become loops; nautilus's EMA and ATR updates as in `windows.py`), so the votes equal the bot fed one candle
at a time bit for bit; `tests/research/test_fast_swarm_volume.py` proves it on real data. Change a bot and its
kernel in the same commit.

Every twin takes the arrays of `fast_swarm.dynamics` (one entry per 1-minute bar: `ts` int64 CLOSE time in ns,
`open_, high, low, close, volume`, `funding`, `reference`) and the bot's config, and returns the votes (float64,
0.0 = abstain). WhaleWatch also takes the whale transfers (`whales=(ts_ns, amount_usd, direction)`, in time
order); without them it abstains, as the bot does without its input.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numba import njit

from ravebear.research.fast_swarm.windows import ema_update, true_range, window_push, window_variance
from ravebear.strategies.swarm.bots.volume import BBSqueezeConfig, MicroBreakoutConfig, VolExplosionConfig, VolSurgeConfig, WhaleWatchConfig
from ravebear.time_units import NS_PER_SECOND


@njit(cache=True)
def _vol_surge(open_: np.ndarray, close: np.ndarray, volume: np.ndarray, lookback: int, z_min: float, z_full: float) -> np.ndarray:
    out = np.zeros(close.shape[0])
    values = np.zeros(lookback)
    count = index = 0
    mean = m2 = 0.0
    for k in range(close.shape[0]):
        v = volume[k]
        if count == lookback and close[k] != open_[k]:
            variance = window_variance(count, m2)
            if variance > 0.0:
                z = (v - mean) / math.sqrt(variance)
                if z >= z_min:
                    confidence = z / z_full
                    confidence = 1.0 if confidence > 1.0 else confidence
                    out[k] = confidence if close[k] > open_[k] else -confidence
        count, index, mean, m2 = window_push(values, count, index, mean, m2, v)
    return out


@njit(cache=True)
def _micro_breakout(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, n: int, mult: float, full: float) -> np.ndarray:
    out = np.zeros(close.shape[0])
    values = np.zeros(n)
    count = index = 0
    mean = m2 = 0.0
    for k in range(close.shape[0]):
        v, c = volume[k], close[k]
        if count == n and mean > 0.0:
            ratio = v / mean
            if ratio >= mult:
                confidence = ratio / full
                confidence = 1.0 if confidence > 1.0 else confidence
                top, bottom = high[k - n], low[k - n]
                for j in range(k - n + 1, k):
                    top = high[j] if high[j] > top else top
                    bottom = low[j] if low[j] < bottom else bottom
                if c > top:
                    out[k] = confidence
                elif c < bottom:
                    out[k] = -confidence
        count, index, mean, m2 = window_push(values, count, index, mean, m2, v)
    return out


@njit(cache=True)
def _whale_watch(ts: np.ndarray, whale_ts: np.ndarray, whale_usd: np.ndarray, whale_dir: np.ndarray, window_ns: int, min_usd: float, net_min: float, net_full: float) -> np.ndarray:
    out = np.zeros(ts.shape[0])
    flows = np.zeros(whale_ts.shape[0])
    stamps = np.zeros(whale_ts.shape[0], np.int64)
    head = tail = 0  # the window's transfers are stamps[head:tail]
    j = 0
    net = 0.0
    for k in range(ts.shape[0]):
        t = ts[k]
        while j < whale_ts.shape[0] and whale_ts[j] <= t:  # delivered before this candle
            if whale_dir[j] != 0 and not whale_usd[j] < min_usd:
                flow = whale_usd[j] if whale_dir[j] > 0 else -whale_usd[j]
                stamps[tail] = whale_ts[j]
                flows[tail] = flow
                tail += 1
                net += flow
            j += 1
        if head == tail:
            continue
        cutoff = t - window_ns
        while head < tail and stamps[head] <= cutoff:
            net -= flows[head]
            head += 1
        if head == tail:
            net = 0.0
            continue
        size = net if net > 0.0 else -net
        if size < net_min:
            continue
        confidence = size / net_full
        confidence = 1.0 if confidence > 1.0 else confidence
        out[k] = confidence if net > 0.0 else -confidence
    return out


@njit(cache=True)
def _vol_explosion(
    open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, atr_bars: int, volume_bars: int,
    range_mult: float, volume_mult: float, range_full: float, volume_full: float,
) -> np.ndarray:
    out = np.zeros(close.shape[0])
    values = np.zeros(volume_bars)
    count = index = 0
    mean = m2 = 0.0
    alpha = 2.0 / (atr_bars + 1.0)
    atr, atr_count = 0.0, 0
    previous = math.nan
    for k in range(close.shape[0]):
        h, lo, c, v = high[k], low[k], close[k], volume[k]
        if atr_count >= atr_bars and count == volume_bars and c != open_[k]:
            tr = true_range(previous, h, lo)
            if atr > 0.0 and mean > 0.0:
                range_ratio = tr / atr
                volume_ratio = v / mean
                if range_ratio >= range_mult and volume_ratio >= volume_mult:
                    confidence = 0.5 * (range_ratio / range_full + volume_ratio / volume_full)
                    confidence = 1.0 if confidence > 1.0 else confidence
                    out[k] = confidence if c > open_[k] else -confidence
        atr, atr_count = ema_update(atr, atr_count, alpha, true_range(c if k == 0 else previous, h, lo))
        count, index, mean, m2 = window_push(values, count, index, mean, m2, v)
        previous = c
    return out


@njit(cache=True)
def _bb_squeeze(close: np.ndarray, bars: int, k_std: float, baseline_bars: int, squeeze_ratio: float, release_bars: int, excess_full: float) -> np.ndarray:
    out = np.zeros(close.shape[0])
    values = np.zeros(bars)
    count = index = 0
    mean = m2 = 0.0
    alpha = 2.0 / (baseline_bars + 1.0)
    baseline, baseline_count = 0.0, 0
    squeezed_at = -1_000_000_000
    for k in range(close.shape[0]):
        c = close[k]
        bar = k + 1
        if count == bars:
            half = k_std * math.sqrt(window_variance(count, m2))
            middle = mean
            bandwidth = 2.0 * half / middle
            if baseline_count >= baseline_bars:
                if bandwidth <= squeeze_ratio * baseline:
                    squeezed_at = bar
                if half > 0.0 and bar - squeezed_at <= release_bars:
                    distance = c - middle
                    excess = (distance if distance > 0.0 else -distance) / half - 1.0
                    if excess > 0.0:
                        confidence = excess / excess_full
                        confidence = 1.0 if confidence > 1.0 else confidence
                        out[k] = confidence if distance > 0.0 else -confidence
                        squeezed_at = -1_000_000_000
            baseline, baseline_count = ema_update(baseline, baseline_count, alpha, bandwidth)
        count, index, mean, m2 = window_push(values, count, index, mean, m2, c)
    return out


def _f(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, np.float64)


def vol_surge_votes(ts, open_, high, low, close, volume, funding, reference, config: VolSurgeConfig) -> np.ndarray:  # noqa: ANN001
    """VolSurge's votes per bar."""
    return _vol_surge(_f(open_), _f(close), _f(volume), int(config.lookback), float(config.z_min), float(config.z_full))


def micro_breakout_votes(ts, open_, high, low, close, volume, funding, reference, config: MicroBreakoutConfig) -> np.ndarray:  # noqa: ANN001
    """MicroBreakout's votes per bar."""
    return _micro_breakout(_f(high), _f(low), _f(close), _f(volume), int(config.lookback), float(config.volume_mult), float(config.volume_full))


def whale_watch_votes(ts, open_, high, low, close, volume, funding, reference, config: WhaleWatchConfig, whales=None) -> np.ndarray:  # noqa: ANN001
    """WhaleWatch's votes per bar; `whales` = (ts_ns int64, amount_usd, direction +1/-1/0), in time order."""
    if whales is None:
        return np.zeros(len(close))
    whale_ts, usd, direction = whales
    return _whale_watch(
        np.ascontiguousarray(ts, np.int64), np.ascontiguousarray(whale_ts, np.int64), _f(usd), np.ascontiguousarray(direction, np.int64),
        int(config.window_s * NS_PER_SECOND), float(config.min_usd), float(config.net_min_usd), float(config.net_full_usd),
    )


def vol_explosion_votes(ts, open_, high, low, close, volume, funding, reference, config: VolExplosionConfig) -> np.ndarray:  # noqa: ANN001
    """VolExplosion's votes per bar."""
    return _vol_explosion(
        _f(open_), _f(high), _f(low), _f(close), _f(volume), int(config.atr_bars), int(config.volume_bars), float(config.range_mult),
        float(config.volume_mult), float(config.range_full), float(config.volume_full),
    )


def bb_squeeze_votes(ts, open_, high, low, close, volume, funding, reference, config: BBSqueezeConfig) -> np.ndarray:  # noqa: ANN001
    """BBSqueeze's votes per bar."""
    return _bb_squeeze(
        _f(close), int(config.bars), float(config.k), int(config.baseline_bars), float(config.squeeze_ratio), int(config.release_bars),
        float(config.excess_full),
    )


# bot name -> its twin, in VOLUME_BOTS order
VOLUME_TWINS: dict[str, Callable[..., np.ndarray]] = {
    "VolSurge": vol_surge_votes,
    "MicroBreakout": micro_breakout_votes,
    "WhaleWatch": whale_watch_votes,
    "VolExplosion": vol_explosion_votes,
    "BBSqueeze": bb_squeeze_votes,
}
