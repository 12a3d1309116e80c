"""Research's fast order flow (numba twins) equals the pure detectors fed one event at a time.

Over the real Binance BTC captures (spot, USD-M, COIN-M; spot and COIN-M cross midnight UTC, an off -> asia
session boundary): CVD total/session/window, session VWAP, whale trades and runs, absorption buckets and tiers,
with the default configs and with configs that make whales, clusters and tiers frequent. The book: REST snapshot
then the first DIFFS depth diffs in update-id order (`real_data.synced_depth`), best bid/ask after every update, all
of `book_features` after the first 1000 diffs and on a stride of 499 updates. Counts, indices, tiers, prices and CVD/VWAP sums must be equal; the
other floats within 1e-9 relative. Plus hand-built edge cases. The first run compiles the kernels (numba caches them).
"""

from __future__ import annotations

import numpy as np
import pytest

from ravebear.research.fast_orderflow import (
    BOOK_COLUMNS,
    fast_book_replay,
    fast_trade_flow,
)
from ravebear.strategies.microstructure.absorption import (
    AbsorptionConfig,
    AbsorptionDetector,
)
from ravebear.strategies.microstructure.book_features import (
    BookFeatureConfig,
    book_features,
)
from ravebear.strategies.microstructure.cvd import CvdConfig, CvdTracker
from ravebear.strategies.microstructure.sessions import SessionHours
from ravebear.strategies.microstructure.types import Book, BookUpdate, Trade
from ravebear.strategies.microstructure.vwap import SessionVwap
from ravebear.strategies.microstructure.whales import WhaleConfig, WhaleDetector
from ravebear.time_units import NS_PER_HOUR
from tests.strategies.microstructure.real_data import (
    COINM_CONTRACT_USD,
    book_updates,
    synced_depth,
    trade_objects,
    trades,
)

RTOL = 1e-9
DIFFS = 120_000  # depth diffs per market in the book comparison (the pure replay's time keeps the file under 30 s)
BUSY = {  # thresholds low enough that whales, clusters and every absorption tier occur in minutes of data
    "spot": (WhaleConfig(min_notional=20_000.0, cluster_window_s=30.0, cluster_min_trades=3), AbsorptionConfig(bucket_s=1.0, lookback_buckets=5)),
    "usdm": (WhaleConfig(min_notional=200_000.0, cluster_window_s=2.0), AbsorptionConfig(bucket_s=2.0, lookback_buckets=10)),
    "coinm": (WhaleConfig(min_notional=20_000.0, contract_multiplier=COINM_CONTRACT_USD, inverse=True),
              AbsorptionConfig(bucket_s=1.0, lookback_buckets=3)),
}
DEFAULT_WHALES = {"spot": WhaleConfig(), "usdm": WhaleConfig(), "coinm": WhaleConfig(contract_multiplier=COINM_CONTRACT_USD, inverse=True)}


def pure_trade_flow(items: list[Trade], cvd_config: CvdConfig, whale_config: WhaleConfig, absorption_config: AbsorptionConfig):
    """The pure detectors fed one trade at a time: per-trade columns, whale rows, absorption buckets (flushed at the end)."""
    cvd, vwap, whales, absorption = CvdTracker(cvd_config), SessionVwap(cvd_config.sessions), WhaleDetector(whale_config), AbsorptionDetector(absorption_config)
    columns, names, whale_rows, buckets = [], [], [], []
    for i, trade in enumerate(items):
        cvd.update(trade)
        vwap.update(trade)
        columns.append((cvd.total, cvd.session, cvd.window, np.nan if vwap.value is None else vwap.value))
        names.append(vwap.session_name)
        whale = whales.update(trade)
        if whale is not None:
            whale_rows.append((i, whale.notional, whale.run_trades, whale.run_notional, whale.run_start_ns, whale.cluster))
        closed = absorption.update(trade)
        if closed is not None:
            buckets.append((i, closed))
    closed = absorption.flush()
    if closed is not None:
        buckets.append((-1, closed))
    return np.array(columns).reshape(-1, 4), names, whale_rows, buckets


