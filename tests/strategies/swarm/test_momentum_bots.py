"""The momentum bots on real candles (bundled OKX ETH swap, 26k minutes): every vote equals the rule of
docs/SWARM.md computed independently with pandas over the same candles (pandas' `ewm(adjust=False)` is the
EMA nautilus's MACD/RSI/EMA use; fires on the same bars, confidence within 1e-9 relative), a bar where half
the rule holds and the bot must abstain, and bad settings' one-line errors."""

import numpy as np
import pandas as pd
import pytest

from ravebear.strategies.swarm.bots.momentum import MOMENTUM_BOTS, ATHVolume, GoldenCross, MACDCross, RSIRev, TrendRespect
from tests.strategies.swarm.candle_inputs import feed_candles, okx


def assert_votes(pure: np.ndarray, expected: np.ndarray, rtol: float = 1e-9) -> None:
    """Same bars fire, same sides, confidences equal to `rtol`; enough fires on both sides to mean it."""
    np.testing.assert_array_equal(np.sign(pure), np.sign(expected))
    np.testing.assert_allclose(pure, expected, rtol=rtol, atol=0)
    assert (pure > 0).sum() >= 5 and (pure < 0).sum() >= 5


def ema(values: pd.Series, bars: int) -> pd.Series:
    return values.ewm(alpha=2.0 / (bars + 1.0), adjust=False).mean()


