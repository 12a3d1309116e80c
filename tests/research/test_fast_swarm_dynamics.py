"""The compiled dynamics twins equal the pure bots fed one event at a time, exactly, on real data: Binance USD-M ETH
with its real funding and BTC as the reference, and the bundled OKX ETH swap (gappy: the reference resets) with BTC."""

import numpy as np
import pytest

from ravebear.research.fast_swarm.dynamics import DYNAMICS_TWINS
from ravebear.strategies.swarm.bots.dynamics import (
    DYNAMICS_BOTS,
    CorrBreakConfig,
    FlashCrashConfig,
    FundArbConfig,
    GapFillConfig,
    PingPongConfig,
)
from tests.strategies.swarm.real_inputs import bars, feed, funding_rates

# thresholds low enough that every bot fires on these days (the defaults wait for rarer events)
FIRING = {
    "FundArb": FundArbConfig(extreme_rate=0.00005, full_rate=0.0002),
    "CorrBreak": CorrBreakConfig(window_bars=60, lag_bars=3, min_corr=0.6, min_gap_bps=8.0),
    "FlashCrash": FlashCrashConfig(min_move_bps=40.0, volume_multiple=2.0),
    "GapFill": GapFillConfig(min_gap_bps=1.0),  # Binance opens at the previous close but for a few jumps
    "PingPong": PingPongConfig(),
}


@pytest.mark.parametrize("source", ["binance", "okx"])
@pytest.mark.parametrize("bot", DYNAMICS_BOTS, ids=lambda bot: bot.name)
@pytest.mark.parametrize("defaults", [True, False], ids=["defaults", "firing"])
def test_twin_equals_the_pure_bot(bot, source, defaults):
    frame = bars("ETH", reference="BTC", funding="ETH", days=12, source=source)
    config = bot.config_class() if defaults else FIRING[bot.name]
    pure = feed(bot(config), frame, funding_rates("ETH"))
    arrays = [frame[k].to_numpy() for k in ("ts_ns", "open", "high", "low", "close", "volume", "funding", "reference")]
    twin = DYNAMICS_TWINS[bot.name](*arrays, config)
    np.testing.assert_array_equal(twin, pure)
    if not defaults and (bot.name != "FundArb" or source == "binance"):  # the OKX days have no Binance funding
        assert np.count_nonzero(pure) >= 3
