"""Book actions (`book_sync.BookActions`) as nautilus `OrderBookDelta`s."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nautilus_trader.model.instruments import Instrument

    from ravebear.catalog.orderflow.book_sync import BookActions


def to_deltas(a: BookActions, instrument: Instrument) -> list:
    """nautilus OrderBookDeltas for book actions (L2: order id 0, F_LAST on each update's last delta, F_SNAPSHOT on the snapshot's)."""
    from nautilus_trader.model.data import BookOrder, OrderBookDelta
    from nautilus_trader.model.enums import BookAction, OrderSide, RecordFlag
    from nautilus_trader.model.objects import Price, Quantity

    instrument_id, p_prec, s_prec = instrument.id, instrument.price_precision, instrument.size_precision
    f_last, f_snapshot = int(RecordFlag.F_LAST), int(RecordFlag.F_SNAPSHOT)
    actions = {code: BookAction(code) for code in (1, 2, 3, 4)}
    sides = {1: OrderSide.BUY, 2: OrderSide.SELL}
    out = []
    for action, side, price, size, last, snapshot, sequence, ts_event, ts_init in zip(
        a.action, a.side, a.price, a.size, a.last, a.snapshot, a.sequence, a.ts_event, a.ts_init, strict=True,
    ):
        flags = (f_last if last else 0) | (f_snapshot if snapshot else 0)
        if action == 4:
            out.append(OrderBookDelta.clear(instrument_id, sequence, ts_event, ts_init))
            continue
        order = BookOrder(sides[side], Price(price, p_prec), Quantity(size, s_prec), 0)
        out.append(OrderBookDelta(instrument_id, actions[action], order, flags, sequence, ts_event, ts_init))
    return out
