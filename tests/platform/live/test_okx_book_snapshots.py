"""OKX book snapshots start with a CLEAR in live nodes (nautilus 1.231 sends the ADDs alone)."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.model.data import BookOrder, OrderBookDelta, OrderBookDeltas
from nautilus_trader.model.enums import BookAction, OrderSide, RecordFlag
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Price, Quantity

from ravebear.platform.live_fixes.okx_books import with_clear
from ravebear.simulators.okx_venue.book_feed import BookFeed
from ravebear.simulators.okx_venue.recorded_session import load_session
from ravebear.simulators.okx_venue.runner import venue_instruments
from tests.shared_data import SHARED

ID = InstrumentId.from_str("BTC-USDT-SWAP.OKX")


def _deltas(rows: list[list[str]], side: OrderSide, action: BookAction, flags: int, seq: int) -> list[OrderBookDelta]:
    return [
        OrderBookDelta(ID, action, BookOrder(side, Price(Decimal(px), 1), Quantity(Decimal(sz), 2), 0), flags, seq, 5, 6)
        for px, sz, *_ in rows
    ]


def test_a_snapshot_gets_a_clear_first_and_updates_stay_as_they_are():
    feed = BookFeed(venue_instruments(("BTC-USDT-SWAP",))["BTC-USDT-SWAP"], depth=25)
    feed.reset(load_session(SHARED / "trades_book" / "binance_usdm_BTCUSDT_20240808T2354Z_20240808T2359Z").snapshot)
    feed.anchor(Decimal("65000.0"), 1)
    row = feed.snapshot(1_000)
    # as nautilus 1.231 parses a books snapshot: ADDs flagged F_SNAPSHOT, bids then asks, sequence = seqId
    adds = _deltas(row["bids"], OrderSide.BUY, BookAction.ADD, RecordFlag.F_SNAPSHOT, row["seqId"]) + _deltas(
        row["asks"], OrderSide.SELL, BookAction.ADD, RecordFlag.F_SNAPSHOT, row["seqId"])
    fixed = with_clear(OrderBookDeltas(ID, adds))
    assert [d.action for d in fixed.deltas] == [BookAction.CLEAR] + [BookAction.ADD] * 50
    assert fixed.deltas[0].sequence == row["seqId"] and fixed.deltas[0].ts_init == 6 and fixed.deltas[1:] == adds
    update = OrderBookDeltas(ID, _deltas(row["bids"][:1], OrderSide.BUY, BookAction.UPDATE, 0, row["seqId"] + 1))
    assert with_clear(update) is update
    already = OrderBookDeltas(ID, [OrderBookDelta.clear(ID, 7, 5, 6), *adds])  # the catalog's snapshots start with one
    assert with_clear(already) is already
