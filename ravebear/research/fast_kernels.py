"""Compiled (numba) twins of the level detectors and the confluence stacks, for research speed.

The pure detectors (`ravebear.strategies.levels`) are the one implementation that defines
the semantics; these kernels transcribe them line for line over whole arrays of candles so
`ravebear.research.fast_levels.fast_replay_levels` can run research at compiled speed.
`tests/test_fast_levels.py` proves both produce the same events. Change a pure detector and
you change its kernel here in the same commit (the test fails until you do).

Transcription rules, so the floats come out bit-identical:
- every threshold the pure detector derives from its config once (`through_bps * 1e-4`, ...)
  is read by the caller from a pure detector built with that config, and passed in;
- comparisons and arithmetic keep the pure code's operand order; Python's `min(a, b)` /
  `max(a, b)` (the first argument wins ties) become `_min` / `_max`;
- Python 3.12's `sum()` of floats is Neumaier-compensated: `_pysum` reproduces it;
- freshness is `quality x exp(-ln 2 x age / half_life)`, as in `model.freshness`.

Each detector kernel runs one detector over the candles of one timeframe. It returns its
levels, `lv_i[k] = (side, created_index)` and `lv_f[k] = (low, high, quality)`, their count,
and the count of its events, which it writes in the pure detector's emission order into the
caller's `ev_i[k] = (candle position, event kind, level row, age_bars, direction)` and
`ev_f[k] = (depth_bps, score)` as far as they fit (the caller runs it again with room for
all when they did not). Event and side codes are the positions in `fast_levels.EVENT_KINDS`
/ `SIDES`. Arrays are never reassigned inside the loops: numba would then count references
on every candle, which made a first version seven times slower.

numba caches the compiled kernels (`cache=True`: in `__pycache__` beside this file, or
numba's user-wide cache directory when that is not writable, or `$NUMBA_CACHE_DIR`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

CREATED, TOUCHED, INVALIDATED, EXPIRED, BREAKOUT = 0, 1, 2, 3, 4  # EVENT_KINDS order (fast_levels)
SUPPORT, RESISTANCE, RANGE = 0, 1, 2  # SIDES order
_LN2 = math.log(2.0)
_INF = math.inf
_NEVER = 1 << 62


# -- helpers -------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _min(a, b):
    """Python's min(a, b): b only when b < a."""
    return b if b < a else a


@njit(cache=True, inline="always")
def _max(a, b):
    """Python's max(a, b): b only when b > a."""
    return b if b > a else a


@njit(cache=True, inline="always")
def _score(quality, age, half_life):
    if half_life <= 0:
        return quality
    return quality * math.exp(-_LN2 * age / half_life)


@njit(cache=True)
def _pysum(values, start, stop):
    """Python 3.12 `sum(values[start:stop])` of floats (Neumaier compensation, start value int 0)."""
    if stop <= start:
        return 0.0
    total = 0.0 + values[start]
    comp = 0.0
    for k in range(start + 1, stop):
        x = values[k]
        t = total + x
        if abs(total) >= abs(x):
            comp += (total - t) + x
        else:
            comp += (x - t) + total
        total = t
    if comp != 0.0 and math.isfinite(comp):
        total += comp
    return total


@njit(cache=True, inline="always")
def _emit(ev_i, ev_f, nev, cand, kind, level, age, direction, depth, score):
    """Write an event row if it fits; count it either way (the caller reruns with room for all)."""
    if nev < ev_i.shape[0]:
        ev_i[nev, 0] = cand
        ev_i[nev, 1] = kind
        ev_i[nev, 2] = level
        ev_i[nev, 3] = age
        ev_i[nev, 4] = direction
        ev_f[nev, 0] = depth
        ev_f[nev, 1] = score
    return nev + 1


@njit(cache=True, inline="always")
def _new_level(lv_i, lv_f, nlv, side, index, low, high, quality):
    lv_i[nlv, 0] = side
    lv_i[nlv, 1] = index
    lv_f[nlv, 0] = low
    lv_f[nlv, 1] = high
    lv_f[nlv, 2] = quality
    return nlv + 1


@njit(cache=True, inline="always")
def _levels(n):
    """Level rows: a detector makes at most two levels per candle (np.empty: untouched rows cost no memory)."""
    return np.empty((2 * n + 2, 2), np.int64), np.empty((2 * n + 2, 3), np.float64)


# -- untouched wicks (wicks.py) ------------------------------------------------------------


