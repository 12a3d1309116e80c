"""The real Binance BTC captures (spot, USD-M, COIN-M) imported as TradeTick, QuoteTick and OrderBookDelta, checked against the source files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import OrderBookDelta, QuoteTick, TradeTick
from nautilus_trader.model.enums import AggressorSide, BookAction, BookType, RecordFlag

from ravebear.catalog.orderflow.importer import import_capture, resolve_instrument
from ravebear.catalog.store import RaveCatalog
from tests.catalog.orderflow.captures import INSTRUMENTS, reference_book, slice_capture

MARKETS = ("spot", "usdm", "coinm")


@pytest.fixture(scope="module", params=MARKETS)
def imported(request, tmp_path_factory) -> dict:
    """One market's first 20 s, imported into a fresh catalog."""
    market = request.param
    root = tmp_path_factory.mktemp(market)
    files = slice_capture(market, root / "src")
    store = RaveCatalog(root / "cat")
    instrument = resolve_instrument(None, files["trades"], store)
    results = {kind: import_capture(store, files[kind], instrument) for kind in ("trades", "bookticker", "depthdiff")}
    return {"market": market, "files": files, "store": store, "results": results, "instrument": instrument}


def _query(store: RaveCatalog, cls: type, instrument_id: str) -> list:
    return store.nautilus.query(cls, identifiers=[instrument_id])


def test_the_instrument_comes_from_the_file_name(imported):
    assert imported["instrument"].id.value == INSTRUMENTS[imported["market"]]
    if imported["market"] == "coinm":
        assert imported["instrument"].is_inverse and int(imported["instrument"].multiplier) == 100


def test_every_trade_is_stored_with_its_aggressor_side(imported):
    source = pd.read_parquet(imported["files"]["trades"])
    result = imported["results"]["trades"]
    assert (result.report.total, result.report.valid, result.write.written) == (len(source), len(source), len(source))
    assert result.report.gaps == [] and result.report.rejections == []  # trade ids are contiguous in the capture
    ticks = _query(imported["store"], TradeTick, imported["instrument"].id.value)
    assert [int(t.trade_id.value) for t in ticks] == source["trade_id"].tolist()
    sellers = [t.aggressor_side == AggressorSide.SELLER for t in ticks]
    assert sellers == source["is_buyer_maker"].tolist()
    assert np.allclose([t.price.as_double() for t in ticks], source["price"]) and np.allclose([t.size.as_double() for t in ticks], source["qty"])
    assert [t.ts_event for t in ticks] == (source["trade_ts_ms"] * 1_000_000).tolist()
    assert [t.ts_init for t in ticks] == source["local_ts_ns"].tolist()


def test_every_book_ticker_is_a_quote(imported):
    source = pd.read_parquet(imported["files"]["bookticker"])
    result = imported["results"]["bookticker"]
    assert result.write.written == len(source) == result.report.valid
    quotes = _query(imported["store"], QuoteTick, imported["instrument"].id.value)
    assert np.allclose([q.bid_price.as_double() for q in quotes], source["bid_px"])
    assert np.allclose([q.ask_size.as_double() for q in quotes], source["ask_qty"])


def test_the_rebuilt_book_equals_a_brute_force_rebuild_and_the_book_ticker(imported):
    files = imported["files"]
    diffs, snapshot = pd.read_parquet(files["depthdiff"]), pd.read_parquet(files["depthsnap"])
    futures = imported["market"] != "spot"
    expected_book, expected_count, applied = reference_book(diffs, snapshot, futures)
    result = imported["results"]["depthdiff"]
    assert result.report.gaps == [] and result.report.crossed == []  # the README: zero breaks after the bridging event
    assert result.write.written == expected_count

    deltas = _query(imported["store"], OrderBookDelta, imported["instrument"].id.value)
    assert len(deltas) == expected_count
    assert deltas[0].action == BookAction.CLEAR and deltas[0].sequence == int(snapshot["last_update_id"].iloc[0])
    assert {d.sequence for d in deltas[1 + len(snapshot):]} <= set(applied)  # nothing from an event older than the snapshot
    book = OrderBook(imported["instrument"].id, BookType.L2_MBP)
    tickers = pd.read_parquet(files["bookticker"]).drop_duplicates("update_id", keep="last").set_index("update_id")
    price_prec, size_prec = imported["instrument"].price_precision, imported["instrument"].size_precision
    compared = 0
    for delta in deltas:  # nautilus's own book, fed from the catalog
        book.apply_delta(delta)
        if delta.flags & RecordFlag.F_LAST and delta.sequence in tickers.index:
            row = tickers.loc[delta.sequence]
            assert (str(book.best_bid_price()), str(book.best_bid_size()), str(book.best_ask_price()), str(book.best_ask_size())) == (
                f"{row.bid_px:.{price_prec}f}", f"{row.bid_qty:.{size_prec}f}", f"{row.ask_px:.{price_prec}f}", f"{row.ask_qty:.{size_prec}f}",
            ), delta.sequence  # fmt: skip
            compared += 1
    assert compared >= 5, f"only {compared} bookTicker updates share an update id with a depth event"
    for side, levels in (("bid", book.bids()), ("ask", book.asks())):
        got = {round(level.price.as_double(), price_prec): round(level.size(), size_prec) for level in levels}
        want = {round(p, price_prec): round(q, size_prec) for p, q in expected_book[side].items()}
        assert got == want, side


def test_a_second_import_writes_nothing(imported):
    store, files, instrument = imported["store"], imported["files"], imported["instrument"]
    before = sorted((p, p.stat().st_mtime_ns) for p in (store.path / "data").rglob("*.parquet"))
    for kind in ("trades", "bookticker", "depthdiff"):
        again = import_capture(store, files[kind], instrument)
        first = imported["results"][kind]
        assert (again.write.written, again.write.already_stored) == (0, first.write.written)
    assert sorted((p, p.stat().st_mtime_ns) for p in (store.path / "data").rglob("*.parquet")) == before
