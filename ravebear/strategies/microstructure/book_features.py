"""Order-book features of a `Book`: imbalance (OBI) over the top N levels, spread, depth near mid.

All OBIs are signed in [-1, 1], positive when bids outweigh asks:
- plain: (B - A) / (B + A), B and A the summed sizes of the top N bid and ask levels;
- weighted: the same with each level's size times 0.5 ** (distance from mid in bps / half_distance_bps),
  so size far from mid counts less (size- and distance-weighted).
Spread in bps of mid: (ask - bid) / mid x 1e4. Depth within X bps: the summed sizes of bids at or
above mid x (1 - X/1e4) and asks at or below mid x (1 + X/1e4).
"""

from __future__ import annotations

from dataclasses import dataclass

from ravebear.strategies.microstructure.types import ASK, BID, Book


@dataclass(frozen=True)
class BookFeatureConfig:
    """Book-feature settings."""

    levels: int = 10  # top N levels per side in the OBI
    half_distance_bps: float = 5.0  # a level this far from mid weighs half in the weighted OBI, bps
    depth_bps: float = 10.0  # depth counted within this distance of mid, bps


@dataclass(frozen=True, slots=True)
class BookFeatures:
    """The features of one book state (book_features returns None instead when a side is empty)."""

    ts_ns: int
    obi: float
    weighted_obi: float
    spread_bps: float
    bid_depth: float  # size within depth_bps of mid
    ask_depth: float


def imbalance(bid: float, ask: float) -> float:
    """(bid - ask) / (bid + ask), 0 when both are 0."""
    total = bid + ask
    return (bid - ask) / total if total > 0 else 0.0


def spread_bps(bid: float, ask: float) -> float:
    """(ask - bid) / mid in bps."""
    return (ask - bid) / ((ask + bid) / 2.0) * 1e4


def book_features(book: Book, config: BookFeatureConfig) -> BookFeatures | None:
    """The features of the book now, None unless both sides have a level."""
    bids, asks = book.top(BID, config.levels), book.top(ASK, config.levels)
    if not bids or not asks:
        return None
    best_bid, best_ask = bids[0][0], asks[0][0]
    mid = (best_bid + best_ask) / 2.0
    per_bps = 1e4 / mid
    half = config.half_distance_bps
    weighted_bid = sum(size * 0.5 ** ((mid - price) * per_bps / half) for price, size in bids)
    weighted_ask = sum(size * 0.5 ** ((price - mid) * per_bps / half) for price, size in asks)
    low, high = mid * (1 - config.depth_bps * 1e-4), mid * (1 + config.depth_bps * 1e-4)
    bid_depth = sum(size for price, size in book.bids.items() if price >= low)
    ask_depth = sum(size for price, size in book.asks.items() if price <= high)
    return BookFeatures(
        book.ts_ns,
        imbalance(sum(size for _, size in bids), sum(size for _, size in asks)),
        imbalance(weighted_bid, weighted_ask),
        spread_bps(best_bid, best_ask),
        bid_depth,
        ask_depth,
    )
