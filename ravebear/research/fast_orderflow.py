"""Research's fast order flow: the trade-side detectors and the L2 book features over whole arrays.

Compiled (numba) twins of the pure detectors in `ravebear.strategies.microstructure` (definitions
in docs/ORDERFLOW.md), for research speed (`bench.orderflow_throughput`). They take the same config
dataclasses and transcribe the pure code line for line, keeping its operand order, so the outputs
equal the pure detectors fed one event at a time (`tests/research/test_fast_orderflow.py`): exactly
for counts, indices, tiers and CVD/VWAP/whale sums; sums the pure code takes with Python's `sum()`
(Neumaier-compensated) are reproduced in the same order, except the book's depth-within-X, which the
pure code sums in dict insertion order and this twin sums plainly, best level first (~1e-14 relative).
Change a pure detector and you change its twin here in the same commit (the test fails until you do).

- `fast_trade_flow(ts_ns, price, size, aggressor, ...)`: per trade CVD (total, session, rolling
  window), session index and session VWAP; the whale trades with their runs; the closed absorption
  buckets with tiers (the open bucket closed at the end, as `AbsorptionDetector.flush` does).
- `fast_book_replay(ts_ns, side, price, size, config)`: applies each L2 level update (new total size,
  0 deletes; side +1 bid, -1 ask) in order and gives, after each, best bid/ask, spread bps, top-N OBI,
  weighted OBI and depth within X bps, as `book_features` on the pure `Book` (NaN where it gives None).

Inputs must be in time order (as the pure detectors require); `aggressor` is +1 or -1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from ravebear.research.fast_kernels import _pysum
from ravebear.strategies.microstructure.absorption import AbsorptionConfig
from ravebear.strategies.microstructure.book_features import BookFeatureConfig
from ravebear.strategies.microstructure.cvd import CvdConfig
from ravebear.strategies.microstructure.sessions import SessionClock
from ravebear.strategies.microstructure.whales import WhaleConfig
from ravebear.time_units import NS_PER_SECOND

# -- sessions ------------------------------------------------------------------------------


def session_table(first_ns: int, last_ns: int, clock: SessionClock) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The consecutive sessions covering [first_ns, last_ns]: their starts, ends (ns) and names, from the pure clock."""
    starts, ends, names = [], [], []
    ts = first_ns
    while True:
        session = clock.at(ts)
        starts.append(session.start_ns)
        ends.append(session.end_ns)
        names.append(session.name)
        if session.end_ns > last_ns:
            break
        ts = session.end_ns
    return np.asarray(starts, np.int64), np.asarray(ends, np.int64), names


# -- kernels -------------------------------------------------------------------------------


@njit(cache=True)
def _cvd_vwap_kernel(ts, price, size, aggressor, session_end, window_ns, total_out, session_out, window_out, session_ix, vwap_out):
    """CvdTracker (total, session, RollingSum window) and SessionVwap, per trade."""
    n = ts.shape[0]
    total = 0.0
    sess_cvd = 0.0
    sess_notional = 0.0
    sess_size = 0.0
    j = 0
    current = -1
    roll = 0.0
    head = 0  # first trade still in the rolling window
    for i in range(n):
        t = ts[i]
        delta = size[i] if aggressor[i] > 0 else -size[i]
        while t >= session_end[j]:
            j += 1
        if j != current:
            current = j
            sess_cvd = 0.0
            sess_notional = 0.0
            sess_size = 0.0
        total += delta
        sess_cvd += delta
        roll += delta
        cutoff = t - window_ns
        while head <= i and ts[head] <= cutoff:
            d = size[head] if aggressor[head] > 0 else -size[head]
            roll -= d
            head += 1
        if head > i:
            roll = 0.0
        sess_notional += price[i] * size[i]
        sess_size += size[i]
        total_out[i] = total
        session_out[i] = sess_cvd
        window_out[i] = roll
        session_ix[i] = j
        vwap_out[i] = sess_notional / sess_size if sess_size > 0 else np.nan


