"""Compiled (numba) twins of the swarm's bots, regime and consensus, for research over 1-minute bars.

`run_swarm_fast` is the `Swarm` (strategies/swarm/swarm.py) over whole arrays: each bot's twin
(`volume.py`, `momentum.py`, `dynamics.py`; the order-flow bots read trades and the book and vote 0 over bars
alone), the rule regime's twin (`regime.py`) and the consensus twin (`consensus.py`). For the same bars, funding
and reference it gives what the pure Swarm gives fed one event at a time (tests/research/test_fast_swarm.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ravebear.strategies.swarm.bot import ORDERFLOW
from ravebear.strategies.swarm.bots import BOTS
from ravebear.strategies.swarm.swarm import SwarmConfig


def bot_twins() -> dict[str, Callable[..., np.ndarray]]:
    """Bot name -> its compiled twin, for every bot that has one (all but the order-flow bots)."""
    from ravebear.research.fast_swarm.dynamics import DYNAMICS_TWINS
    from ravebear.research.fast_swarm.momentum import MOMENTUM_TWINS
    from ravebear.research.fast_swarm.volume import VOLUME_TWINS

    return {**VOLUME_TWINS, **MOMENTUM_TWINS, **DYNAMICS_TWINS}


@dataclass(frozen=True)
class FastSwarm:
    """The swarm over n bars: votes [n, bots] in `names` order, direction/score/confluence/regime per bar."""

    names: tuple[str, ...]
    votes: np.ndarray
    direction: np.ndarray
    score: np.ndarray
    confluence: np.ndarray
    regime: np.ndarray


def run_swarm_fast(
    ts: np.ndarray, open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray,
    funding: np.ndarray | None = None, reference: np.ndarray | None = None, config: SwarmConfig | None = None,
    whales: Any = None,
) -> FastSwarm:
    """The swarm over 1-minute bars: `ts` int64 CLOSE time in ns, OHLCV float64; `funding` the last funding rate
    known at each bar's close (NaN before any), `reference` the reference instrument's close of the same minute
    (NaN when none); `whales` = (ts_ns, amount_usd, direction) arrays for WhaleWatch. Only the rule regime has a twin."""
    from ravebear.research.fast_swarm.consensus import consensus_series
    from ravebear.research.fast_swarm.regime import rule_regime_labels

    config = config or SwarmConfig()
    names = config.bots or tuple(BOTS)
    nan = np.full(len(close), np.nan)
    funding = nan if funding is None else np.ascontiguousarray(funding, np.float64)
    reference = nan if reference is None else np.ascontiguousarray(reference, np.float64)
    twins = bot_twins()
    votes = np.zeros((len(close), len(names)))
    for k, name in enumerate(names):
        cls = BOTS[name]
        if cls.group == ORDERFLOW:
            continue  # trades and book are not in bars
        if name not in twins:
            raise ValueError(f"bot {name} has no compiled twin in ravebear.research.fast_swarm")
        bot_config = cls.from_settings(config.settings.get(name, {})).config
        extra = {"whales": whales} if name == "WhaleWatch" else {}
        votes[:, k] = twins[name](ts, open_, high, low, close, volume, funding, reference, bot_config, **extra)
    direction, score, confluence = consensus_series(votes, config.consensus, names, [BOTS[name].group for name in names])
    regime = rule_regime_labels(ts, high, low, close, config.regime)
    return FastSwarm(tuple(names), votes, direction, score, confluence, regime)