@njit(cache=True)
def wick_kernel(o, h, l, c, v, min_wick, min_ratio, min_relative_volume, lookback, max_age, max_levels, through, half_life, ev_i, ev_f):  # noqa: E741
    """UntouchedWickDetector.update over every candle."""
    n = o.shape[0]
    lv_i, lv_f = _levels(n)
    nlv = 0
    nev = 0
    sup = np.empty(n + 1, np.int64)  # deque as a buffer: [s0, s1)
    res = np.empty(n + 1, np.int64)
    s0 = s1 = r0 = r1 = 0
    volume_sum = 0.0
    floor = 1.0 - through
    ceiling = 1.0 + through
    for i in range(n):
        index = i + 1
        open_, high, low, close, volume = o[i], h[i], l[i], c[i], v[i]
        oldest_allowed = index - max_age
        while s1 > s0 and lv_i[sup[s0], 1] < oldest_allowed:
            k = sup[s0]
            s0 += 1
            age = index - lv_i[k, 1]
            nev = _emit(ev_i, ev_f, nev, i, EXPIRED, k, age, 0, 0.0, _score(lv_f[k, 2], age, half_life))
        while r1 > r0 and lv_i[res[r0], 1] < oldest_allowed:
            k = res[r0]
            r0 += 1
            age = index - lv_i[k, 1]
            nev = _emit(ev_i, ev_f, nev, i, EXPIRED, k, age, 0, 0.0, _score(lv_f[k, 2], age, half_life))

        while s1 > s0 and lv_f[sup[s1 - 1], 0] >= low:
            s1 -= 1
            k = sup[s1]
            price = lv_f[k, 0]
            kind = INVALIDATED if close < price * floor else TOUCHED
            age = index - lv_i[k, 1]
            nev = _emit(ev_i, ev_f, nev, i, kind, k, age, 0, (price - low) / price * 1e4, _score(lv_f[k, 2], age, half_life))
        while r1 > r0 and lv_f[res[r1 - 1], 1] <= high:
            r1 -= 1
            k = res[r1]
            price = lv_f[k, 1]
            kind = INVALIDATED if close > price * ceiling else TOUCHED
            age = index - lv_i[k, 1]
            nev = _emit(ev_i, ev_f, nev, i, kind, k, age, 0, (high - price) / price * 1e4, _score(lv_f[k, 2], age, half_life))

        count = i if i < lookback else lookback
        mean_volume = volume_sum / count if count else 0.0
        if count == lookback:
            volume_sum -= v[i - lookback]
        volume_sum += volume

        if open_ < close:
            body, lower, upper = close - open_, open_ - low, high - close
        else:
            body, lower, upper = open_ - close, close - low, high - open_
        if body < 1e-9:
            body = 1e-9
        lower_ok = lower >= min_wick * low and lower >= min_ratio * body
        upper_ok = upper >= min_wick * high and upper >= min_ratio * body
        if lower_ok or upper_ok:
            relative_volume = volume / mean_volume if mean_volume > 0 else 1.0
            if relative_volume >= min_relative_volume:
                candle_range = high - low
                for side in (SUPPORT, RESISTANCE):
                    if side == SUPPORT:
                        if not lower_ok:
                            continue
                        wick, price = lower, low
                    else:
                        if not upper_ok:
                            continue
                        wick, price = upper, high
                    size_part = _min(wick / price / (3.0 * min_wick), 1.0) if min_wick > 0 else 1.0
                    ratio_part = _min(wick / body / (2.0 * min_ratio), 1.0) if min_ratio > 0 else 1.0
                    volume_part = _min(relative_volume / 2.0, 1.0)
                    quality = (size_part + ratio_part + volume_part + _min(wick / candle_range, 1.0)) * 0.25
                    if side == SUPPORT:
                        if s1 - s0 >= max_levels:
                            k = sup[s0]
                            s0 += 1
                            age = index - lv_i[k, 1]
                            nev = _emit(ev_i, ev_f, nev, i, EXPIRED, k, age, 0, 0.0, _score(lv_f[k, 2], age, half_life))
                        sup[s1] = nlv
                        s1 += 1
                    else:
                        if r1 - r0 >= max_levels:
                            k = res[r0]
                            r0 += 1
                            age = index - lv_i[k, 1]
                            nev = _emit(ev_i, ev_f, nev, i, EXPIRED, k, age, 0, 0.0, _score(lv_f[k, 2], age, half_life))
                        res[r1] = nlv
                        r1 += 1
                    nlv = _new_level(lv_i, lv_f, nlv, side, index, price, price, quality)
                    nev = _emit(ev_i, ev_f, nev, i, CREATED, nlv - 1, 0, 0, 0.0, quality)
    return lv_i, lv_f, nlv, nev


# -- poor highs / lows (poor_levels.py) ----------------------------------------------------


@njit(cache=True, inline="always")
def _poor_nearest(book, b0, b1, run, lv_f, none):
    if b1 > b0 and book[b1 - 1] == run:
        return lv_f[book[b1 - 2], 1] if b1 - b0 > 1 else none
    return lv_f[book[b1 - 1], 1] if b1 > b0 else none


