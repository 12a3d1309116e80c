"""The order-flow analyses over one instrument's trades and book, each fed one event at a time to the pure detectors.

Definitions (also in docs/FINDINGS.md, "Order flow"):
* **Absorption tiers**: `AbsorptionDetector` buckets (default 10 s); a bucket closing before the
  detector's lookback is full (the first `lookback_buckets` buckets of the data: `warm_up`) is counted as warm-up, not as tier 0.
* **Levels** come from the level engine (`replay_levels`, the `levels` settings: the run file's defaults) on 1-minute OHLCV bars
  built from the trades (receive time). A level **touch** is the first trade after the level's candle
  closed whose price reaches the level (support: price <= its high; resistance: price >= its low).
  **Broken**: within `hold_minutes` after the touch a trade goes beyond the far edge by more than
  `break_bps` (support: < low x (1 - break_bps/1e4); resistance: > high x (1 + break_bps/1e4)).
  **Held**: not broken and the data runs at least `hold_minutes` past the touch; else **open** (too little data).
  Tier at touch: the tier of the absorption bucket holding the touch trade (it closes <= bucket_s later).
  OBI at touch: plain OBI (top `book.levels` levels) of the book after every update received up to
  the touch trade, signed toward the level (bids for a support, asks for a resistance), in bands
  against (< -obi_band), neutral, for (> obi_band).
* **Level events with their order-flow context** (`context.py`): every CREATED and TOUCHED event of that level
  engine with OBI, delta, absorption tier at the level, whale tag and zone-defense state read from the trades and
  book received before it (`LevelContextTracker`, the OrderFlowActor's `enrich_levels`; docs/ORDERFLOW.md).
* **CVD divergence**: spot and perp trades fed in one receive-time order (spot first on ties) to
  `SpotPerpDivergence`; an episode starts when its divergence turns from 0 to +1/-1 (or flips sign).
  Outcome over N minutes: the perp's last trade price at start + N minutes vs its last price at the
  start, in bps, signed in the spot side's direction (> 0: price followed spot); only episodes the data covers N minutes past.
* **Whale follow-through**: `WhaleDetector` trades (notional >= min_notional); the move N minutes on is
  the last trade price at or before ts + N minutes vs the whale's price, bps, signed by the whale's
  side (> 0: price went the whale's way); only whales the data covers N minutes past.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from statistics import mean, median
from typing import Any

from ravebear.research.orderflow.load import Orderflow
from ravebear.strategies.levels.engine import LevelEngineConfig
from ravebear.strategies.microstructure.absorption import AbsorptionConfig, AbsorptionDetector
from ravebear.strategies.microstructure.book_features import BookFeatureConfig, book_features
from ravebear.strategies.microstructure.cvd import DivergenceConfig, SpotPerpDivergence
from ravebear.strategies.microstructure.level_context import LevelContextConfig
from ravebear.strategies.microstructure.types import Book, Trade
from ravebear.strategies.microstructure.whales import WhaleConfig, WhaleDetector
from ravebear.time_units import NS_PER_MINUTE, NS_PER_SECOND


@dataclass(frozen=True)
class OrderflowAnalysisConfig:
    """Thresholds of `ravebear analyze orderflow` (change with --set SECTION.FIELD=VALUE)."""

    absorption: AbsorptionConfig = field(default_factory=AbsorptionConfig)
    whales: WhaleConfig = field(default_factory=WhaleConfig)
    divergence: DivergenceConfig = field(default_factory=DivergenceConfig)
    book: BookFeatureConfig = field(default_factory=BookFeatureConfig)
    levels: LevelEngineConfig = field(default_factory=LevelEngineConfig)  # the level engine on the 1-minute bars
    context: LevelContextConfig = field(default_factory=LevelContextConfig)  # each level event's order-flow context (docs/ORDERFLOW.md)
    horizons_min: tuple[int, ...] = (1, 5)  # forward-move horizons of whales and divergences, minutes
    hold_minutes: int = 5  # a touched level is held when not broken within this many minutes
    break_bps: float = 5.0  # a trade this far beyond a level's far edge breaks it, bps
    obi_band: float = 0.2  # |OBI toward the level| above this is "for" / "against", else "neutral"


def _stats(moves: list[float]) -> dict[str, Any]:
    if not moves:
        return {"n": 0, "mean_bps": None, "median_bps": None, "share_positive": None}
    return {"n": len(moves), "mean_bps": round(mean(moves), 3), "median_bps": round(median(moves), 3),
            "share_positive": round(sum(m > 0 for m in moves) / len(moves), 4)}  # fmt: skip


def price_at(times: list[int], prices: list[float], ts_ns: int) -> float | None:
    """The last trade price at or before ts_ns (None before the first trade)."""
    i = bisect.bisect_right(times, ts_ns) - 1
    return prices[i] if i >= 0 else None


def absorption(trades: list[Trade], config: AbsorptionConfig) -> tuple[dict[str, Any], dict[int, int]]:
    """Tier counts (after warm-up) by aggressor side, and bucket start ns -> tier of every closed bucket."""
    detector = AbsorptionDetector(config)
    buckets = [b for b in map(detector.update, trades) if b is not None]
    last = detector.flush()
    if last is not None:
        buckets.append(last)
    counted = [b for b in buckets if not b.warm_up]
    tiers = {str(k): {"buy": 0, "sell": 0, "all": 0} for k in range(4)}
    for b in counted:
        row = tiers[str(b.tier)]
        row["all"] += 1
        if b.side:
            row["buy" if b.side > 0 else "sell"] += 1
    result = {"buckets": len(buckets), "warm_up_buckets": len(buckets) - len(counted), "counted_buckets": len(counted), "tiers": tiers,
              "bucket_s": config.bucket_s, "lookback_buckets": config.lookback_buckets}  # fmt: skip
    return result, {b.start_ns: (-1 if b.warm_up else b.tier) for b in buckets}


def minute_bars(trades: list[Trade]) -> Any:
    """1-minute OHLCV (`ts` open ms) from the trades' receive times, minutes without trades left out."""
    import pandas as pd

    frame = pd.DataFrame({"ts_ns": [t.ts_ns for t in trades], "price": [t.price for t in trades], "size": [t.size for t in trades]})
    frame["ts"] = frame["ts_ns"] // NS_PER_MINUTE * 60_000
    bars = frame.groupby("ts").agg(open=("price", "first"), high=("price", "max"), low=("price", "min"), close=("price", "last"), volume=("size", "sum"))
    return bars.reset_index()