def crossings(line: pd.Series, ready: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bars where `line` turns positive (negative) from <= 0 (>= 0) at the previous ready bar."""
    previous = line.shift(1).where(np.r_[False, ready[:-1]])
    return ((line > 0) & (previous <= 0)).to_numpy() & ready, ((line < 0) & (previous >= 0)).to_numpy() & ready


@pytest.fixture(scope="module")
def eth() -> pd.DataFrame:
    return okx("ETH")


def test_macd_cross(eth):
    close = eth["close"]
    macd = ema(close, 12) - ema(close, 26)
    histogram = macd - ema(macd, 9)
    up, down = crossings(histogram, np.arange(len(eth)) >= 25)  # the slow EMA has its 26 closes
    confidence = np.minimum((histogram.abs() / close * 1e4 / 0.5).to_numpy(), 1.0)
    expected = np.where(up, confidence, np.where(down, -confidence, 0.0))
    pure = feed_candles(MACDCross.from_settings({}), eth)
    assert_votes(pure, expected)
    assert not pure[:26].any() and (histogram[1:26].abs() > 0).all()  # no vote before the slow EMA is ready


def test_golden_cross(eth):
    close = eth["close"]
    fast, slow = close.rolling(50).mean(), close.rolling(200).mean()
    gap = fast - slow
    up, down = crossings(gap, np.arange(len(eth)) >= 199)
    confidence = np.minimum((gap.abs() / slow * 1e4 / 1.0).to_numpy(), 1.0)
    expected = np.where(up, confidence, np.where(down, -confidence, 0.0))
    pure = feed_candles(GoldenCross.from_settings({}), eth)
    assert_votes(pure, expected, rtol=1e-7)  # at a cross fast - slow cancels all but the means' last digits
    same_side = ~(up | down) & (np.arange(len(eth)) >= 200)  # the averages apart but not crossing: abstain
    assert not pure[same_side].any()


def test_ath_volume(eth):
    timed = eth.set_index(pd.to_datetime(eth["ts_ns"]))
    top = timed["high"].rolling("3D", closed="neither").max().to_numpy()  # candles closed in (t - 3 days, t)
    bottom = timed["low"].rolling("3D", closed="neither").min().to_numpy()
    covered = (eth["ts_ns"] - eth["ts_ns"].iloc[0] >= 3 * 86_400 * 10**9 - 60 * 10**9).to_numpy()
    ratio = (eth["volume"] / eth["volume"].shift(1).rolling(60).mean()).to_numpy()
    close = eth["close"].to_numpy()
    loud = covered & (ratio >= 3.0)
    confidence = np.minimum(ratio / 10.0, 1.0)
    expected = np.where(loud & (close > top), confidence, np.where(loud & (close < bottom), -confidence, 0.0))
    pure = feed_candles(ATHVolume.from_settings({}), eth)
    np.testing.assert_array_equal(np.sign(pure), np.sign(expected))
    np.testing.assert_allclose(pure, expected, rtol=1e-9, atol=0)
    assert (pure > 0).sum() >= 5 and (pure < 0).sum() >= 1  # ETH set few 3-day lows on volume these weeks
    quiet = covered & (ratio < 3.0) & (close > top)  # a new 3-day high on ordinary volume: abstain
    assert quiet.sum() >= 5 and not pure[quiet].any()


def test_rsi_rev(eth):
    change = eth["close"].diff().fillna(0.0)
    gain, loss = ema(change.clip(lower=0.0), 14), ema((-change).clip(lower=0.0), 14)
    rsi = np.where(loss == 0.0, 1.0, 1.0 - 1.0 / (1.0 + gain / loss)) * 100.0
    expected = np.zeros(len(eth))
    extreme = 50.0
    for k in range(13, len(eth)):  # nautilus's RSI is ready after 14 closes
        value = rsi[k]
        if value < 30.0 or value > 70.0:
            extreme = min(extreme, value) if value < 30.0 else max(extreme, value)
            continue
        if extreme < 30.0:
            expected[k] = min((30.0 - extreme) / 15.0, 1.0)
        elif extreme > 70.0:
            expected[k] = -min((extreme - 70.0) / 15.0, 1.0)
        extreme = 50.0
    pure = feed_candles(RSIRev.from_settings({}), eth)
    assert_votes(pure, expected)
    inside = (rsi < 30.0) | (rsi > 70.0)  # still in the extreme zone: no reversion yet
    assert inside.sum() >= 100 and not pure[inside].any()


def test_trend_respect(eth):
    close, line = eth["close"], ema(eth["close"], 50).shift(1)  # the EMA at the previous close
    slope = ((line - line.shift(10)) / line.shift(10)).to_numpy()
    ready = np.arange(len(eth)) >= 50 + 10  # 50 closes for the EMA, then 10 bars of slope
    touch = 5e-4
    up = ready & (slope >= 3e-4) & (eth["low"] <= line * (1 + touch)).to_numpy() & (close > line).to_numpy() & (close > eth["open"]).to_numpy()
    down = ready & (slope <= -3e-4) & (eth["high"] >= line * (1 - touch)).to_numpy() & (close < line).to_numpy() & (close < eth["open"]).to_numpy()
    confidence = np.minimum(np.abs(slope) / 15e-4, 1.0)
    expected = np.where(up, confidence, np.where(down, -confidence, 0.0))
    pure = feed_candles(TrendRespect.from_settings({}), eth)
    assert_votes(pure, expected)
    broken = ready & (slope >= 3e-4) & (close < line).to_numpy()  # an uptrend's pullback that closed below the line
    assert broken.sum() >= 10 and not (pure[broken] > 0).any()


@pytest.mark.parametrize(
    ("bot", "settings", "message"),
    [
        (MACDCross, {"fast_bars": 30}, "slow_bars must be more than fast_bars (30), got 26"),
        (MACDCross, {"signal": 9}, "signal: unknown MACDCross setting (did you mean 'signal_bars'?)"),
        (GoldenCross, {"full_bps": 0}, "full_bps must be above 0 and at most 10,000 bps, got 0"),
        (ATHVolume, {"lookback_days": 400}, "lookback_days must be above 0 and at most 365 days, got 400"),
        (RSIRev, {"oversold": 75}, "overbought must be above oversold (75), got 70"),
        (RSIRev, {"overbought": 100}, "overbought must be above 0 and below 100 RSI points, got 100"),
        (TrendRespect, {"ema_bar": 50}, "ema_bar: unknown TrendRespect setting (did you mean 'ema_bars'?)"),
    ],
)
def test_bad_settings_are_one_line_errors(bot, settings, message):
    with pytest.raises(ValueError) as error:
        bot.from_settings(settings)
    assert str(error.value) == message


def test_group_order():
    assert [bot.name for bot in MOMENTUM_BOTS] == ["MACDCross", "GoldenCross", "ATHVolume", "RSIRev", "TrendRespect"]
