"""Hit rates on real candles: per bot, per (bot, regime) and for the consensus, against a pandas computation, and
only votes whose horizon has passed counted at any moment."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ravebear.strategies.swarm.consensus import Consensus, ConsensusConfig
from ravebear.strategies.swarm.hit_rates import CONSENSUS, HitRateTracker
from ravebear.strategies.swarm.regime import RegimeConfig, RuleRegime
from ravebear.strategies.swarm.state import REGIME_NAMES, SwarmState
from tests.strategies.swarm.swarm_data import candles, momentum_votes

NAMES = ("m1", "m5", "m15", "m60")
HORIZONS = (5, 15, 60)
MIN_MOVE_BPS = 3.0


@pytest.fixture(scope="module")
def run(okx_btc_raw: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, list[SwarmState], HitRateTracker, dict]:
    frame = okx_btc_raw.iloc[:12000].reset_index(drop=True)
    votes = momentum_votes(frame, (1, 5, 15, 60), 10.0)
    regime = RuleRegime(RegimeConfig(vol_min_history=24))
    consensus = Consensus(ConsensusConfig(), NAMES, ["momentum"] * len(NAMES))
    tracker = HitRateTracker(NAMES, HORIZONS, MIN_MOVE_BPS)
    states, snapshot = [], {}
    for i, candle in enumerate(candles(frame)):
        row = tuple(votes[i].tolist())
        label = regime.on_candle(candle)
        state = SwarmState(candle.ts, row, *consensus.update(row), label)
        tracker.on_state(state, candle.close)
        states.append(state)
        if i == 6000:
            snapshot = {(r.name, r.horizon_min, r.regime): r.count for r in tracker.rates()}
    return frame, votes, states, tracker, snapshot


def expected(frame: pd.DataFrame, states: list[SwarmState], upto: int) -> pd.DataFrame:
    """Every vote resolved by candle `upto`, computed with pandas: the first candle closing at least the horizon
    later, hit = the move in the vote's direction above MIN_MOVE_BPS."""
    close = frame["close"].to_numpy()
    ts = np.array([s.ts_ns for s in states])
    rows = []
    for i, state in enumerate(states):
        sides = [(name, np.sign(v)) for name, v in zip(NAMES, state.votes, strict=True) if v != 0.0]
        if state.direction:
            sides.append((CONSENSUS, state.direction))
        for horizon in HORIZONS:
            j = int(np.searchsorted(ts, ts[i] + horizon * 60_000_000_000, side="left"))
            if j > upto:
                continue
            move_bps = (close[j] - close[i]) / close[i] * 1e4
            rows += [(name, horizon, REGIME_NAMES[state.regime], int(move_bps * side > MIN_MOVE_BPS)) for name, side in sides]
    return pd.DataFrame(rows, columns=["name", "horizon", "regime", "hit"])


def test_hit_rates_match_pandas(run) -> None:
    frame, _, states, tracker, _ = run
    table = expected(frame, states, len(states) - 1)
    overall = table.groupby(["name", "horizon"])["hit"].agg(["count", "sum"])
    by_regime = table.groupby(["name", "horizon", "regime"])["hit"].agg(["count", "sum"])
    checked = 0
    for rate in tracker.rates():
        if rate.regime is None:
            want = overall.loc[(rate.name, rate.horizon_min)]
        elif (rate.name, rate.horizon_min, rate.regime) in by_regime.index:
            want = by_regime.loc[(rate.name, rate.horizon_min, rate.regime)]
        else:
            assert rate.count == 0
            continue
        assert (rate.count, rate.hits) == (int(want["count"]), int(want["sum"]))
        checked += rate.count
    assert checked > 10_000
    assert tracker.rate(CONSENSUS, 15).count > 500
    assert 0.0 < tracker.rate("m60", 60, 1).rate < 1.0


def test_only_votes_past_their_horizon_count(run) -> None:
    frame, _, states, _, snapshot = run
    table = expected(frame, states[:6001], 6000)
    counts = table.groupby(["name", "horizon"]).size()
    for (name, horizon), count in counts.items():
        assert snapshot[(name, horizon, None)] == count


def test_bad_horizon() -> None:
    with pytest.raises(ValueError, match=r"horizons must be whole minutes of at least 1, got \(5, 0\)"):
        HitRateTracker(NAMES, (5, 0))