@njit(cache=True)
def _whale_kernel(ts, aggressor, notional, rows, gap_ns, min_trades, run_trades, run_notional, run_start, cluster):
    """WhaleDetector over the whale rows only (rows: their trade indices); runs per aggressor side."""
    last_ts = np.zeros(2, np.int64)
    trades = np.zeros(2, np.int64)  # 0: no run yet
    total = np.zeros(2)
    start = np.zeros(2, np.int64)
    for k in range(rows.shape[0]):
        i = rows[k]
        s = 0 if aggressor[i] > 0 else 1
        t = ts[i]
        if trades[s] == 0 or t - last_ts[s] > gap_ns:
            trades[s] = 1
            total[s] = notional[i]
            start[s] = t
        else:
            trades[s] += 1
            total[s] = total[s] + notional[i]
        last_ts[s] = t
        run_trades[k] = trades[s]
        run_notional[k] = total[s]
        run_start[k] = start[s]
        cluster[k] = trades[s] >= min_trades


@njit(cache=True)
def _absorption_kernel(ts, price, size, aggressor, bucket_ns, lookback, tier_multiples, tier_moves, b_i, b_f):
    """AbsorptionDetector.update per trade, then flush; b_i[k] = (start, end, side, tier, closing trade or -1),
    b_f[k] = (buy, sell, delta, reference, close, multiple, move). Returns the bucket count."""
    n = ts.shape[0]
    history = np.zeros(max(lookback, 1))
    ordered = np.zeros(max(lookback, 1))
    h_head = 0
    h_count = 0
    bucket = -1
    buy = 0.0
    sell = 0.0
    reference = 0.0
    close = 0.0
    last_price = 0.0
    have_last = False
    nb = 0
    for i in range(n + 1):
        if i < n:
            index = ts[i] // bucket_ns
            if index == bucket:
                if aggressor[i] > 0:
                    buy += size[i]
                else:
                    sell += size[i]
                close = last_price = price[i]
                continue
        else:
            index = bucket + 1  # flush
        if bucket >= 0:
            delta = buy - sell
            side = 1 if delta > 0 else -1 if delta < 0 else 0
            mean = 0.0
            if h_count == lookback:
                for k in range(h_count):
                    ordered[k] = history[(h_head + k) % lookback]
                mean = _pysum(ordered, 0, h_count) / h_count
            multiple = abs(delta) / mean if mean > 0 else 0.0
            move = (close - reference) / reference * 1e4 * side
            tier = 0
            for k in range(tier_multiples.shape[0]):
                if multiple >= tier_multiples[k] and move <= tier_moves[k]:
                    tier = k + 1
            start = bucket * bucket_ns
            b_i[nb, 0] = start
            b_i[nb, 1] = start + bucket_ns
            b_i[nb, 2] = side
            b_i[nb, 3] = tier
            b_i[nb, 4] = i if i < n else -1
            b_f[nb, 0] = buy
            b_f[nb, 1] = sell
            b_f[nb, 2] = delta
            b_f[nb, 3] = reference
            b_f[nb, 4] = close
            b_f[nb, 5] = multiple
            b_f[nb, 6] = move
            nb += 1
            empties = min(index - bucket - 1, lookback)
            for k in range(1 + empties):
                value = abs(delta) if k == 0 else 0.0
                if h_count < lookback:
                    history[(h_head + h_count) % lookback] = value
                    h_count += 1
                else:
                    history[h_head] = value
                    h_head = (h_head + 1) % lookback
        if i == n:
            break
        bucket = index
        buy = 0.0
        sell = 0.0
        reference = last_price if have_last else price[i]
        if aggressor[i] > 0:
            buy += size[i]
        else:
            sell += size[i]
        close = last_price = price[i]
        have_last = True
    return nb


