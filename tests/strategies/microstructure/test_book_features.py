"""Book features (OBI plain and distance-weighted, spread, depth near mid): hand-built books, the real bookTicker (L1)
against a vectorised pandas computation, and the real L2 book rebuilt from the REST snapshot and depth diffs."""

import numpy as np
import pandas as pd
import pytest

from ravebear.strategies.microstructure.book_features import BookFeatureConfig, book_features
from ravebear.strategies.microstructure.types import ASK, BID, Book, BookUpdate, Quote
from tests.strategies.microstructure.real_data import TRADES_BOOK, book_updates, bookticker, synced_depth


def book_of(bids: dict, asks: dict) -> Book:
    book = Book()
    for side, levels in ((BID, bids), (ASK, asks)):
        for price, size in levels.items():
            book.apply(BookUpdate(1, side, price, size))
    return book


def test_obi_weighted_obi_spread_and_depth_on_a_hand_built_book():
    book = book_of({99.95: 4.0, 99.0: 50.0}, {100.05: 1.0, 100.15: 4.0})  # mid 100; bid and first ask 5 bps out, second ask 15
    top2 = book_features(book, BookFeatureConfig(levels=2, half_distance_bps=5.0, depth_bps=10.0))
    assert top2.obi == pytest.approx((54 - 5) / 59)
    top1 = book_features(book, BookFeatureConfig(levels=1, half_distance_bps=5.0, depth_bps=10.0))
    assert top1.obi == pytest.approx(3 / 5)
    # weights 0.5 ** (5/5) = 0.5 (bid, first ask), 0.5 ** 3 = 0.125 (second ask); the bid at 99.0 is outside the top 1
    book.apply(BookUpdate(2, BID, 99.0, 0.0))  # size 0 deletes the level
    features = book_features(book, BookFeatureConfig(levels=2, half_distance_bps=5.0, depth_bps=10.0))
    assert features.obi == pytest.approx((4 - 5) / 9)
    assert features.weighted_obi == pytest.approx((2.0 - 1.0) / 3.0)  # bid 4 x 0.5 vs asks 1 x 0.5 + 4 x 0.125
    assert features.spread_bps == pytest.approx(0.1 / 100.0 * 1e4)
    assert (features.bid_depth, features.ask_depth) == (4.0, 1.0)  # the ask at 100.15 is 15 bps out
    assert book_features(book_of({99.0: 1.0}, {}), BookFeatureConfig()) is None


@pytest.mark.parametrize("market", ["spot", "usdm", "coinm"])
def test_top_of_book_obi_and_spread_over_the_real_bookticker_match_pandas(market):
    frame = bookticker(market)
    book, config = Book(), BookFeatureConfig(levels=1, depth_bps=0.0)
    got = np.empty((len(frame), 2))
    for i, (t, _, bp, bq, ap, aq) in enumerate(frame.itertuples(index=False)):
        book.apply_quote(Quote(t, bp, bq, ap, aq))
        features = book_features(book, config)
        got[i] = features.obi, features.spread_bps
    obi = (frame["bid_qty"] - frame["ask_qty"]) / (frame["bid_qty"] + frame["ask_qty"])
    spread = (frame["ask_px"] - frame["bid_px"]) / ((frame["ask_px"] + frame["bid_px"]) / 2) * 1e4
    assert np.allclose(got[:, 0], obi, atol=1e-12) and np.allclose(got[:, 1], spread, atol=1e-9)
    assert obi.std() > 0.3  # the L1 imbalance swings, so agreement is not an accident of a constant


def reference_top(snapshot: pd.DataFrame, diffs: pd.DataFrame, levels: int, depth_bps: float, half_bps: float):
    """Rebuilt independently: the latest qty per (side, price) over snapshot + diffs, zeros dropped, then sorted."""
    state = pd.concat([snapshot, diffs]).drop_duplicates(["side", "price"], keep="last")
    state = state[state["qty"] > 0]
    bids = state[state["side"] == "bid"].sort_values("price", ascending=False)
    asks = state[state["side"] == "ask"].sort_values("price")
    best_bid, best_ask = bids["price"].iloc[0], asks["price"].iloc[0]
    mid = (best_bid + best_ask) / 2
    b, a = bids.head(levels), asks.head(levels)
    wb = (b["qty"] * 0.5 ** ((mid - b["price"]) / mid * 1e4 / half_bps)).sum()
    wa = (a["qty"] * 0.5 ** ((a["price"] - mid) / mid * 1e4 / half_bps)).sum()
    return (
        best_bid, best_ask,
        (b["qty"].sum() - a["qty"].sum()) / (b["qty"].sum() + a["qty"].sum()),
        (wb - wa) / (wb + wa),
        bids.loc[bids["price"] >= mid * (1 - depth_bps * 1e-4), "qty"].sum(),
        asks.loc[asks["price"] <= mid * (1 + depth_bps * 1e-4), "qty"].sum(),
    )  # fmt: skip


