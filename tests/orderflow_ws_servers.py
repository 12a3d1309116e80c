"""Local OKX v5 public and Kraken WS v2 servers that replay recorded order-flow messages (for `ravebear record`).

Both run on 127.0.0.1 on a free port in a thread (`tests.adapters.local_server.LocalServer`) and speak
what nautilus 1.231's clients use:

- `OkxReplayServer`: `GET /api/v5/public/instruments` (OKX's instrument rows, `tests.okx_candle_server`),
  `GET /api/v5/public/time`, WebSockets `/ws/v5/public` and `/ws/v5/business` (`ping` -> `pong`,
  `{"op": "subscribe", "args": [...]}` -> `{"event": "subscribe", "arg", "connId"}`). Once `trades` and
  `books` are subscribed it plays its `Feed`; a socket that subscribes to `books` first gets a snapshot of
  the book as played so far (seqId = the last update's), then the updates, as OKX does after a reconnect.
- `KrakenReplayServer`: `GET /0/public/AssetPairs` (Kraken's `{"error": [], "result": {pair: {...}}}`),
  WebSocket `/v2` (`{"method": "ping"}` -> pong; `{"method": "subscribe", "params": {"channel": "trade",
  "symbol": [...]}, "req_id"}` -> Kraken's ack), then plays its `trade` updates.

Every data message actually written to a socket is kept in `sent` (channel, message), so a test compares
the catalog with what went out. `drop_connections()` closes every socket (the clients reconnect);
messages played while nobody is subscribed are lost, as on a real venue.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.adapters.local_server import LocalServer
from tests.okx_candle_server import listed_instruments


@dataclass
class _Socket:
    ws: web.WebSocketResponse
    channels: set[str] = field(default_factory=set)


@dataclass
class ReplayServer(LocalServer):
    """What the two replay servers share: sockets, the player, the record of what was sent."""

    messages: list[tuple[int, str, dict]] = field(default_factory=list)  # (exchange ms, channel, message)
    rate: float = 2_000.0  # messages per second played (0: as fast as the sockets take them)
    start_after: tuple[str, ...] = ()  # channels that must be subscribed before playing starts
    pause_at: int | None = None  # stop playing before this message index until `resume()`

    def __post_init__(self) -> None:
        super().__post_init__()
        self.sockets: list[_Socket] = []
        self.sent: list[tuple[str, dict]] = []
        self.played = 0
        self.connects = 0
        self.finished = threading.Event()
        self._player: asyncio.Task | None = None
        self._paused = False

    # -- to override ------------------------------------------------------------------------------

    async def on_frame(self, sock: _Socket, text: str) -> None:
        """Answer one client frame."""
        raise NotImplementedError

    def apply(self, channel: str, message: dict) -> None:
        """Update server state (e.g. the book) with a message as it is played."""

    # -- sockets --------------------------------------------------------------------------------------

    async def ws_handler(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        sock = _Socket(ws)
        self.sockets.append(sock)
        self.connects += 1
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self.on_frame(sock, msg.data)
        finally:
            if sock in self.sockets:
                self.sockets.remove(sock)
        return ws

    async def send(self, sock: _Socket, payload: dict | str, channel: str | None = None) -> None:
        if sock.ws.closed:
            return
        try:
            await sock.ws.send_str(payload if isinstance(payload, str) else json.dumps(payload))
        except (ConnectionResetError, RuntimeError):
            return
        if channel is not None:
            self.sent.append((channel, payload))

    def subscribed(self, channel: str) -> bool:
        return any(channel in sock.channels for sock in self.sockets)

    def maybe_start(self) -> None:
        if self._player is None and all(self.subscribed(channel) for channel in self.start_after):
            self._player = asyncio.get_running_loop().create_task(self._play())

    async def _play(self) -> None:
        started = time.monotonic()
        for index, (_, channel, message) in enumerate(self.messages):
            while self._paused or (self.pause_at is not None and index >= self.pause_at):
                self._paused = True
                await asyncio.sleep(0.02)
            if self.rate > 0:
                lag = started + self.played / self.rate - time.monotonic()
                if lag > 0:
                    await asyncio.sleep(lag)
            self.apply(channel, message)
            for sock in list(self.sockets):
                if channel in sock.channels:
                    await self.send(sock, message, channel)
            self.played += 1
            if self.played % 200 == 0:
                await asyncio.sleep(0)
        self.finished.set()

    # -- test controls (thread-safe) ----------------------------------------------------------------

    def drop_connections(self) -> None:
        """Close every socket from the server side (the clients see a disconnect and reconnect)."""

        async def close() -> None:
            for sock in list(self.sockets):
                await sock.ws.close()

        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)

    def resume(self) -> None:
        """Continue playing after `pause_at`."""
        self.pause_at = None
        self._paused = False

    def wait_played(self, count: int, timeout_s: float = 60.0) -> None:
        """Block until `count` messages were played (or all of them)."""
        deadline = time.monotonic() + timeout_s
        while self.played < min(count, len(self.messages)) and time.monotonic() < deadline:
            time.sleep(0.05)
        if self.played < min(count, len(self.messages)):
            raise TimeoutError(f"{type(self).__name__} played {self.played} of {count} messages in {timeout_s} s")


@dataclass
class OkxReplayServer(ReplayServer):
    """OKX v5 public REST + WebSockets replaying `trades` / `books` pushes."""

    start_after: tuple[str, ...] = ("trades", "books")

    def __post_init__(self) -> None:
        super().__post_init__()
        self.book: dict[str, dict[str, list[str]]] = {"bids": {}, "asks": {}}
        self.book_seq = -1
        self.book_inst = ""

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v5/public/instruments", self._instruments)
        app.router.add_get("/api/v5/public/time", self._time)
        app.router.add_get("/ws/v5/public", self.ws_handler)
        app.router.add_get("/ws/v5/business", self.ws_handler)

    async def _instruments(self, request: web.Request) -> web.Response:
        rows = [row for row in listed_instruments(request.query.get("instType", "SWAP")) if request.query.get("instId") in (None, row["instId"])]
        body = {"code": "0", "msg": "", "data": rows} if rows or "instId" not in request.query else {"code": "51001", "msg": "Instrument ID does not exist", "data": []}
        return await self.reply(request, body)

    async def _time(self, request: web.Request) -> web.Response:
        return await self.reply(request, {"code": "0", "msg": "", "data": [{"ts": str(int(time.time() * 1000))}]})

    async def on_frame(self, sock: _Socket, text: str) -> None:
        if text == "ping":
            await self.send(sock, "pong")
            return
        frame = json.loads(text)
        if frame.get("op") not in ("subscribe", "unsubscribe"):
            await self.send(sock, {"event": "error", "code": "60012", "msg": f"Invalid request: {text[:100]}", "connId": "c1"})
            return
        for arg in frame.get("args") or []:
            channel = arg.get("channel", "")
            await self.send(sock, {"event": frame["op"], "arg": arg, "connId": "c1"})
            if frame["op"] == "unsubscribe":
                sock.channels.discard(channel)
                continue
            if channel == "books" and self.book_seq >= 0:
                await self.send(sock, self._snapshot(), "books")
            sock.channels.add(channel)
        self.maybe_start()

    def apply(self, channel: str, message: dict) -> None:
        if channel != "books":
            return
        row = message["data"][0]
        self.book_inst = message["arg"]["instId"]
        if message.get("action") == "snapshot":
            self.book = {"bids": {}, "asks": {}}
        for side in ("bids", "asks"):
            for level in row[side]:
                if float(level[1]) == 0:
                    self.book[side].pop(level[0], None)
                else:
                    self.book[side][level[0]] = level
        self.book_seq = int(row["seqId"])
        self.book_ts = row["ts"]

    def _snapshot(self) -> dict:
        bids = sorted(self.book["bids"].values(), key=lambda level: -float(level[0]))
        asks = sorted(self.book["asks"].values(), key=lambda level: float(level[0]))
        row = {"asks": asks, "bids": bids, "ts": self.book_ts, "checksum": 0, "prevSeqId": -1, "seqId": self.book_seq}
        return {"arg": {"channel": "books", "instId": self.book_inst}, "action": "snapshot", "data": [row]}


# Kraken `GET /0/public/AssetPairs` rows (Kraken's field names; BTC/USD as Kraken lists it, XBT inside).
KRAKEN_PAIRS: dict[str, dict[str, Any]] = {
    "XXBTZUSD": {
        "altname": "XBTUSD", "wsname": "XBT/USD", "aclass_base": "currency", "base": "XXBT", "aclass_quote": "currency", "quote": "ZUSD",
        "lot": "unit", "cost_decimals": 5, "pair_decimals": 1, "lot_decimals": 8, "lot_multiplier": 1, "leverage_buy": [2, 3, 4, 5],
        "leverage_sell": [2, 3, 4, 5], "fees": [[0, 0.4], [10000, 0.35]], "fees_maker": [[0, 0.25], [10000, 0.2]], "fee_volume_currency": "ZUSD",
        "margin_call": 80, "margin_stop": 40, "ordermin": "0.00005", "costmin": "0.5", "tick_size": "0.1", "status": "online",
        "long_position_limit": 250, "short_position_limit": 200,
    },
}  # fmt: skip


@dataclass
class KrakenReplayServer(ReplayServer):
    """Kraken spot REST (AssetPairs) + WS v2 replaying `trade` updates."""

    start_after: tuple[str, ...] = ("trade",)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/0/public/AssetPairs", self._pairs)
        app.router.add_get("/v2", self.ws_handler)

    async def _pairs(self, request: web.Request) -> web.Response:
        return await self.reply(request, {"error": [], "result": KRAKEN_PAIRS})

    async def on_frame(self, sock: _Socket, text: str) -> None:
        frame = json.loads(text)
        method, req_id = frame.get("method"), frame.get("req_id")
        now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
        if method == "ping":
            await self.send(sock, {"method": "pong", "req_id": req_id, "time_in": now, "time_out": now})
            return
        if method not in ("subscribe", "unsubscribe"):
            await self.send(sock, {"error": f"Method not found: {method}", "method": method, "success": False, "req_id": req_id, "time_in": now, "time_out": now})
            return
        params = frame.get("params") or {}
        channel = params.get("channel", "")
        for symbol in params.get("symbol") or []:
            await self.send(sock, {"method": method, "result": {"channel": channel, "symbol": symbol, "snapshot": False}, "success": True,
                                   "time_in": now, "time_out": now, "req_id": req_id})  # fmt: skip
        if method == "subscribe":
            sock.channels.add(channel)
        else:
            sock.channels.discard(channel)
        self.maybe_start()
