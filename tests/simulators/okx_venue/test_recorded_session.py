"""The venue's recorded session: real Binance trades and book re-priced to the candle path, as OKX `books` / `bbo-tbt` / `trades`."""

from __future__ import annotations

import asyncio
import dataclasses
from decimal import Decimal

import pandas as pd
import pytest

from ravebear.simulators.okx_venue.book_feed import BookFeed, okx_checksum
from ravebear.simulators.okx_venue.recorded_session import (
    SessionError,
    load_session,
)
from ravebear.simulators.okx_venue.runner import (
    VenueSettings,
    VenueThread,
    venue_instruments,
)
from ravebear.simulators.okx_venue.server import PlayerSettings
from ravebear.simulators.okx_venue.session_player import SessionSettings, attach
from tests.platform.live.harness import CREDS, INSTRUMENT, WINDOW_START
from tests.shared_data import SHARED
from tests.simulators.okx_venue.book_messages import (
    ClientBook,
    collect,
    documented_checksum,
)

CAPTURES = SHARED / "trades_book"
USDM = CAPTURES / "binance_usdm_BTCUSDT_20240808T2354Z_20240808T2359Z"
SPOT = CAPTURES / "binance_spot_BTCUSDT_20240808T2354Z_20240809T0005Z"
BTC = venue_instruments((INSTRUMENT,))[INSTRUMENT]


def test_the_checksum_is_okx_documented_one():
    # OKX's documented examples (v5 docs, "checksum"): an even and an odd book
    even_bids, even_asks = [["3366.1", "7"], ["3366", "6"]], [["3366.8", "9"], ["3368", "8"]]
    assert okx_checksum(even_bids, even_asks) == documented_checksum(even_bids, even_asks) == -1881014294
    odd_bids, odd_asks = [["3366.1", "7"]], [["3366.8", "9"], ["3368", "8"], ["3372", "8"]]
    assert okx_checksum(odd_bids, odd_asks) == documented_checksum(odd_bids, odd_asks) == 831078360


def test_the_snapshot_is_the_captured_book_moved_to_the_venue_price_sizes_in_contracts():
    feed = BookFeed(BTC, depth=400)
    feed.reset(load_session(USDM).snapshot)
    feed.anchor(Decimal("65000.0"), 1)  # a buy at 65,000: the best ask goes there
    row = feed.snapshot(1)
    snap = pd.read_parquet(f"{USDM}_depthsnap.parquet")
    shift = Decimal("65000.0") - Decimal(str(snap[snap.side == "ask"].price.min()))
    for side, rows, descending in (("bid", row["bids"], True), ("ask", row["asks"], False)):
        levels = snap[snap.side == side].sort_values("price", ascending=not descending).head(400)
        expected = [(Decimal(str(p)) + shift, Decimal(str(q)) / Decimal("0.01")) for p, q in zip(levels.price, levels.qty, strict=True)]
        assert [(Decimal(p), Decimal(s)) for p, s, *_ in rows] == expected  # USD-M's 0.1 tick is OKX's: one level each
    assert row["prevSeqId"] == -1 and row["checksum"] == documented_checksum(row["bids"], row["asks"])
    assert Decimal(row["asks"][0][0]) == Decimal("65000.0") and Decimal(row["bids"][0][0]) < Decimal("65000.0")


def test_a_finer_capture_tick_is_summed_into_the_venue_tick_and_stays_uncrossed():
    feed = BookFeed(BTC, depth=400)
    session = load_session(SPOT)  # Binance spot quotes at 0.01; OKX's swap at 0.1
    feed.reset(session.snapshot)
    feed.anchor(Decimal("60000.0"), -1)
    row = feed.snapshot(1)
    bid, ask = Decimal(row["bids"][0][0]), Decimal(row["asks"][0][0])
    assert bid == Decimal("60000.0") and bid < ask
    snap = pd.read_parquet(f"{SPOT}_depthsnap.parquet")
    bids = snap[snap.side == "bid"]
    best = Decimal(str(bids.price.max())).quantize(Decimal("0.1"), rounding="ROUND_FLOOR")
    in_tick = bids[(bids.price >= float(best)) & (bids.price < float(best) + 0.1)]
    assert Decimal(row["bids"][0][1]) == (Decimal(str(in_tick.qty.sum())) / Decimal("0.01")).quantize(Decimal("0.01"))


def test_a_missing_or_coin_m_capture_is_one_clear_error(tmp_path):
    with pytest.raises(SessionError, match=r"missing .*_trades.parquet, .*_depthdiff.parquet, .*_depthsnap.parquet"):
        load_session(tmp_path / "binance_usdm_BTCUSDT_nothing")
    with pytest.raises(SessionError, match="COIN-M sizes are 100-USD contracts"):
        load_session(CAPTURES / "binance_coinm_BTCUSD_PERP_20240808T2354Z_20240809T0005Z_trades.parquet")


def _venue(session: SessionSettings | None, step_s: float = 0.5, truncate_s: float | None = None) -> VenueThread:
    start = int(WINDOW_START.timestamp() * 1000)
    settings = VenueSettings(
        inst_ids=(INSTRUMENT,), start_ms=start, end_ms=start + 60 * 60_000, creds=CREDS,
        player=PlayerSettings(step_s=step_s, warmup_s=0.2), session=None if truncate_s else session,
    )  # fmt: skip
    thread = VenueThread(settings)
    if truncate_s and session is not None:  # a short session, to see it loop
        full = load_session(session.path)
        end = full.start_ns + int(truncate_s * 1e9)
        short = dataclasses.replace(full, items=tuple(i for i in full.items if i.ts_ns <= end))
        attach(thread.venue, dataclasses.replace(short, end_ns=short.items[-1].ts_ns), session)
    return thread.start()


