"""CVD (total, session, rolling) and spot-vs-perp divergence: hand-built answers and a pandas recount of the real captures."""

import numpy as np
import pandas as pd
import pytest

from ravebear.strategies.microstructure.cvd import CvdConfig, CvdTracker, DivergenceConfig, SpotPerpDivergence
from ravebear.strategies.microstructure.types import Trade
from ravebear.time_units import NS_PER_HOUR, NS_PER_SECOND
from tests.strategies.microstructure.real_data import COINM_CONTRACT_USD, session_labels, trade_objects, trades

S = NS_PER_SECOND
DAY0 = 1_723_075_200 * S  # 2024-08-08 00:00 UTC


def test_cvd_sums_signed_size_and_the_window_keeps_the_last_seconds_only():
    cvd = CvdTracker(CvdConfig(window_s=60))
    cvd.update(Trade(DAY0 + 9 * NS_PER_HOUR, 100.0, 2.0, 1))
    cvd.update(Trade(DAY0 + 9 * NS_PER_HOUR + 10 * S, 100.0, 0.5, -1))
    assert (cvd.total, cvd.session, cvd.window) == (1.5, 1.5, 1.5)
    cvd.update(Trade(DAY0 + 9 * NS_PER_HOUR + 70 * S, 100.0, 1.0, 1))  # the trade at +10 s is exactly 60 s old: out
    assert (cvd.total, cvd.window) == (2.5, 1.0)


def test_session_cvd_restarts_at_the_london_open():
    cvd = CvdTracker()
    cvd.update(Trade(DAY0 + 8 * NS_PER_HOUR - 1, 100.0, 3.0, 1))
    assert (cvd.session_name, cvd.session) == ("asia", 3.0)
    cvd.update(Trade(DAY0 + 8 * NS_PER_HOUR, 100.0, 1.0, -1))
    assert (cvd.session_name, cvd.session, cvd.total) == ("london", -1.0, 2.0)


@pytest.mark.parametrize("market", ["spot", "usdm", "coinm"])
def test_cvd_over_real_trades_matches_a_pandas_recount(market):
    frame = trades(market)
    cvd = CvdTracker(CvdConfig(window_s=30))
    out = np.empty((len(frame), 3))
    names = []
    for i, trade in enumerate(trade_objects(frame)):
        cvd.update(trade)
        out[i] = cvd.total, cvd.session, cvd.window
        names.append(cvd.session_name)
    signed = frame["size"] * frame["aggressor"]
    labels = session_labels(frame["ts_ns"].to_numpy())
    rolling = pd.Series(signed.to_numpy(), index=pd.to_datetime(frame["ts_ns"], unit="ns")).rolling("30s").sum()
    assert np.allclose(out[:, 0], signed.cumsum(), atol=1e-6)
    assert np.allclose(out[:, 1], signed.groupby(labels).cumsum(), atol=1e-6)
    assert np.allclose(out[:, 2], rolling.to_numpy(), atol=1e-6)
    assert names == [label.split("/")[1] for label in labels]
    if market != "usdm":  # the spot and COIN-M captures cross midnight UTC: off-hours -> asia, and the session CVD restarts
        assert names[0] == "off" and names[-1] == "asia"


@pytest.mark.parametrize("perp", ["usdm", "coinm"])
def test_spot_perp_divergence_over_real_trades_matches_a_pandas_recount(perp):
    window_s, min_quote = 20.0, 150_000.0
    inverse = perp == "coinm"
    config = DivergenceConfig(window_s=window_s, min_quote=min_quote, perp_inverse=inverse, perp_multiplier=COINM_CONTRACT_USD if inverse else 1.0)
    spot, perp_frame = trades("spot"), trades(perp)
    merged = pd.concat([spot.assign(market=0), perp_frame.assign(market=1)]).sort_values("ts_ns", kind="stable").reset_index(drop=True)
    detector = SpotPerpDivergence(config)
    states = [
        (detector.update_perp if market else detector.update_spot)(Trade(int(t), float(p), float(s), int(a)))
        for t, p, s, a, market in merged[["ts_ns", "price", "size", "aggressor", "market"]].itertuples(index=False)
    ]
    got = pd.DataFrame([(s.spot_delta_quote, s.perp_delta_quote, s.price_move_bps, s.divergence) for s in states])

    # in the merged order (trades of both markets can share a timestamp: count only what was fed so far)
    now = merged["ts_ns"].to_numpy()
    is_perp = merged["market"].to_numpy() == 1
    quote = merged["price"].to_numpy() * merged["size"].to_numpy()
    quote[is_perp] = merged["size"].to_numpy()[is_perp] * COINM_CONTRACT_USD if inverse else quote[is_perp]
    signed = quote * merged["aggressor"].to_numpy()
    rows = np.arange(len(merged))
    start = np.searchsorted(now, now - int(window_s * S), "right")  # first row inside (now - window, now]

    def rolling(values):
        cum = np.concatenate([[0.0], np.cumsum(values)])
        return cum[rows + 1] - cum[start]

    spot_delta, perp_delta = rolling(np.where(is_perp, 0.0, signed)), rolling(np.where(is_perp, signed, 0.0))
    perp_rows = np.flatnonzero(is_perp)
    prices = merged["price"].to_numpy()
    last = np.searchsorted(perp_rows, rows, "right") - 1  # the latest perp row so far
    first = np.searchsorted(perp_rows, start, "left")  # the first perp row inside the window
    has = (last >= 0) & (first <= last)
    p_last, p_first = prices[perp_rows[last.clip(0)]], prices[perp_rows[first.clip(0, len(perp_rows) - 1)]]
    move = np.where(has, (p_last - p_first) / p_first * 1e4, 0.0)
    expected = np.where((spot_delta >= min_quote) & (perp_delta <= -min_quote), 1, np.where((spot_delta <= -min_quote) & (perp_delta >= min_quote), -1, 0))

    assert np.allclose(got[0], spot_delta, atol=1e-3) and np.allclose(got[1], perp_delta, atol=1e-3)
    assert np.allclose(got[2], move, atol=1e-9)
    assert (got[3].to_numpy() == expected).all()
    assert (expected != 0).sum() > 10  # the captures do hold divergences at this threshold


def test_divergence_names_which_side_price_followed():
    detector = SpotPerpDivergence(DivergenceConfig(window_s=60, min_quote=500))
    detector.update_perp(Trade(DAY0, 100.0, 1.0, 1))  # +100 quote
    detector.update_spot(Trade(DAY0 + S, 100.0, 10.0, 1))  # spot +1000
    state = detector.update_perp(Trade(DAY0 + 2 * S, 99.0, 20.0, -1))  # perp -1980 + 100, price 100 -> 99
    assert (state.spot_delta_quote, state.perp_delta_quote, state.divergence) == (1000.0, -1880.0, 1)
    assert round(state.price_move_bps, 6) == -100.0 and state.led_by == "perp"
    state = detector.update_spot(Trade(DAY0 + 61 * S, 99.0, 1.0, 1))  # 60 s later only the last perp trade and this spot trade count
    assert (state.spot_delta_quote, state.perp_delta_quote, state.divergence, state.led_by) == (99.0, -1980.0, 0, "")
