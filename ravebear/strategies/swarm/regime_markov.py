"""The statistical regime (`kind: markov`): a causal FILTERED Gaussian Markov-switching model of 1-minute returns.

Returns across a data gap are skipped. Every `markov_refit` returns the model (2 or 3 states, each a drift and a volatility, and their transition matrix) is
fitted by EM (Baum-Welch) on the trailing `markov_window` 1-minute log returns only, so no fit sees a bar after
the one it is fitted at. Between fits, each new return updates the Hamilton filter (the state probabilities given
returns up to now, never a smoother). States are ordered by volatility after each fit: the most volatile is
VOLATILE; a calmer state is TRENDING when |drift| / volatility >= `markov_trend_ratio`, else RANGING. A new label
is adopted when its states' filtered probability reaches `markov_enter` and the label in force has lasted
`markov_min_duration` bars. Definition in docs/SWARM.md (## Regime).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
from numba import njit

from ravebear.strategies.levels.timeframes import Candle
from ravebear.strategies.swarm.regime import RegimeConfig, check_regime_config
from ravebear.strategies.swarm.state import RANGING, TRENDING, VOLATILE, WARMUP
from ravebear.time_units import NS_PER_MINUTE

_SQRT_2PI = math.sqrt(2.0 * math.pi)
_MIN_SIGMA = 1e-3  # bps: floor of a state's volatility (a flat window must not give a zero variance)


@njit(cache=True)
def fit_markov(returns: np.ndarray, states: int, iterations: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """EM fit of a Gaussian Markov-switching model to `returns` (bps); returns (mu, sigma, transition, last filtered
    probabilities), states ordered by sigma. Deterministic: initialised from the returns' own quantiles."""
    n = returns.shape[0]
    ordered = np.sort(np.abs(returns))
    mu = np.zeros(states)
    sigma = np.empty(states)
    for k in range(states):
        sigma[k] = max(ordered[int((k + 1) * (n - 1) / (states + 1))] * 1.5, _MIN_SIGMA)
    trans = np.full((states, states), 0.02 / (states - 1))
    for k in range(states):
        trans[k, k] = 0.98
    alpha = np.empty((n, states))
    beta = np.empty((n, states))
    dens = np.empty((n, states))
    scale = np.empty(n)
    for _ in range(iterations):
        for t in range(n):
            for k in range(states):
                z = (returns[t] - mu[k]) / sigma[k]
                dens[t, k] = math.exp(-0.5 * z * z) / (sigma[k] * _SQRT_2PI) + 1e-300
        total = 0.0
        for k in range(states):
            alpha[0, k] = dens[0, k] / states
            total += alpha[0, k]
        scale[0] = total
        for k in range(states):
            alpha[0, k] /= total
        for t in range(1, n):
            total = 0.0
            for k in range(states):
                acc = 0.0
                for j in range(states):
                    acc += alpha[t - 1, j] * trans[j, k]
                alpha[t, k] = acc * dens[t, k]
                total += alpha[t, k]
            scale[t] = total
            for k in range(states):
                alpha[t, k] /= total
        for k in range(states):
            beta[n - 1, k] = 1.0
        for t in range(n - 2, -1, -1):
            for j in range(states):
                acc = 0.0
                for k in range(states):
                    acc += trans[j, k] * dens[t + 1, k] * beta[t + 1, k]
                beta[t, j] = acc / scale[t + 1]
        # M step
        xi = np.zeros((states, states))
        for t in range(n - 1):
            for j in range(states):
                for k in range(states):
                    xi[j, k] += alpha[t, j] * trans[j, k] * dens[t + 1, k] * beta[t + 1, k] / scale[t + 1]
        for j in range(states):
            row = 0.0
            for k in range(states):
                row += xi[j, k]
            if row > 0.0:
                for k in range(states):
                    trans[j, k] = max(xi[j, k] / row, 1e-6)
                row = 0.0
                for k in range(states):
                    row += trans[j, k]
                for k in range(states):
                    trans[j, k] /= row
        for k in range(states):
            weight = 0.0
            first = 0.0
            for t in range(n):
                gamma = alpha[t, k] * beta[t, k]
                weight += gamma
                first += gamma * returns[t]
            if weight > 1e-9:
                mu[k] = first / weight
                second = 0.0
                for t in range(n):
                    d = returns[t] - mu[k]
                    second += alpha[t, k] * beta[t, k] * d * d
                sigma[k] = max(math.sqrt(second / weight), _MIN_SIGMA)
    order = np.argsort(sigma)
    last = alpha[n - 1].copy()
    return mu[order].copy(), sigma[order].copy(), trans[order][:, order].copy(), last[order].copy()