@njit(cache=True)
def poor_kernel(o, h, l, c, v, abs_tol, rel_tol, swing, tap_lookback, walk, alpha, max_age, max_levels, through, half_life, ev_i, ev_f):  # noqa: E741
    """PoorLevelDetector.update over every candle (history deques = the candle arrays)."""
    n = o.shape[0]
    lv_i, lv_f = _levels(n)
    nlv = 0
    nev = 0
    sup = np.empty(n + 2, np.int64)  # list as a buffer: [s0, s1)
    res = np.empty(n + 2, np.int64)
    s0 = s1 = r0 = r1 = 0
    high_run = -1
    low_run = -1
    mean_volume = -1.0
    nan = math.nan
    for i in range(n):
        index = i + 1
        open_, high, low, close, volume = o[i], h[i], l[i], c[i], v[i]
        if i > 0:
            p_open, p_high, p_low, p_close, p_volume = o[i - 1], h[i - 1], l[i - 1], c[i - 1], v[i - 1]
        else:
            p_open, p_high, p_low, p_close, p_volume = nan, nan, nan, nan, 0.0
        history = i if i < walk + 1 else walk + 1  # len of the highs / lows deques: h[i - history: i]

        # expiry (_expire)
        if s1 > s0 and r1 > r0:
            expire_at = _min(lv_i[sup[s0], 1], lv_i[res[r0], 1]) + max_age
        elif s1 > s0:
            expire_at = lv_i[sup[s0], 1] + max_age
        elif r1 > r0:
            expire_at = lv_i[res[r0], 1] + max_age
        else:
            expire_at = _NEVER
        if index > expire_at:
            oldest_allowed = index - max_age
            for book_side in (SUPPORT, RESISTANCE):
                while True:
                    if book_side == SUPPORT:
                        if not (s1 > s0 and lv_i[sup[s0], 1] < oldest_allowed):
                            break
                        k = sup[s0]
                        s0 += 1
                    else:
                        if not (r1 > r0 and lv_i[res[r0], 1] < oldest_allowed):
                            break
                        k = res[r0]
                        r0 += 1
                    if k == high_run:
                        high_run = -1
                    elif k == low_run:
                        low_run = -1
                    age = index - lv_i[k, 1]
                    nev = _emit(ev_i, ev_f, nev, i, EXPIRED, k, age, 0, 0.0, _score(lv_f[k, 2], age, half_life))

        for is_high in (True, False):
            run = high_run if is_high else low_run
            had_run = run >= 0
            if had_run:  # the last candle extended a run: this one extends it too or ends it
                ref = lv_f[run, 1]
                tol = ref * rel_tol
                if tol < abs_tol:
                    tol = abs_tol
                diff = (high if is_high else low) - ref
                if not (-tol <= diff and diff <= tol):
                    run = -1
                    if is_high:
                        high_run = -1
                    else:
                        low_run = -1
            if is_high:
                trigger = _poor_nearest(res, r0, r1, run, lv_f, _INF)
                touch = high >= trigger
            else:
                trigger = _poor_nearest(sup, s0, s1, run, lv_f, -_INF)
                touch = low <= trigger
            if touch:  # _touch
                extreme = high if is_high else low
                if is_high:
                    tail = run >= 0 and r1 > r0 and res[r1 - 1] == run
                    if tail:
                        r1 -= 1
                    while r1 > r0 and lv_f[res[r1 - 1], 1] <= extreme:
                        r1 -= 1
                        k = res[r1]
                        price = lv_f[k, 1]
                        kind = INVALIDATED if close > price * (1.0 + through) else TOUCHED
                        age = index - lv_i[k, 1]
                        nev = _emit(ev_i, ev_f, nev, i, kind, k, age, 0, (extreme - price) / price * 1e4, _score(lv_f[k, 2], age, half_life))
                    if tail:
                        res[r1] = run
                        r1 += 1
                else:
                    tail = run >= 0 and s1 > s0 and sup[s1 - 1] == run
                    if tail:
                        s1 -= 1
                    while s1 > s0 and lv_f[sup[s1 - 1], 1] >= extreme:
                        s1 -= 1
                        k = sup[s1]
                        price = lv_f[k, 1]
                        kind = INVALIDATED if close < price * (1.0 - through) else TOUCHED
                        age = index - lv_i[k, 1]
                        nev = _emit(ev_i, ev_f, nev, i, kind, k, age, 0, (price - extreme) / price * 1e4, _score(lv_f[k, 2], age, half_life))
                    if tail:
                        sup[s1] = run
                        s1 += 1
            if had_run:  # no new pair while a run was on
                continue
            # no run: a new pair?
            ref = p_high if is_high else p_low
            tol = ref * rel_tol
            if tol < abs_tol:
                tol = abs_tol
            diff = (high if is_high else low) - ref
            if not (-tol <= diff and diff <= tol):
                continue
            if is_high:
                price = high if high > ref else ref
            else:
                price = low if low < ref else ref
            if swing:
                if not history > swing:
                    continue
                m = h[i - 2] if is_high else l[i - 2]
                for k in range(i - 3, i - 2 - swing, -1):
                    x = h[k] if is_high else l[k]
                    if is_high:
                        if x > m:
                            m = x
                    elif x < m:
                        m = x
                if not ((m - price if is_high else price - m) <= tol):
                    continue
            # _create
            taps, walked = 2, 0
            for k in range(i - 2, i - history - 1, -1):  # the candles before the pair, newest first
                extreme = h[k] if is_high else l[k]
                if (extreme - price if is_high else price - extreme) > tol:
                    break
                walked += 1
                if walked > tap_lookback:
                    break
                if -tol <= extreme - price and extreme - price <= tol:
                    taps += 1
            if is_high:
                excess = _share(high - _max(open_, close), high - low) + _share(p_high - _max(p_open, p_close), p_high - p_low)
            else:
                excess = _share(_min(open_, close) - low, high - low) + _share(_min(p_open, p_close) - p_low, p_high - p_low)
            relative_volume = (volume + p_volume) * 0.5 / mean_volume if mean_volume > 0 else 1.0
            quality = (_min(taps / 4.0, 1.0) + _min(relative_volume / 2.0, 1.0) + 1.0 - excess * 0.5) / 3.0
            if is_high:
                if r1 - r0 >= max_levels:
                    k = res[r0]
                    r0 += 1
                    age = index - lv_i[k, 1]
                    nev = _emit(ev_i, ev_f, nev, i, EXPIRED, k, age, 0, 0.0, _score(lv_f[k, 2], age, half_life))
                res[r1] = nlv
                r1 += 1
                high_run = nlv
            else:
                if s1 - s0 >= max_levels:
                    k = sup[s0]
                    s0 += 1
                    age = index - lv_i[k, 1]
                    nev = _emit(ev_i, ev_f, nev, i, EXPIRED, k, age, 0, 0.0, _score(lv_f[k, 2], age, half_life))
                sup[s1] = nlv
                s1 += 1
                low_run = nlv
            nlv = _new_level(lv_i, lv_f, nlv, RESISTANCE if is_high else SUPPORT, index, price, price, quality)
            nev = _emit(ev_i, ev_f, nev, i, CREATED, nlv - 1, 0, 0, 0.0, quality)

        mean_volume = volume if mean_volume < 0 else mean_volume + alpha * (volume - mean_volume)
    return lv_i, lv_f, nlv, nev


