"""Compiled (numba) twins of the dynamics bots (`ravebear.strategies.swarm.bots.dynamics`).

Each kernel transcribes its bot line for line over whole arrays (same operand order, Python's `max`/`min`
of a list become loops that keep the first of equal values), so the votes are bit-identical to the bot fed one
candle at a time; `tests/research/test_fast_swarm_dynamics.py` proves it on real data. Change a bot and its
kernel in the same commit.

Every twin takes the same arrays, one entry per 1-minute bar: `ts` (int64, the candle's CLOSE time in ns, as
`Candle.ts`), `open, high, low, close, volume` (float64), `funding` (the last funding rate known at the bar's
close, fraction per funding interval, NaN before any) and `reference` (the reference instrument's close of the
same minute, NaN when it has none), then the bot's config; it returns the votes (float64, 0.0 = abstain).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numba import njit

from ravebear.strategies.swarm.bots.dynamics import (
    CorrBreakConfig,
    FlashCrashConfig,
    FundArbConfig,
    GapFillConfig,
    PingPongConfig,
)
from ravebear.time_units import NS_PER_MINUTE


@njit(cache=True, inline="always")
def _clip(value: float) -> float:
    return 0.0 if value <= 0.0 else min(1.0, value)


@njit(cache=True)
def _fund_arb(funding: np.ndarray, scale: float, extreme_rate: float, full_rate: float) -> np.ndarray:
    out = np.zeros(funding.shape[0])
    for k in range(funding.shape[0]):
        rate = funding[k] * scale
        if not abs(rate) >= extreme_rate:
            continue
        confidence = _clip(abs(rate) / full_rate)
        out[k] = -confidence if rate > 0.0 else confidence
    return out


@njit(cache=True)
def _corr_break(ts: np.ndarray, close: np.ndarray, reference: np.ndarray, window: int, lag: int, min_corr: float, min_gap_bps: float, full_gap_bps: float, minute: int) -> np.ndarray:
    out = np.zeros(close.shape[0])
    rs, qs = np.zeros(window), np.zeros(window)
    closes, refs = np.zeros(lag + 1), np.zeros(lag + 1)
    prev_ts, prev_close, prev_ref = -1, math.nan, math.nan
    i = count = run = 0
    sr = sq = srr = sqq = srq = 0.0
    for k in range(close.shape[0]):
        t, c, ref = ts[k], close[k], reference[k]
        if math.isnan(ref):
            i = count = run = 0
            sr = sq = srr = sqq = srq = 0.0
        else:
            if run > 0 and prev_ts == t - minute:
                r, q = c / prev_close - 1.0, ref / prev_ref - 1.0
                if count == window:
                    old_r, old_q = rs[i], qs[i]
                    sr -= old_r
                    sq -= old_q
                    srr -= old_r * old_r
                    sqq -= old_q * old_q
                    srq -= old_r * old_q
                else:
                    count += 1
                rs[i], qs[i] = r, q
                sr += r
                sq += q
                srr += r * r
                sqq += q * q
                srq += r * q
                i = i + 1 if i + 1 < window else 0
            elif run > 0:
                i = count = run = 0
                sr = sq = srr = sqq = srq = 0.0
            j = run % (lag + 1)
            closes[j], refs[j] = c, ref
            run += 1
        prev_ts, prev_close, prev_ref = t, c, ref
        if count < window or run <= lag:
            continue
        n = float(count)
        mr, mq = sr / n, sq / n
        cov = srq / n - mr * mq
        var_r, var_q = srr / n - mr * mr, sqq / n - mq * mq
        if var_r <= 0.0 or var_q <= 0.0:
            continue
        if cov / math.sqrt(var_r * var_q) < min_corr:
            continue
        old = (run - 1 - lag) % (lag + 1)
        gap = (cov / var_q * (ref / refs[old] - 1.0) - (c / closes[old] - 1.0)) * 1e4
        if abs(gap) < min_gap_bps:
            continue
        confidence = _clip(abs(gap) / full_gap_bps)
        out[k] = confidence if gap > 0.0 else -confidence
    return out


@njit(cache=True)
def _flash_crash(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, window: int, baseline: int, ratio: float, min_move_bps: float, full_move_bps: float) -> np.ndarray:
    out = np.zeros(close.shape[0])
    size = window + baseline
    highs, lows, volumes = np.zeros(window), np.zeros(window), np.zeros(size)
    i = v = count = 0
    recent = base = 0.0
    for k in range(close.shape[0]):
        highs[i], lows[i] = high[k], low[k]
        i = i + 1 if i + 1 < window else 0
        leaving_window = volumes[(v + baseline) % size]
        if count >= size:
            base -= volumes[v]
        if count >= window:
            recent -= leaving_window
            base += leaving_window
        volumes[v] = volume[k]
        recent += volume[k]
        v = v + 1 if v + 1 < size else 0
        count += 1
        if count < size or not recent > ratio * base:
            continue
        hi, lo = highs[0], lows[0]
        for j in range(1, window):
            hi = max(hi, highs[j])
            lo = min(lo, lows[j])
        c = close[k]
        drop = (hi - c) / hi * 1e4
        rise = (c - lo) / lo * 1e4
        if drop >= rise:
            out[k] = _clip(drop / full_move_bps) if drop >= min_move_bps else 0.0
        else:
            out[k] = -_clip(rise / full_move_bps) if rise >= min_move_bps else 0.0
    return out


@njit(cache=True)
def _gap_fill(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, min_gap_bps: float, full_gap_bps: float, max_bars: int) -> np.ndarray:
    out = np.zeros(close.shape[0])
    prev, target = math.nan, math.nan
    side = age = 0
    for k in range(close.shape[0]):
        o, c = open_[k], close[k]
        if not math.isnan(prev) and abs(o - prev) / prev * 1e4 >= min_gap_bps:
            target, age = prev, 0
            side = 1 if prev > o else -1
        elif side:
            age += 1
        prev = c
        if not side:
            continue
        if (high[k] >= target if side > 0 else low[k] <= target) or age > max_bars:
            side = 0
            continue
        out[k] = _clip(abs(target - c) / c * 1e4 / full_gap_bps) * side
    return out


@njit(cache=True)
def _ping_pong(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int, min_range_bps: float, max_range_bps: float, max_efficiency: float, edge: float) -> np.ndarray:
    out = np.zeros(close.shape[0])
    highs, lows, moves, closes = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n + 1)
    i = c = 0
    path = 0.0
    for count in range(close.shape[0]):
        x = close[count]
        if count > 0:
            move = abs(x - closes[c - 1 if c > 0 else n])
            if count > n:
                path -= moves[i]
            moves[i] = move
            path += move
        closes[c] = x
        c = c + 1 if c < n else 0
        if count >= n:
            hi, lo = highs[0], lows[0]
            for j in range(1, n):
                hi = max(hi, highs[j])
                lo = min(lo, lows[j])
            width = (hi - lo) / lo * 1e4
            net = abs(x - closes[c])
            if lo <= x <= hi and hi > lo and min_range_bps <= width <= max_range_bps and path > 0.0 and net / path <= max_efficiency:
                place = (x - lo) / (hi - lo)
                if place < edge:
                    out[count] = _clip((edge - place) / edge)
                elif place > 1.0 - edge:
                    out[count] = -_clip((place - (1.0 - edge)) / edge)
        highs[i], lows[i] = high[count], low[count]
        i = i + 1 if i + 1 < n else 0
    return out


def fund_arb_votes(ts, open_, high, low, close, volume, funding, reference, config: FundArbConfig) -> np.ndarray:
    """FundArb's votes per bar."""
    return _fund_arb(np.ascontiguousarray(funding, np.float64), 8.0 / config.interval_h, config.extreme_rate, config.full_rate)


