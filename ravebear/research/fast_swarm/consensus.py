"""Compiled (numba) twin of the consensus (`ravebear.strategies.swarm.consensus.Consensus`), transcribed line for
line (same operand order), so its results equal the pure consensus fed one candle at a time;
`tests/research/test_fast_swarm.py` proves it on real data. Change both together."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

from ravebear.strategies.swarm.consensus import Consensus, ConsensusConfig


@njit(cache=True)
def _consensus(votes: np.ndarray, base: np.ndarray, min_voters: int, decorrelate: bool, alpha: float, chance: float, scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_bars, n_bots = votes.shape
    direction = np.zeros(n_bars, np.int8)
    score = np.zeros(n_bars)
    confluence = np.zeros(n_bars, np.int16)
    agree = np.full((n_bots, n_bots), chance)
    excess = np.zeros((n_bots, n_bots))
    voters = np.empty(n_bots, np.int64)
    ups = np.empty(n_bots, np.bool_)
    for i in range(n_bars):
        n = 0
        for a in range(n_bots):
            if votes[i, a] != 0.0:
                voters[n] = a
                n += 1
        if n >= min_voters and n > 0:
            net = 0.0
            total = 0.0
            for k in range(n):
                a = voters[k]
                if decorrelate and n > 1:
                    acc = 0.0
                    for m in range(n):
                        acc += excess[a, voters[m]]
                    w = base[a] / (1.0 + acc)
                else:
                    w = base[a]
                net += w * votes[i, a]
                total += w
            if total > 0.0 and net != 0.0:
                d = 1 if net > 0.0 else -1
                direction[i] = d
                s = 100.0 * abs(net) / total
                score[i] = min(s, 100.0)
                c = 0
                for k in range(n):
                    if (votes[i, voters[k]] > 0.0) == (d > 0):
                        c += 1
                confluence[i] = c
        if n > 1:
            for k in range(n):
                ups[k] = votes[i, voters[k]] > 0.0
            for k in range(n - 1):
                a = voters[k]
                for m in range(k + 1, n):
                    b = voters[m]
                    value = agree[a, b]
                    value += alpha * ((1.0 if ups[m] == ups[k] else 0.0) - value)
                    agree[a, b] = value
                    agree[b, a] = value
                    over = (value - chance) * scale if value > chance else 0.0
                    excess[a, b] = over
                    excess[b, a] = over
    return direction, score, confluence


def consensus_series(votes: np.ndarray, config: ConsensusConfig, names: Sequence[str], groups: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(direction int8, score float64, confluence int16) per bar from votes [n_bars, n_bots] in `names` order."""
    pure = Consensus(config, names, groups)  # checks the config and derives the weights and constants once
    return _consensus(
        np.ascontiguousarray(votes, np.float64), np.array(pure._base, np.float64), config.min_voters, config.decorrelate, pure._alpha,
        pure._chance, pure._scale,
    )
