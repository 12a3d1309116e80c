"""The order-flow bots on the real Binance BTC trade + L2 captures, fed one event at a time with 1-minute candles built
from the trades: each vote is recomputed independently (pandas recounts of the flow, the book rebuilt from its rows,
the detectors' own pandas re-derivations), plus abstentions without trades or book, and bad settings."""

import math

import numpy as np
import pandas as pd
import pytest

from ravebear.strategies.microstructure.absorption import AbsorptionConfig
from ravebear.strategies.microstructure.zone_defense import Zone, ZoneDefenseConfig
from ravebear.strategies.swarm.bots.orderflow import (
    ORDERFLOW_BOTS,
    CVDDiv,
    CVDDivConfig,
    HiddenWall,
    HiddenWallConfig,
    OBImbalance,
    OBImbalanceConfig,
    SuppDefense,
    SuppDefenseConfig,
    TakerAggr,
    TakerAggrConfig,
)
from tests.strategies.microstructure.real_data import synced_depth, trades
from tests.strategies.microstructure.test_absorption import reference_tiers
from tests.strategies.microstructure.test_book_features import reference_top
from tests.strategies.microstructure.test_zone_defense import rederive
from tests.strategies.swarm.real_inputs import feed_flow, flow_events


def trade_buckets(market: str) -> pd.DataFrame:
    """Taker buy / sell size per candle as the bot sees it: trades before the first candle's close fall in it."""
    frame, (_, candles) = trades(market), flow_events(market)
    bucket = np.searchsorted(candles["ts_ns"].to_numpy(), frame["ts_ns"].to_numpy(), side="right")
    signed = frame.assign(bucket=bucket, buy=frame["size"].where(frame["aggressor"] > 0, 0.0), sell=frame["size"].where(frame["aggressor"] < 0, 0.0))
    return signed.groupby("bucket")[["buy", "sell"]].sum().reindex(range(len(candles)), fill_value=0.0)


@pytest.mark.parametrize("market", ["spot", "usdm"])
def test_taker_aggr_votes_with_the_takers_over_the_window(market):
    config = TakerAggrConfig(window_bars=2, min_imbalance=0.1, full_imbalance=0.5)
    votes = feed_flow(TakerAggr(config), market)
    sums = trade_buckets(market).rolling(2, min_periods=1).sum()
    flow = (sums["buy"] - sums["sell"]) / (sums["buy"] + sums["sell"])
    expected = np.where(flow.abs() >= 0.1, np.sign(flow) * np.clip(flow.abs() / 0.5, 0, 1), 0.0)
    np.testing.assert_allclose(votes, expected, rtol=1e-12, atol=1e-15)
    assert np.count_nonzero(votes) >= 1


def test_cvd_div_votes_against_a_move_the_flow_does_not_back():
    config = CVDDivConfig(window_bars=2, min_move_bps=1.0, min_imbalance=0.05, full_imbalance=0.4)
    votes = feed_flow(CVDDiv(config), "spot")
    candles = flow_events("spot")[1]
    delta, traded = (candles["buy"] - candles["sell"]).rolling(2).sum(), candles["volume"].rolling(2).sum()
    flow = delta / traded
    move = (candles["close"] / candles["close"].shift(2) - 1) * 1e4
    long = (move <= -1.0) & (flow >= 0.05)
    short = (move >= 1.0) & (flow <= -0.05)
    expected = np.where(long, np.clip(flow / 0.4, 0, 1), np.where(short, -np.clip(-flow / 0.4, 0, 1), 0.0))
    np.testing.assert_allclose(votes, expected, rtol=1e-9, atol=1e-12)
    assert np.count_nonzero(votes) >= 1  # BTC rose over 2 minutes while takers net sold: a short


@pytest.mark.parametrize("market", ["spot", "usdm"])
def test_ob_imbalance_reads_the_top_levels_of_the_rebuilt_book(market):
    config = OBImbalanceConfig(levels=10, min_imbalance=0.3, full_imbalance=0.8)
    votes = feed_flow(OBImbalance(config), market)
    snapshot, diffs = synced_depth(market)
    expected = []
    for close in flow_events(market)[1]["ts_ns"]:
        obi = reference_top(snapshot, diffs[diffs["ts_ns"] < close], 10, 10.0, 5.0)[2]
        expected.append(math.copysign(min(abs(obi) / 0.8, 1.0), obi) if abs(obi) >= 0.3 else 0.0)
    np.testing.assert_allclose(votes, expected, rtol=1e-12)
    assert (votes > 0).any() and (votes < 0).any()


