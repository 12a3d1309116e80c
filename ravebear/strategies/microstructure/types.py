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
    """An L2 book: price -> size per side, changed one update at a time (best prices cached between changes)."""

    bids: dict[float, float] = field(default_factory=dict)
    asks: dict[float, float] = field(default_factory=dict)
    ts_ns: int = 0
    _best_bid: float | None = field(default=None, repr=False)  # None: not known, recomputed on demand
    _best_ask: float | None = field(default=None, repr=False)

    def apply(self, update: BookUpdate) -> None:
        """Set the level's size (0 removes it)."""
        price = update.price
        if update.side > 0:
            if update.size > 0:
                self.bids[price] = update.size
                if self._best_bid is not None and price > self._best_bid:
                    self._best_bid = price
            elif self.bids.pop(price, None) is not None and price == self._best_bid:
                self._best_bid = None
        else:
            if update.size > 0:
                self.asks[price] = update.size
                if self._best_ask is not None and price < self._best_ask:
                    self._best_ask = price
            elif self.asks.pop(price, None) is not None and price == self._best_ask:
                self._best_ask = None
        self.ts_ns = update.ts_ns

    def apply_quote(self, quote: Quote) -> None:
        """Make this an L1 book holding only the quote's best bid and ask."""
        self.bids = {quote.bid_price: quote.bid_size} if quote.bid_size > 0 else {}
        self.asks = {quote.ask_price: quote.ask_size} if quote.ask_size > 0 else {}
        self._best_bid = self._best_ask = None
        self.ts_ns = quote.ts_ns

    def clear(self) -> None:
        """Drop every level (before a fresh snapshot)."""
        self.bids.clear()
        self.asks.clear()
        self._best_bid = self._best_ask = None

    def best_bid(self) -> float | None:
        """Highest bid price, None on an empty side."""
        if self._best_bid is None and self.bids:
            self._best_bid = max(self.bids)
        return self._best_bid

    def best_ask(self) -> float | None:
        """Lowest ask price, None on an empty side."""
        if self._best_ask is None and self.asks:
            self._best_ask = min(self.asks)
        return self._best_ask

    def mid(self) -> float | None:
        """(best bid + best ask) / 2, None unless both sides have a level."""
        bid, ask = self.best_bid(), self.best_ask()
        return None if bid is None or ask is None else (bid + ask) / 2.0

    def top(self, side: int, levels: int) -> list[tuple[float, float]]:
        """The best `levels` (price, size) of a side, best first."""
        if side > 0:
            return heapq.nlargest(levels, self.bids.items())
        return heapq.nsmallest(levels, self.asks.items())
