"""The regime on real OKX 1-minute candles: labels never change when future bars are appended (both kinds), the
rule regime's labels follow its definition (indicators recomputed independently with pandas), hysteresis and the
minimum duration hold, and bad settings give one-line errors."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from ravebear.strategies.levels.timeframes import resample_candles
from ravebear.strategies.swarm.regime import RegimeConfig, RuleRegime, make_regime
from ravebear.strategies.swarm.state import RANGING, TRENDING, VOLATILE, WARMUP
from tests.strategies.swarm.swarm_data import candles

CONFIG = RegimeConfig()


def labels(config: RegimeConfig, bars: list) -> list[int]:
    regime = make_regime(config)
    return [regime.on_candle(candle) for candle in bars]


@pytest.mark.parametrize("kind", ["rule", "markov"])
def test_appending_future_bars_never_changes_a_past_label(okx_btc_raw: pd.DataFrame, kind: str) -> None:
    frame = okx_btc_raw if kind == "rule" else okx_btc_raw.iloc[:9000]
    config = RegimeConfig(kind=kind, markov_window=1440, markov_refit=360) if kind == "markov" else CONFIG
    bars = candles(frame)
    full = labels(config, bars)
    cut = len(bars) * 2 // 3
    prefix = labels(config, bars[:cut])
    assert prefix == full[:cut]
    assert {TRENDING, RANGING, VOLATILE} <= set(full[:cut])  # every label occurs before the cut


def regime_candles(frame: pd.DataFrame, config: RegimeConfig) -> pd.DataFrame:
    """The regime candles and their indicators, computed with pandas from the definition in docs/SWARM.md."""
    out = resample_candles(frame, config.timeframe_min)
    prev = out["close"].shift(1)
    true_range = pd.concat([out["high"], prev], axis=1).max(axis=1) - pd.concat([out["low"], prev], axis=1).min(axis=1)
    out["range_bps"] = (true_range / out["close"] * 1e4).where(prev.notna())  # needs the previous close
    out["vol"] = out["range_bps"].rolling(config.vol_period).mean()
    move = (out["close"] - out["close"].shift(config.trend_period)).abs()
    path = out["close"].diff().abs().rolling(config.trend_period).sum()
    out["er"] = move / path
    vol = out["vol"].to_numpy()
    pct = np.full(len(out), np.nan)
    first = int(np.argmax(~np.isnan(vol)))
    for k in range(first + config.vol_min_history, len(out)):
        history = vol[max(first, k - config.vol_lookback) : k]
        pct[k] = np.mean(history < vol[k])
    out["pct"] = pct
    return out


class Recording(RuleRegime):
    """The rule regime, keeping each regime candle's label and indicator values as it closes."""

    def __init__(self, config: RegimeConfig) -> None:
        super().__init__(config)
        self.seen: list[int] = []
        self.values: list[tuple[float, float, float]] = []

    def _close_bucket(self) -> None:
        super()._close_bucket()
        self.seen.append(self.label)
        self.values.append((self.efficiency, self.volatility_bps, self.percentile))


def test_rule_labels_follow_their_definition(okx_btc_raw: pd.DataFrame) -> None:
    config = CONFIG
    regime = Recording(config)
    for candle in candles(okx_btc_raw):
        regime.on_candle(candle)
    seen, values = regime.seen, regime.values
    table = regime_candles(okx_btc_raw, config)
    assert len(seen) == len(table)
    got = np.array(values)
    known = ~np.isnan(table["pct"].to_numpy())
    np.testing.assert_allclose(got[known, 0], table["er"].to_numpy()[known], rtol=1e-9)
    np.testing.assert_allclose(got[known, 1], table["vol"].to_numpy()[known], rtol=1e-9)
    np.testing.assert_array_equal(got[known, 2], table["pct"].to_numpy()[known])
    label = np.array(seen)
    assert (label[~known] == WARMUP).all() and (label[known] != WARMUP).all()
    er, pct = table["er"].to_numpy(), table["pct"].to_numpy()
    runs = []  # (label, first candle, length)
    for k in np.flatnonzero(known):
        if runs and runs[-1][0] == label[k]:
            runs[-1][2] += 1
        else:
            runs.append([label[k], k, 1])
    assert len(runs) > 20
    for (prev_label, _, prev_len), (now, k, _) in itertools.pairwise(runs):
        assert prev_len >= config.min_duration  # minimum duration
        vol_bar = config.volatile_exit if prev_label == VOLATILE else config.volatile_enter
        trend_bar = config.trend_exit if prev_label == TRENDING else config.trend_enter
        if now == VOLATILE:
            assert pct[k] >= vol_bar
        else:
            assert pct[k] < vol_bar
            assert (er[k] >= trend_bar) == (now == TRENDING)
    # hysteresis at work on real data: trends kept below the entry threshold, volatility kept below its entry
    in_trend = (label[1:] == TRENDING) & (label[:-1] == TRENDING)
    assert np.any(in_trend & (er[1:] < config.trend_enter) & (er[1:] >= config.trend_exit))
    in_vol = (label[1:] == VOLATILE) & (label[:-1] == VOLATILE)
    assert np.any(in_vol & (pct[1:] < config.volatile_enter) & (pct[1:] >= config.volatile_exit))
    # a label that outlived its minimum duration is left as soon as its exit condition holds
    for now, k, length in runs:
        for j in range(k + config.min_duration, k + length):
            if now == TRENDING:
                assert er[j] >= config.trend_exit or pct[j] >= config.volatile_enter
            if now == VOLATILE:
                assert pct[j] >= config.volatile_exit


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"kind": "hmm"}, "kind must be one of rule, markov, got 'hmm'"),
        ({"trend_enter": 1.5}, "trend_enter must be between 0 and 1 efficiency ratio, got 1.5"),
        ({"trend_exit": 0.5}, "trend_exit must be at most trend_enter (0.35), got 0.5"),
        ({"vol_min_history": 1000}, "vol_min_history must be at most vol_lookback (672), got 1000"),
    ],
)
def test_bad_settings_give_one_line_errors(settings: dict, message: str) -> None:
    with pytest.raises(ValueError) as error:
        make_regime(RegimeConfig(**settings))
    assert str(error.value) == message
