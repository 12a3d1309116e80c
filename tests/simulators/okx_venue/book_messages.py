"""Read the venue's `books` / `bbo-tbt` / `trades` pushes back as a client would: an L2 book rebuilt from the JSON rows.

Independent of the venue's code: prices and sizes are the strings OKX sends, the checksum is OKX's documented
algorithm written out here again (checked against OKX's own example in the tests).
"""

from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass, field
from decimal import Decimal

import aiohttp


def documented_checksum(bids: list[list[str]], asks: list[list[str]]) -> int:
    """OKX v5 docs: "bid1px:bid1sz:ask1px:ask1sz:..." over the best 25 of each side, CRC32 as a signed int."""
    pairs = []
    for i in range(25):
        pairs += [f"{b[0]}:{b[1]}" for b in bids[i : i + 1]] + [f"{a[0]}:{a[1]}" for a in asks[i : i + 1]]
    value = zlib.crc32(":".join(pairs).encode()) & 0xFFFFFFFF
    return value - 2**32 if value >= 2**31 else value


@dataclass
class ClientBook:
    """An OKX `books` subscriber's book: price string -> size string per side."""

    bids: dict[str, str] = field(default_factory=dict)
    asks: dict[str, str] = field(default_factory=dict)
    seq_id: int | None = None

    def apply(self, action: str, row: dict) -> None:
        """Apply a snapshot or an update row; raise AssertionError on a broken seqId chain."""
        if action == "snapshot":
            assert row["prevSeqId"] == -1, row["prevSeqId"]
            self.bids, self.asks = {}, {}
        else:
            assert row["prevSeqId"] == self.seq_id, (row["prevSeqId"], self.seq_id)
        for side, levels in ((self.bids, row["bids"]), (self.asks, row["asks"])):
            for price, size, *_ in levels:
                if Decimal(size) == 0:
                    side.pop(price, None)
                else:
                    side[price] = size
        self.seq_id = row["seqId"]

    def sorted_side(self, bids: bool) -> list[list[str]]:
        """[price, size] best first."""
        side = self.bids if bids else self.asks
        return [[p, side[p]] for p in sorted(side, key=Decimal, reverse=bids)]

    def checksum(self) -> int:
        """The documented checksum of this book."""
        return documented_checksum(self.sorted_side(True)[:25], self.sorted_side(False)[:25])

    def best(self) -> tuple[Decimal, Decimal]:
        """Best bid and best ask."""
        return max(map(Decimal, self.bids)), min(map(Decimal, self.asks))


async def collect(url: str, inst_id: str, seconds: float, channels: tuple[str, ...] = ("books", "bbo-tbt", "trades")) -> list[tuple[int, dict]]:
    """Subscribe to `channels` of `inst_id` on the public socket; every data frame received within `seconds`, with its wall ns."""
    frames: list[tuple[int, dict]] = []
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.send_str(json.dumps({"op": "subscribe", "args": [{"channel": c, "instId": inst_id} for c in channels]}))
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                msg = await ws.receive(timeout=left)
            except TimeoutError:
                break
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            frame = json.loads(msg.data)
            if "data" in frame:
                frames.append((time.time_ns(), frame))
    return frames
