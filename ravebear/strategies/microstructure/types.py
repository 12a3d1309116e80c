"""The detectors' own small input types: a trade, a book update, an L1 quote, and a price -> size book."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

BUY = 1
SELL = -1
BID = 1
ASK = -1


@dataclass(frozen=True, slots=True)
class Trade:
    """One trade print: `aggressor` +1 when the buyer took the offer, -1 when the seller hit the bid."""

    ts_ns: int
    price: float
    size: float  # base units, or contracts (see the detector's contract multiplier)
    aggressor: int


@dataclass(frozen=True, slots=True)
class BookUpdate:
    """One L2 level change: the new total size at `price` on `side` (+1 bid, -1 ask); size 0 deletes the level."""

    ts_ns: int
    side: int
    price: float
    size: float


@dataclass(frozen=True, slots=True)
class Quote:
    """Best bid and ask (L1), e.g. a Binance bookTicker or OKX bbo-tbt message."""

    ts_ns: int
    bid_price: float
    bid_size: float
    ask_price: float
    ask_size: float


@dataclass
class Book:
    """An L2 book: price -> size per side, changed one update at a time."""

    bids: dict[float, float] = field(default_factory=dict)
    asks: dict[float, float] = field(default_factory=dict)
    ts_ns: int = 0

    def apply(self, update: BookUpdate) -> None:
        """Set the level's size (0 removes it)."""
        levels = self.bids if update.side > 0 else self.asks
        if update.size > 0:
            levels[update.price] = update.size
        else:
            levels.pop(update.price, None)
        self.ts_ns = update.ts_ns

    def apply_quote(self, quote: Quote) -> None:
        """Make this an L1 book holding only the quote's best bid and ask."""
        self.bids = {quote.bid_price: quote.bid_size} if quote.bid_size > 0 else {}
        self.asks = {quote.ask_price: quote.ask_size} if quote.ask_size > 0 else {}
        self.ts_ns = quote.ts_ns

    def clear(self) -> None:
        """Drop every level (before a fresh snapshot)."""
        self.bids.clear()
        self.asks.clear()

    def best_bid(self) -> float | None:
        """Highest bid price, None on an empty side."""
        return max(self.bids) if self.bids else None

    def best_ask(self) -> float | None:
        """Lowest ask price, None on an empty side."""
        return min(self.asks) if self.asks else None

    def mid(self) -> float | None:
        """(best bid + best ask) / 2, None unless both sides have a level."""
        bid, ask = self.best_bid(), self.best_ask()
        return None if bid is None or ask is None else (bid + ask) / 2.0

    def top(self, side: int, levels: int) -> list[tuple[float, float]]:
        """The best `levels` (price, size) of a side, best first."""
        if side > 0:
            return heapq.nlargest(levels, self.bids.items())
        return heapq.nsmallest(levels, self.asks.items())