@pytest.mark.parametrize("market", ["spot", "usdm"])
def test_deep_obi_on_the_real_rebuilt_book_matches_an_independent_rebuild_and_the_bookticker(market):
    snapshot, diffs = synced_depth(market)
    config = BookFeatureConfig(levels=10, half_distance_bps=3.0, depth_bps=5.0)
    book = Book()
    for update in book_updates(snapshot, int(snapshot["ts_ns"].iloc[0])):
        book.apply(update)
    ends = np.flatnonzero(np.diff(diffs["final_update_id"].to_numpy(), append=-1) != 0)  # last row of each diff event
    checkpoints = set(ends[:: max(1, len(ends) // 40)].tolist())
    ends_set = set(ends.tolist())
    got, rows, best = [], [], []
    for i, update in enumerate(book_updates(diffs)):
        book.apply(update)
        if i in ends_set:
            best.append((book.best_bid(), book.best_ask()))
        if i in checkpoints:
            f = book_features(book, config)
            got.append((book.best_bid(), book.best_ask(), f.obi, f.weighted_obi, f.bid_depth, f.ask_depth))
            rows.append(i)
    expected = [reference_top(snapshot, diffs.iloc[: i + 1], config.levels, config.depth_bps, config.half_distance_bps) for i in rows]
    assert len(got) >= 40
    assert np.allclose(np.array(got), np.array(expected), rtol=1e-12, atol=1e-12)
    # and the rebuilt book is the exchange's: its best bid/ask equal the bookTicker at the same update id, never crossed
    ticker = bookticker(market)
    ids = diffs["final_update_id"].to_numpy()[ends]
    at = np.searchsorted(ticker["update_id"].to_numpy(), ids, "right") - 1
    same = ticker["update_id"].to_numpy()[at] == ids
    best = np.array(best)
    assert same.sum() >= 100
    assert np.array_equal(best[same], ticker[["bid_px", "ask_px"]].to_numpy()[at][same])
    assert (best[:, 0] < best[:, 1]).all()


def test_obi_and_depth_over_real_hyperliquid_snapshots_match_pandas():
    """46 full 20-level Hyperliquid books: the detector's book replaced by each snapshot, against a groupby over its levels."""
    frame = pd.read_parquet(TRADES_BOOK / "hyperliquid_BTC_l2book_20250126.parquet")
    config = BookFeatureConfig(levels=5, half_distance_bps=2.0, depth_bps=3.0)
    book, got = Book(), []
    for ts, rows in frame.groupby("local_ts_ns", sort=True):
        book.clear()
        for update in book_updates(rows.rename(columns={"local_ts_ns": "ts_ns", "px": "price", "sz": "qty"})):
            book.apply(update)
        f = book_features(book, config)
        got.append((f.obi, f.weighted_obi, f.spread_bps, f.bid_depth, f.ask_depth))
    top = frame[frame["level"] < 5]
    size = top.pivot_table(index="local_ts_ns", columns="side", values="sz", aggfunc="sum")
    best = frame[frame["level"] == 0].pivot_table(index="local_ts_ns", columns="side", values="px")
    mid = (best["bid"] + best["ask"]) / 2
    framed = frame.join(mid.rename("mid"), on="local_ts_ns")
    distance = (framed["px"] - framed["mid"]).abs() / framed["mid"] * 1e4
    framed = framed.assign(weight=framed["sz"] * 0.5 ** (distance / 2.0), near=framed["sz"].where(distance <= 3.0, 0.0))
    weighted = framed[framed["level"] < 5].pivot_table(index="local_ts_ns", columns="side", values="weight", aggfunc="sum")
    near = framed.pivot_table(index="local_ts_ns", columns="side", values="near", aggfunc="sum")
    expected = np.column_stack([
        (size["bid"] - size["ask"]) / (size["bid"] + size["ask"]),
        (weighted["bid"] - weighted["ask"]) / (weighted["bid"] + weighted["ask"]),
        (best["ask"] - best["bid"]) / mid * 1e4, near["bid"], near["ask"],
    ])  # fmt: skip
    assert len(got) == 46 and np.allclose(np.array(got), expected, rtol=1e-9, atol=1e-12)


def test_the_cached_best_prices_follow_inserts_deletes_and_an_emptied_side():
    book = book_of({100.0: 1.0, 99.0: 2.0}, {101.0: 1.0})
    assert (book.best_bid(), book.best_ask(), book.mid()) == (100.0, 101.0, 100.5)
    book.apply(BookUpdate(2, BID, 100.5, 1.0))  # a better bid
    book.apply(BookUpdate(3, ASK, 100.8, 1.0))  # a better ask
    assert (book.best_bid(), book.best_ask()) == (100.5, 100.8)
    book.apply(BookUpdate(4, BID, 100.5, 0.0))  # the best bid leaves: the next one is best again
    book.apply(BookUpdate(5, ASK, 100.8, 0.0))
    assert (book.best_bid(), book.best_ask()) == (100.0, 101.0)
    book.apply(BookUpdate(6, ASK, 101.0, 0.0))
    assert (book.best_ask(), book.mid()) == (None, None)
    book.apply(BookUpdate(7, ASK, 102.0, 3.0))
    assert book.best_ask() == 102.0 and book.top(ASK, 5) == [(102.0, 3.0)] and book.top(BID, 1) == [(100.0, 1.0)]
