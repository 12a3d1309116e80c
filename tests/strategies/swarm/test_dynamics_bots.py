"""The dynamics bots on real candles (bundled OKX swaps, Binance USD-M with its real funding and BTC as the reference):
each vote is recomputed independently with pandas over the same bars, plus abstentions and bad settings."""

import numpy as np
import pandas as pd
import pytest

from ravebear.strategies.swarm.bots.dynamics import (
    CorrBreak,
    CorrBreakConfig,
    FlashCrash,
    FlashCrashConfig,
    FundArb,
    FundArbConfig,
    GapFill,
    GapFillConfig,
    PingPong,
    PingPongConfig,
)
from ravebear.time_units import NS_PER_MINUTE
from tests.strategies.swarm.real_inputs import bars, feed, funding_rates


def clip(values: np.ndarray) -> np.ndarray:
    return np.clip(values, 0.0, 1.0)


def assert_votes(votes: np.ndarray, expected: np.ndarray, borderline: np.ndarray, least: int) -> None:
    """Votes equal the recount (<= 1e-9 relative: rolling sums add in another order) away from the thresholds,
    the bot fires at least `least` times and both ways."""
    keep = ~borderline
    np.testing.assert_allclose(votes[keep], expected[keep], rtol=1e-9, atol=1e-12)
    assert (expected[keep] > 0).sum() >= least and (expected[keep] < 0).sum() >= least
    assert borderline.sum() <= len(votes) // 1000  # ties at a threshold are rare


def test_fund_arb_fades_the_real_funding_beyond_the_threshold():
    frame = bars("SOL", funding="SOL", days=20, source="binance")
    config = FundArbConfig(extreme_rate=0.00005, full_rate=0.0002)
    votes = feed(FundArb(config), frame, funding_rates("SOL"))
    rate = frame["funding"].to_numpy()  # the last rate whose fundingTime is at or before the bar's close
    expected = np.where(np.abs(rate) >= 0.00005, -np.sign(rate) * clip(np.abs(rate) / 0.0002), 0.0)
    assert_votes(votes, expected, np.zeros(len(frame), bool), least=100)
    assert votes.max() == pytest.approx(0.00013744 / 0.0002)  # SOL's most negative rate in these days: -0.013744 %
    # a 4-hour venue: the same rate per interval is twice the 8-hour rate
    votes_4h = feed(FundArb(FundArbConfig(extreme_rate=0.0001, full_rate=0.0004, interval_h=4.0)), frame, funding_rates("SOL"))
    np.testing.assert_array_equal(votes_4h, votes)


def test_fund_arb_abstains_without_funding():
    assert not feed(FundArb(FundArbConfig()), bars("BTC", days=2)).any()


def corr_break_recount(frame: pd.DataFrame, config: CorrBreakConfig) -> tuple[np.ndarray, np.ndarray]:
    """Runs of consecutive minutes with a reference close; within each, pandas rolling population moments."""
    ts, ref = frame["ts_ns"].to_numpy(), frame["reference"].to_numpy()
    joined = np.r_[False, (np.diff(ts) == NS_PER_MINUTE) & ~np.isnan(ref[1:]) & ~np.isnan(ref[:-1])]
    run = np.cumsum(~joined)
    expected, borderline = np.zeros(len(frame)), np.zeros(len(frame), bool)
    for _, part in frame.assign(run=run)[~np.isnan(ref)].groupby("run"):
        r, q = part["close"].pct_change(), part["reference"].pct_change()
        w = config.window_bars
        cov = (r * q).rolling(w).mean() - r.rolling(w).mean() * q.rolling(w).mean()
        var_r = (r * r).rolling(w).mean() - r.rolling(w).mean() ** 2
        var_q = (q * q).rolling(w).mean() - q.rolling(w).mean() ** 2
        corr = cov / np.sqrt(var_r * var_q)
        lag = config.lag_bars
        gap = (cov / var_q * (part["reference"] / part["reference"].shift(lag) - 1) - (part["close"] / part["close"].shift(lag) - 1)) * 1e4
        fires = (corr >= config.min_corr) & (gap.abs() >= config.min_gap_bps)
        expected[part.index] = np.where(fires, np.sign(gap) * clip(gap.abs().to_numpy() / config.full_gap_bps), 0.0)
        borderline[part.index] = ((corr - config.min_corr).abs() < 1e-9) | ((gap.abs() - config.min_gap_bps).abs() < 1e-6)
    return expected, borderline


@pytest.mark.parametrize(
    ("source", "days", "config"),
    [
        ("binance", 10, CorrBreakConfig(window_bars=120, lag_bars=5, min_corr=0.7, min_gap_bps=8.0, full_gap_bps=30.0)),
        ("okx", None, CorrBreakConfig(window_bars=60, lag_bars=3, min_corr=0.6, min_gap_bps=10.0, full_gap_bps=40.0)),
    ],
)
def test_corr_break_votes_the_catch_up_to_btc(source, days, config):
    frame = bars("ETH", reference="BTC", days=days, source=source)
    votes = feed(CorrBreak(config), frame)
    expected, borderline = corr_break_recount(frame, config)
    assert_votes(votes, expected, borderline, least=5)


