"""Order-flow research throughput: the compiled twin vs the pure detectors, same run (issue 14 targets).

Run from the repo root (it prints numbers; it is not a test)::

    .venv/bin/python -m bench.orderflow_throughput [--trades 4000000] [--deltas 3000000] [--repeats 3]

Data: the real Binance BTC captures in `../shared/data/trades_book/` (or `$RAVEBEAR_SHARED_DATA`).
- Trades: the spot and USD-M trades (41k prints, both in BTC) chained end to end, repeating the
  pair, until there are N: each capture starts 1 s after the previous one ends (its times shifted,
  prices and sizes untouched), so the stream is increasing in time and crosses session boundaries.
  COIN-M is left out of the trade stream: its sizes are 100 USD contracts, and one stream runs one
  config, which would tag every COIN-M print as a 1M USD whale.
- Book deltas: per market, the REST snapshot's levels, then the depth diffs after it by Binance's
  sync (first kept event bridges lastUpdateId + 1, update-id order), then a size-0 delete of every
  level left at the end, so the next capture starts from an empty book; chained and repeated as the
  trades until there are N.

Figures:
- twin trades/s: `fast_trade_flow` (CVD total/session/window, session VWAP, whales + clusters,
  absorption tiers) over all N trades; target >= 2,000,000/s;
- twin deltas/s: `fast_book_replay` (apply + best bid/ask, spread, top-N OBI, weighted OBI, depth
  after every delta) over all N deltas; target >= 500,000/s;
- reference: the pure detectors fed one event at a time (CvdTracker, SessionVwap, WhaleDetector,
  AbsorptionDetector per trade; Book.apply + book_features per delta) over the first
  `--reference` events of the same streams, objects built beforehand (not timed);
- compile: numba compiles the kernels into a fresh, empty cache directory before anything is
  timed (reported apart; the rates exclude it). Best and median of `--repeats` runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import pandas as pd

from bench.common import SHARED_DATA

TRADES_BOOK = SHARED_DATA / "trades_book"
CAPTURES = (
    "binance_spot_BTCUSDT_20240808T2354Z_20240809T0005Z",
    "binance_usdm_BTCUSDT_20240808T2354Z_20240808T2359Z",
    "binance_coinm_BTCUSD_PERP_20240808T2354Z_20240809T0005Z",
)
TRADES_TARGET = 2_000_000
DELTAS_TARGET = 500_000
GAP_NS = 1_000_000_000  # between chained captures


def capture_trades(prefix: str) -> pd.DataFrame:
    """ts_ns (local receive time), price, size, aggressor (+1 buyer took the offer, -1 seller hit the bid)."""
    from ravebear.catalog.orderflow.binance import trade_arrays

    return trade_arrays(pd.read_parquet(TRADES_BOOK / f"{prefix}_trades.parquet"))


def capture_deltas(prefix: str) -> pd.DataFrame:
    """ts_ns, side (+1/-1), price, size: snapshot, synced diffs, then deletes of every level left (an empty book after)."""
    snap = pd.read_parquet(TRADES_BOOK / f"{prefix}_depthsnap.parquet")
    diffs = pd.read_parquet(TRADES_BOOK / f"{prefix}_depthdiff.parquet")
    last = int(snap["last_update_id"].iloc[0])
    kept = diffs[diffs["final_update_id"] > last]
    first = kept.iloc[0]
    if not first["first_update_id"] <= last + 1 <= first["final_update_id"]:
        sys.exit(f"error: {prefix}: no depth diff bridges the snapshot's lastUpdateId {last}")
    snap_ts = int(snap["local_ts_ns"].iloc[0])
    rows = pd.DataFrame({
        "ts_ns": np.concatenate([np.full(len(snap), snap_ts, np.int64), kept["local_ts_ns"].to_numpy(np.int64)]),
        "side": np.where(np.concatenate([snap["side"].to_numpy(str), kept["side"].to_numpy(str)]) == "bid", 1, -1),
        "price": np.concatenate([snap["price"].to_numpy(float), kept["price"].to_numpy(float)]),
        "size": np.concatenate([snap["qty"].to_numpy(float), kept["qty"].to_numpy(float)]),
    })
    left = rows.drop_duplicates(["side", "price"], keep="last")
    left = left[left["size"] > 0]
    clear = pd.DataFrame({"ts_ns": int(rows["ts_ns"].iloc[-1]), "side": left["side"], "price": left["price"], "size": 0.0})
    return pd.concat([rows, clear], ignore_index=True)


def chain(pieces: list[pd.DataFrame], n: int) -> pd.DataFrame:
    """Repeat the pieces end to end (each shifted to start GAP_NS after the previous ends) until n rows."""
    out, total, end = [], 0, None
    while total < n:
        for piece in pieces:
            shift = 0 if end is None else end + GAP_NS - int(piece["ts_ns"].iloc[0])
            out.append(piece.assign(ts_ns=piece["ts_ns"] + shift))
            end = int(piece["ts_ns"].iloc[-1]) + shift
            total += len(piece)
            if total >= n:
                break
    return pd.concat(out, ignore_index=True).iloc[:n]


def timed(fn, repeats: int) -> list[float]:
    """Wall seconds of each of `repeats` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def pure_trade_rate(frame: pd.DataFrame) -> float:
    """Trades/s of the pure trade-side detectors fed one Trade at a time."""
    from ravebear.strategies.microstructure.absorption import AbsorptionDetector
    from ravebear.strategies.microstructure.cvd import CvdTracker
    from ravebear.strategies.microstructure.types import Trade
    from ravebear.strategies.microstructure.vwap import SessionVwap
    from ravebear.strategies.microstructure.whales import WhaleDetector

    items = [Trade(int(t), float(p), float(s), int(a)) for t, p, s, a in frame[["ts_ns", "price", "size", "aggressor"]].itertuples(index=False)]
    cvd, vwap, whales, absorption = CvdTracker(), SessionVwap(), WhaleDetector(), AbsorptionDetector()
    start = time.perf_counter()
    for trade in items:
        cvd.update(trade)
        vwap.update(trade)
        whales.update(trade)
        absorption.update(trade)
    absorption.flush()
    return len(items) / (time.perf_counter() - start)


