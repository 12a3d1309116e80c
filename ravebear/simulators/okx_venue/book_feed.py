"""The venue's L2 book of one instrument, built from a recorded session and re-priced to the candle path.

Prices: each capture level goes into the venue's tick (bids rounded down, asks up, sizes of a tick summed, so
the book stays uncrossed), then moves by `shift` ticks. `anchor` sets the shift so the book's touch on the
aggressor's side sits at a candle-path price; between anchors the book moves as the capture moved. Sizes:
base units over the contract value, rounded to whole lots (a tick holding less than one lot is not shown).

Messages are OKX v5's: `books` (first a `snapshot`, then `update`s of the changed levels with `seqId` /
`prevSeqId` and the `checksum` of the top 25 levels) and `bbo-tbt`; the published book is the top `depth`
levels per side.
"""

from __future__ import annotations

import math
import zlib
from decimal import Decimal

from ravebear.catalog.orderflow.book_sync import ASK, BID
from ravebear.simulators.okx_venue.ledger import VenueInstrument
from ravebear.simulators.okx_venue.messages import num

CHECKSUM_LEVELS = 25  # OKX: the checksum covers the top 25 levels of each side
FIRST_SEQ_ID = 1_000_001
_EPS = 1e-9  # a capture price exactly on a venue tick must not round to the next one


def okx_checksum(bids: list[list[str]], asks: list[list[str]]) -> int:
    """OKX's book checksum: CRC32 of "bidPx:bidSz:askPx:askSz:..." over the top 25 levels of each side, as signed 32-bit."""
    parts: list[str] = []
    for i in range(CHECKSUM_LEVELS):
        if i < len(bids):
            parts.append(f"{bids[i][0]}:{bids[i][1]}")
        if i < len(asks):
            parts.append(f"{asks[i][0]}:{asks[i][1]}")
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