def test_corr_break_abstains_without_the_reference():
    assert not feed(CorrBreak(CorrBreakConfig(min_gap_bps=1.0)), bars("ETH", days=3)).any()


def test_flash_crash_votes_the_rebound_of_real_flash_moves():
    frame = bars("SOL")
    config = FlashCrashConfig(window_bars=5, min_move_bps=100.0, full_move_bps=300.0, volume_multiple=2.0, baseline_bars=60)
    votes = feed(FlashCrash(config), frame)
    w, b = config.window_bars, config.baseline_bars
    high, low, close = frame["high"].rolling(w).max(), frame["low"].rolling(w).min(), frame["close"]
    recent_mean = frame["volume"].rolling(w).sum() / w
    base_mean = frame["volume"].shift(w).rolling(b).sum() / b
    surge = recent_mean > config.volume_multiple * base_mean
    drop, rise = (high - close) / high * 1e4, (close - low) / low * 1e4
    expected = np.where(drop >= rise, np.where(drop >= 100.0, clip(drop / 300.0), 0.0), np.where(rise >= 100.0, -clip(rise / 300.0), 0.0))
    expected = np.where(surge, expected, 0.0)
    borderline = ((recent_mean / base_mean - config.volume_multiple).abs() < 1e-9).to_numpy()
    assert_votes(votes, expected, borderline, least=2)


def test_gap_fill_votes_toward_the_previous_close_until_filled():
    frame = bars("BTC")  # the OKX sample: gaps across its 62 missing stretches and at sharp minutes
    config = GapFillConfig(min_gap_bps=5.0, full_gap_bps=30.0, max_bars=120)
    votes = feed(GapFill(config), frame)
    prev = frame["close"].shift()
    gap = ((frame["open"] - prev).abs() / prev * 1e4 >= 5.0).to_numpy()
    work = frame.assign(gid=np.cumsum(gap), target=np.where(gap, prev, np.nan), side=np.where(gap, np.sign(prev - frame["open"]), np.nan))
    work[["target", "side"]] = work.groupby("gid")[["target", "side"]].transform("first")
    touched = np.where(work["side"] > 0, work["high"] >= work["target"], work["low"] <= work["target"])
    filled = pd.Series(touched).groupby(work["gid"]).cummax().to_numpy()
    age = work.groupby("gid").cumcount().to_numpy()
    live = (work["gid"] > 0).to_numpy() & ~filled & (age <= config.max_bars)
    distance = (work["target"] - work["close"]).abs() / work["close"] * 1e4
    expected = np.where(live, work["side"] * clip(distance.to_numpy() / 30.0), 0.0)
    assert_votes(votes, expected, np.zeros(len(frame), bool), least=20)


def test_ping_pong_buys_the_floor_and_sells_the_ceiling_of_tight_ranges():
    frame = bars("ETH")
    config = PingPongConfig()
    votes = feed(PingPong(config), frame)
    n, edge = config.lookback_bars, config.edge
    high, low, close = frame["high"].shift().rolling(n).max(), frame["low"].shift().rolling(n).min(), frame["close"]
    width = (high - low) / low * 1e4
    efficiency = (close - close.shift(n)).abs() / close.diff().abs().rolling(n).sum()
    place = (close - low) / (high - low)
    tight = (close >= low) & (close <= high) & (width >= config.min_range_bps) & (width <= config.max_range_bps) & (efficiency <= config.max_efficiency)
    expected = np.where(tight & (place < edge), clip((edge - place) / edge), np.where(tight & (place > 1 - edge), -clip((place - (1 - edge)) / edge), 0.0))
    borderline = ((efficiency - config.max_efficiency).abs() < 1e-9).to_numpy()
    assert_votes(votes, np.nan_to_num(expected), borderline, least=200)


@pytest.mark.parametrize(
    ("bot", "settings", "message"),
    [
        (CorrBreak, {"window_bar": 60}, "window_bar: unknown CorrBreak setting (did you mean 'window_bars'?)"),
        (FundArb, {"extreme_rate": -0.001}, "extreme_rate must be above 0 and at most 0.05 fraction per 8 h, got -0.001"),
        (FlashCrash, {"min_move_bps": 0}, "min_move_bps must be above 0 and at most 10,000 bps, got 0"),
        (PingPong, {"edge": 0.7}, "edge must be above 0 and at most 0.5 of the range, got 0.7"),
        (GapFill, {"max_bars": 0}, "max_bars must be between 1 and 100,000 bars, got 0"),
    ],
)
def test_bad_settings_are_one_line_errors(bot, settings, message):
    with pytest.raises(ValueError) as error:
        bot.from_settings(settings)
    assert str(error.value) == message
