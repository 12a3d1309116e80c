"""Read one instrument's order flow from the catalog and convert it to the detectors' plain types.

Every stream is ordered and stamped by `ts_init` (the collector's receive time): trades and book
deltas share that clock, so "the book at a trade" is well defined (Binance's event times come from
several clocks, and the captures' collector ran ~1.25 s behind them; docs/NOTES.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ravebear.strategies.microstructure.types import ASK, BID, BookUpdate, Trade

if TYPE_CHECKING:
    from ravebear.catalog.store import RaveCatalog

IMPORT_HINT = "import it with `ravebear catalog import-orderflow FILE...` (e.g. the captures in ../shared/data/trades_book/)"
CLEAR = None  # a BookUpdate slot meaning "clear the book" (a snapshot follows)


class NoOrderflowData(ValueError):
    """No trades for the instrument in the range (bad usage: exit 2)."""


@dataclass
class Orderflow:
    """One instrument's trades and book updates in time order (`book` holds None where the book is cleared)."""

    instrument_id: str
    trades: list[Trade]
    book: list[BookUpdate | None]


def _ns(ms: int | None) -> int | None:
    return None if ms is None else ms * 1_000_000


def load_trades(store: RaveCatalog, instrument_id: str, start_ms: int | None, end_ms: int | None) -> list[Trade]:
    """The stored trades with start <= ts_init < end, as `Trade` (aggressor +1 buyer, -1 seller)."""
    from nautilus_trader.model.data import TradeTick
    from nautilus_trader.model.enums import AggressorSide

    ticks = store.nautilus.query(TradeTick, identifiers=[instrument_id], start=_ns(start_ms), end=_ns(end_ms))
    end_ns = _ns(end_ms)
    buyer = AggressorSide.BUYER
    return [
        Trade(t.ts_init, t.price.as_double(), t.size.as_double(), 1 if t.aggressor_side == buyer else -1)
        for t in ticks
        if end_ns is None or t.ts_init < end_ns
    ]


def load_book(store: RaveCatalog, instrument_id: str, start_ms: int | None, end_ms: int | None) -> list[BookUpdate | None]:
    """The stored L2 deltas up to end (from the first stored one: a book needs its snapshot), None for a CLEAR."""
    from nautilus_trader.model.data import OrderBookDelta
    from nautilus_trader.model.enums import BookAction, OrderSide

    deltas = store.nautilus.query(OrderBookDelta, identifiers=[instrument_id], end=_ns(end_ms))
    end_ns = _ns(end_ms)
    clear, delete, buy = BookAction.CLEAR, BookAction.DELETE, OrderSide.BUY
    out: list[BookUpdate | None] = []
    for d in deltas:
        if end_ns is not None and d.ts_init >= end_ns:
            break
        if d.action == clear:
            out.append(CLEAR)
            continue
        order = d.order
        size = 0.0 if d.action == delete else order.size.as_double()
        out.append(BookUpdate(d.ts_init, BID if order.side == buy else ASK, order.price.as_double(), size))
    return out


def load(store: RaveCatalog, instrument_id: str, start_ms: int | None, end_ms: int | None) -> Orderflow:
    """Trades (required) and book updates (may be empty) of one instrument; NoOrderflowData when no trade is stored."""
    trades = load_trades(store, instrument_id, start_ms, end_ms)
    if not trades:
        where = "" if start_ms is None and end_ms is None else " in the chosen --start/--end range (`ravebear catalog list` shows what is stored)"
        raise NoOrderflowData(f"no trades for {instrument_id} in the catalog{where}; {IMPORT_HINT}")
    return Orderflow(instrument_id, trades, load_book(store, instrument_id, start_ms, end_ms))