@njit(cache=True, inline="always")
def _set_level(prices, sizes, count, p, s):
    """Set (s > 0) or delete level p in the ascending prices[:count]; return the new count."""
    lo = 0
    hi = count
    while lo < hi:  # first position with prices[pos] >= p
        mid = (lo + hi) >> 1
        if prices[mid] < p:
            lo = mid + 1
        else:
            hi = mid
    found = lo < count and prices[lo] == p
    if s > 0:
        if found:
            sizes[lo] = s
            return count
        for j in range(count, lo, -1):
            prices[j] = prices[j - 1]
            sizes[j] = sizes[j - 1]
        prices[lo] = p
        sizes[lo] = s
        return count + 1
    if found:
        for j in range(lo, count - 1):
            prices[j] = prices[j + 1]
            sizes[j] = sizes[j + 1]
        return count - 1
    return count


@njit(cache=True, inline="always")
def _neumaier(total, comp, x):
    t = total + x
    if abs(total) >= abs(x):
        comp += (total - t) + x
    else:
        comp += (x - t) + total
    return t, comp


@njit(cache=True, inline="always")
def _finish(total, comp):
    if comp != 0.0 and math.isfinite(comp):
        total += comp
    return total


@njit(cache=True)
def _book_kernel(side, price, size, bid_cap, ask_cap, levels, half, depth_bps, out):
    """Book.apply per update, then book_features: out[i] = (best bid, best ask, spread bps, obi, weighted obi,
    bid depth, ask depth); NaN for an empty side's best price and for the features while a side is empty. Bids are kept ascending and asks as ascending negated
    prices, so each side's best level is its last and most updates shift only a few levels."""
    n = side.shape[0]
    bp = np.empty(max(bid_cap, 1))
    bs = np.empty(max(bid_cap, 1))
    ap = np.empty(max(ask_cap, 1))  # -price
    asz = np.empty(max(ask_cap, 1))
    nb = 0
    na = 0
    low_factor = 1 - depth_bps * 1e-4
    high_factor = 1 + depth_bps * 1e-4
    for i in range(n):
        if side[i] > 0:
            nb = _set_level(bp, bs, nb, price[i], size[i])
        else:
            na = _set_level(ap, asz, na, -price[i], size[i])
        out[i, 0] = bp[nb - 1] if nb > 0 else np.nan  # Book.best_bid / best_ask exist on a one-sided book
        out[i, 1] = -ap[na - 1] if na > 0 else np.nan
        if nb == 0 or na == 0 or levels < 1:
            for c in range(2, 7):
                out[i, c] = np.nan
            continue
        best_bid = bp[nb - 1]
        best_ask = -ap[na - 1]
        mid = (best_bid + best_ask) / 2.0
        per_bps = 1e4 / mid
        # top-N sums, best level first, as Python's sum() over heapq.nlargest/nsmallest
        b_tot = bs[nb - 1]
        b_comp = 0.0
        b_w = bs[nb - 1] * 0.5 ** ((mid - bp[nb - 1]) * per_bps / half)
        b_wcomp = 0.0
        for k in range(nb - 2, max(nb - levels, 0) - 1, -1):
            b_tot, b_comp = _neumaier(b_tot, b_comp, bs[k])
            b_w, b_wcomp = _neumaier(b_w, b_wcomp, bs[k] * 0.5 ** ((mid - bp[k]) * per_bps / half))
        a_tot = asz[na - 1]
        a_comp = 0.0
        a_w = asz[na - 1] * 0.5 ** ((-ap[na - 1] - mid) * per_bps / half)
        a_wcomp = 0.0
        for k in range(na - 2, max(na - levels, 0) - 1, -1):
            a_tot, a_comp = _neumaier(a_tot, a_comp, asz[k])
            a_w, a_wcomp = _neumaier(a_w, a_wcomp, asz[k] * 0.5 ** ((-ap[k] - mid) * per_bps / half))
        b_tot = _finish(b_tot, b_comp)
        a_tot = _finish(a_tot, a_comp)
        b_w = _finish(b_w, b_wcomp)
        a_w = _finish(a_w, a_wcomp)
        low = mid * low_factor
        high = mid * high_factor
        # depth: a plain sum (the pure code's order is the dict's, not reproducible here; sizes are positive,
        # so the difference stays ~1e-14 relative, inside the 1e-9 contract) at half the cost of compensation
        bd = 0.0
        for k in range(nb - 1, -1, -1):
            if bp[k] < low:
                break
            bd += bs[k]
        ad = 0.0
        for k in range(na - 1, -1, -1):
            if -ap[k] > high:
                break
            ad += asz[k]
        out[i, 2] = (best_ask - best_bid) / ((best_ask + best_bid) / 2.0) * 1e4
        t = b_tot + a_tot
        out[i, 3] = (b_tot - a_tot) / t if t > 0 else 0.0
        t = b_w + a_w
        out[i, 4] = (b_w - a_w) / t if t > 0 else 0.0
        out[i, 5] = bd
        out[i, 6] = ad