def assert_same_flow(flow, pure) -> None:
    columns, names, whale_rows, buckets = pure
    got = np.column_stack([flow.cvd_total, flow.cvd_session, flow.cvd_window, flow.vwap])
    # total, session CVD and VWAP are running sums in the same order: bit-equal; the window too (same adds and evictions)
    np.testing.assert_array_equal(got, columns)
    assert [flow.session_names[k] for k in flow.session] == names
    assert flow.whale_index.tolist() == [row[0] for row in whale_rows]
    assert flow.whale_notional.tolist() == [row[1] for row in whale_rows]
    assert flow.whale_run_trades.tolist() == [row[2] for row in whale_rows]
    assert flow.whale_run_notional.tolist() == [row[3] for row in whale_rows]
    assert flow.whale_run_start_ns.tolist() == [row[4] for row in whale_rows]
    assert flow.whale_cluster.tolist() == [row[5] for row in whale_rows]
    expected_i = [(b.start_ns, b.end_ns, b.side, b.tier, i) for i, b in buckets]
    assert [tuple(row) for row in flow.bucket_i.tolist()] == expected_i
    expected_f = np.array([(b.buy_size, b.sell_size, b.delta, b.reference_price, b.close, b.multiple, b.move_bps) for _, b in buckets]).reshape(-1, 7)
    np.testing.assert_array_equal(flow.bucket_f[:, :5], expected_f[:, :5])
    np.testing.assert_allclose(flow.bucket_f[:, 5:], expected_f[:, 5:], rtol=RTOL, atol=0)


@pytest.mark.parametrize("market", ["spot", "usdm", "coinm"])
def test_trade_flow_equals_the_pure_detectors_on_the_real_captures(market):
    frame = trades(market)
    items = trade_objects(frame)
    arrays = (frame["ts_ns"].to_numpy(), frame["price"].to_numpy(), frame["size"].to_numpy(), frame["aggressor"].to_numpy())
    busy_whales, busy_absorption = BUSY[market]
    for cvd, whales, absorption in ((CvdConfig(), DEFAULT_WHALES[market], AbsorptionConfig()), (CvdConfig(window_s=7.5), busy_whales, busy_absorption)):
        flow = fast_trade_flow(*arrays, cvd=cvd, whales=whales, absorption=absorption)
        pure = pure_trade_flow(items, cvd, whales, absorption)
        assert_same_flow(flow, pure)
        if absorption is busy_absorption:  # the comparison covered what it claims to
            assert set(flow.bucket_i[:, 3]) == {0, 1, 2, 3}, "every absorption tier occurs"
            assert flow.whale_cluster.any() and not flow.whale_cluster.all()
            assert len(set(flow.whale_run_start_ns)) > 1
    if market in ("spot", "coinm"):
        assert [flow.session_names[k] for k in np.unique(flow.session)] == ["off", "asia"]  # the midnight boundary


def test_usdm_default_whales_are_the_six_million_dollar_prints():
    frame = trades("usdm")
    flow = fast_trade_flow(frame["ts_ns"].to_numpy(), frame["price"].to_numpy(), frame["size"].to_numpy(), frame["aggressor"].to_numpy())
    notional = frame["price"].to_numpy() * frame["size"].to_numpy()
    assert flow.whale_index.tolist() == np.flatnonzero(notional >= 1_000_000).tolist() and len(flow.whale_index) == 6


def pure_book(updates: list[BookUpdate], config: BookFeatureConfig, stride: int, head: int):
    """Book.apply per update: best bid/ask after every one, book_features after the first `head` and every `stride`-th."""
    book = Book()
    best = np.full((len(updates), 2), np.nan)
    sampled, rows = [], []
    for i, update in enumerate(updates):
        book.apply(update)
        bid, ask = book.best_bid(), book.best_ask()
        best[i] = (np.nan if bid is None else bid, np.nan if ask is None else ask)
        if i < head or i % stride == 0:
            features = book_features(book, config)
            sampled.append(i)
            rows.append([np.nan] * 5 if features is None else
                        [features.spread_bps, features.obi, features.weighted_obi, features.bid_depth, features.ask_depth])
    return best, np.array(sampled), np.array(rows)


@pytest.mark.parametrize("market,config", [
    ("spot", BookFeatureConfig()),
    ("usdm", BookFeatureConfig(levels=3, half_distance_bps=1.0, depth_bps=2.0)),
    ("coinm", BookFeatureConfig(levels=25, half_distance_bps=20.0, depth_bps=50.0)),
])
def test_book_replay_equals_the_pure_book_on_the_real_depth(market, config):
    snapshot, diffs = synced_depth(market)
    updates = book_updates(snapshot, int(snapshot["ts_ns"].iloc[0])) + book_updates(diffs.iloc[:DIFFS])
    side = np.array([u.side for u in updates])
    price = np.array([u.price for u in updates])
    size = np.array([u.size for u in updates])
    got = fast_book_replay(side, price, size, config)
    best, sampled, rows = pure_book(updates, config, stride=499, head=len(snapshot) + 1000)
    np.testing.assert_array_equal(got[:, :2], best)  # every update
    assert np.isnan(best[0, 1]) and not np.isnan(best[-1]).any()  # the snapshot starts one-sided; the end book is two-sided
    np.testing.assert_allclose(got[sampled, 2:], rows, rtol=RTOL, atol=1e-12)
    two_sided = sampled[~np.isnan(rows[:, 0])]
    assert len(two_sided) > 1000 and np.ptp(got[two_sided, BOOK_COLUMNS.index("obi")]) > 0.5  # the OBI moves over the sample


