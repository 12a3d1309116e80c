"""Which market-state features go with level-touch outcomes.

Every touch is one row: the market state at the touch (features) and what followed (outcomes). For each
feature and outcome, within all touches and within each split group (session; regime when the ledger has
one):

- **Spearman's ρ** between the feature and the outcome over the touches that have both (rank correlation:
  robust to the heavy tails of funding, flows and markouts, and to a monotone but non-linear link). For
  the binary outcome *held* (1 held, 0 broken; undecided touches left out) ρ is the rank-biserial form.
- **A bootstrap confidence interval** of ρ: touches resampled with replacement (`bootstrap` times, a fixed
  seed), the percentile interval at `confidence`.
- **A p-value** (scipy's spearmanr, two-sided) and the **Benjamini-Hochberg q-value** over *every* test of
  the run (all features x outcomes x groups): a finding is reported as significant only when q <= `fdr`.
  Many features times many outcomes times groups would otherwise produce "patterns" by chance.
- For *held*: the held share in the feature's bottom and top third, and their difference.

A cell with fewer than `min_events` touches is shown with its n and no statistics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ravebear.ranges import Range, check_ranges

# the trader's per-event list: price context, derivatives, stablecoins, whales, order flow, the level itself
DEFAULT_FEATURES = (
    "open_interest_change_pct", "funding_rate", "long_short_ratio", "usdt_net_flow_usd", "usdt_dominance_pct", "btc_dominance_pct", "whale_flow_usd",
    "obi", "delta", "absorption_tier", "whale_tag", "score", "age_min",
)
DEFAULT_OUTCOMES = ("held", "markout_1m_bps", "markout_5m_bps", "markout_15m_bps", "markout_60m_bps")


@dataclass(frozen=True)
class CorrelationConfig:
    """Features, outcomes and the statistics' settings."""

    features: tuple[str, ...] = DEFAULT_FEATURES
    outcomes: tuple[str, ...] = DEFAULT_OUTCOMES
    split_by: tuple[str, ...] = ("session", "regime")  # columns whose groups are analysed on their own too
    bootstrap: int = 1000  # resamples (each re-ranks both sides: exact, and ~0.5 s a cell at 5k touches)
    confidence: float = 0.95  # of the bootstrap interval
    fdr: float = 0.10  # Benjamini-Hochberg false discovery rate
    min_events: int = 30  # touches a cell needs for statistics
    seed: int = 7

    def __post_init__(self) -> None:
        check_ranges(self, {"bootstrap": Range(100, 100_000, "resamples"), "confidence": Range(0.5, 1, "", high_open=True),
                            "fdr": Range(0, 1, "", low_open=True, high_open=True), "min_events": Range(5, 1_000_000, "touches")})


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's ρ (average ranks for ties); NaN when either side is constant."""
    from scipy.stats import rankdata

    rx, ry = rankdata(x), rankdata(y)
    sx, sy = rx.std(), ry.std()
    if sx == 0 or sy == 0:
        return float("nan")
    return float(((rx - rx.mean()) * (ry - ry.mean())).mean() / (sx * sy))


def bootstrap_interval(x: np.ndarray, y: np.ndarray, resamples: int, confidence: float, rng: np.random.Generator) -> tuple[float, float]:
    """Percentile interval of ρ over `resamples` resamples of the pairs (constant resamples left out)."""
    from scipy.stats import rankdata

    n = len(x)
    index = rng.integers(0, n, size=(resamples, n))
    rx, ry = rankdata(x[index], axis=1), rankdata(y[index], axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    denom = np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (rx * ry).sum(axis=1) / denom
    rho = rho[np.isfinite(rho)]
    if not len(rho):
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(rho, [tail, 100 - tail])
    return float(low), float(high)


def _cell(frame: pd.DataFrame, feature: str, outcome: str, config: CorrelationConfig, rng: np.random.Generator) -> dict:
    pair = frame[[feature, outcome]].apply(pd.to_numeric, errors="coerce").dropna()
    x, y = pair[feature].to_numpy(float), pair[outcome].to_numpy(float)
    cell: dict = {"feature": feature, "outcome": outcome, "n": len(pair), "rho": None, "low": None, "high": None, "p": None}
    if len(pair) < config.min_events or np.ptp(x) == 0 or np.ptp(y) == 0:
        return cell
    from scipy.stats import spearmanr

    rho, p = spearmanr(x, y)
    low, high = bootstrap_interval(x, y, config.bootstrap, config.confidence, rng)
    cell.update(rho=float(rho), p=float(p), low=low, high=high)
    if outcome == "held":
        thirds = np.quantile(x, [1 / 3, 2 / 3])
        bottom, top = y[x <= thirds[0]], y[x >= thirds[1]]
        if len(bottom) and len(top):
            cell.update(held_bottom=float(bottom.mean()), held_top=float(top.mean()), held_diff=float(top.mean() - bottom.mean()))
    return cell


def correlations(touches: pd.DataFrame, config: CorrelationConfig | None = None) -> dict:
    """Every (group, feature, outcome) cell, with BH q-values over all cells that have a p-value."""
    from scipy.stats import false_discovery_control

    config = config or CorrelationConfig()
    rng = np.random.default_rng(config.seed)
    features = [f for f in config.features if f in touches.columns and touches[f].notna().any()]
    outcomes = [o for o in config.outcomes if o in touches.columns and touches[o].notna().any()]
    groups: list[tuple[str, str, pd.DataFrame]] = [("all", "all", touches)]
    for column in config.split_by:
        if column in touches.columns and touches[column].notna().any():
            groups += [(column, str(value), rows) for value, rows in touches.groupby(column, sort=True)]
    cells = [{"split": split, "group": group, **_cell(rows, f, o, config, rng)} for split, group, rows in groups for f in features for o in outcomes]
    tested = [c for c in cells if c["p"] is not None]
    if tested:
        q = false_discovery_control([c["p"] for c in tested], method="bh")
        for cell, value in zip(tested, q):
            cell["q"] = float(value)
            cell["significant"] = bool(value <= config.fdr)
    return {
        "touches": len(touches), "features": features, "outcomes": outcomes,
        "missing_features": [f for f in config.features if f not in features],
        "tests": len(tested), "significant": sum(c.get("significant", False) for c in cells), "fdr": config.fdr,
        "confidence": config.confidence, "bootstrap": config.bootstrap, "min_events": config.min_events, "cells": cells,
        "groups": [{"split": s, "group": g, "touches": len(rows)} for s, g, rows in groups],
    }