# -- public API ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TradeFlow:
    """Per-trade columns (length n), whale rows and absorption buckets of one instrument's trades."""

    cvd_total: np.ndarray  # CvdTracker.total after each trade
    cvd_session: np.ndarray  # CvdTracker.session
    cvd_window: np.ndarray  # CvdTracker.window
    session: np.ndarray  # index into session_names / session_start_ns
    session_names: list[str]
    session_start_ns: np.ndarray
    vwap: np.ndarray  # SessionVwap.value (NaN for None)
    whale_index: np.ndarray  # trade index of each whale trade
    whale_notional: np.ndarray  # quote currency
    whale_run_trades: np.ndarray
    whale_run_notional: np.ndarray
    whale_run_start_ns: np.ndarray
    whale_cluster: np.ndarray  # bool
    bucket_i: np.ndarray  # (start_ns, end_ns, side, tier, index of the trade that closed it or -1 for the flush)
    bucket_f: np.ndarray  # (buy_size, sell_size, delta, reference_price, close, multiple, move_bps)


BUCKET_I = ("start_ns", "end_ns", "side", "tier", "closed_by")
BUCKET_F = ("buy_size", "sell_size", "delta", "reference_price", "close", "multiple", "move_bps")
BOOK_COLUMNS = ("best_bid", "best_ask", "spread_bps", "obi", "weighted_obi", "bid_depth", "ask_depth")


