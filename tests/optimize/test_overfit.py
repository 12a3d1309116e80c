"""DSR, PBO, the plateau choice and walk-forward folds against hand-built cases with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ravebear.optimize.folds import make_folds
from ravebear.optimize.overfit import (
    deflated_sharpe,
    expected_max_sharpe,
    pbo_cscv,
    plateau_choice,
    plateau_scores,
    probabilistic_sharpe,
)
from ravebear.optimize.settings import WalkForward
from ravebear.platform.nodes.run_file import ConfigError


def test_dsr_matches_the_papers_worked_example():
    # Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", section 5: annualised SR 2.5 over 5 years of daily
    # returns (T = 1250), N = 100 trials with annualised SR variance 0.5, skew -3, kurtosis 10 -> SR0 ~ 0.1132
    # (1.7894 annualised) and DSR ~ 0.9004
    sr, variance = 2.5 / np.sqrt(250), 0.5 / 250
    sr0 = expected_max_sharpe(100, variance)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)
    assert sr0 * np.sqrt(250) == pytest.approx(1.7894, abs=5e-4)
    assert probabilistic_sharpe(sr, sr0, 1250, -3, 10) == pytest.approx(0.9004, abs=5e-4)


def test_dsr_falls_as_the_number_of_trials_grows():
    rng = np.random.default_rng(3)
    returns = rng.normal(0.001, 0.01, 500)
    sharpes = rng.normal(0, 0.05, 50)
    few, many = deflated_sharpe(returns, sharpes, trials=5), deflated_sharpe(returns, sharpes, trials=500)
    assert few.sharpe == pytest.approx(returns.mean() / returns.std(ddof=1))
    assert many.sr0 > few.sr0 and many.dsr < few.dsr


def test_pbo_is_one_for_strategies_that_are_all_noise_around_the_same_mean():
    # every column has the same (zero) full-sample mean: the in-sample winner is always an out-of-sample loser
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 0.01, (400, 20))
    assert pbo_cscv(noise - noise.mean(axis=0), 8).pbo == 1.0


def test_pbo_is_zero_with_one_dominant_strategy():
    rng = np.random.default_rng(7)
    returns = rng.normal(0, 0.01, (400, 20))
    returns[:, 5] += 0.01
    result = pbo_cscv(returns, 8)
    assert result.pbo == 0.0 and result.splits == 70  # C(8, 4)


def test_pbo_of_raw_noise_averages_near_one_half():
    values = [pbo_cscv(np.random.default_rng(seed).normal(0, 0.01, (400, 10)), 8).pbo for seed in range(20)]
    assert 0.35 < float(np.mean(values)) < 0.75


def test_pbo_refuses_too_few_periods():
    with pytest.raises(ValueError, match="at least 2 trials and 16 periods"):
        pbo_cscv(np.zeros((10, 3)), 8)


def test_plateau_prefers_a_broad_hill_over_a_lone_spike():
    xs = np.linspace(0, 1, 21)
    values = np.exp(-((xs - 0.3) ** 2) / 0.02)  # broad hill at 0.3, peak 1.0
    values[18] = 1.5  # a lone spike at 0.9
    medians, sizes = plateau_scores(xs[:, None], values, 0.1)
    assert int(np.argmax(values)) == 18
    assert plateau_choice(xs[:, None], values, 0.1) == 6 and sizes[6] == 5  # the hill's top, 5 neighbours
    assert medians[18] < 0.01


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def test_anchored_folds_tile_the_end_with_purge_and_embargo():
    folds = make_folds(ts("2026-07-28"), ts("2026-08-07"), WalkForward(mode="anchored", folds=3, test="2d", purge="60 bars", embargo="2h"))
    assert [f.oos_end for f in folds] == [ts("2026-08-03"), ts("2026-08-05"), ts("2026-08-07")]
    assert all(f.is_start == ts("2026-07-28") for f in folds)
    assert folds[0].is_end == ts("2026-08-01") - pd.Timedelta("1h")  # purge: 60 one-minute bars
    assert folds[0].oos_start == ts("2026-08-01 02:00")  # embargo: 2 h
    assert folds[2].is_end == ts("2026-08-05") - pd.Timedelta("1h")


def test_rolling_folds_keep_their_length_and_refuse_what_does_not_fit():
    folds = make_folds(ts("2026-07-28"), ts("2026-08-07"), WalkForward(mode="rolling", folds=2, test="2d", train="4d"))
    assert [(f.is_start, f.is_end) for f in folds] == [(ts("2026-07-30"), ts("2026-08-03")), (ts("2026-08-01"), ts("2026-08-05"))]
    with pytest.raises(ConfigError, match="do not fit in 2026-07-28 00:00 .. 2026-08-07 00:00 UTC"):
        make_folds(ts("2026-07-28"), ts("2026-08-07"), WalkForward(mode="rolling", folds=4, test="2d", train="4d"))
    with pytest.raises(ConfigError, match="needs 'train'"):
        make_folds(ts("2026-07-28"), ts("2026-08-07"), WalkForward(mode="rolling", folds=2, test="2d"))