@njit(cache=True, inline="always")
def _share(wick, candle_range):
    return _min(_max(wick, 0.0) / candle_range, 1.0) if candle_range > 0 else 0.0


# -- consolidation boxes (boxes.py) --------------------------------------------------------


@njit(cache=True)
def box_kernel(o, h, l, c, min_bars, fit, max_height, breakout_frac, max_age, max_levels, through, half_life, ev_i, ev_f):  # noqa: E741
    """BoxDetector.update over every candle."""
    n = o.shape[0]
    lv_i, lv_f = _levels(n)
    nlv = 0
    nev = 0
    sup = np.empty(n + 1, np.int64)
    res = np.empty(n + 1, np.int64)
    s0 = s1 = r0 = r1 = 0
    hh = np.empty(n + 1, np.float64)  # the highs / lows / closes deques, append-only (only the tail is read)
    hl = np.empty(n + 1, np.float64)
    hc = np.empty(n + 1, np.float64)
    m = 0
    box = -1
    search_start = 1
    run = 0
    run_high, run_low = -_INF, _INF
    up_break, down_break = _INF, -_INF
    for i in range(n):
        index = i + 1
        high, low, close = h[i], l[i], c[i]
        boxed = box >= 0
        expire_at = _NEVER
        if box >= 0:
            expire_at = lv_i[box, 1]
        if s1 > s0:
            expire_at = _min(expire_at, lv_i[sup[s0], 1])
        if r1 > r0:
            expire_at = _min(expire_at, lv_i[res[r0], 1])
        if expire_at != _NEVER:
            expire_at += max_age
        if index > expire_at:  # _expire
            oldest_allowed = index - max_age
            if box >= 0 and lv_i[box, 1] < oldest_allowed:
                age = index - lv_i[box, 1]
                nev = _emit(ev_i, ev_f, nev, i, EXPIRED, box, age, 0, 0.0, _score(lv_f[box, 2], age, half_life))
                box = -1  # _end_box
                up_break, down_break = _INF, -_INF
                search_start, run, run_high, run_low = index + 1, 0, -_INF, _INF
            while s1 > s0 and lv_i[sup[s0], 1] < oldest_allowed:
                k = sup[s0]
                s0 += 1
                age = index - lv_i[k, 1]
                nev = _emit(ev_i, ev_f, nev, i, EXPIRED, k, age, 1, 0.0, _score(lv_f[k, 2], age, half_life))
            while r1 > r0 and lv_i[res[r0], 1] < oldest_allowed:
                k = res[r0]
                r0 += 1
                age = index - lv_i[k, 1]
                nev = _emit(ev_i, ev_f, nev, i, EXPIRED, k, age, -1, 0.0, _score(lv_f[k, 2], age, half_life))
        if s1 > s0 and low <= lv_f[sup[s1 - 1], 1]:
            while s1 > s0 and low <= lv_f[sup[s1 - 1], 1]:
                s1 -= 1
                k = sup[s1]
                zone_low, zone_high = lv_f[k, 0], lv_f[k, 1]
                kind = INVALIDATED if close < zone_low * (1.0 - through) else TOUCHED
                age = index - lv_i[k, 1]
                nev = _emit(ev_i, ev_f, nev, i, kind, k, age, 1, (zone_high - low) / zone_high * 1e4, _score(lv_f[k, 2], age, half_life))
        if r1 > r0 and high >= lv_f[res[r1 - 1], 0]:
            while r1 > r0 and high >= lv_f[res[r1 - 1], 0]:
                r1 -= 1
                k = res[r1]
                zone_low, zone_high = lv_f[k, 0], lv_f[k, 1]
                kind = INVALIDATED if close > zone_high * (1.0 + through) else TOUCHED
                age = index - lv_i[k, 1]
                nev = _emit(ev_i, ev_f, nev, i, kind, k, age, -1, (high - zone_low) / zone_low * 1e4, _score(lv_f[k, 2], age, half_life))
        if boxed:
            if box >= 0 and (close > up_break or close < down_break):  # _breakout
                direction = 1 if close > up_break else -1
                box_low, box_high = lv_f[box, 0], lv_f[box, 1]
                depth = (close - box_high) / box_high * 1e4 if direction > 0 else (box_low - close) / box_low * 1e4
                age = index - lv_i[box, 1]
                nev = _emit(ev_i, ev_f, nev, i, BREAKOUT, box, age, direction, depth, _score(lv_f[box, 2], age, half_life))
                if direction > 0:
                    if s1 - s0 >= max_levels:
                        k = sup[s0]
                        s0 += 1
                        old_age = index - lv_i[k, 1]
                        nev = _emit(ev_i, ev_f, nev, i, EXPIRED, k, old_age, direction, 0.0, _score(lv_f[k, 2], old_age, half_life))
                    sup[s1] = box
                    s1 += 1
                else:
                    if r1 - r0 >= max_levels:
                        k = res[r0]
                        r0 += 1
                        old_age = index - lv_i[k, 1]
                        nev = _emit(ev_i, ev_f, nev, i, EXPIRED, k, old_age, direction, 0.0, _score(lv_f[k, 2], old_age, half_life))
                    res[r1] = box
                    r1 += 1
                box = -1  # _end_box
                up_break, down_break = _INF, -_INF
                search_start, run, run_high, run_low = index + 1, 0, -_INF, _INF
            continue

        new_high = run_high
        new_low = run_low
        if high > new_high:
            new_high = high
        if low < new_low:
            new_low = low
        if new_low >= new_high * fit:
            run += 1
            run_high, run_low = new_high, new_low
        elif low < high * fit:  # _rewalk: the candle alone is too tall
            run, run_high, run_low = 0, -_INF, _INF
        else:
            k = m - 1
            stop = m - run - 1
            if high > run_high:  # new top: every low must stay >= high x fit
                floor = high * fit
                bottom = low
                while k > stop:
                    old = hl[k]
                    if old < floor:
                        break
                    if old < bottom:
                        bottom = old
                    k -= 1
                run, run_high, run_low = m - k, high, bottom
            else:  # new bottom: every high must stay <= low / fit
                ceiling = low / fit
                top = high
                while k > stop:
                    old = hh[k]
                    if old > ceiling:
                        break
                    if old > top:
                        top = old
                    k -= 1
                run, run_high, run_low = m - k, top, low
        hh[m] = high
        hl[m] = low
        hc[m] = close
        m += 1
        if run >= min_bars:  # _create
            box_low, box_high, bars = run_low, run_high, min_bars
            earlier = _min(index - search_start + 1 - bars, bars)
            for k in range(m - 1 - bars, _max(m - 1 - bars - earlier, -1), -1):  # the candles before the box
                old_close = hc[k]
                if not (box_low <= old_close and old_close <= box_high):
                    break
                bars += 1
            height = (box_high - box_low) / ((box_high + box_low) * 0.5)
            tightness = _max(1.0 - height / max_height, 0.0) if max_height > 0 else 1.0
            quality = (tightness + _min(bars / (2.0 * min_bars), 1.0)) * 0.5
            nlv = _new_level(lv_i, lv_f, nlv, RANGE, index, box_low, box_high, quality)
            box = nlv - 1
            up_break = box_high * (1.0 + breakout_frac)
            down_break = box_low * (1.0 - breakout_frac)
            nev = _emit(ev_i, ev_f, nev, i, CREATED, box, 0, 0, 0.0, quality)
    return lv_i, lv_f, nlv, nev