# -- hand-built edge cases -----------------------------------------------------------------


def test_empty_input_gives_empty_outputs():
    empty = np.zeros(0)
    flow = fast_trade_flow(empty.astype(np.int64), empty, empty, empty.astype(np.int64))
    assert len(flow.cvd_total) == len(flow.whale_index) == len(flow.bucket_i) == 0 and flow.session_names == []
    assert fast_book_replay(empty, empty, empty).shape == (0, len(BOOK_COLUMNS))


def test_one_trade():
    ts = 3 * NS_PER_HOUR + 5  # in asia
    flow = fast_trade_flow(np.array([ts]), np.array([60_000.0]), np.array([20.0]), np.array([-1]))
    assert (flow.cvd_total[0], flow.cvd_session[0], flow.cvd_window[0], flow.vwap[0]) == (-20.0, -20.0, -20.0, 60_000.0)
    assert flow.session_names == ["asia"] and flow.session_start_ns.tolist() == [0]
    assert flow.whale_index.tolist() == [0] and flow.whale_notional.tolist() == [1_200_000.0]
    assert flow.whale_run_trades.tolist() == [1] and not flow.whale_cluster[0]
    # the flush closes its bucket: sellers, no lookback yet, so multiple 0 and tier 0
    assert flow.bucket_i.tolist() == [[ts - ts % 10**10, ts - ts % 10**10 + 10**10, -1, 0, -1]]
    assert flow.bucket_f.tolist() == [[0.0, 20.0, -20.0, 60_000.0, 60_000.0, 0.0, 0.0]]


def test_session_boundary_restarts_session_cvd_and_vwap_but_not_total_or_window():
    sessions = (SessionHours("asia", 0.0, 8.0), SessionHours("london", 8.0, 13.0))
    ts = np.array([8 * NS_PER_HOUR - 1, 8 * NS_PER_HOUR, 13 * NS_PER_HOUR])  # last asia ns, first london ns, first off ns
    flow = fast_trade_flow(ts, np.array([100.0, 200.0, 300.0]), np.array([1.0, 2.0, 4.0]), np.array([1, 1, -1]),
                           cvd=CvdConfig(window_s=3600.0 * 6, sessions=sessions))
    assert [flow.session_names[k] for k in flow.session] == ["asia", "london", "off"]
    assert flow.session_start_ns.tolist() == [0, 8 * NS_PER_HOUR, 13 * NS_PER_HOUR]
    assert flow.cvd_session.tolist() == [1.0, 2.0, -4.0]
    assert flow.vwap.tolist() == [100.0, 200.0, 300.0]
    assert flow.cvd_total.tolist() == [1.0, 3.0, -1.0] and flow.cvd_window.tolist() == [1.0, 3.0, -1.0]


def test_book_edge_cases_one_sided_delete_of_best_and_unknown_delete():
    #            bid 99 x1   ask 101 x2   bid 100 x3   delete bid 100   delete unknown ask   delete ask 101
    side = np.array([1, -1, 1, 1, -1, -1])
    price = np.array([99.0, 101.0, 100.0, 100.0, 105.0, 101.0])
    size = np.array([1.0, 2.0, 3.0, 0.0, 0.0, 0.0])
    got = fast_book_replay(side, price, size, BookFeatureConfig(levels=1))
    for row in (got[0], got[5]):  # no asks: the best bid stands, book_features is None
        assert row[0] == 99.0 and np.isnan(row[1:]).all()
    assert got[1, :4].tolist() == [99.0, 101.0, 2 / 100 * 1e4, (1 - 2) / 3]
    assert got[2, :2].tolist() == [100.0, 101.0] and got[2, 3] == (3 - 2) / 5
    assert got[3, :2].tolist() == got[4, :2].tolist() == [99.0, 101.0]


@pytest.mark.parametrize("ts,aggressor,sizes,message", [
    ([1, 2], [1, 0], 2, "trade 1: aggressor must be +1 (buyer) or -1 (seller), got 0"),
    ([5, 4], [1, -1], 2, "trade 1: ts_ns 4 is before the previous trade's 5: trades must be in time order"),
    ([1, 2], [1, -1], 1, "trade arrays differ in length: ts_ns 2, price 2, size 1, aggressor 2"),
])
def test_bad_trade_arrays_are_refused_with_one_line(ts, aggressor, sizes, message):
    with pytest.raises(ValueError) as error:
        fast_trade_flow(np.array(ts), np.array([1.0, 1.0]), np.ones(sizes), np.array(aggressor))
    assert str(error.value) == message
