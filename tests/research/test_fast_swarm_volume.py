"""The compiled volume twins equal the pure bots fed one candle at a time, exactly (bit for bit), on real data:
the bundled OKX swaps (gappy) and a Binance USD-M month; WhaleWatch with Whale Alert transfers the adapter parses."""

import numpy as np
import pytest

from ravebear.research.fast_swarm.volume import VOLUME_TWINS
from ravebear.strategies.swarm.bots.volume import VOLUME_BOTS, BBSqueezeConfig, MicroBreakoutConfig, VolExplosionConfig, VolSurgeConfig, WhaleWatchConfig
from tests.strategies.swarm.candle_inputs import arrays, feed_candles, okx, shared, whale_transfers

# other thresholds than the defaults, so the kernels are checked away from them too
OTHER = {
    "VolSurge": VolSurgeConfig(lookback=30, z_min=2.0, z_full=5.0),
    "MicroBreakout": MicroBreakoutConfig(lookback=10, volume_mult=1.0, volume_full=2.0),
    "WhaleWatch": WhaleWatchConfig(window_s=1800.0, min_usd=2_000_000.0, net_min_usd=5_000_000.0, net_full_usd=50_000_000.0),
    "VolExplosion": VolExplosionConfig(atr_bars=20, volume_bars=30, range_mult=2.0, volume_mult=1.5),
    "BBSqueeze": BBSqueezeConfig(bars=30, k=1.5, baseline_bars=120, squeeze_ratio=0.7, release_bars=5),
}
FRAMES = {
    "okx-BTC": lambda: okx("BTC"),
    "okx-SOL": lambda: okx("SOL"),
    "binance-ETH": lambda: shared("binance_usdm_ETHUSDT_1m_20250706_20250717.parquet"),
}


@pytest.mark.parametrize("source", FRAMES)
@pytest.mark.parametrize("bot", VOLUME_BOTS, ids=lambda bot: bot.name)
@pytest.mark.parametrize("defaults", [True, False], ids=["defaults", "other"])
def test_twin_equals_the_pure_bot(bot, source, defaults):
    frame = FRAMES[source]()
    config = bot.config_class() if defaults else OTHER[bot.name]
    whales = whale_transfers(int(frame["ts_ns"].iloc[0]), len(frame) // 7, 420) if bot.name == "WhaleWatch" else None
    pure = feed_candles(bot(config), frame, whales)
    extra = {"whales": whales} if whales is not None else {}
    twin = VOLUME_TWINS[bot.name](*arrays(frame), config, **extra)
    np.testing.assert_array_equal(twin, pure)
    assert np.count_nonzero(pure > 0) >= 3 and np.count_nonzero(pure < 0) >= 3  # both sides compared where it fires


def test_whale_watch_twin_abstains_without_whales():
    frame = okx("ETH")
    assert not np.any(VOLUME_TWINS["WhaleWatch"](*arrays(frame), WhaleWatchConfig()))