# -- displacement origins (origins.py) -----------------------------------------------------


@njit(cache=True)
def origin_kernel(o, h, l, c, v, lookback, range_multiple, min_move, min_relative_volume, min_body_fraction,  # noqa: E741
                  max_run, multiple, max_age, max_levels, through, half_life, ev_i, ev_f):  # fmt: skip
    """OriginDetector.update over every candle (the candle / range / volume deques = the candle arrays)."""
    n = o.shape[0]
    lv_i, lv_f = _levels(n)
    nlv = 0
    nev = 0
    sup = np.empty(n + 1, np.int64)
    res = np.empty(n + 1, np.int64)
    s0 = s1 = r0 = r1 = 0
    ranges = h - l
    highs = np.empty(max_run, np.float64)  # per window of the move being examined
    lows = np.empty(max_run, np.float64)
    volumes = np.empty(max_run, np.float64)
    range_sum = 0.0
    seen = 0
    direction_now = 0
    streak = 0
    streak_high, streak_low = -_INF, _INF
    spent = True
    for i in range(n):
        index = i + 1
        open_, high, low, close = o[i], h[i], l[i], c[i]
        if s1 > s0 and r1 > r0:
            expire_at = _min(lv_i[sup[s0], 1], lv_i[res[r0], 1]) + max_age
        elif s1 > s0:
            expire_at = lv_i[sup[s0], 1] + max_age
        elif r1 > r0:
            expire_at = lv_i[res[r0], 1] + max_age
        else:
            expire_at = _NEVER
        if index > expire_at:
            oldest_allowed = index - max_age
            while s1 > s0 and lv_i[sup[s0], 1] < oldest_allowed:
                k = sup[s0]
                s0 += 1
                age = index - lv_i[k, 1]
                nev = _emit(ev_i, ev_f, nev, i, EXPIRED, k, age, 1, 0.0, _score(lv_f[k, 2], age, half_life))
            while r1 > r0 and lv_i[res[r0], 1] < oldest_allowed:
                k = res[r0]
                r0 += 1
                age = index - lv_i[k, 1]
                nev = _emit(ev_i, ev_f, nev, i, EXPIRED, k, age, -1, 0.0, _score(lv_f[k, 2], age, half_life))
        if s1 > s0 and low <= lv_f[sup[s1 - 1], 1]:
            while s1 > s0 and low <= lv_f[sup[s1 - 1], 1]:
                s1 -= 1
                k = sup[s1]
                zone_low, zone_high = lv_f[k, 0], lv_f[k, 1]
                kind = INVALIDATED if close < zone_low * (1.0 - through) else TOUCHED
                age = index - lv_i[k, 1]
                nev = _emit(ev_i, ev_f, nev, i, kind, k, age, 1, (zone_high - low) / zone_high * 1e4, _score(lv_f[k, 2], age, half_life))
        if r1 > r0 and high >= lv_f[res[r1 - 1], 0]:
            while r1 > r0 and high >= lv_f[res[r1 - 1], 0]:
                r1 -= 1
                k = res[r1]
                zone_low, zone_high = lv_f[k, 0], lv_f[k, 1]
                kind = INVALIDATED if close > zone_high * (1.0 + through) else TOUCHED
                age = index - lv_i[k, 1]
                nev = _emit(ev_i, ev_f, nev, i, kind, k, age, -1, (high - zone_low) / zone_low * 1e4, _score(lv_f[k, 2], age, half_life))

        direction = 1 if close > open_ else -1 if close < open_ else 0
        if direction == direction_now and direction:
            streak += 1
            if high > streak_high:
                streak_high = high
            if low < streak_low:
                streak_low = low
        else:
            direction_now, streak, spent = direction, 1, not direction
            streak_high, streak_low = high, low
        first_candle = i - max_run + 1 if i - max_run + 1 > 0 else 0  # the candles deque: [first_candle, i]
        if not spent and seen == lookback:
            extent, bottom = streak_high - streak_low, streak_low
            if streak > max_run and extent >= multiple * range_sum:  # a long streak: its last windows
                bottom = l[first_candle]
                top = h[first_candle]
                for k in range(first_candle + 1, i + 1):
                    if l[k] < bottom:
                        bottom = l[k]
                    if h[k] > top:
                        top = h[k]
                extent = top - bottom
            if extent >= min_move * bottom and extent >= multiple * range_sum:  # _examine
                mean_range = _pysum(ranges, i - lookback, i) / lookback
                mean_volume = _pysum(v, i - lookback, i) / lookback
                longest = _min(streak, i - first_candle + 1)
                # windows newest first; tried longest first
                w_high, w_low, w_volume = -_INF, _INF, 0.0
                for size in range(1, longest + 1):
                    k = i - size + 1
                    w_high, w_low, w_volume = _max(w_high, h[k]), _min(w_low, l[k]), w_volume + v[k]
                    highs[size - 1] = w_high
                    lows[size - 1] = w_low
                    volumes[size - 1] = w_volume
                for size in range(longest, 0, -1):
                    k = i - size + 1
                    first_open = o[k]
                    extent = highs[size - 1] - lows[size - 1]
                    window_volume = volumes[size - 1] / size
                    relative_volume = window_volume / mean_volume if mean_volume > 0 else 1.0
                    if (
                        extent >= range_multiple * mean_range
                        and extent >= min_move * first_open
                        and relative_volume >= min_relative_volume
                        and abs(close - first_open) >= min_body_fraction * extent
                    ):
                        spent = True
                        f_open, f_high, f_low, f_close = o[k], h[k], l[k], c[k]  # _create
                        half_body = abs(f_close - f_open) * 0.5
                        if direction_now > 0:
                            side, zone_low, zone_high = SUPPORT, f_low, _max(f_open, f_low + half_body)
                        else:
                            side, zone_low, zone_high = RESISTANCE, _min(f_open, f_high - half_body), f_high
                        threshold = range_multiple * mean_range
                        magnitude = _min(extent / (2.0 * threshold), 1.0) if threshold > 0 else 1.0
                        quality = (magnitude + _min(relative_volume / (2.0 * _max(min_relative_volume, 1.0)), 1.0)) * 0.5
                        if side == SUPPORT:
                            if s1 - s0 >= max_levels:
                                k = sup[s0]
                                s0 += 1
                                age = index - lv_i[k, 1]
                                nev = _emit(ev_i, ev_f, nev, i, EXPIRED, k, age, 1, 0.0, _score(lv_f[k, 2], age, half_life))
                            sup[s1] = nlv
                            s1 += 1
                        else:
                            if r1 - r0 >= max_levels:
                                k = res[r0]
                                r0 += 1
                                age = index - lv_i[k, 1]
                                nev = _emit(ev_i, ev_f, nev, i, EXPIRED, k, age, -1, 0.0, _score(lv_f[k, 2], age, half_life))
                            res[r1] = nlv
                            r1 += 1
                        nlv = _new_level(lv_i, lv_f, nlv, side, index, zone_low, zone_high, quality)
                        nev = _emit(ev_i, ev_f, nev, i, CREATED, nlv - 1, 0, direction_now, 0.0, quality)
                        break

        if seen == lookback:
            range_sum += ranges[i] - ranges[i - lookback]
        else:
            seen += 1
            range_sum += ranges[i]
    return lv_i, lv_f, nlv, nev


