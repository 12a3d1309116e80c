"""Play a recorded session on the venue: real trades on `trades`, its book on `books` and `bbo-tbt`, re-priced to the candles.

The session plays at its recorded rate (`speed` x) on the wall clock, whatever the candle path's `--step`; when it
ends it starts again from its opening book (the book jumps back, as one `books` update). Each recorded trade is
re-priced (`BookFeed.trade_price`), matched by the engine like any trade and pushed; the book is published at most
every `book_interval_s` (OKX pushes `books` every 100 ms) when it changed, with a `bbo-tbt` when its top changed.
At each candle-path price (four a candle) the book is first shifted so its touch is that price, then the path's
trade prints there: the engine, the trades and the candles stay one market. Stamps are venue time.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from loguru import logger

from ravebear.simulators.okx_venue import messages as m
from ravebear.simulators.okx_venue.book_feed import BookFeed
from ravebear.simulators.okx_venue.price_path import MINUTE_MS
from ravebear.simulators.okx_venue.recorded_session import RecordedSession, SessionTrade

if TYPE_CHECKING:
    from ravebear.simulators.okx_venue.server import Connection, OKXVenue


@dataclass
class SessionSettings:
    """Which capture serves which instrument, and how it plays."""

    path: Path  # a capture prefix (or one of its files), e.g. ../shared/data/trades_book/binance_usdm_BTCUSDT_..._20240808T2359Z
    inst_id: str = "BTC-USDT-SWAP"
    speed: float = 1.0  # recorded seconds played per wall second
    depth: int = 400  # levels per side in `books` (OKX: 400)
    book_interval_s: float = 0.1  # at most one `books` push per this many wall seconds (OKX: 100 ms)
    record: bool = False  # keep every trades / books / bbo-tbt row sent, with its wall send time (tests, benchmark)


class SessionPlayer:
    """The recorded session of one instrument on a venue."""

    def __init__(self, venue: OKXVenue, session: RecordedSession, settings: SessionSettings) -> None:
        self.venue = venue
        self.session = session
        self.settings = settings
        self.inst_id = settings.inst_id
        self.feed = BookFeed(venue.engine.instruments[settings.inst_id], settings.depth)
        self.feed.reset(session.snapshot)
        first = venue.engine.last.get(self.inst_id)
        if first is not None:
            self.feed.anchor(first, 1)
        self.sent: list[tuple[str, int, dict]] = []  # (channel, wall ns at send, row) when settings.record; "books-snapshot" per subscriber
        self.loops = 0  # completed passes of the session
        self.trades = 0  # recorded trades pushed
        self._minute = (0, 0.0)  # (venue ms the current path minute opened, monotonic time it started playing)
        self._last_lots = self.feed.inst.lot_sz
        self._task: asyncio.Task | None = None

    def serves(self, inst_id: str) -> bool:
        """True for the instrument the session plays."""
        return inst_id == self.inst_id

    def start(self) -> None:
        """Play on the running loop (from the venue's startup)."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    def stop(self) -> None:
        """Stop playing."""
        if self._task is not None:
            self._task.cancel()

    def minute_started(self, open_ms: int) -> None:
        """The player began a path minute now (venue time between path prices is interpolated from it)."""
        self._minute = (open_ms, time.monotonic())

    def now_ms(self) -> int:
        """Venue time now: the last path price's time, or later within the minute as the wall clock runs."""
        open_ms, started = self._minute
        step_s = self.venue.player.step_s
        if not open_ms or step_s <= 0:
            return self.venue.now_ms
        within = min(MINUTE_MS - 1, int((time.monotonic() - started) / step_s * MINUTE_MS))
        return max(self.venue.now_ms, open_ms + within)

    def status(self) -> dict:
        """For `/sim/status`."""
        return {
            "source": self.session.source, "instrument": self.inst_id, "loops": self.loops, "trades_pushed": self.trades,
            "books_seq_id": self.feed.seq_id, "shift": str(self.feed.price(self.feed.shift)),
        }  # fmt: skip

    # -- pushes -------------------------------------------------------------------------------

    async def _push(self, channel: str, row: dict, action: str | None = None) -> None:
        if self.settings.record:
            self.sent.append((channel, time.time_ns(), row))
        await self.venue.push("public", channel, self.inst_id, row, action=action)

    async def push_book(self, force_bbo: bool = False) -> None:
        """Publish the book's changes (and its top when that changed)."""
        ts = self.now_ms()
        row = self.feed.update(ts)
        if row is not None:
            await self._push("books", row, action="update")
        bbo = self.feed.bbo(ts, force=force_bbo)
        if bbo is not None:
            await self._push("bbo-tbt", bbo)

    async def on_subscribe(self, conn: Connection, arg: dict) -> None:
        """A new `books` subscriber gets the snapshot of the published book; a `bbo-tbt` one the current top."""
        if arg.get("instId") != self.inst_id:
            return
        channel, ts = arg.get("channel"), self.now_ms()
        if channel == "books":
            row = self.feed.snapshot(ts)
            if self.settings.record:
                self.sent.append(("books-snapshot", time.time_ns(), row))
            await self.venue._send(conn, {"arg": arg, "action": "snapshot", "data": [row]})
        elif channel == "bbo-tbt" and self.feed.seq_id:
            bbo = self.feed.bbo(ts, force=True)
            if bbo is not None:
                await self.venue._send(conn, {"arg": arg, "data": [bbo]})

    async def _trade(self, price: Decimal, size: Decimal, side: str, ts: int) -> None:
        venue = self.venue
        venue.engine.on_trade(self.inst_id, price, ts)
        venue._trade_ids += 1
        await self._push("trades", m.trade_push(self.inst_id, venue._trade_ids, price, size, side, ts))
        await venue.flush()

    async def path_trade(self, price: Decimal, ts: int) -> None:
        """A candle-path price: move the book's touch there, publish it, then print the trade (a recorded trade's size)."""
        last = self.venue.engine.last.get(self.inst_id)
        aggressor = 1 if last is None or price >= last else -1
        self.feed.anchor(price, aggressor)
        await self.push_book()
        await self._trade(price, self._last_lots, "buy" if aggressor > 0 else "sell", ts)

    async def play_trade(self, trade: SessionTrade) -> None:
        """A recorded trade, re-priced, matched and pushed."""
        self._last_lots = self.feed.trade_size(trade.size)
        self.trades += 1
        await self._trade(self.feed.trade_price(trade.price, trade.side), self._last_lots, "buy" if trade.side > 0 else "sell", self.now_ms())

    # -- the clock ----------------------------------------------------------------------------

    async def _run(self) -> None:
        venue, session, settings = self.venue, self.session, self.settings
        await venue.started.wait()
        logger.info(f"okx-sim: playing the recorded session {Path(session.source).name} on {self.inst_id} "
                    f"({len(session.items):,} trades and book events, {session.duration_ns / 1e9:.0f} s) at {settings.speed}x")  # fmt: skip
        items, n = session.items, len(session.items)
        index, origin, paused_at = 0, time.monotonic(), None  # origin: wall time the current pass started
        dirty, last_book = False, 0.0
        while not venue.finished.is_set():
            if venue.paused:
                paused_at = paused_at or time.monotonic()
                await asyncio.sleep(0.05)
                continue
            if paused_at is not None:  # the session's clock stood still while the venue was paused
                origin += time.monotonic() - paused_at
                paused_at = None
            position = session.start_ns + int((time.monotonic() - origin) * settings.speed * 1e9)
            while index < n and items[index].ts_ns <= position:
                item = items[index]
                index += 1
                if isinstance(item, SessionTrade):
                    await self.play_trade(item)
                else:
                    self.feed.apply(item.levels)
                    dirty = True
            if index >= n:  # one pass done: back to the opening book
                self.loops += 1
                index, origin = 0, origin + session.duration_ns / 1e9 / settings.speed
                self.feed.reset(session.snapshot)
                dirty = True
                logger.info(f"okx-sim: recorded session pass {self.loops} done; starting again")
            now = time.monotonic()
            if dirty and now - last_book >= settings.book_interval_s:
                await self.push_book()
                dirty, last_book = False, now
            wake = origin + (items[index].ts_ns - session.start_ns) / 1e9 / settings.speed
            if dirty:
                wake = min(wake, last_book + settings.book_interval_s)
            await asyncio.sleep(max(0.0, wake - time.monotonic()))


def attach(venue: OKXVenue, session: RecordedSession, settings: SessionSettings) -> Any:
    """Give `venue` a session player (its server hooks call it)."""
    if settings.inst_id not in venue.engine.instruments:
        raise ValueError(f"the recorded session plays on {settings.inst_id}, which the venue does not list ({', '.join(venue.engine.instruments)})")
    venue.session = SessionPlayer(venue, session, settings)
    return venue.session
