"""Overfitting checks: the deflated Sharpe ratio (Bailey & López de Prado 2014), the probability of backtest
overfitting by combinatorially symmetric cross-validation (Bailey, Borwein, López de Prado & Zhu 2017), and the
choice of a stable plateau over the single best point. Pure numpy/scipy; definitions in docs/OPTIMIZE.md."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

EULER_GAMMA = 0.5772156649015329


def expected_max_sharpe(trials: int, sharpe_variance: float) -> float:
    """E[max SR] of `trials` independent strategies with true SR 0 and SR variance `sharpe_variance` (the DSR's SR0)."""
    if trials < 2:
        return 0.0
    norm = stats.norm
    return math.sqrt(sharpe_variance) * ((1 - EULER_GAMMA) * norm.ppf(1 - 1 / trials) + EULER_GAMMA * norm.ppf(1 - 1 / (trials * math.e)))


def probabilistic_sharpe(sharpe: float, benchmark: float, observations: int, skew: float, kurtosis: float) -> float:
    """PSR: P(true SR > benchmark) for an observed per-period SR over `observations` returns (kurtosis: not excess)."""
    denominator = 1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe**2
    if observations < 2 or denominator <= 0:
        return float("nan")
    return float(stats.norm.cdf((sharpe - benchmark) * math.sqrt(observations - 1) / math.sqrt(denominator)))


@dataclass(frozen=True)
class Deflated:
    """The deflated Sharpe ratio and what it was computed from (per-period SRs, not annualised)."""

    dsr: float
    sharpe: float
    sr0: float
    trials: int
    sharpe_variance: float
    observations: int
    skew: float
    kurtosis: float


def deflated_sharpe(returns: Sequence[float], trial_sharpes: Sequence[float], trials: int | None = None) -> Deflated:
    """DSR of the chosen trial's per-period `returns`, deflated by the number of trials tried (`trials`, default: as
    many as `trial_sharpes`) and the variance of the trials' per-period SRs."""
    values = np.asarray(returns, dtype=float)
    sharpes = np.asarray([s for s in trial_sharpes if np.isfinite(s)], dtype=float)
    sd = values.std(ddof=1) if len(values) > 1 else 0.0
    sharpe = float(values.mean() / sd) if sd > 0 else 0.0
    skew = float(stats.skew(values)) if sd > 0 else 0.0
    kurtosis = float(stats.kurtosis(values, fisher=False)) if sd > 0 else 3.0
    variance = float(sharpes.var(ddof=1)) if len(sharpes) > 1 else 0.0
    count = trials if trials is not None else len(sharpes)
    sr0 = expected_max_sharpe(count, variance)
    return Deflated(probabilistic_sharpe(sharpe, sr0, len(values), skew, kurtosis), sharpe, sr0, count, variance, len(values), skew, kurtosis)


def per_period_sharpe(returns: np.ndarray) -> np.ndarray:
    """Mean over standard deviation of each column (0 where flat)."""
    sd = returns.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sd > 0, returns.mean(axis=0) / np.where(sd > 0, sd, 1), 0.0)


@dataclass(frozen=True)
class Pbo:
    """PBO and its CSCV parts: each split's logit of the in-sample best's out-of-sample relative rank."""

    pbo: float
    logits: list[float]
    splits: int
    strategies: int
    groups: int


def pbo_cscv(returns: np.ndarray, groups: int = 8) -> Pbo:
    """PBO of a T x N matrix of per-period returns (N trials on a common time axis) by CSCV with `groups` blocks.

    For each way of choosing half the blocks as in-sample: the trial with the best in-sample SR is ranked among all
    trials out-of-sample; w = rank / (N + 1); logit = ln(w / (1 - w)). PBO = the share of splits with logit <= 0
    (the in-sample best falls at or below the out-of-sample median)."""
    matrix = np.asarray(returns, dtype=float)
    rows, strategies = matrix.shape
    if strategies < 2 or rows < groups * 2:
        raise ValueError(f"PBO needs at least 2 trials and {groups * 2} periods, got {strategies} trials and {rows} periods")
    blocks = np.array_split(np.arange(rows), groups)
    logits = []
    for chosen in itertools.combinations(range(groups), groups // 2):
        inside = np.concatenate([blocks[i] for i in chosen])
        outside = np.concatenate([blocks[i] for i in range(groups) if i not in chosen])
        best = int(np.argmax(per_period_sharpe(matrix[inside])))
        oos = per_period_sharpe(matrix[outside])
        rank = stats.rankdata(oos)[best]  # 1 = worst .. N = best; ties share the average rank
        relative = rank / (strategies + 1)
        logits.append(math.log(relative / (1 - relative)))
    logit_array = np.asarray(logits)
    return Pbo(float((logit_array <= 0).mean()), logits, len(logits), strategies, groups)


def plateau_scores(points: np.ndarray, values: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """For each trial (a row of params scaled to 0..1): the median objective of the trials within `radius` on every
    param (itself included) and how many those are."""
    points = np.asarray(points, dtype=float)
    values = np.asarray(values, dtype=float)
    medians, sizes = np.empty(len(values)), np.empty(len(values), dtype=int)
    for index, point in enumerate(points):
        near = np.all(np.abs(points - point) <= radius + 1e-12, axis=1)
        medians[index] = float(np.median(values[near]))
        sizes[index] = int(near.sum())
    return medians, sizes


def plateau_choice(points: np.ndarray, values: np.ndarray, radius: float) -> int:
    """The trial with the best neighbourhood median (ties: the better own value)."""
    medians, _ = plateau_scores(points, values, radius)
    return int(np.lexsort((np.asarray(values, dtype=float), medians))[-1])