# -- confluence stacks (confluence.py, engine.py) ------------------------------------------


@njit(cache=True)
def confluence_kernel(n_base, base_high, base_low, ch_step, ch_level, ch_add, g_low, g_high, g_pair, g_side,
                      band_factor, min_levels, min_diversity, st_i, st_f, ev):  # fmt: skip
    """ConfluenceTracker.touches / rebuild as LevelEngine.on_candle calls them, over every base candle.

    `ch_*`: the book's changes (CREATED adds, TOUCHED / INVALIDATED / EXPIRED remove) in feed
    order, each with the base candle whose step first sees it (nondecreasing). A step with any
    change is dirty and rebuilds after the touches. The live levels are kept sorted by price
    (ties in any order: a group's members do not depend on it).

    Identity by members without sets: the live stacks are exactly the groups of the last
    rebuild, so they are disjoint, and `owner[level]` is the stack that last took the level.
    A new group is a live stack's member set iff it has that stack's size and all its levels
    are owned by it.

    Writes stacks (`st_i = (side, created_index)`, `st_f = (low, high, quality)`) and events
    (`ev = (base candle, kind, stack row, age)`; a stack event's score is its quality) while
    they fit; returns both counts (the caller reruns with room for all).
    """
    n_levels = g_low.shape[0]
    price = (g_low + g_high) * 0.5
    alive = np.zeros(n_levels, np.bool_)
    owner = np.full(n_levels, -1, np.int64)
    live = np.empty(n_levels + 1, np.int64)  # live levels by price
    n_live = 0
    most = n_levels // min_levels + 2  # stacks (disjoint groups of >= min_levels levels) at once
    # live stacks in creation order (the tracker's dict order)
    a_id = np.empty(most, np.int64)
    a_low = np.empty(most, np.float64)
    a_high = np.empty(most, np.float64)
    a_index = np.empty(most, np.int64)
    a_size = np.empty(most, np.int64)
    a_touched = np.empty(most, np.bool_)
    a_keep = np.empty(most, np.bool_)
    n_active = 0
    # groups of one rebuild
    g_start = np.empty(most, np.int64)
    g_end = np.empty(most, np.int64)
    g_match = np.empty(most, np.bool_)
    n_st = 0
    nev = 0
    n_changes = ch_step.shape[0]
    p = 0
    for j in range(n_base):
        index = j + 1
        dirty = False
        while p < n_changes and ch_step[p] == j:
            gid = ch_level[p]
            dirty = True
            if ch_add[p]:
                x = price[gid]
                lo, hi = 0, n_live
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if price[live[mid]] <= x:
                        lo = mid + 1
                    else:
                        hi = mid
                for q in range(n_live, lo, -1):
                    live[q] = live[q - 1]
                live[lo] = gid
                n_live += 1
                alive[gid] = True
            elif alive[gid]:
                x = price[gid]
                lo, hi = 0, n_live
                while lo < hi:
                    mid = (lo + hi) >> 1
                    if price[live[mid]] < x:
                        lo = mid + 1
                    else:
                        hi = mid
                while live[lo] != gid:
                    lo += 1
                for q in range(lo, n_live - 1):
                    live[q] = live[q + 1]
                n_live -= 1
                alive[gid] = False
            p += 1

        high, low = base_high[j], base_low[j]
        for a in range(n_active):  # touches
            if not a_touched[a] and low <= a_high[a] and high >= a_low[a]:
                a_touched[a] = True
                if nev < ev.shape[0]:
                    ev[nev, 0], ev[nev, 1], ev[nev, 2], ev[nev, 3] = j, TOUCHED, a_id[a], index - a_index[a]
                nev += 1
        if not dirty:
            continue

        # rebuild: sweep the price-sorted live levels into groups, keep the stacks among them
        n_groups = 0
        g0 = 0
        for k in range(1, n_live + 1):
            if k == n_live or price[live[k]] > price[live[g0]] * band_factor:
                if k - g0 >= min_levels:
                    pairs = 0
                    for q in range(g0, k):
                        pairs |= 1 << g_pair[live[q]]
                    diversity = 0
                    while pairs:
                        pairs &= pairs - 1
                        diversity += 1
                    if diversity >= min_diversity:
                        g_start[n_groups], g_end[n_groups], g_match[n_groups] = g0, k, False
                        n_groups += 1
                g0 = k
        for a in range(n_active):
            a_keep[a] = False
        for g in range(n_groups):
            s = owner[live[g_start[g]]]
            if s < 0:
                continue
            for a in range(n_active):
                if a_id[a] == s:
                    if a_size[a] == g_end[g] - g_start[g]:
                        same = True
                        for q in range(g_start[g] + 1, g_end[g]):
                            if owner[live[q]] != s:
                                same = False
                                break
                        if same:
                            a_keep[a] = True
                            g_match[g] = True
                    break
        kept = 0
        for a in range(n_active):
            if a_keep[a]:
                a_id[kept], a_low[kept], a_high[kept] = a_id[a], a_low[a], a_high[a]
                a_index[kept], a_size[kept], a_touched[kept] = a_index[a], a_size[a], a_touched[a]
                kept += 1
            else:
                if nev < ev.shape[0]:
                    ev[nev, 0], ev[nev, 1], ev[nev, 2], ev[nev, 3] = j, EXPIRED, a_id[a], index - a_index[a]
                nev += 1
        n_active = kept
        for g in range(n_groups):
            if g_match[g]:
                continue
            size = g_end[g] - g_start[g]
            pairs = 0
            supports = 0
            resistances = 0
            first = live[g_start[g]]
            zone_low, zone_high = g_low[first], g_high[first]
            for q in range(g_start[g], g_end[g]):
                gid = live[q]
                owner[gid] = n_st
                pairs |= 1 << g_pair[gid]
                if g_side[gid] == SUPPORT:
                    supports += 1
                elif g_side[gid] == RESISTANCE:
                    resistances += 1
                if g_low[gid] < zone_low:
                    zone_low = g_low[gid]
                if g_high[gid] > zone_high:
                    zone_high = g_high[gid]
            diversity = 0
            while pairs:
                pairs &= pairs - 1
                diversity += 1
            quality = 0.5 * _min(size / (2.0 * min_levels), 1.0) + 0.5 * _min(diversity / (2.0 * min_diversity), 1.0)
            side = SUPPORT if supports > resistances else RESISTANCE if resistances > supports else RANGE
            if n_st < st_i.shape[0]:
                st_i[n_st, 0], st_i[n_st, 1] = side, index
                st_f[n_st, 0], st_f[n_st, 1], st_f[n_st, 2] = zone_low, zone_high, quality
            a_id[n_active], a_low[n_active], a_high[n_active] = n_st, zone_low, zone_high
            a_index[n_active], a_size[n_active], a_touched[n_active] = index, size, False
            n_active += 1
            if nev < ev.shape[0]:
                ev[nev, 0], ev[nev, 1], ev[nev, 2], ev[nev, 3] = j, CREATED, n_st, 0
            nev += 1
            n_st += 1
    return n_st, nev