def pure_delta_rate(frame: pd.DataFrame) -> float:
    """Deltas/s of Book.apply + book_features per delta."""
    from ravebear.strategies.microstructure.book_features import (
        BookFeatureConfig,
        book_features,
    )
    from ravebear.strategies.microstructure.types import Book, BookUpdate

    items = [BookUpdate(int(t), int(s), float(p), float(q)) for t, s, p, q in frame[["ts_ns", "side", "price", "size"]].itertuples(index=False)]
    book, config = Book(), BookFeatureConfig()
    start = time.perf_counter()
    for update in items:
        book.apply(update)
        book_features(book, config)
    return len(items) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=4_000_000, help="trades in the chained stream (default 4,000,000)")
    parser.add_argument("--deltas", type=int, default=3_000_000, help="book deltas in the chained stream (default 3,000,000)")
    parser.add_argument("--reference", type=int, default=100_000, help="events the pure detectors get (default 100,000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of the twin (default 3)")
    args = parser.parse_args(argv)
    for name in ("trades", "deltas", "reference", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    if not TRADES_BOOK.exists():
        print(f"error: the captures are not at {TRADES_BOOK} (set RAVEBEAR_SHARED_DATA)", file=sys.stderr)
        return 2

    cache = tempfile.TemporaryDirectory(prefix="ravebear-numba-")
    os.environ["NUMBA_CACHE_DIR"] = cache.name  # an empty cache: the compile figure is a real compile
    from ravebear.research.fast_orderflow import (
        fast_book_replay,
        fast_trade_flow,
        warm_up,
    )

    compile_s = warm_up()

    trades = chain([capture_trades(p) for p in CAPTURES[:2]], args.trades)
    deltas = chain([capture_deltas(p) for p in CAPTURES], args.deltas)
    ts, price, size, aggressor = (trades[c].to_numpy() for c in ("ts_ns", "price", "size", "aggressor"))
    side, d_price, d_size = (deltas[c].to_numpy() for c in ("side", "price", "size"))

    flow_s = timed(lambda: fast_trade_flow(ts, price, size, aggressor), args.repeats)
    book_s = timed(lambda: fast_book_replay(side, d_price, d_size), args.repeats)
    pure_trades = pure_trade_rate(trades.iloc[: args.reference])
    pure_deltas = pure_delta_rate(deltas.iloc[: min(args.reference, len(deltas))])

    flow = fast_trade_flow(ts, price, size, aggressor)
    hours = (ts[-1] - ts[0]) / 3.6e12
    print(f"data: {len(trades):,} trades ({hours:.1f} h, {len(flow.session_names)} sessions, {len(flow.whale_index)} whales, "
          f"{len(flow.bucket_i):,} absorption buckets), {len(deltas):,} book deltas; machine: {os.cpu_count()} cores, shared")
    print(f"numba compile (empty cache, excluded below): {compile_s:.2f} s")
    rows = [
        ("twin trades/s", len(trades) / min(flow_s), len(trades) / statistics.median(flow_s), TRADES_TARGET),
        ("pure trades/s (reference)", pure_trades, pure_trades, None),
        ("twin deltas/s", len(deltas) / min(book_s), len(deltas) / statistics.median(book_s), DELTAS_TARGET),
        ("pure deltas/s (reference)", pure_deltas, pure_deltas, None),
    ]
    print(f"{'figure':<28}{'best':>14}{'median':>14}{'target':>14}  verdict")
    for name, best, median, target in rows:
        verdict = "" if target is None else ("PASS" if median >= target else "FAIL")
        print(f"{name:<28}{best:>14,.0f}{median:>14,.0f}{'' if target is None else f'>= {target:,}':>14}  {verdict}")
    for prefix in CAPTURES:  # one capture alone: its book's density sets the cost (USD-M's is the densest near mid)
        piece = capture_deltas(prefix)
        arrays = [piece[c].to_numpy() for c in ("side", "price", "size")]
        seconds = min(timed(lambda arrays=arrays: fast_book_replay(*arrays), args.repeats))
        print(f"  twin deltas/s, {prefix.split('_2024')[0]} alone ({len(piece):,} deltas): {len(piece) / seconds:,.0f}")
    print(f"twin / pure: trades x{len(trades) / statistics.median(flow_s) / pure_trades:,.0f}, "
          f"deltas x{len(deltas) / statistics.median(book_s) / pure_deltas:,.0f}")
    cache.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