def fast_trade_flow(
    ts_ns: np.ndarray,
    price: np.ndarray,
    size: np.ndarray,
    aggressor: np.ndarray,
    cvd: CvdConfig | None = None,
    whales: WhaleConfig | None = None,
    absorption: AbsorptionConfig | None = None,
) -> TradeFlow:
    """CVD, session VWAP (sessions from `cvd.sessions`), whales and absorption over one instrument's trades."""
    cvd, whales, absorption = cvd or CvdConfig(), whales or WhaleConfig(), absorption or AbsorptionConfig()
    ts = np.ascontiguousarray(ts_ns, np.int64)
    price = np.ascontiguousarray(price, np.float64)
    size = np.ascontiguousarray(size, np.float64)
    aggressor = np.ascontiguousarray(aggressor, np.int64)
    n = len(ts)
    if not len(price) == len(size) == len(aggressor) == n:
        raise ValueError(f"trade arrays differ in length: ts_ns {n}, price {len(price)}, size {len(size)}, aggressor {len(aggressor)}")
    if n and (np.abs(aggressor) != 1).any():
        bad = int(np.flatnonzero(np.abs(aggressor) != 1)[0])
        raise ValueError(f"trade {bad}: aggressor must be +1 (buyer) or -1 (seller), got {aggressor[bad]}")
    if n > 1 and (np.diff(ts) < 0).any():
        bad = int(np.flatnonzero(np.diff(ts) < 0)[0]) + 1
        raise ValueError(f"trade {bad}: ts_ns {ts[bad]} is before the previous trade's {ts[bad - 1]}: trades must be in time order")
    clock = SessionClock(cvd.sessions)  # validates the hours as the pure detectors do
    if n:
        starts, ends, names = session_table(int(ts[0]), int(ts[-1]), clock)
    else:
        starts, ends, names = np.zeros(0, np.int64), np.zeros(1, np.int64), []
    total, session, window, vwap = (np.empty(n) for _ in range(4))
    session_ix = np.empty(n, np.int64)
    _cvd_vwap_kernel(ts, price, size, aggressor, ends, int(cvd.window_s * NS_PER_SECOND), total, session, window, session_ix, vwap)

    if whales.inverse:
        notional = size * whales.contract_multiplier
    else:
        notional = price * size * whales.contract_multiplier
    rows = np.flatnonzero(notional >= whales.min_notional)
    k = len(rows)
    run_trades, run_start = np.empty(k, np.int64), np.empty(k, np.int64)
    run_notional, cluster = np.empty(k), np.empty(k, np.bool_)
    _whale_kernel(ts, aggressor, notional, rows, int(whales.cluster_window_s * NS_PER_SECOND), whales.cluster_min_trades,
                  run_trades, run_notional, run_start, cluster)

    b_i, b_f = np.empty((n + 1, 5), np.int64), np.empty((n + 1, 7))
    nb = _absorption_kernel(ts, price, size, aggressor, int(absorption.bucket_s * NS_PER_SECOND), absorption.lookback_buckets,
                            np.asarray(absorption.tier_multiples, np.float64), np.asarray(absorption.tier_max_move_bps, np.float64), b_i, b_f)
    return TradeFlow(total, session, window, session_ix, names, starts, vwap,
                     rows, notional[rows], run_trades, run_notional, run_start, cluster, b_i[:nb].copy(), b_f[:nb].copy())


def fast_book_replay(side: np.ndarray, price: np.ndarray, size: np.ndarray, config: BookFeatureConfig | None = None) -> np.ndarray:
    """Apply L2 updates in order (side +1 bid / -1 ask, new total size, 0 deletes) to an empty book; return an
    (n, 7) array of the book after each: BOOK_COLUMNS, best prices as Book.best_bid/best_ask (NaN on an empty
    side), the features as book_features (all NaN where it gives None: a side empty).
    Times are not needed: the features of update i carry its ts."""
    config = config or BookFeatureConfig()
    side = np.ascontiguousarray(side, np.int64)
    price = np.ascontiguousarray(price, np.float64)
    size = np.ascontiguousarray(size, np.float64)
    if not len(price) == len(size) == len(side):
        raise ValueError(f"book arrays differ in length: side {len(side)}, price {len(price)}, size {len(size)}")
    bid_cap = int(np.count_nonzero(side > 0))  # distinct levels never exceed a side's updates
    out = np.empty((len(side), len(BOOK_COLUMNS)))
    _book_kernel(side, price, size, bid_cap, len(side) - bid_cap, int(config.levels), float(config.half_distance_bps),
                 float(config.depth_bps), out)
    return out


def warm_up() -> float:
    """Compile (or load from numba's cache) every kernel on tiny inputs; return the seconds it took.

    numba compiles one version for writable and one for read-only arrays (pandas' `to_numpy()` gives
    read-only views), so both are warmed."""
    import time

    start = time.perf_counter()
    for writeable in (True, False):
        arrays = [np.array([1, 2], np.int64) * NS_PER_SECOND, np.array([1.0, 2.0]), np.array([1.0, 1.0]), np.array([1, -1])]
        for array in arrays:
            array.flags.writeable = writeable
        ts, price, size, aggressor = arrays
        fast_trade_flow(ts, price, size, aggressor, whales=WhaleConfig(min_notional=1.0))
        fast_book_replay(aggressor, price, size)
    return time.perf_counter() - start
