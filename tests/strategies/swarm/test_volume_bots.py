"""The volume bots on real candles (bundled OKX BTC swap, 26k minutes): every vote equals the rule of docs/SWARM.md
computed independently with pandas over the same candles (fires on the same bars, confidence within 1e-9
relative: pandas sums in another order), a bar where the rule half holds and the bot must abstain, and bad
settings' one-line errors. WhaleWatch reads Whale Alert transfers in the documented format, parsed by the adapter."""

import numpy as np
import pandas as pd
import pytest

from ravebear.strategies.swarm.bots.volume import VOLUME_BOTS, BBSqueeze, MicroBreakout, VolExplosion, VolSurge, WhaleWatch
from tests.strategies.swarm.candle_inputs import feed_candles, okx, whale_transfers


def assert_votes(pure: np.ndarray, expected: np.ndarray, rtol: float = 1e-9) -> None:
    """Same bars fire, same sides, confidences equal to `rtol`; enough fires on both sides to mean it."""
    np.testing.assert_array_equal(np.sign(pure), np.sign(expected))
    np.testing.assert_allclose(pure, expected, rtol=rtol, atol=0)
    assert (pure > 0).sum() >= 5 and (pure < 0).sum() >= 5


@pytest.fixture(scope="module")
def btc() -> pd.DataFrame:
    return okx("BTC")


def test_vol_surge(btc):
    prior = btc["volume"].shift(1).rolling(60)
    z = (btc["volume"] - prior.mean()) / prior.std(ddof=0)
    side = np.sign(btc["close"] - btc["open"])
    expected = np.where((z >= 3.0) & (side != 0), side * np.minimum(z / 10.0, 1.0), 0.0)
    pure = feed_candles(VolSurge.from_settings({}), btc)
    assert_votes(pure, expected)
    doji = ((z >= 3.0) & (side == 0)).to_numpy()  # a surge with no direction: abstain
    assert doji.sum() >= 1 and not pure[doji].any()


def test_micro_breakout(btc):
    top, bottom = btc["high"].shift(1).rolling(20).max(), btc["low"].shift(1).rolling(20).min()
    ratio = btc["volume"] / btc["volume"].shift(1).rolling(20).mean()
    confidence = np.minimum(ratio / 5.0, 1.0)
    loud = ratio >= 1.5
    expected = np.where(loud & (btc["close"] > top), confidence, np.where(loud & (btc["close"] < bottom), -confidence, 0.0))
    pure = feed_candles(MicroBreakout.from_settings({}), btc)
    assert_votes(pure, expected)
    quiet = ((ratio < 1.5) & (btc["close"] > top)).to_numpy()  # a breakout on ordinary volume: abstain
    assert quiet.sum() >= 10 and not pure[quiet].any()


def test_vol_explosion(btc):
    previous = btc["close"].shift(1).fillna(btc["close"])
    true_range = np.maximum(btc["high"], previous) - np.minimum(btc["low"], previous)
    atr_before = true_range.ewm(alpha=2.0 / 15.0, adjust=False).mean().shift(1)
    range_ratio = true_range / atr_before
    volume_ratio = btc["volume"] / btc["volume"].shift(1).rolling(60).mean()
    side = np.sign(btc["close"] - btc["open"])
    fires = (range_ratio >= 3.0) & (volume_ratio >= 2.0) & (side != 0)
    expected = np.where(fires, side * np.minimum(0.5 * (range_ratio / 10.0 + volume_ratio / 10.0), 1.0), 0.0)
    pure = feed_candles(VolExplosion.from_settings({}), btc)
    assert_votes(pure, expected)
    thin = ((range_ratio >= 3.0) & (volume_ratio < 2.0)).to_numpy()  # a wide candle without the volume: abstain
    assert thin.sum() >= 10 and not pure[thin].any()


