"""The order-flow settings' ranges: the one-line error names the key, the range and its unit."""

import pytest

from ravebear.strategies.microstructure.absorption import AbsorptionConfig
from ravebear.strategies.microstructure.book_features import BookFeatureConfig
from ravebear.strategies.microstructure.cvd import CvdConfig, DivergenceConfig
from ravebear.strategies.microstructure.ranges import check_orderflow_ranges
from ravebear.strategies.microstructure.whales import WhaleConfig
from ravebear.strategies.microstructure.zone_defense import ZoneDefenseConfig


@pytest.mark.parametrize("section, config", [
    ("cvd", CvdConfig()), ("divergence", DivergenceConfig()), ("book", BookFeatureConfig()), ("absorption", AbsorptionConfig()),
    ("whales", WhaleConfig()), ("zone_defense", ZoneDefenseConfig()),
])  # fmt: skip
def test_defaults_are_inside_their_ranges(section, config):
    check_orderflow_ranges(section, config)


@pytest.mark.parametrize("section, config, message", [
    ("whales", WhaleConfig(min_notional=0), "orderflow.whales.min_notional must be above 0 quote currency, got 0"),
    ("divergence", DivergenceConfig(min_quote=0), "orderflow.divergence.min_quote must be above 0 quote currency, got 0"),
    ("cvd", CvdConfig(window_s=-5), "orderflow.cvd.window_s must be above 0 and at most 86,400 seconds, got -5"),
    ("book", BookFeatureConfig(levels=0), "orderflow.book.levels must be between 1 and 1,000 levels, got 0"),
    ("absorption", AbsorptionConfig(tier_multiples=(2.0, 1.5, 5.0)), "orderflow.absorption.tier_multiples must rise from tier 1 to 3, got [2.0, 1.5, 5.0]"),
    ("absorption", AbsorptionConfig(tier_max_move_bps=(3.0, 2.0, 9_000.0)), "orderflow.absorption.tier_max_move_bps[3] must be between -5,000 and 5,000 bps, got 9,000"),
    ("zone_defense", ZoneDefenseConfig(break_bps=6_000), "orderflow.zone_defense.break_bps must be between 0 and 5,000 bps, got 6,000"),
])  # fmt: skip
def test_a_number_outside_its_range_is_named_with_its_unit(section, config, message):
    with pytest.raises(ValueError) as error:
        check_orderflow_ranges(section, config)
    assert str(error.value) == message