def levels(flow: Orderflow, tiers_at: dict[int, int], config: OrderflowAnalysisConfig) -> dict[str, Any]:
    """Level touches with their outcome, tier and OBI at touch, and survival tables by tier and by OBI band."""
    import numpy as np

    from ravebear.strategies.levels.model import EventKind, LevelSide
    from ravebear.strategies.levels.replay import replay_levels

    trades = flow.trades
    bars = minute_bars(trades)
    created = [event.level for _, event in replay_levels(bars, config.levels) if event.kind is EventKind.CREATED]
    times = [t.ts_ns for t in trades]
    prices = np.array([t.price for t in trades])
    last_ns = times[-1]
    bucket_ns = int(config.absorption.bucket_s * NS_PER_SECOND)
    touches: list[dict[str, Any]] = []
    for level in created:
        support = level.side is not LevelSide.RESISTANCE
        start = bisect.bisect_right(times, level.created_ts)
        reached = np.flatnonzero(prices[start:] <= level.high) if support else np.flatnonzero(prices[start:] >= level.low)
        if not len(reached):
            continue
        touch = start + int(reached[0])
        ts = trades[touch].ts_ns
        limit = level.low * (1 - config.break_bps * 1e-4) if support else level.high * (1 + config.break_bps * 1e-4)
        horizon = ts + config.hold_minutes * NS_PER_MINUTE
        window = prices[touch : bisect.bisect_right(times, horizon)]
        broken = bool((window < limit).any() if support else (window > limit).any())
        outcome = "broken" if broken else "held" if last_ns >= horizon else "open"
        touches.append({"kind": level.kind.value, "side": level.side.value, "timeframe": level.timeframe, "low": level.low, "high": level.high,
                        "created_ns": level.created_ts, "touch_ns": ts, "touch_price": trades[touch].price, "outcome": outcome,
                        "tier": tiers_at.get(ts // bucket_ns * bucket_ns, -1), "obi": None, "sign": 1 if support else -1})  # fmt: skip
    _obi_at(flow, touches, config)
    by_tier: dict[str, dict[str, int]] = {}
    by_obi: dict[str, dict[str, int]] = {}
    for t in touches:
        tier = "warm-up" if t["tier"] < 0 else str(t["tier"])
        band = "no book" if t["obi_toward"] is None else "for" if t["obi_toward"] > config.obi_band else "against" if t["obi_toward"] < -config.obi_band else "neutral"
        t["obi_band"] = band
        for table, key in ((by_tier, tier), (by_obi, band)):
            row = table.setdefault(key, {"held": 0, "broken": 0, "open": 0})
            row[t["outcome"]] += 1
    step_ns = max(5 * NS_PER_SECOND, (last_ns - times[0]) // 2000)  # at most ~2,000 points for the report's chart
    path: dict[int, float] = {}
    for t in trades:
        path[t.ts_ns // step_ns * step_ns] = t.price  # last price per step
    minutes = bars["ts"].to_numpy() // 60_000
    steps = minutes[1:] - minutes[:-1]
    return {"bars_1m": len(bars), "gaps": int((steps > 1).sum()), "missing_minutes": int((steps - 1).sum()), "levels_created": len(created), "path": {"ts_ns": list(path), "price": list(path.values())}, "touched": len(touches), "touches": touches,
            "by_tier": by_tier, "by_obi": by_obi, "hold_minutes": config.hold_minutes, "break_bps": config.break_bps, "obi_band": config.obi_band}  # fmt: skip


def _obi_at(flow: Orderflow, touches: list[dict[str, Any]], config: OrderflowAnalysisConfig) -> None:
    """Set each touch's OBI (and OBI toward the level) from the book as received up to the touch trade."""
    book, updates, i = Book(), flow.book, 0
    for touch in sorted(touches, key=lambda t: t["touch_ns"]):
        while i < len(updates) and (updates[i] is None or updates[i].ts_ns <= touch["touch_ns"]):
            if updates[i] is None:
                book.clear()
            else:
                book.apply(updates[i])
            i += 1
        features = book_features(book, config.book) if updates else None
        touch["obi"] = None if features is None else round(features.obi, 4)
        touch["obi_toward"] = None if features is None else round(features.obi * touch["sign"], 4)


def whales(trades: list[Trade], config: OrderflowAnalysisConfig) -> dict[str, Any]:
    """Whale counts by side and their signed forward moves per horizon."""
    detector = WhaleDetector(config.whales)
    found = [w for w in map(detector.update, trades) if w is not None]
    times, prices = [t.ts_ns for t in trades], [t.price for t in trades]
    last_ns = times[-1]
    horizons: dict[str, Any] = {}
    for minutes in config.horizons_min:
        by_side: dict[str, list[float]] = {"buy": [], "sell": []}
        for w in found:
            target = w.trade.ts_ns + minutes * NS_PER_MINUTE
            if target > last_ns:
                continue
            later = price_at(times, prices, target)
            by_side["buy" if w.trade.aggressor > 0 else "sell"].append((later - w.trade.price) / w.trade.price * 1e4 * w.trade.aggressor)
        horizons[str(minutes)] = {side: _stats(moves) for side, moves in {**by_side, "all": by_side["buy"] + by_side["sell"]}.items()}
    return {"min_notional": config.whales.min_notional, "count": {"buy": sum(w.trade.aggressor > 0 for w in found), "sell": sum(w.trade.aggressor < 0 for w in found)},
            "clustered": sum(w.cluster for w in found), "notional": round(sum(w.notional for w in found), 2),
            "horizons": horizons, "trades": [{"ts_ns": w.trade.ts_ns, "price": w.trade.price, "side": w.trade.aggressor, "notional": round(w.notional, 2)} for w in found]}  # fmt: skip


def divergence(spot: list[Trade], perp: list[Trade], config: OrderflowAnalysisConfig) -> dict[str, Any]:
    """Divergence episodes and the perp's signed move after them per horizon."""
    tracker = SpotPerpDivergence(config.divergence)
    merged = sorted([(t.ts_ns, 0, t) for t in spot] + [(t.ts_ns, 1, t) for t in perp], key=lambda item: (item[0], item[1]))
    times, prices = [t.ts_ns for t in perp], [t.price for t in perp]
    episodes: list[dict[str, Any]] = []
    state = 0
    for ts, is_perp, trade in merged:
        d = tracker.update_perp(trade) if is_perp else tracker.update_spot(trade)
        if d.divergence and d.divergence != state:
            episodes.append({"ts_ns": ts, "direction": d.divergence, "spot_delta_quote": round(d.spot_delta_quote, 2), "perp_delta_quote": round(d.perp_delta_quote, 2)})
        state = d.divergence
    overlap = (max(spot[0].ts_ns, perp[0].ts_ns), min(spot[-1].ts_ns, perp[-1].ts_ns))
    horizons: dict[str, Any] = {}
    for minutes in config.horizons_min:
        by_dir: dict[str, list[float]] = {"spot buying": [], "spot selling": []}
        for e in episodes:
            target = e["ts_ns"] + minutes * NS_PER_MINUTE
            start = price_at(times, prices, e["ts_ns"])
            if start is None or target > times[-1]:
                continue
            move = (price_at(times, prices, target) - start) / start * 1e4 * e["direction"]
            by_dir["spot buying" if e["direction"] > 0 else "spot selling"].append(move)
        horizons[str(minutes)] = {k: _stats(v) for k, v in {**by_dir, "all": by_dir["spot buying"] + by_dir["spot selling"]}.items()}
    return {"episodes": episodes, "count": len(episodes), "horizons": horizons, "overlap_ns": list(overlap),
            "window_s": config.divergence.window_s, "min_quote": config.divergence.min_quote}  # fmt: skip
