"""A bot with none of its inputs only abstains, so a node that does not serve them leaves it idle (never asked). Proven
here on real candles: every such bot fed the bundled OKX candles alone votes 0.0 at every bar, and a Swarm told its
node serves nothing says exactly what a Swarm asking all twenty says."""

from __future__ import annotations

import pytest

from ravebear.strategies.levels.timeframes import Candle
from ravebear.strategies.swarm.bots import BOTS
from ravebear.strategies.swarm.swarm import Swarm
from tests.strategies.swarm.real_inputs import bars

READERS = [name for name, bot in BOTS.items() if bot.reads]


def candles(coin: str) -> list[Candle]:
    frame = bars(coin)
    return [Candle(int(r.ts_ns), r.open, r.high, r.low, r.close, r.volume) for r in frame.itertuples(index=False)]


@pytest.mark.parametrize("name", READERS)
def test_a_bot_without_its_inputs_abstains_at_every_candle(name):
    bot = BOTS[name].from_settings({})
    votes = [bot.on_candle(candle) for candle in candles("BTC")]
    assert len(votes) > 20_000
    assert not any(votes), f"{name} voted without its inputs ({sum(1 for v in votes if v)} candles)"


def test_a_bars_only_swarm_skips_the_idle_bots_and_says_the_same():
    assert len(READERS) == 8  # the five order-flow bots, FundArb, CorrBreak, WhaleWatch
    full, bars_only = Swarm(), Swarm(inputs=frozenset())
    assert set(bars_only.idle) == set(READERS) and full.idle == ()
    states = consensus = 0
    for candle in candles("SOL"):
        state = full.on_candle(candle)
        assert bars_only.on_candle(candle) == state
        states += 1
        consensus += state.direction != 0
    assert states > 20_000 and consensus > 100  # the comparison covered candles with a consensus


def test_a_node_serving_trades_keeps_the_trade_bots():
    swarm = Swarm(inputs=frozenset({"trades"}))
    assert {"CVDDiv", "HiddenWall", "SuppDefense", "TakerAggr"}.isdisjoint(swarm.idle)
    assert {"OBImbalance", "FundArb", "CorrBreak", "WhaleWatch"} <= set(swarm.idle)
