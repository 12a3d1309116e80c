"""The compiled momentum twins equal the pure bots (nautilus MACD/EMA/RSI inside) fed one candle at a time,
exactly (bit for bit), on real data: the bundled OKX swaps (gappy) and Binance USD-M months."""

import numpy as np
import pytest

from ravebear.research.fast_swarm.momentum import MOMENTUM_TWINS
from ravebear.strategies.swarm.bots.momentum import MOMENTUM_BOTS, ATHVolumeConfig, GoldenCrossConfig, MACDCrossConfig, RSIRevConfig, TrendRespectConfig
from tests.strategies.swarm.candle_inputs import arrays, feed_candles, okx, shared

# other thresholds than the defaults, so the kernels are checked away from them too
OTHER = {
    "MACDCross": MACDCrossConfig(fast_bars=5, slow_bars=35, signal_bars=5, full_bps=2.0),
    "GoldenCross": GoldenCrossConfig(fast_bars=20, slow_bars=100, full_bps=3.0),
    "ATHVolume": ATHVolumeConfig(lookback_days=1.0, volume_bars=30, volume_mult=2.0, volume_full=4.0),
    "RSIRev": RSIRevConfig(bars=7, oversold=25.0, overbought=80.0, depth_full=10.0),
    "TrendRespect": TrendRespectConfig(ema_bars=30, slope_bars=5, min_slope_bps=2.0, touch_bps=2.0, slope_full_bps=10.0),
}
FRAMES = {
    "okx-BTC": lambda: okx("BTC"),
    "okx-ETH": lambda: okx("ETH"),
    "binance-SOL": lambda: shared("binance_usdm_SOLUSDT_1m_20230718_20230817.parquet"),
}


@pytest.mark.parametrize("source", FRAMES)
@pytest.mark.parametrize("bot", MOMENTUM_BOTS, ids=lambda bot: bot.name)
@pytest.mark.parametrize("defaults", [True, False], ids=["defaults", "other"])
def test_twin_equals_the_pure_bot(bot, source, defaults):
    frame = FRAMES[source]()
    config = bot.config_class() if defaults else OTHER[bot.name]
    pure = feed_candles(bot(config), frame)
    twin = MOMENTUM_TWINS[bot.name](*arrays(frame), config)
    np.testing.assert_array_equal(twin, pure)
    assert np.count_nonzero(pure > 0) >= 3 and np.count_nonzero(pure < 0) >= 3  # both sides compared where it fires