def corr_break_votes(ts, open_, high, low, close, volume, funding, reference, config: CorrBreakConfig) -> np.ndarray:
    """CorrBreak's votes per bar."""
    return _corr_break(np.ascontiguousarray(ts, np.int64), _f(close), _f(reference), config.window_bars, config.lag_bars, float(config.min_corr), float(config.min_gap_bps), float(config.full_gap_bps), NS_PER_MINUTE)


def flash_crash_votes(ts, open_, high, low, close, volume, funding, reference, config: FlashCrashConfig) -> np.ndarray:
    """FlashCrash's votes per bar."""
    ratio = config.volume_multiple * config.window_bars / config.baseline_bars
    return _flash_crash(_f(high), _f(low), _f(close), _f(volume), config.window_bars, config.baseline_bars, ratio, float(config.min_move_bps), float(config.full_move_bps))


def gap_fill_votes(ts, open_, high, low, close, volume, funding, reference, config: GapFillConfig) -> np.ndarray:
    """GapFill's votes per bar."""
    return _gap_fill(_f(open_), _f(high), _f(low), _f(close), float(config.min_gap_bps), float(config.full_gap_bps), config.max_bars)


def ping_pong_votes(ts, open_, high, low, close, volume, funding, reference, config: PingPongConfig) -> np.ndarray:
    """PingPong's votes per bar."""
    return _ping_pong(_f(high), _f(low), _f(close), config.lookback_bars, float(config.min_range_bps), float(config.max_range_bps), float(config.max_efficiency), float(config.edge))


def _f(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, np.float64)


# bot name -> its twin, in DYNAMICS_BOTS order
DYNAMICS_TWINS: dict[str, Callable[..., np.ndarray]] = {
    "FundArb": fund_arb_votes,
    "CorrBreak": corr_break_votes,
    "FlashCrash": flash_crash_votes,
    "GapFill": gap_fill_votes,
    "PingPong": ping_pong_votes,
}