class MarkovRegime:
    """The Markov-switching regime fed 1-minute candles one at a time; `on_candle` returns the label in force."""

    def __init__(self, config: RegimeConfig) -> None:
        check_regime_config(config)
        self.config = config
        self._returns: deque[float] = deque(maxlen=config.markov_window)
        self._prev_close = float("nan")
        self._prev_ts = -1
        self._bars = 0  # returns seen
        self._fitted = False
        self._mu: list[float] = []
        self._sigma: list[float] = []
        self._trans: list[list[float]] = []
        self._labels: list[int] = []
        self.probabilities: list[float] = []  # filtered state probabilities (states by rising volatility)
        self.label = WARMUP
        self._held = 0  # bars the label has been in force

    def on_candle(self, candle: Candle) -> int:
        """Take one 1-minute candle; return the regime label in force after it."""
        prev, self._prev_close = self._prev_close, candle.close
        contiguous = candle.ts - self._prev_ts == NS_PER_MINUTE
        self._prev_ts = candle.ts
        if not contiguous or prev <= 0.0 or candle.close <= 0.0:  # a return across a data gap is no 1-minute return
            return self.label
        value = math.log(candle.close / prev) * 1e4  # bps
        self._returns.append(value)
        self._bars += 1
        config = self.config
        if self._fitted:
            self._filter(value)
        if len(self._returns) == config.markov_window and (not self._fitted or self._bars % config.markov_refit == 0):
            self._fit()
        if not self._fitted:
            return self.label
        self._held += 1
        scores = {VOLATILE: 0.0, TRENDING: 0.0, RANGING: 0.0}
        for label, p in zip(self._labels, self.probabilities, strict=True):
            scores[label] += p
        best = max(scores, key=scores.__getitem__)
        if best != self.label and (self.label == WARMUP or (scores[best] >= config.markov_enter and self._held >= config.markov_min_duration)):
            self.label = best
            self._held = 0
        return self.label

    def _filter(self, value: float) -> None:
        """One Hamilton filter step: predict with the transition matrix, weigh by each state's density."""
        probabilities, trans, k = self.probabilities, self._trans, len(self._mu)
        posterior = []
        for s in range(k):
            prior = 0.0
            for j in range(k):
                prior += probabilities[j] * trans[j][s]
            z = (value - self._mu[s]) / self._sigma[s]
            posterior.append(prior * math.exp(-0.5 * z * z) / (self._sigma[s] * _SQRT_2PI) + 1e-300)
        total = sum(posterior)
        self.probabilities = [p / total for p in posterior]

    def _fit(self) -> None:
        config = self.config
        mu, sigma, trans, last = fit_markov(np.array(self._returns, dtype=np.float64), config.markov_states, config.markov_iterations)
        self._mu, self._sigma, self._trans = mu.tolist(), sigma.tolist(), trans.tolist()
        k = config.markov_states
        self._labels = [
            VOLATILE if s == k - 1 else TRENDING if abs(self._mu[s]) / self._sigma[s] >= config.markov_trend_ratio else RANGING for s in range(k)
        ]
        if not self._fitted:
            self.probabilities = last.tolist()  # the fit's own filtered probabilities at the window's last bar
        self._fitted = True
