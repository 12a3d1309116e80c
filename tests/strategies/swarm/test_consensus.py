"""The consensus on votes made from real candles: the documented formula (recomputed independently), clones
counting about once, abstention neither helping nor hurting, only past votes shaping the weights, and speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

from ravebear.strategies.swarm.consensus import Consensus, ConsensusConfig
from ravebear.strategies.swarm.swarm import Swarm
from tests.strategies.swarm.swarm_data import candles, momentum_votes

LAGS = (1, 3, 5, 15, 30, 60)


def reference(votes: np.ndarray, base: np.ndarray, min_voters: int, halflife: float, chance: float) -> list[tuple[int, float, int]]:
    """docs/SWARM.md ## Consensus written out with numpy matrices, independently of consensus.py."""
    n_bots = votes.shape[1]
    alpha = 1.0 - 0.5 ** (1.0 / halflife)
    agree = np.full((n_bots, n_bots), chance)
    out = []
    for row in votes:
        voting = row != 0.0
        idx = np.flatnonzero(voting)
        result = (0, 0.0, 0)
        if len(idx) >= min_voters:
            excess = np.clip(agree[np.ix_(idx, idx)] - chance, 0.0, None)
            np.fill_diagonal(excess, 0.0)
            w = base[idx] / (1.0 + excess.sum(axis=1) / (1.0 - chance))
            net = float(np.dot(w, row[idx]))
            if net != 0.0:
                d = 1 if net > 0 else -1
                result = (d, min(100.0, 100.0 * abs(net) / w.sum()), int(np.sum(np.sign(row[idx]) == d)))
        same = (np.sign(row[idx])[:, None] == np.sign(row[idx])[None, :]).astype(float)
        block = agree[np.ix_(idx, idx)]
        updated = block + alpha * (same - block)
        diag = np.diag(block).copy()
        agree[np.ix_(idx, idx)] = updated
        agree[idx, idx] = diag
        out.append(result)
    return out


@pytest.fixture(scope="module")
def votes(okx_btc_raw) -> np.ndarray:
    frame = okx_btc_raw.iloc[:6000]
    base = momentum_votes(frame, LAGS, 8.0)
    # two clones of the 5-bar bot: they always agree with it
    return np.column_stack([base, base[:, 2], base[:, 2]])


def run(votes: np.ndarray, config: ConsensusConfig, names: list[str] | None = None) -> list[tuple[int, float, int]]:
    names = names or [f"bot{k}" for k in range(votes.shape[1])]
    consensus = Consensus(config, names, ["momentum"] * len(names))
    return [consensus.update(tuple(row.tolist())) for row in votes]


def test_consensus_follows_the_documented_formula(votes: np.ndarray) -> None:
    config = ConsensusConfig(min_voters=2, agreement_halflife=50.0, weights={"bot0": 2.0})
    base = np.ones(votes.shape[1])
    base[0] = 2.0
    got = run(votes, config)
    want = reference(votes, base, 2, 50.0, 0.5)
    assert sum(1 for d, _, _ in got if d) > 500  # the real series gives plenty of consensus candles
    for (d, s, c), (wd, ws, wc) in zip(got, want, strict=True):
        assert (d, c) == (wd, wc)
        assert s == pytest.approx(ws, rel=1e-12, abs=1e-12)


def test_clones_count_about_once(votes: np.ndarray) -> None:
    names = [f"bot{k}" for k in range(votes.shape[1])]
    consensus = Consensus(ConsensusConfig(agreement_halflife=50.0), names, ["momentum"] * len(names))
    for row in votes:
        consensus.update(tuple(row.tolist()))
    agree = consensus.agreement()
    assert agree[2][6] > 0.999 and agree[6][7] > 0.999  # the clones agreed every time they voted together
    # the 5-bar bot and its clones vote with the bot least related to them: the three share about one weight
    other = min((0, 1, 3, 4, 5), key=lambda j: agree[2][j])
    excess = max(0.0, agree[2][other] - 0.5) / 0.5
    row = [0.0] * 8
    for j in (other, 2, 6, 7):
        row[j] = 0.5
    consensus.update(tuple(row))
    w = consensus.weights
    assert w[2] + w[6] + w[7] == pytest.approx(3.0 / (3.0 + excess), rel=1e-6)
    assert 0.6 < w[2] + w[6] + w[7] <= 1.0  # at most once, not three times
    assert w[other] == pytest.approx(1.0 / (1.0 + 3 * excess), rel=1e-6)
    assert w[1] < 0.8  # the 3-bar bot agrees with the 5-bar one more than chance: it was discounted too
    plain = Consensus(ConsensusConfig(decorrelate=False), names, ["momentum"] * len(names))
    plain.update(tuple(row))
    assert plain.weights[2] + plain.weights[6] + plain.weights[7] == 3.0


def test_abstaining_bots_neither_help_nor_hurt(votes: np.ndarray) -> None:
    config = ConsensusConfig(min_voters=3)
    silent = np.column_stack([votes, np.zeros(len(votes))])
    assert run(silent, config) == run(votes, config)
    results = run(votes, config)
    voters = (votes != 0.0).sum(axis=1)
    assert all(d == 0 and s == 0.0 and c == 0 for (d, s, c), n in zip(results, voters, strict=True) if n < 3)
    assert any(d != 0 for (d, _, _), n in zip(results, voters, strict=True) if n == 3)


def test_only_past_votes_shape_the_weights(votes: np.ndarray) -> None:
    config = ConsensusConfig()
    full = run(votes, config)
    changed = votes.copy()
    changed[4000:] = -changed[4000:]  # flip every vote from candle 4000 on
    flipped = run(changed, config)
    assert flipped[:4000] == full[:4000]
    # at candle 4000 itself the weights come from candles before it: the flip mirrors the result exactly
    d, s, c = full[4000]
    assert flipped[4000] == (-d, pytest.approx(s, rel=1e-12), c)


def _per_update_us(rows: list[tuple[float, ...]], names: list[str]) -> float:
    best = float("inf")
    for _ in range(3):  # best of three: the machine is shared
        consensus = Consensus(ConsensusConfig(), names, ["momentum"] * len(names))
        start = time.perf_counter()
        for row in rows:
            consensus.update(row)
        best = min(best, (time.perf_counter() - start) / len(rows) * 1e6)
    return best


def test_update_takes_a_few_microseconds_for_twenty_bots(okx_btc_raw) -> None:
    swarm = Swarm()  # the twenty bots' own votes on real candles
    rows = [swarm.on_candle(candle).votes for candle in candles(okx_btc_raw.iloc[:8000])]
    real = _per_update_us(rows, list(swarm.names))
    dense = momentum_votes(okx_btc_raw.iloc[:8000], (1, 2, 3, 5, 8, 10, 15, 20, 30, 45), 10.0)
    dense = np.column_stack([dense, dense[:, ::-1] * 0.5])  # twenty bots, ~6 voting at every candle
    crowded = _per_update_us([tuple(row) for row in dense.tolist()], [f"bot{k}" for k in range(20)])
    voting = np.mean([sum(v != 0.0 for v in row) for row in rows])
    print(f"consensus.update: {real:.2f} us on the swarm's votes ({voting:.2f} voting on average), {crowded:.2f} us with ~6 voting")
    assert len(swarm.names) == 20 and voting > 0.3
    assert real < 8.0  # ~1 us on an idle core
    assert crowded < 40.0  # ~9 us on an idle core
