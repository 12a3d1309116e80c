"""The compiled swarm (research/fast_swarm) equals the pure Swarm fed one event at a time, on real bars with
funding and a reference instrument: every bot's votes, the regime, and the consensus direction, score and
confluence. Parametrized over the bots that exist, so it grows as bots land."""

from __future__ import annotations

import numpy as np
import pytest

from ravebear.research.fast_swarm import bot_twins, run_swarm_fast
from ravebear.strategies.swarm.bot import ORDERFLOW
from ravebear.strategies.swarm.bots import BOTS
from ravebear.strategies.swarm.consensus import ConsensusConfig
from ravebear.strategies.swarm.regime import RegimeConfig
from ravebear.strategies.swarm.swarm import Swarm, SwarmConfig
from tests.strategies.swarm.real_inputs import bars, closes, funding_rates

CONFIG = SwarmConfig(consensus=ConsensusConfig(min_voters=1), regime=RegimeConfig(timeframe_min=5, vol_min_history=48, vol_lookback=500))


def pure(frame, config: SwarmConfig, funding):
    """The Swarm fed like a node: funding once its time has come, the reference candle, then the candle."""
    swarm = Swarm(config)
    return swarm, list(closes(swarm, frame, funding))


def fast(frame, config: SwarmConfig):
    arrays = [frame[k].to_numpy() for k in ("ts_ns", "open", "high", "low", "close", "volume", "funding", "reference")]
    return run_swarm_fast(*arrays, config=config)


@pytest.fixture(scope="module", params=["binance", "okx"])
def both(request):
    """Binance USD-M ETH (real funding, BTC reference) and the gappy bundled OKX ETH swap."""
    frame = bars("ETH", reference="BTC", funding="ETH", days=6, source=request.param)
    swarm, states = pure(frame, CONFIG, funding_rates("ETH"))
    return swarm, states, fast(frame, CONFIG)


@pytest.mark.parametrize("name", [name for name, cls in BOTS.items() if cls.group != ORDERFLOW])
def test_each_bot_votes_the_same(both, name: str) -> None:
    swarm, states, result = both
    assert name in bot_twins()
    k = swarm.names.index(name)
    want = np.array([s.votes[k] for s in states])
    np.testing.assert_array_equal(result.votes[:, k], want)


def test_orderflow_bots_abstain_over_bars(both) -> None:
    swarm, states, result = both
    for k, name in enumerate(swarm.names):
        if BOTS[name].group == ORDERFLOW:
            assert not result.votes[:, k].any() and not any(s.votes[k] for s in states)


def test_regime_and_consensus_are_the_same(both) -> None:
    _, states, result = both
    np.testing.assert_array_equal(result.regime, [s.regime for s in states])
    np.testing.assert_array_equal(result.direction, [s.direction for s in states])
    np.testing.assert_array_equal(result.confluence, [s.confluence for s in states])
    np.testing.assert_array_equal(result.score, [s.score for s in states])
    assert set(result.regime.tolist()) == {0, 1, 2, 3}
    assert (result.direction != 0).sum() > 500 and result.confluence.max() >= 3


def test_default_regime_matches_on_a_longer_run() -> None:
    frame = bars("BTC", source="okx")
    config = SwarmConfig(bots=("MACDCross", "RSIRev", "FlashCrash"))
    _, states = pure(frame, config, funding_rates("BTC"))
    result = fast(frame, config)
    np.testing.assert_array_equal(result.regime, [s.regime for s in states])
    np.testing.assert_array_equal(result.score, [s.score for s in states])
    assert set(result.regime.tolist()) == {0, 1, 2, 3}