def test_bb_squeeze(btc):
    # two-pass mean and std of each window with numpy (pandas's rolling std drifts by 2e-4 relative on quiet
    # 20-minute windows of a 65,000 price, too much for the excess over the band)
    windows = np.lib.stride_tricks.sliding_window_view(btc["close"].to_numpy(), 20)  # closes j..j+19
    middle, half = np.full(len(btc), np.nan), np.full(len(btc), np.nan)
    middle[20:], half[20:] = windows.mean(axis=1)[:-1], 2.0 * windows.std(axis=1)[:-1]  # the 20 closes before bar k
    middle, half = pd.Series(middle), pd.Series(half)
    bandwidth = 2.0 * half / middle
    baseline_before = bandwidth.ewm(alpha=2.0 / 241.0, adjust=False).mean().shift(1)
    ready = np.arange(len(btc)) >= 20 + 240  # 240 bandwidths in the average before the bar
    squeezed = (ready & (bandwidth <= 0.6 * baseline_before)).to_numpy()
    excess = ((btc["close"] - middle).abs() / half - 1.0).to_numpy()
    side = np.sign(btc["close"] - middle).to_numpy()
    expected = np.zeros(len(btc))
    last_squeeze = -(10**9)
    for k in np.flatnonzero(ready):
        if squeezed[k]:
            last_squeeze = k
        if k - last_squeeze <= 10 and excess[k] > 0.0:
            expected[k] = side[k] * min(excess[k] / 1.0, 1.0)
            last_squeeze = -(10**9)
    pure = feed_candles(BBSqueeze.from_settings({}), btc)
    assert_votes(pure, expected, rtol=1e-6)  # the excess over the band magnifies the std's last digits
    unsqueezed = ready & (excess > 0.0) & (expected == 0.0)  # outside the band with no squeeze before: abstain
    assert unsqueezed.sum() >= 100 and not pure[unsqueezed].any()


def test_whale_watch_nets_exchange_flows(btc):
    frame = btc.iloc[:14_000]
    whales = whale_transfers(int(frame["ts_ns"].iloc[0]), 2000, 420)  # every 7 minutes, 600k..75M USD
    ts, usd, direction = whales
    kept = (direction != 0) & (usd >= 1e6)
    flows = pd.Series(np.where(direction > 0, usd, -usd)[kept], index=ts[kept])
    hour = 3600 * 10**9
    net = np.array([flows[(flows.index > close - hour) & (flows.index <= close)].sum() for close in frame["ts_ns"]])
    expected = np.where(np.abs(net) >= 1e7, np.sign(net) * np.minimum(np.abs(net) / 1e8, 1.0), 0.0)
    assert_votes(feed_candles(WhaleWatch.from_settings({}), frame, whales), expected)


def test_whale_watch_abstains_without_whales_or_below_its_thresholds(btc):
    frame = btc.iloc[:5000]
    assert not feed_candles(WhaleWatch.from_settings({}), frame).any()
    whales = whale_transfers(int(frame["ts_ns"].iloc[0]), 700, 420)
    assert feed_candles(WhaleWatch.from_settings({}), frame, whales).any()
    assert not feed_candles(WhaleWatch.from_settings({"net_min_usd": 1e12}), frame, whales).any()


@pytest.mark.parametrize(
    ("bot", "settings", "message"),
    [
        (VolSurge, {"z_mn": 2}, "z_mn: unknown VolSurge setting (did you mean 'z_min'?)"),
        (VolSurge, {"lookback": 1}, "lookback must be between 2 and 100,000 bars, got 1"),
        (MicroBreakout, {"volume_mult": 0}, "volume_mult must be above 0 and at most 1,000 x, got 0"),
        (WhaleWatch, {"window_s": -60}, "window_s must be above 0 and at most 604,800 seconds, got -60"),
        (WhaleWatch, {"min_usd": -1}, "min_usd must be at least 0 USD, got -1"),
        (VolExplosion, {"range_multiple": 2}, "range_multiple: unknown VolExplosion setting (did you mean 'range_mult'?)"),
        (BBSqueeze, {"squeeze_ratio": 1.5}, "squeeze_ratio must be above 0 and at most 1 x the average bandwidth, got 1.5"),
    ],
)
def test_bad_settings_are_one_line_errors(bot, settings, message):
    with pytest.raises(ValueError) as error:
        bot.from_settings(settings)
    assert str(error.value) == message


def test_group_order():
    assert [bot.name for bot in VOLUME_BOTS] == ["VolSurge", "MicroBreakout", "WhaleWatch", "VolExplosion", "BBSqueeze"]