def test_hidden_wall_votes_against_absorbed_takers():
    config = HiddenWallConfig(bucket_s=10.0, lookback_buckets=6, min_tier=1, window_s=60.0)
    votes = feed_flow(HiddenWall(config), "spot")
    frame = trades("spot")
    tiers = reference_tiers(frame, AbsorptionConfig(bucket_s=10.0, lookback_buckets=6))
    bucket_ns = 10 * 1_000_000_000
    side = np.sign((frame["size"] * frame["aggressor"]).groupby(frame["ts_ns"] // bucket_ns).sum()).to_numpy()
    walls = tiers.assign(side=side, end=tiers["start"] + bucket_ns)
    walls = walls[(walls["tier"] >= 1) & (walls["side"] != 0)]
    expected = []
    for close in flow_events("spot")[1]["ts_ns"]:
        seen = walls[walls["end"] <= close]
        latest = seen.iloc[-1] if len(seen) else None
        live = latest is not None and close - latest["end"] < 60 * 1_000_000_000
        expected.append(-latest["side"] * latest["tier"] / 3.0 if live else 0.0)
    np.testing.assert_array_equal(votes, expected)
    assert (votes > 0).any() and (votes < 0).any()


def test_supp_defense_votes_off_defended_candle_extremes():
    config = SuppDefenseConfig(lookback_bars=3, zone_bps=5.0, touch_window_s=30.0, min_refill=0.5, full_refill=2.0, window_s=60.0)
    votes = feed_flow(SuppDefense(config), "spot")
    expected = supp_defense_recount("spot", config)
    np.testing.assert_allclose(votes, expected, rtol=1e-9)
    assert (votes > 0).any() and (votes < 0).any()


def supp_defense_recount(market: str, config: SuppDefenseConfig) -> np.ndarray:
    """Zones from pandas rolling extremes of the candles; each zone's touches from the zone-defense re-derivation over
    the events while that zone stood (candle closes judge touches too: they are time-only rows in the stream)."""
    frame, (snapshot, diffs), (_, candles) = trades(market), synced_depth(market), flow_events(market)
    closes = candles["ts_ns"].to_numpy()
    snapshot = snapshot.assign(ts_ns=min(snapshot["ts_ns"].iloc[0], diffs["ts_ns"].iloc[0]))
    stream = pd.concat([diffs.assign(kind=0), frame.assign(kind=1), pd.DataFrame({"ts_ns": closes, "kind": -1})])
    stream = stream.sort_values(["ts_ns", "kind"], kind="stable").reset_index(drop=True)
    zone_config = ZoneDefenseConfig(config.touch_window_s, config.depth_band_bps, config.break_bps, config.min_refill)
    support = candles["low"].rolling(config.lookback_bars, min_periods=1).min().to_numpy()
    resistance = candles["high"].rolling(config.lookback_bars, min_periods=1).max().to_numpy()
    depth = config.zone_bps * 1e-4
    touches = []  # (end_ns, side, refill) of defended touches
    for levels, side in ((support, 1), (resistance, -1)):
        starts = [k for k in range(len(levels)) if k == 0 or levels[k] != levels[k - 1]]
        for a, b in zip(starts, [*starts[1:], len(levels)]):
            zone = Zone("z", levels[a], levels[a] * (1 + depth), 1) if side > 0 else Zone("z", levels[a] * (1 - depth), levels[a], -1)
            t_a, t_b = closes[a], closes[b] if b < len(closes) else np.iinfo(np.int64).max
            ts = stream["ts_ns"].to_numpy()
            part = stream[((ts >= t_a) & (stream["kind"] >= 0) & (ts < t_b)) | ((stream["kind"] == -1) & (ts > t_a) & (ts <= t_b))]
            part = part.sort_values(["ts_ns", "kind"], kind="stable").reset_index(drop=True)
            before = pd.concat([snapshot, diffs[diffs["ts_ns"] < t_a]])
            for _, _, end, outcome, depth_before, depth_after in rederive(zone, part, before, zone_config):
                if outcome == "defended":
                    refill = depth_after / depth_before if depth_before > 0 else math.inf
                    touches.append((end, side, refill))
    touches.sort()
    expected = np.zeros(len(closes))
    for k, close in enumerate(closes):
        seen = [t for t in touches if t[0] <= close]
        if seen and close - seen[-1][0] < config.window_s * 1e9:
            expected[k] = seen[-1][1] * min(seen[-1][2] / config.full_refill, 1.0)
    return expected


@pytest.mark.parametrize("bot", ORDERFLOW_BOTS, ids=lambda bot: bot.name)
def test_abstains_without_trades_and_book(bot):
    assert not feed_flow(bot(bot.config_class()), "spot", trades_on=False, book_on=False).any()


@pytest.mark.parametrize(
    ("bot", "settings", "message"),
    [
        (OBImbalance, {"level": 5}, "level: unknown OBImbalance setting (did you mean 'levels'?)"),
        (OBImbalance, {"min_imbalance": 1.5}, "min_imbalance must be above 0 and at most 1, got 1.5"),
        (HiddenWall, {"min_tier": 4}, "min_tier must be between 1 and 3 tier, got 4"),
        (SuppDefense, {"full_refill": 0}, "full_refill must be above 0 and at most 1,000 x, got 0"),
        (TakerAggr, {"window_bars": 0}, "window_bars must be between 1 and 10,000 bars, got 0"),
    ],
)
def test_bad_settings_are_one_line_errors(bot, settings, message):
    with pytest.raises(ValueError) as error:
        bot.from_settings(settings)
    assert str(error.value) == message
