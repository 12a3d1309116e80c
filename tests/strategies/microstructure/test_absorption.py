"""Absorption tiers: hand-built buckets with known tiers and a vectorised pandas recount over the real captures."""

import numpy as np
import pandas as pd
import pytest

from ravebear.strategies.microstructure.absorption import AbsorptionConfig, AbsorptionDetector
from ravebear.strategies.microstructure.types import Trade
from ravebear.time_units import NS_PER_SECOND
from tests.strategies.microstructure.real_data import trade_objects, trades

S = NS_PER_SECOND
CONFIG = AbsorptionConfig(bucket_s=1.0, lookback_buckets=3, tier_multiples=(2.0, 3.0, 5.0), tier_max_move_bps=(3.0, 2.0, 1.0))


def run(detector, trades_):
    closed = [b for t in trades_ if (b := detector.update(t)) is not None]
    return closed + [detector.flush()]


def test_tiers_on_hand_built_buckets():
    buckets = run(AbsorptionDetector(CONFIG), [
        Trade(0 * S, 100.0, 1.0, 1), Trade(1 * S, 100.0, 1.0, -1), Trade(2 * S, 100.0, 1.0, 1),  # |delta| 1, 1, 1: the lookback
        Trade(3 * S, 100.0, 6.0, 1),  # 6x the mean, price unmoved: tier 3, buyers absorbed
        # second 4: no trades (counts as |delta| 0)
        Trade(5 * S, 100.0, 2.8, -1), Trade(5 * S + 1, 99.99, 2.8, -1),  # 5.6 / mean(1, 6, 0) = 2.4x, 1 bps down: tier 1
        Trade(6 * S, 100.2, 20.0, 1),  # heavy buying that moved price 21 bps up: no absorption
    ])  # fmt: skip
    assert [(b.start_ns // S, b.tier, b.side) for b in buckets] == [(0, 0, 1), (1, 0, -1), (2, 0, 1), (3, 3, 1), (5, 1, -1), (6, 0, 1)]
    assert buckets[4].multiple == pytest.approx(2.4) and buckets[4].move_bps == pytest.approx(1.0)
    assert buckets[3].multiple == 6.0 and buckets[3].move_bps == 0.0
    assert buckets[5].move_bps == pytest.approx((100.2 - 99.99) / 99.99 * 1e4)
    assert buckets[0].multiple == 0.0  # no tier before the lookback is full


def reference_tiers(frame: pd.DataFrame, config: AbsorptionConfig) -> pd.DataFrame:
    """Vectorised: buckets by floor(ts / bucket), missing buckets as 0, rolling mean |delta| of the previous ones."""
    bucket_ns = int(config.bucket_s * S)
    index = frame["ts_ns"] // bucket_ns
    signed = frame["size"] * frame["aggressor"]
    g = pd.DataFrame({"delta": signed, "close": frame["price"], "first": frame["price"], "bucket": index}).groupby("bucket")
    buckets = pd.DataFrame({"delta": g["delta"].sum(), "close": g["close"].last(), "first": g["first"].first()})
    full = buckets["delta"].abs().reindex(range(index.min(), index.max() + 1), fill_value=0.0)
    mean = full.rolling(config.lookback_buckets, min_periods=config.lookback_buckets).mean().shift(1).reindex(buckets.index)
    reference = buckets["close"].shift(1).fillna(buckets["first"])
    side = np.sign(buckets["delta"])
    move = (buckets["close"] - reference) / reference * 1e4 * side
    multiple = (buckets["delta"].abs() / mean).where(mean > 0, 0.0).fillna(0.0)
    tier = pd.Series(0, index=buckets.index)
    for k, (least, most) in enumerate(zip(config.tier_multiples, config.tier_max_move_bps), start=1):
        tier[(multiple >= least) & (move <= most)] = k
    return pd.DataFrame({"start": buckets.index * bucket_ns, "multiple": multiple, "move": move, "tier": tier})


@pytest.mark.parametrize(("market", "bucket_s"), [("spot", 5.0), ("usdm", 2.0), ("coinm", 5.0)])
def test_tiers_over_real_trades_match_pandas(market, bucket_s):
    frame = trades(market)
    config = AbsorptionConfig(bucket_s=bucket_s, lookback_buckets=12)
    got = run(AbsorptionDetector(config), trade_objects(frame))
    expected = reference_tiers(frame, config)
    assert [b.start_ns for b in got] == expected["start"].tolist()
    assert np.allclose([b.multiple for b in got], expected["multiple"], rtol=1e-9)
    assert np.allclose([b.move_bps for b in got], expected["move"], atol=1e-9)
    tiers = [b.tier for b in got]
    assert tiers == expected["tier"].tolist()
    assert sum(t > 0 for t in tiers) >= 3  # real absorption happens in every capture at these settings
