"""The numbers of `ravebear analyze swarm`, from the swarm's votes over 1-minute candles.

The swarm (the twenty bots, the rule regime and the consensus with the run's settings; docs/SWARM.md) runs over the
series through its compiled twin, which equals the pure `Swarm` fed one candle at a time. Over candles alone the
five order-flow bots and WhaleWatch have no input and abstain; FundArb reads the instrument's settled funding rates
when the catalog holds them (`FundingRate`, e.g. from `ravebear altdata`), else it abstains; CorrBreak votes only with
a reference series (`--reference`).

* **Hit**: a vote cast at a candle's close is resolved at the first candle closing at least the horizon later; it
  is a hit when the price moved in the vote's direction by more than `min_move_bps` (the `HitRateTracker` of the
  nodes, fed here one candle at a time). Votes whose horizon runs past the data are left out. The **baseline** is
  the share of all candles (and of the candles in each regime) after which the price rose (fell) by more than
  `min_move_bps` over the horizon: a long (short) vote beats chance when its hit rate is above it.
* **Agreement matrix**: for each pair of bots, the candles both voted on and the share of those where they voted
  the same side (the consensus discounts pairs above 50 %).
* **Calibration**: consensus candles grouped by score bucket: resolved votes, hit rate and the mean forward move in
  the consensus direction (bps); Spearman's ρ between score and that move. A calibrated score has hit rate and move
  rising with the score; the summary calls it calibrated when ρ at the middle horizon is positive and significant
  (one-sided p < 0.05, normal approximation `z = ρ sqrt(n - 1)`) and the top filled bucket's hit rate is above the
  bottom one's.
* **Confluence events**: candles where at least `confluence` bots vote the consensus direction.
* **Regime shares**: the share of candles in each regime label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ravebear.research.fast_swarm import FastSwarm
from ravebear.strategies.swarm.hit_rates import CONSENSUS, HitRateTracker
from ravebear.strategies.swarm.state import REGIME_NAMES, SwarmState
from ravebear.strategies.swarm.swarm import SwarmConfig
from ravebear.time_units import NS_PER_MINUTE


@dataclass(frozen=True)
class SwarmAnalysisConfig:
    """What `analyze swarm` measures (`--set KEY=VALUE`; swarm settings under consensus./regime./settings./bots)."""

    horizons: tuple[int, ...] = (5, 15, 60)  # minutes after the vote
    min_move_bps: float = 5.0  # bps: a move in the vote's direction must exceed it to be a hit
    confluence: int = 5  # bots: confluence events have at least this many bots on the consensus side
    min_votes: int = 30  # resolved votes a bot needs to be ranked among the top bots
    score_buckets: tuple[float, ...] = (0.0, 20.0, 40.0, 60.0, 80.0, 100.0)  # consensus score bucket edges
    swarm: SwarmConfig = field(default_factory=SwarmConfig)


def forward_moves(ts_ns: np.ndarray, close: np.ndarray, horizon_min: int) -> np.ndarray:
    """Per candle: (close at the first candle closing >= horizon later - close) / close; NaN past the data."""
    later = np.searchsorted(ts_ns, ts_ns + horizon_min * NS_PER_MINUTE, side="left")
    out = np.full(len(close), np.nan)
    known = later < len(close)
    out[known] = (close[later[known]] - close[known]) / close[known]
    return out


CALIBRATION_P = 0.05  # one-sided significance a positive score-vs-move correlation needs to call the score calibrated


def _one_sided_p(rho: float | None, n: int) -> float:
    """P(rho this large or larger | no relation), normal approximation z = rho sqrt(n - 1); 1 when unknown."""
    if rho is None or n < 3:
        return 1.0
    return 0.5 * math.erfc(rho * math.sqrt(n - 1) / math.sqrt(2.0))


def _spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    if len(x) < 3 or np.all(x == x[0]) or np.all(y == y[0]):
        return None
    return float(pd.Series(x).rank().corr(pd.Series(y).rank()))


def swarm_results(ts_ns: np.ndarray, close: np.ndarray, fast: FastSwarm, config: SwarmAnalysisConfig) -> dict[str, Any]:
    """Every figure of the analysis as plain JSON types."""
    names, votes, n = fast.names, fast.votes, len(close)
    tracker = HitRateTracker(names, config.horizons, config.min_move_bps)
    rows = votes.tolist()
    for i in range(n):
        tracker.on_state(SwarmState(int(ts_ns[i]), tuple(rows[i]), int(fast.direction[i]), float(fast.score[i]), int(fast.confluence[i]), int(fast.regime[i])), float(close[i]))
    threshold = config.min_move_bps / 1e4
    moves = {h: forward_moves(ts_ns, close, h) for h in config.horizons}
    baseline = {
        str(h): {"up": float(np.mean(m[~np.isnan(m)] > threshold)), "down": float(np.mean(m[~np.isnan(m)] < -threshold)), "candles": int(np.sum(~np.isnan(m)))}
        for h, m in moves.items()
    }
    regime_at = fast.regime
    baseline_by_regime = {
        str(h): {
            REGIME_NAMES[code]: {"up": float(np.mean(m[sel] > threshold)), "down": float(np.mean(m[sel] < -threshold)), "candles": int(sel.sum())}
            for code in REGIME_NAMES
            if (sel := (regime_at == code) & ~np.isnan(m)).any()
        }
        for h, m in moves.items()
    }
    hit_rates = [
        {"name": r.name, "horizon": r.horizon_min, "regime": r.regime or "all", "count": r.count, "hits": r.hits, "rate": r.rate if r.count else None}
        for r in tracker.rates()
    ]
    voted = votes != 0.0
    sides = np.sign(votes)
    joint = (voted.T.astype(np.int64) @ voted.astype(np.int64))
    same = ((sides > 0).T.astype(np.int64) @ (sides > 0).astype(np.int64)) + ((sides < 0).T.astype(np.int64) @ (sides < 0).astype(np.int64))
    agreement = np.where(joint > 0, same / np.maximum(joint, 1), np.nan)
    direction = fast.direction.astype(np.int64)
    on = direction != 0
    edges = np.asarray(config.score_buckets, dtype=np.float64)
    calibration, events = [], []
    for h in config.horizons:
        signed = moves[h] * direction
        resolved = on & ~np.isnan(signed)
        rho = _spearman(fast.score[resolved], signed[resolved] * 1e4)
        buckets = []
        for k in range(len(edges) - 1):
            last = k == len(edges) - 2
            inside = resolved & (fast.score >= edges[k]) & ((fast.score <= edges[k + 1]) if last else (fast.score < edges[k + 1]))
            count = int(inside.sum())
            buckets.append({
                "low": float(edges[k]), "high": float(edges[k + 1]), "count": count,
                "hit_rate": float(np.mean(signed[inside] > threshold)) if count else None,
                "mean_move_bps": float(np.mean(signed[inside]) * 1e4) if count else None,
            })  # fmt: skip
        calibration.append({"horizon": h, "count": int(resolved.sum()), "spearman": rho, "buckets": buckets})
        strong = resolved & (fast.confluence >= config.confluence)
        events.append({
            "horizon": h, "count": int(strong.sum()), "hits": int(np.sum(signed[strong] > threshold)),
            "hit_rate": float(np.mean(signed[strong] > threshold)) if strong.any() else None,
            "mean_move_bps": float(np.mean(signed[strong]) * 1e4) if strong.any() else None,
        })  # fmt: skip
    shares = {REGIME_NAMES[code]: float(np.mean(fast.regime == code)) for code in REGIME_NAMES}
    middle = config.horizons[len(config.horizons) // 2]
    ranked = [r for r in hit_rates if r["regime"] == "all" and r["horizon"] == middle and r["name"] != CONSENSUS and r["count"] >= config.min_votes]
    ranked.sort(key=lambda r: (-r["rate"], -r["count"], r["name"]))
    consensus_mid = next(r for r in hit_rates if r["name"] == CONSENSUS and r["horizon"] == middle and r["regime"] == "all")
    calib_mid = next(c for c in calibration if c["horizon"] == middle)
    filled = [b for b in calib_mid["buckets"] if b["count"]]
    rho_mid = calib_mid["spearman"]
    p_value = _one_sided_p(rho_mid, calib_mid["count"])
    calibrated = bool(rho_mid is not None and rho_mid > 0 and p_value < CALIBRATION_P and len(filled) >= 2 and filled[-1]["hit_rate"] > filled[0]["hit_rate"])
    return {
        "bots": list(names),
        "votes": {name: int(v) for name, v in zip(names, voted.sum(axis=0), strict=True)},
        "consensus_candles": int(on.sum()),
        "horizons": list(config.horizons),
        "min_move_bps": config.min_move_bps,
        "confluence_min": config.confluence,
        "baseline": baseline,
        "baseline_by_regime": baseline_by_regime,
        "hit_rates": hit_rates,
        "agreement": {"joint": joint.tolist(), "same_side": [[None if np.isnan(x) else float(x) for x in row] for row in agreement]},
        "calibration": calibration,
        "confluence_events": events,
        "confluence_counts": {str(k): int(np.sum(fast.confluence == k)) for k in range(1, int(fast.confluence.max(initial=0)) + 1)},
        "regime_shares": shares,
        "summary": {
            "horizon": middle,
            "top_bots": [{"name": r["name"], "count": r["count"], "rate": r["rate"]} for r in ranked[:5]],
            "consensus": {"count": consensus_mid["count"], "rate": consensus_mid["rate"]},
            "confluence": next(e for e in events if e["horizon"] == middle),
            "calibrated": calibrated,
            "spearman": rho_mid,
            "p_value": None if rho_mid is None else p_value,
        },
    }
