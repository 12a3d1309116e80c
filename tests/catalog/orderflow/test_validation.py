"""Broken copies of the real captures: rejected rows, a sequence gap and a crossed book, each named with its row and reason; the rest kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ravebear.catalog.orderflow.importer import import_capture, resolve_instrument
from ravebear.catalog.store import RaveCatalog
from tests.catalog.orderflow.captures import slice_capture


@pytest.fixture(scope="module", params=["spot", "usdm"])
def source(request, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp(request.param)
    return {"market": request.param, "files": slice_capture(request.param, root / "src", seconds=10), "root": root}


def _import(tmp_path, files: dict, kind: str, frame: pd.DataFrame | None = None):
    path = files[kind]
    if frame is not None:
        path = tmp_path / path.name
        frame.to_parquet(path)
        if kind == "depthdiff":
            pd.read_parquet(files["depthsnap"]).to_parquet(tmp_path / files["depthsnap"].name)
    store = RaveCatalog(tmp_path / "cat")
    return import_capture(store, path, resolve_instrument(None, path, store)), store


def test_bad_trade_rows_are_named_and_the_rest_kept(tmp_path, source):
    trades = pd.read_parquet(source["files"]["trades"])
    trades.loc[4, "price"] = 0.0
    trades.loc[8, "qty"] = -1.0
    trades.loc[11, "price"] = np.nan
    result, _ = _import(tmp_path, source["files"], "trades", trades)
    assert [(r.row, r.reason) for r in result.report.rejections] == [
        (5, "non-positive or missing price"), (9, "non-positive or missing qty"), (12, "non-positive or missing price"),
    ]  # fmt: skip
    assert result.write.written == len(trades) - 3
    ids = trades["trade_id"]
    assert [(g.row, g.expected, g.got) for g in result.report.gaps] == [(6, int(ids[4]), int(ids[5])), (10, int(ids[8]), int(ids[9])), (13, int(ids[11]), int(ids[12]))]


def test_a_crossed_book_ticker_row_is_rejected(tmp_path, source):
    quotes = pd.read_parquet(source["files"]["bookticker"])
    quotes.loc[2, "bid_px"] = quotes.loc[2, "ask_px"] + 1
    result, _ = _import(tmp_path, source["files"], "bookticker", quotes)
    assert [(r.row, r.reason) for r in result.report.rejections] == [(3, "crossed quote (bid_px >= ask_px)")]
    assert result.write.written == len(quotes) - 1


def test_a_missing_diff_event_is_a_gap_named_with_its_row_and_the_rest_is_kept(tmp_path, source):
    diffs = pd.read_parquet(source["files"]["depthdiff"])
    last_id = int(pd.read_parquet(source["files"]["depthsnap"])["last_update_id"].iloc[0])
    events = diffs["final_update_id"].drop_duplicates()
    applied = events[events > last_id]
    removed = int(applied.iloc[20])  # an event well after the bridge
    broken = diffs[diffs["final_update_id"] != removed].reset_index(drop=True)
    result, _ = _import(tmp_path, source["files"], "depthdiff", broken)
    following = broken[broken["final_update_id"] == int(applied.iloc[21])].index[0]
    previous_u = int(applied.iloc[19])
    [gap] = result.report.gaps
    assert gap.row == following + 1
    if source["market"] == "spot":
        assert (gap.what, gap.expected, gap.got) == ("depth first update id (U)", previous_u + 1, int(broken.loc[following, "first_update_id"]))
    else:
        assert (gap.what, gap.expected, gap.got) == ("depth previous update id (pu)", previous_u, removed)
    assert result.write.written > 0 and result.report.valid == len(broken)


def _stale_ask_row(diffs: pd.DataFrame, snapshot: pd.DataFrame) -> tuple[int, float]:
    """A row removing an ask level that a later bid reaches before the ask is set again: without it the book crosses."""
    last_id = int(snapshot["last_update_id"].iloc[0])
    side, price, qty, u = (diffs[c].to_numpy() for c in ("side", "price", "qty", "final_update_id"))
    known = set(snapshot.loc[snapshot["side"] == "ask", "price"])
    for i in range(len(diffs)):
        if u[i] <= last_id:
            continue
        if side[i] == "ask" and qty[i] == 0 and price[i] in known:
            later = np.arange(i + 1, len(diffs))
            reach = later[(side[i + 1:] == "bid") & (qty[i + 1:] > 0) & (price[i + 1:] >= price[i])]
            again = later[(side[i + 1:] == "ask") & (price[i + 1:] == price[i])]
            if len(reach) and (not len(again) or reach[0] < again[0]) and u[reach[0]] != u[i]:
                return i, float(price[i])
        if side[i] == "ask" and qty[i] > 0:
            known.add(price[i])
    raise AssertionError("no ask removal that a later bid reaches in this slice")


def test_a_removed_level_left_stale_crosses_the_book_and_is_named(tmp_path, source):
    diffs = pd.read_parquet(source["files"]["depthdiff"])
    row, stale_ask = _stale_ask_row(diffs, pd.read_parquet(source["files"]["depthsnap"]))
    broken = diffs.drop(index=row).reset_index(drop=True)
    result, _ = _import(tmp_path, source["files"], "depthdiff", broken)
    assert result.report.gaps == []  # one row of an event gone: the id chain is intact
    first = result.report.crossed[0]
    assert first.row > row and first.best_ask <= stale_ask <= first.best_bid
    assert f"row {first.row} (" in str(first) and "book crossed after update" in str(first)
    assert result.write.written > 0
