"""Swarm research throughput: all twenty bots, the regime and the consensus over 1-minute bars (issue 17).

Run from the repo root (it prints numbers; it is not a test)::

    .venv/bin/python -m bench.swarm_research [--bars 500000] [--repeats 3] [--reference 20000]

`ravebear.research.fast_swarm.run_swarm_fast` (each bot's numba twin, the rule regime's and the consensus's twins;
the five order-flow bots vote 0 over bars) over the Binance USD-M BTCUSDT 2025 segments chained like
`bench.common.chain_segments`, with Binance's real BTCUSDT funding (the last rate known at each bar's ORIGINAL
time) and ETHUSDT of the same minutes as the reference instrument. Figure: bars/s of the whole swarm (median of
`--repeats`), beside the target 200,000; also each part alone, and the pure `Swarm` fed one candle at a time on the
first `--reference` bars (checked equal to the twin there: votes, regime, direction, score, confluence).
"""

from __future__ import annotations

import argparse
import statistics
import time

from bench.common import DATA_DIR, SHARED_DATA, chain_segments

RESEARCH_TARGET = 200_000
SEGMENTS = ("20250504_20250624", "20250706_20250717")  # BTC and ETH share these minutes


def load_inputs(n_bars: int):
    """The chained frame with `funding` and `reference` columns carried along by position."""
    import numpy as np
    import pandas as pd

    funding = pd.read_parquet(SHARED_DATA / "funding_oi" / "binance_usdm_BTCUSDT_funding_8h.parquet")[["ts", "funding_rate"]].sort_values("ts")
    segments, extras = [], []
    for span in SEGMENTS:
        btc = pd.read_parquet(DATA_DIR / f"binance_usdm_BTCUSDT_1m_{span}.parquet", columns=["ts", "open", "high", "low", "close", "volume"])
        eth = pd.read_parquet(DATA_DIR / f"binance_usdm_ETHUSDT_1m_{span}.parquet", columns=["ts", "close"]).rename(columns={"close": "reference"})
        merged = btc.merge(eth, on="ts", how="left")
        merged = pd.merge_asof(merged.assign(close_ms=merged["ts"] + 60_000), funding.rename(columns={"ts": "close_ms"}), on="close_ms")
        segments.append(btc)
        extras.append(merged[["reference", "funding_rate"]])
    frame, count = chain_segments(segments, n_bars)
    parts, total = [], 0
    while total < n_bars:  # the same order and cut as chain_segments
        extra = extras[len(parts) % len(extras)].iloc[: n_bars - total]
        parts.append(extra)
        total += len(extra)
    carried = pd.concat(parts, ignore_index=True)
    frame["reference"] = carried["reference"].to_numpy()
    frame["funding"] = carried["funding_rate"].to_numpy(np.float64)
    frame["ts_ns"] = (frame["ts"].to_numpy(np.int64) + 60_000) * 1_000_000
    return frame, count


def arrays(frame):
    return [frame[k].to_numpy() for k in ("ts_ns", "open", "high", "low", "close", "volume", "funding", "reference")]


def timed(fn, repeats: int) -> tuple[float, object]:
    """Median seconds of `repeats` calls, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def pure_states(frame, n: int):
    """The pure Swarm over the first n bars, fed like a node (funding once known, reference, then the candle)."""
    import math

    from ravebear.strategies.levels.timeframes import Candle
    from ravebear.strategies.swarm.swarm import Swarm

    swarm = Swarm()
    rows = frame.iloc[:n]
    candles = [Candle(int(t), o, h, l, c, v) for t, o, h, l, c, v in zip(*(rows[k].to_numpy().tolist() for k in ("ts_ns", "open", "high", "low", "close", "volume")), strict=True)]
    refs = [None if math.isnan(r) else Candle(c.ts, 0.0, 0.0, 0.0, r, 0.0) for c, r in zip(candles, rows["reference"].tolist(), strict=True)]
    funding = rows["funding"].tolist()
    started = time.perf_counter()
    states, last = [], math.nan
    for candle, ref, rate in zip(candles, refs, funding, strict=True):
        if not math.isnan(rate) and rate != last:
            swarm.on_funding(candle.ts, rate)
            last = rate
        if ref is not None:
            swarm.on_reference_candle(ref)
        states.append(swarm.on_candle(candle))
    return time.perf_counter() - started, states


def main(argv: list[str] | None = None) -> None:
    """Print the research figures against the target."""
    import numpy as np

    from ravebear.research.fast_swarm import run_swarm_fast
    from ravebear.research.fast_swarm.consensus import consensus_series
    from ravebear.research.fast_swarm.regime import rule_regime_labels
    from ravebear.strategies.swarm.bots import BOTS
    from ravebear.strategies.swarm.swarm import SwarmConfig

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bars", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--reference", type=int, default=20_000, help="bars the pure Swarm runs (checked equal to the twin)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    frame, count = load_inputs(args.bars)
    data = arrays(frame)
    print(f"{len(frame):,} chained real 1-minute bars (Binance USD-M BTCUSDT, {count} segments), funding and ETH reference", flush=True)
    compile_started = time.perf_counter()
    small = [a[:3000] for a in data]
    run_swarm_fast(*small)  # JIT compile or cache load, not timed
    compile_s = time.perf_counter() - compile_started
    whole_s, result = timed(lambda: run_swarm_fast(*data), args.repeats)
    regime_s, _ = timed(lambda: rule_regime_labels(data[0], data[2], data[3], data[4], SwarmConfig().regime), args.repeats)
    names = tuple(BOTS)
    consensus_s, _ = timed(lambda: consensus_series(result.votes, SwarmConfig().consensus, names, [BOTS[n].group for n in names]), args.repeats)
    n = len(frame)
    pure_s, states = pure_states(frame, args.reference)
    k = args.reference
    same = (
        np.array_equal(result.votes[:k], np.array([s.votes for s in states]))
        and np.array_equal(result.regime[:k], [s.regime for s in states])
        and np.array_equal(result.direction[:k], [s.direction for s in states])
        and np.array_equal(result.score[:k], [s.score for s in states])
        and np.array_equal(result.confluence[:k], [s.confluence for s in states])
    )
    rate = n / whole_s
    voting = (result.votes != 0).sum(axis=0)
    print(f"  votes per bot over {n:,} bars: " + ", ".join(f"{name} {int(v):,}" for name, v in zip(result.names, voting, strict=True)))
    print("  regime shares: " + ", ".join(f"{name} {np.mean(result.regime == code):.1%}" for code, name in enumerate(("warmup", "trending", "ranging", "volatile"))))
    print()
    print(f"research, whole swarm (20 bots + regime + consensus) {rate:>12,.0f} bars/s   target >= {RESEARCH_TARGET:,}  {'ok' if rate >= RESEARCH_TARGET else 'MISSED'}  (median of {args.repeats})")
    print(f"  rule regime twin alone                             {n / regime_s:>12,.0f} bars/s")
    print(f"  consensus twin alone                               {n / consensus_s:>12,.0f} bars/s")
    print(f"  pure Swarm, one candle at a time ({k:,} bars)       {k / pure_s:>12,.0f} bars/s   reference; twin {'EQUAL to pure' if same else 'DIFFERENT FROM PURE'} on those bars")
    print(f"  numba compile or cache load (not counted)          {compile_s:>12.1f} s")
    print(f"total benchmark time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