def _check_stream(frames: list[tuple[int, dict]]) -> tuple[ClientBook, list[tuple[dict, tuple[Decimal, Decimal]]]]:
    """Rebuild the book from every books frame (seqId chain, checksum, never crossed, bbo-tbt = its top); trades with the book's top then."""
    book, trades, books = ClientBook(), [], 0
    for _, frame in frames:
        channel, row = frame["arg"]["channel"], frame["data"][0]
        if channel == "books":
            assert (books == 0) == (frame["action"] == "snapshot")
            book.apply(frame["action"], row)
            books += 1
            assert row["checksum"] == book.checksum()
            bid, ask = book.best()
            assert bid < ask
        elif channel == "bbo-tbt":
            assert (Decimal(row["bids"][0][0]), Decimal(row["asks"][0][0])) == book.best()
            assert row["bids"][0][1] == book.bids[row["bids"][0][0]] and row["asks"][0][1] == book.asks[row["asks"][0][0]]
        elif channel == "trades":
            trades.append((row, book.best() if book.bids else None))
    assert books > 5
    return book, trades


def test_books_trades_and_bbo_follow_the_candles_over_a_websocket():
    settings = SessionSettings(USDM, INSTRUMENT, depth=50, record=True)
    venue = _venue(settings)
    try:
        frames = asyncio.run(collect(venue.base_url_ws, INSTRUMENT, 4.0))
        venue.call_async(_pause(venue))
        minutes = venue.call(lambda: venue.venue.path.steps[: venue.venue.path.position])
        last_price = venue.call(lambda: venue.venue.engine.last[INSTRUMENT])
        sent_trades = venue.call(lambda: [row for channel, _, row in venue.venue.session.sent if channel == "trades"])
    finally:
        venue.stop()
    _, trades = _check_stream(frames)
    assert Decimal(sent_trades[-1]["px"]) == last_price  # the engine matched on what it printed
    first = sent_trades.index(trades[0][0])
    assert [row for row, _ in trades] == sent_trades[first : first + len(trades)]  # the client got every trade, in order
    # every candle price printed, at its time, where the book's touch on the aggressor's side was
    path = {ts: Decimal(str(px)) for step in minutes for candle in step.candles for ts, px in candle.prices()}
    first_at = {}
    for row, top in trades:
        first_at.setdefault(int(row["ts"]), []).append((row, top))  # a recorded trade may share a candle price's millisecond
    checked = 0
    for ts, px in path.items():
        if ts not in first_at:
            continue  # printed before this client subscribed
        at_price = [(row, top) for row, top in first_at[ts] if Decimal(row["px"]) == px]
        assert at_price, f"no trade at the candle price {px} at {ts}"
        row, (bid, ask) = at_price[0]
        assert (ask if row["side"] == "buy" else bid) == px
        checked += 1
    assert checked >= 8
    # the recorded trades in between: the capture's own sizes (BTC -> 0.01 BTC contracts) and sides, in order
    recorded = [(row["sz"], row["side"]) for row, _ in trades if int(row["ts"]) not in path or Decimal(row["px"]) != path[int(row["ts"])]]
    capture = pd.read_parquet(f"{USDM}_trades.parquet")
    capture = capture[capture.local_ts_ns >= pd.read_parquet(f"{USDM}_depthsnap.parquet").local_ts_ns.iloc[0]]
    expected = [(str((Decimal(str(q)) * 100).normalize()), "sell" if m else "buy") for q, m in zip(capture.qty, capture.is_buyer_maker, strict=True)]
    assert len(recorded) > 50
    recorded = [(Decimal(s), side) for s, side in recorded]
    expected = [(Decimal(s), side) for s, side in expected]
    # the client subscribed after the first trades: the received run is the capture's from some trade on
    starts = [i for i in range(len(expected)) if expected[i] == recorded[0]]
    assert any(expected[i : i + len(recorded)] == recorded for i in starts)


async def _pause(venue: VenueThread) -> None:
    venue.venue.paused = True
    await asyncio.sleep(0.3)


def test_the_session_loops_from_its_opening_book_when_the_candles_outlive_it():
    settings = SessionSettings(USDM, INSTRUMENT, depth=25, book_interval_s=0.05)
    venue = _venue(settings, step_s=0.4, truncate_s=1.5)
    try:
        frames = asyncio.run(collect(venue.base_url_ws, INSTRUMENT, 4.5))
        loops, per_pass = venue.call(lambda: (venue.venue.session.loops, venue.venue.session.session.trades))
    finally:
        venue.stop()
    assert loops >= 2
    _, trades = _check_stream(frames)  # the book jumps back to the opening one as an ordinary update: chain and checksums hold
    assert len(trades) > per_pass


def test_without_a_session_the_venue_serves_no_book():
    venue = _venue(None, step_s=0.2)
    try:
        frames = asyncio.run(collect(venue.base_url_ws, INSTRUMENT, 1.5))
    finally:
        venue.stop()
    channels = {frame["arg"]["channel"] for _, frame in frames}
    assert channels == {"trades"}  # the four candle trades a minute, as before


def test_the_session_holds_every_trade_after_the_snapshot_in_receive_order():
    session = load_session(USDM)
    capture = pd.read_parquet(f"{USDM}_trades.parquet")
    after = capture[capture.local_ts_ns >= pd.read_parquet(f"{USDM}_depthsnap.parquet").local_ts_ns.iloc[0]]
    assert session.trades == len(after) > 20_000
    assert all(a.ts_ns <= b.ts_ns for a, b in zip(session.items, session.items[1:], strict=False))
