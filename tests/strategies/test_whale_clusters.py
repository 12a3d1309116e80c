"""Whale-cluster detector: hand-built candles with known answers, and the real sample for sanity against a recount."""

from pathlib import Path

import pandas as pd

from ravebear.strategies.levels.whale_clusters import WhaleClusterConfig, WhaleClusterDetector

CONFIG = WhaleClusterConfig(volume_lookback=5, min_relative_volume=4.0, min_candles=2, window_bars=3, band_bps=30.0, leave_bps=15.0, max_age_bars=50)
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "okx_swap_BTC-USDT-SWAP_1m_20260727_20260822_gappy.parquet"


def feed(detector, candles):
    out = []
    for i, (o, h, l, c, v) in enumerate(candles):
        out.append([(e.kind, e.cluster.direction) for e in detector.update(o, h, l, c, v, i)])
    return out


QUIET = [(100.0, 100.1, 99.9, 100.0, 10.0)] * 5


def test_two_heavy_buying_candles_at_one_price_make_a_buying_cluster_then_a_held_retest():
    detector = WhaleClusterDetector(CONFIG)
    candles = QUIET + [
        (100.0, 100.2, 99.9, 100.1, 50.0),  # 5x the mean of 10: a whale candle, up
        (100.1, 100.2, 100.0, 100.15, 100.0),  # second (>= 4 x the mean 18 of the last five), typical prices within 30 bps: cluster
        (100.2, 100.5, 100.2, 100.4, 10.0),  # closes 100.4 >= zone high x 1.0015: left
        (100.4, 100.4, 100.05, 100.2, 10.0),  # trades back into the zone, closes above its low: held
    ]
    events = feed(detector, candles)
    assert events[6] == [("created", 1)]
    assert events[8] == [("held", 1)]
    assert not detector.clusters  # a retest ends the cluster
    low, high = (100.2 + 99.9 + 100.1) / 3, (100.2 + 100.0 + 100.15) / 3
    assert events[6] and low < high


def test_a_retest_that_closes_through_the_zone_failed_and_no_retest_before_leaving():
    detector = WhaleClusterDetector(CONFIG)
    candles = QUIET + [
        (100.0, 100.2, 99.9, 100.1, 50.0),
        (100.1, 100.2, 100.0, 100.15, 100.0),
        (100.15, 100.2, 100.0, 100.1, 10.0),  # still inside: not left, so no retest
        (100.1, 100.6, 100.1, 100.5, 10.0),  # left
        (100.5, 100.5, 99.5, 99.6, 10.0),  # back in and closes below the zone: failed
    ]
    events = feed(detector, candles)
    assert events[7] == [] and events[9] == [("failed", 1)]


def test_balanced_or_spread_out_heavy_candles_make_no_cluster():
    # both candles are whales (45 >= 4 x 10; 70 >= 4 x 17), but up 45 vs down 70 is an imbalance of 0.22 < 0.3
    balanced = QUIET + [(100.0, 100.2, 99.9, 100.1, 45.0), (100.1, 100.2, 99.8, 100.0, 70.0)]
    detector = WhaleClusterDetector(CONFIG)
    assert all(not e for e in feed(detector, balanced)) and not detector._whales  # the pair was used up, no cluster
    spread = QUIET + [(100.0, 100.2, 99.9, 100.1, 50.0), (101.0, 101.2, 100.9, 101.1, 100.0)]  # whales ~100 bps apart
    detector = WhaleClusterDetector(CONFIG)
    assert all(not e for e in feed(detector, spread)) and len(detector._whales) == 2  # both seen, too far apart


def test_clusters_expire_after_max_age():
    detector = WhaleClusterDetector(WhaleClusterConfig(**{**CONFIG.__dict__, "max_age_bars": 3}))
    candles = QUIET + [(100.0, 100.2, 99.9, 100.1, 50.0), (100.1, 100.2, 100.0, 100.15, 100.0)] + [(100.5, 100.6, 100.4, 100.5, 10.0)] * 4
    events = feed(detector, candles)
    assert ("expired", 1) in events[10] and not detector.clusters


def test_whale_candles_on_the_real_sample_match_a_pandas_recount():
    frame = pd.read_parquet(SAMPLE)
    config = WhaleClusterConfig()
    detector = WhaleClusterDetector(config)
    created = 0
    for row in frame.itertuples():
        created += sum(e.kind == "created" for e in detector.update(row.open, row.high, row.low, row.close, row.volume_contracts, 0))
    mean = frame["volume_contracts"].rolling(config.volume_lookback).mean().shift(1)
    whale_candles = int((frame["volume_contracts"] >= config.min_relative_volume * mean).sum())
    assert whale_candles > 20  # the sample has heavy candles...
    assert 0 < created <= whale_candles // config.min_candles  # ...and each cluster uses at least two of them
