"""OKX v5 `trades`, `bbo-tbt` and `books` messages: the verbatim format fixtures, and the real USD-M capture re-sent in OKX's wire format."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from nautilus_trader.model.book import OrderBook
from nautilus_trader.model.data import OrderBookDelta, QuoteTick, TradeTick
from nautilus_trader.model.enums import AggressorSide, BookType

from ravebear.catalog.orderflow.importer import import_file
from ravebear.catalog.store import RaveCatalog
from tests.catalog.orderflow.captures import reference_book, slice_capture, store_instrument
from tests.platform.test_backtest import ravebear
from tests.shared_data import SHARED

FIXTURES = SHARED / "api_samples" / "okx_v5_nautilus_fixtures"
SWAP = "BTC-USDT-SWAP"
CONTRACT_BTC = 0.01  # BTC-USDT-SWAP ctVal


def _levels(frame: pd.DataFrame, side: str) -> list[list[str]]:
    rows = frame[frame["side"] == side]
    return [[repr(p), repr(round(q / CONTRACT_BTC, 2)), "0", "1"] for p, q in zip(rows["price"], rows["qty"], strict=True)]


@pytest.fixture(scope="module")
def okx_session(tmp_path_factory) -> dict:
    """The first 10 s of the real Binance USD-M capture as OKX messages for BTC-USDT-SWAP (sizes in contracts of 0.01 BTC)."""
    root = tmp_path_factory.mktemp("okx")
    files = slice_capture("usdm", root / "src", seconds=10)
    snapshot, diffs = pd.read_parquet(files["depthsnap"]), pd.read_parquet(files["depthdiff"])
    trades, quotes = pd.read_parquet(files["trades"]), pd.read_parquet(files["bookticker"])
    last = int(snapshot["last_update_id"].iloc[0])
    arg = lambda channel: {"channel": channel, "instId": SWAP}  # noqa: E731
    books = [{"arg": arg("books"), "action": "snapshot", "data": [{
        "bids": _levels(snapshot, "bid"), "asks": _levels(snapshot, "ask"), "ts": str(int(snapshot["event_ts_ms"].iloc[0])), "prevSeqId": -1, "seqId": last}]}]  # fmt: skip
    previous = last
    for u, event in diffs[diffs["final_update_id"] >= last].groupby("final_update_id", sort=False):
        books.append({"arg": arg("books"), "action": "update", "data": [{
            "bids": _levels(event, "bid"), "asks": _levels(event, "ask"), "ts": str(int(event["event_ts_ms"].iloc[0])),
            "prevSeqId": previous, "seqId": int(u)}]})  # fmt: skip
        previous = int(u)
    trade_messages = [{"arg": arg("trades"), "data": [{"instId": SWAP, "tradeId": str(t.trade_id), "px": repr(t.price), "sz": repr(round(t.qty / CONTRACT_BTC, 2)),
                       "side": "sell" if t.is_buyer_maker else "buy", "ts": str(t.trade_ts_ms)}]} for t in trades.itertuples()]  # fmt: skip
    bbo = [{"arg": arg("bbo-tbt"), "data": [{"bids": [[repr(q.bid_px), repr(round(q.bid_qty / CONTRACT_BTC, 2)), "0", "1"]],
            "asks": [[repr(q.ask_px), repr(round(q.ask_qty / CONTRACT_BTC, 2)), "0", "1"]], "ts": str(q.event_ts_ms), "seqId": int(q.update_id)}]}
           for q in quotes.itertuples()]  # fmt: skip
    path = root / "okx_session.jsonl"
    path.write_text("\n".join(json.dumps(m) for m in [*books, *trade_messages, *bbo]) + "\n")
    return {"path": path, "books": books, "trades": trades, "quotes": quotes, "snapshot": snapshot, "diffs": diffs, "root": root}


def test_the_real_session_in_okx_format_gives_the_same_book_trades_and_quotes(tmp_path, okx_session):
    store = RaveCatalog(tmp_path / "cat")
    results = {r.kind: r for r in import_file(store, okx_session["path"])}
    trades, quotes = okx_session["trades"], okx_session["quotes"]
    assert results["trades"].write.written == len(trades) and results["bbo-tbt"].write.written == len(quotes)
    assert results["books"].report.gaps == [] and results["books"].report.crossed == []
    ticks = store.nautilus.query(TradeTick, identifiers=[f"{SWAP}.OKX"])
    assert [t.aggressor_side == AggressorSide.SELLER for t in ticks] == trades["is_buyer_maker"].tolist()
    assert [t.ts_event for t in ticks] == (trades["trade_ts_ms"] * 1_000_000).tolist()
    assert len(store.nautilus.query(QuoteTick, identifiers=[f"{SWAP}.OKX"])) == len(quotes)

    book = OrderBook(ticks[0].instrument_id, BookType.L2_MBP)
    for delta in store.nautilus.query(OrderBookDelta, identifiers=[f"{SWAP}.OKX"]):
        book.apply_delta(delta)
    expected, _, _ = reference_book(okx_session["diffs"], okx_session["snapshot"], futures=True)
    for side, levels in (("bid", book.bids()), ("ask", book.asks())):
        got = {round(level.price.as_double(), 1): round(level.size(), 2) for level in levels}
        assert got == {round(p, 1): round(q / CONTRACT_BTC, 2) for p, q in expected[side].items()}, side


def test_a_missing_books_message_is_a_gap_named_by_message_number(tmp_path, okx_session):
    books = okx_session["books"]
    broken = [*books[:30], *books[31:]]
    path = tmp_path / "gap.jsonl"
    path.write_text("\n".join(json.dumps(m) for m in broken))
    [result] = import_file(RaveCatalog(tmp_path / "cat"), path)
    [gap] = result.report.gaps
    assert (gap.row, gap.what, gap.expected, gap.got) == (31, "books prevSeqId", books[29]["data"][0]["seqId"], books[30]["data"][0]["seqId"])


def test_the_okx_format_fixtures_import_and_bad_input_is_named(tmp_path):
    session = tmp_path / "fixtures.jsonl"
    names = ("ws_books_snapshot.json", "ws_books_update.json", "ws_trades.json", "ws_bbo_tbt.json")
    messages = [json.loads((FIXTURES / name).read_text()) for name in names]
    session.write_text("\n".join(json.dumps(m) for m in messages))
    store_instrument(RaveCatalog(tmp_path / "cat"), "BTC-USDT.OKX", price_decimals=2, size_decimals=8, spot=True)  # the fixtures' spot prices
    done = ravebear("catalog", "import-orderflow", str(session), "-i", "BTC-USDT.OKX", "--catalog", str(tmp_path / "cat"))
    assert done.returncode == 0, done.stderr
    snapshot, update = (m["data"][0] for m in messages[:2])
    levels = len(snapshot["bids"]) + len(snapshot["asks"])
    updates = len(update["bids"]) + len(update["asks"])
    assert f"{session}: books, 2 rows, 2 valid, 0 rejected; {1 + levels + updates} book deltas written" in done.stdout
    assert f"{session}: trades, 1 rows, 1 valid, 0 rejected; 1 trades written" in done.stdout
    assert f"{session}: bbo-tbt, 1 rows, 1 valid, 0 rejected; 1 quotes written" in done.stdout

    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(messages[0]) + "\n{not json\n")
    failed = ravebear("catalog", "import-orderflow", str(bad), "-i", SWAP, "--catalog", str(tmp_path / "cat"))
    assert (failed.returncode, failed.stderr.strip()) == (1, f"error: {bad}: line 2 is not JSON (Expecting property name enclosed in double quotes)")
    unknown = ravebear("catalog", "import-orderflow", str(FIXTURES / "ws_trades.json"), "--catalog", str(tmp_path / "cat"))
    assert unknown.returncode == 2 and unknown.stderr.startswith(f"error: {FIXTURES / 'ws_trades.json'}: unknown instrument 'BTC-USD'")


def test_a_books_message_stamped_earlier_than_the_one_before_keeps_its_place(tmp_path, okx_session):
    books = json.loads(json.dumps(okx_session["books"]))  # a deep copy
    books[11]["data"][0]["ts"] = str(int(books[1]["data"][0]["ts"]) - 1)  # OKX clocks are not promised monotonic
    path = tmp_path / "late.jsonl"
    path.write_text("\n".join(json.dumps(m) for m in books))
    store = RaveCatalog(tmp_path / "cat")
    import_file(store, path)
    deltas = store.nautilus.query(OrderBookDelta, identifiers=[f"{SWAP}.OKX"])
    assert [d.sequence for d in deltas if d.flags & 128] == [m["data"][0]["seqId"] for m in books if m["data"][0]["bids"] or m["data"][0]["asks"]]
    book = OrderBook(deltas[0].instrument_id, BookType.L2_MBP)
    for delta in deltas:
        book.apply_delta(delta)
    expected, _, _ = reference_book(okx_session["diffs"], okx_session["snapshot"], futures=True)
    assert {round(level.price.as_double(), 1): round(level.size(), 2) for level in book.bids()} == {
        round(p, 1): round(q / CONTRACT_BTC, 2) for p, q in expected["bid"].items()
    }
