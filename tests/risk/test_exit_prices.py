"""Exit-plan arithmetic: stops, targets, break-even and trailing activation, as hand-computed tables."""

import msgspec
import pytest

from ravebear.risk.exits import ExitSettings, TakeProfit, exit_plan, reached, stop_price, trailing_offset

DEFAULT = ExitSettings()


@pytest.mark.parametrize(
    ("side", "entry", "invalidation", "settings", "expected"),
    [
        (1, 60_000.0, 59_900.0, DEFAULT, 59_700.0),  # buffered 59,864.06 is inside the 50 bps minimum: the minimum wins
        (1, 60_000.0, 59_500.0, DEFAULT, 59_500.0 * (1 - 6e-4)),  # beyond the minimum: invalidation minus 6 bps
        (-1, 60_000.0, 60_100.0, DEFAULT, 60_300.0),  # short mirrors it
        (-1, 60_000.0, 60_600.0, DEFAULT, 60_600.0 * (1 + 6e-4)),
        (1, 100.0, 100.5, DEFAULT, 99.5),  # an invalidation above a long's entry still puts the stop below
    ],
)
def test_stop_price(side, entry, invalidation, settings, expected):
    stop, reason = stop_price(side, entry, invalidation, settings)
    assert stop == pytest.approx(expected) and reason == ""


def test_a_stop_wider_than_max_is_refused_with_the_distance():
    stop, reason = stop_price(1, 60_000.0, 57_000.0, ExitSettings(max_stop_bps=300.0))
    assert stop is None
    assert reason == "stop 505.7 bps from entry is wider than exits.max_stop_bps 300"


def test_plan_targets_breakeven_and_trailing_activation():
    settings = ExitSettings(
        take_profits=(TakeProfit(r=1.0, fraction=0.5), TakeProfit(r=3.0)), breakeven_after_r=1.0,
        breakeven_offset_bps=12.0, trailing_offset_bps=40.0, trailing_activation_r=1.5,
    )  # fmt: skip
    long = exit_plan(1, 60_000.0, 59_700.0, settings)
    assert long.targets == ((60_300.0, 0.5), (60_900.0, 1.0))
    assert (long.breakeven_trigger, long.breakeven_stop) == (60_300.0, pytest.approx(60_072.0))
    assert long.trailing_activation == 60_450.0 and long.risk_per_unit == 300.0
    short = exit_plan(-1, 60_000.0, 60_300.0, settings)
    assert short.targets == ((59_700.0, 0.5), (59_100.0, 1.0))
    assert short.breakeven_stop == pytest.approx(59_928.0) and short.trailing_activation == 59_550.0
    assert exit_plan(1, 60_000.0, 59_700.0, DEFAULT).trailing_activation is None  # no trailing configured


def test_trailing_offset_by_bps_or_atr():
    assert trailing_offset(60_000.0, 55.0, ExitSettings(trailing_offset_bps=40.0)) == ("bps", 40.0)
    assert trailing_offset(60_000.0, 55.0, ExitSettings(trailing_atr_multiple=2.0)) == ("price", 110.0)
    assert trailing_offset(60_000.0, 0.0, ExitSettings(trailing_atr_multiple=2.0)) == ("", 0.0)  # ATR not warmed up
    assert reached(1, 60_300.0, 60_300.0) and not reached(-1, 59_701.0, 59_700.0)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"take_profits": []}, "needs at least one target"),
        ({"take_profits": [{"r": 1.0, "fraction": 0.6}, {"r": 2.0, "fraction": 0.5}, {"r": 3.0}]}, "partial fractions must sum below 1"),
        ({"take_profits": [{"r": 2.0, "fraction": 0.5}, {"r": 1.0}]}, "increasing r"),
        ({"take_profits": [{"r": -1.0}]}, "each r must be > 0"),
        ({"min_stop_bps": 400.0, "max_stop_bps": 300.0}, "must not exceed"),
        ({"trailing_ofset_bps": 4.0}, "unknown field `trailing_ofset_bps`"),
    ],
)
def test_bad_exit_settings_are_refused(raw, message):
    with pytest.raises(msgspec.ValidationError, match=message):
        msgspec.convert(raw, ExitSettings)