class BookFeed:
    """One instrument's re-priced book and what its subscribers were last sent."""

    def __init__(self, inst: VenueInstrument, depth: int = 400) -> None:
        self.inst = inst
        self.depth = depth
        self.tick = inst.tick_sz
        self._tick_f = float(inst.tick_sz)
        self._lot_base = float(inst.ct_val * inst.lot_sz)  # base units in one lot
        self.raw: dict[int, dict[float, float]] = {BID: {}, ASK: {}}  # capture price -> size (base units)
        self.buckets: dict[int, dict[int, float]] = {BID: {}, ASK: {}}  # venue tick index -> summed size (base units)
        self.shift = 0  # ticks added to every capture price
        self.published: dict[int, dict[int, int]] = {BID: {}, ASK: {}}  # what subscribers hold: tick index -> lots
        self.seq_id = 0  # 0: nothing published yet
        self._bbo: tuple | None = None

    # -- the capture's book -------------------------------------------------------------------

    def bucket(self, side: int, price: float) -> int:
        """The venue tick index of a capture price (bids down, asks up)."""
        x = price / self._tick_f
        return math.floor(x + _EPS) if side == BID else math.ceil(x - _EPS)

    def lots(self, size: float) -> int:
        """Base units as whole lots (half up)."""
        return int(size / self._lot_base + 0.5)

    def reset(self, levels: tuple[tuple[int, float, float], ...]) -> None:
        """Start again from a snapshot (the session's opening book)."""
        self.raw = {BID: {}, ASK: {}}
        self.buckets = {BID: {}, ASK: {}}
        self.apply(levels)

    def apply(self, levels: tuple[tuple[int, float, float], ...]) -> None:
        """Apply a depth event: each level's new absolute size (0 removes it)."""
        for side, price, size in levels:
            raw, buckets = self.raw[side], self.buckets[side]
            old = raw.pop(price, 0.0)
            if size > 0:
                raw[price] = size
            key = self.bucket(side, price)
            total = buckets.get(key, 0.0) + size - old
            if total * 1e6 > self._lot_base:  # float dust from adding and removing sizes is no level
                buckets[key] = total
            else:
                buckets.pop(key, None)

    def best_bucket(self, side: int) -> int | None:
        """The best capture tick holding at least one lot (before the shift)."""
        lots = self.lots
        keys = [k for k, size in self.buckets[side].items() if lots(size) >= 1]
        if not keys:
            return None
        return max(keys) if side == BID else min(keys)

    # -- re-pricing ---------------------------------------------------------------------------

    def ticks(self, price: Decimal) -> int:
        """A venue price as a tick index."""
        return int((price / self.tick).to_integral_value())

    def price(self, ticks: int) -> Decimal:
        """A tick index as a venue price."""
        return ticks * self.tick

    def anchor(self, price: Decimal, aggressor: int) -> None:
        """Shift the book so the touch a trade at `price` takes (the ask for a buy, +1; the bid for a sell, -1) is `price`."""
        touch = self.best_bucket(ASK if aggressor > 0 else BID)
        if touch is not None:
            self.shift = self.ticks(price) - touch

    def trade_price(self, price: float, aggressor: int) -> Decimal:
        """A recorded trade's price on the venue: its tick on the side it took (a buy up, a sell down), shifted."""
        return self.price(self.bucket(ASK if aggressor > 0 else BID, price) + self.shift)

    def trade_size(self, size: float) -> Decimal:
        """A recorded trade's size in contracts (at least one lot)."""
        return max(1, self.lots(size)) * self.inst.lot_sz

    # -- messages -----------------------------------------------------------------------------

    def target(self) -> dict[int, dict[int, int]]:
        """The book to publish now: the top `depth` levels per side with at least one lot, shifted."""
        out: dict[int, dict[int, int]] = {}
        for side in (BID, ASK):
            levels = [(k, n) for k, size in self.buckets[side].items() if (n := self.lots(size)) >= 1]
            levels.sort(reverse=side == BID)
            out[side] = {k + self.shift: n for k, n in levels[: self.depth]}
        return out

    def _rows(self, levels: dict[int, int], side: int) -> list[list[str]]:
        lot = self.inst.lot_sz
        return [[num(self.price(k)), num(n * lot), "0", "1" if n else "0"] for k, n in sorted(levels.items(), reverse=side == BID)]

    def checksum(self) -> int:
        """The checksum of the published book."""
        top = {side: dict(sorted(self.published[side].items(), reverse=side == BID)[:CHECKSUM_LEVELS]) for side in (BID, ASK)}
        return okx_checksum(self._rows(top[BID], BID), self._rows(top[ASK], ASK))

    def snapshot(self, ts_ms: int) -> dict:
        """A `books` snapshot row of the published book (for a new subscriber), at the current seqId."""
        if self.seq_id == 0:
            self.update(ts_ms)  # publish the first book
        return {
            "asks": self._rows(self.published[ASK], ASK), "bids": self._rows(self.published[BID], BID), "ts": str(ts_ms),
            "checksum": self.checksum(), "prevSeqId": -1, "seqId": self.seq_id,
        }  # fmt: skip

    def update(self, ts_ms: int) -> dict | None:
        """Publish the book now: the `books` update row of the levels that changed (size "0" removes), None if none did."""
        target = self.target()
        changes: dict[int, dict[int, int]] = {}
        for side in (BID, ASK):
            old, new = self.published[side], target[side]
            changes[side] = {k: new.get(k, 0) for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
        if self.seq_id and not changes[BID] and not changes[ASK]:
            return None
        previous = self.seq_id
        self.seq_id = self.seq_id + 1 if previous else FIRST_SEQ_ID
        self.published = target
        return {
            "asks": self._rows(changes[ASK], ASK), "bids": self._rows(changes[BID], BID), "ts": str(ts_ms),
            "checksum": self.checksum(), "prevSeqId": previous or -1, "seqId": self.seq_id,
        }  # fmt: skip

    def bbo(self, ts_ms: int, force: bool = False) -> dict | None:
        """A `bbo-tbt` row of the published best bid and ask, None when unchanged since the last one (unless `force`)."""
        bids, asks = self.published[BID], self.published[ASK]
        if not bids or not asks:
            return None
        bid, ask = max(bids), min(asks)
        top = (bid, bids[bid], ask, asks[ask])
        if top == self._bbo and not force:
            return None
        self._bbo = top
        return {
            "asks": self._rows({ask: asks[ask]}, ASK), "bids": self._rows({bid: bids[bid]}, BID), "ts": str(ts_ms), "seqId": self.seq_id,
        }  # fmt: skip
